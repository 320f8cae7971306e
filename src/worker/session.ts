/**
 * The worker's state and the thin adapter from protocol requests to the engine (src/core): the
 * same functions `deepfaith run` calls, one panel at a time. The session holds the loaded task (all
 * rows, for the Task panel) and the engine's prepared job: its rows (`startJob`: the first maxRows
 * rows, targets, split), its priors (`runJobPriors`) and their stored scores (`scoreJobPriors`).
 * Supervision, training (trainer.ts) and the ablations read that prepared job through
 * `planTraining` / `trainAndReport`, so a job gives the studio the table `runJob` gives the CLI
 * (tests/worker-parity.test.ts compares them cell by cell).
 * No DOM and no Worker globals here, so it runs (and is tested) in Node as well.
 */
import * as tf from '@tensorflow/tfjs';
import { initStageBackends, restageForModel, type BackendOptions, type BackendReport, type BackendRequest, type StageRequests } from '../core/backend';
import { modelFlops } from '../core/task/modelFlops';
import { UserError } from '../core/errors';
import { ATTRIBUTION_METHODS } from '../core/attribution/registry';
import { DEMOS } from '../core/data/demos';
import { Seeder } from '../core/rng';
import { attachFinetuneRows, releaseFfidelity } from '../core/ffidelity/context';
import { validateMetrics, type ValidationResult } from '../core/ffidelity/validate';
import { EXTRA_METRICS, METRICS, getMetric } from '../core/metrics/registry';
import { minMaxNormalize, buildSupervision, supervisionOptionsFor, type StoredScores } from '../core/supervision/supervision';
import { findProblems, loadTask, targetsFor, taskRows, type LoadedTask, type TaskIO } from '../core/task/load';
import { argmax, type Batch, type Task } from '../core/task/task';
import { type PriorRun } from '../core/supervision/supervision';
import type { TaskSpec } from '../core/task/load';
import { makeTask } from '../core/task/task';
import { ImageFeatureSpace, rowBaselines } from '../core/task/featureSpace';
import { DEFAULT_NORMALISE, type ImageDecoder } from '../core/data/images';
import { encodeSentence } from '../core/data/text';
import { TextFeatureSpace } from '../core/task/textSpace';
import { minMaxNormalizeRows, rowFeatureCounts } from '../core/task/ragged';
import { dataLayout, droppedImageIO, expandZips } from './imageFiles';
import { getMethod } from '../core/attribution/registry';
import { runPriors, scoreAll } from '../core/supervision/supervision';
import { jobMethodRequests } from '../core/job/schema';
import {
  ABLATION_MODES,
  PAPER_METHODS,
  exportPrepared,
  explainKey,
  importPrepared,
  preparedKey,
  rankTable,
  resolveJob,
  runJobPriors,
  scoreJobPriors,
  startJob,
  trainAndReport,
  type Job,
  type JobInput,
  type JobRows,
  type PreparedCache,
  type PreparedJob,
  costFrontier,
  type Frontier,
  type JobResult,
} from '../core/job';
import type { TrainMode } from '../core/explainer/train';
import type { AblationResult, AttributeResult, EvaluateResult, FigureScoresResult, MethodMeta, MetricMeta, PixelMapResult, SentenceResult, SuperviseResult, TaskInfo, TaskSettings, TaskSource, TaskTextInfo } from './protocol';

export type ProgressFn = (stage: string, done: number, total: number) => void;

/** Fetches a demo file; in the worker this is `fetch` against the page's own origin. */
export type FetchFn = (path: string) => Promise<Response>;

export function methodMetas(): MethodMeta[] {
  return ATTRIBUTION_METHODS.map((m) => ({ id: m.id, label: m.label, description: m.description, needsGradients: m.needs.gradients, defaults: { ...m.defaults }, params: { ...m.params } }));
}

export function metricMetas(): MetricMeta[] {
  return [
    ...METRICS.map((m) => ({ id: m.id, label: m.label, description: m.description, direction: m.direction, defaults: { ...m.defaults }, params: { ...m.params }, info: m.info })),
    ...EXTRA_METRICS.map((m) => ({ id: m.id, label: m.label, description: m.description, direction: m.direction, defaults: { ...m.defaults }, params: { ...m.params }, info: m.info, beyond: true })),
  ];
}

export { ABLATION_MODES, PAPER_METHODS };

/** The job's prepared state, kept between requests. */
interface Prepared {
  rows: JobRows;
  priors: Pick<PriorRun, 'methods' | 'ranIds' | 'explanations'> & { raw?: Float32Array[] };
  scores: StoredScores | null;
}

const baseName = (p: string) => p.split(/[\\/]/).pop() ?? p;

export class Session {
  backend: BackendReport | null = null;
  /** The task with all its rows (owns the model). */
  full: LoadedTask | null = null;
  info: TaskInfo | null = null;
  prepared: Prepared | null = null;
  /** The table of the last training (the Report's), for the frontier. */
  lastReport: JobResult | null = null;

  constructor(
    private readonly fetchFn: FetchFn,
    private readonly backendOpts: BackendOptions = {},
    /** PNG/JPEG decoding for dropped images (the worker: createImageBitmap + OffscreenCanvas, imageFiles.ts). */
    private readonly decodeImage?: ImageDecoder,
  ) {}

  /** Demo files fetched once at start (path → bytes), so a demo can be picked with the network off. */
  private readonly demoFiles = new Map<string, ArrayBuffer>();

  /** Why the WebGPU device was lost, once it was (then every GPU computation fails). */
  deviceLost: string | null = null;

  /**
   * Start the backends. `request` is the studio's backend; `stages` may set the score stage (the
   * target model: loading, priors, scoring, supervision, the report) or the train stage (the
   * explainer) to another one ('auto', the default, follows `request`; core/backend.ts decides).
   */
  async init(request: BackendRequest, stages: Partial<StageRequests> = {}): Promise<BackendReport> {
    // A backend switch keeps the task: models live in the tfjs engine, so the store reloads it on the new backend.
    const pick = (s?: BackendRequest) => (s && s !== 'auto' ? s : request);
    const report = await initStageBackends({ score: pick(stages.score), train: pick(stages.train) }, this.backendOpts, this.full ? this.flopsOf(this.full) : undefined);
    this.backend = { ...report, requested: request };
    this.deviceLost = null;
    const usesWebgpu = () => this.backend?.stages?.score.backend === 'webgpu' || this.backend?.stages?.train.backend === 'webgpu';
    if (usesWebgpu()) {
      const device = (tf.findBackend('webgpu') as unknown as { device?: { lost?: Promise<{ message?: string; reason?: string }> } } | null)?.device;
      device?.lost?.then((info) => {
        if (usesWebgpu()) this.deviceLost = info?.message || info?.reason || 'the device was lost';
      });
    }
    await this.prefetchDemos();
    return this.backend;
  }

  /** FLOPs per row of a task's target model (null: not a layers model), for the score stage's choice. */
  private flopsOf(loaded: LoadedTask): number | null {
    const m = loaded.task.model.model;
    return m instanceof tf.LayersModel ? modelFlops(m) : null;
  }

  /** A UserError for work that failed because the WebGPU device was lost (null when it was not). */
  deviceLostError(): UserError | null {
    if (!this.deviceLost) return null;
    return new UserError(`The WebGPU device was lost (${this.deviceLost}).`, 'Switch to the wasm backend; an interrupted training resumes from its last checkpoint.');
  }

  /**
   * Every demo's files (a few hundred kB in all) into memory, once: after the page has loaded, the
   * studio works offline, demos included. A file that cannot be fetched now is fetched when picked.
   */
  async prefetchDemos(): Promise<void> {
    const get = async (path: string): Promise<ArrayBuffer | null> => {
      if (this.demoFiles.has(path)) return this.demoFiles.get(path)!;
      try {
        const r = await this.fetchFn(path);
        if (!r.ok) return null;
        const b = await r.arrayBuffer();
        this.demoFiles.set(path, b);
        return b;
      } catch {
        return null;
      }
    };
    await Promise.all(
      DEMOS.map(async (d) => {
        const dir = d.model.slice(0, d.model.lastIndexOf('/') + 1);
        // an image demo's labels file sits beside its images (for tabular demos `label` is a column); a text demo has its vocab.json
        const [model] = await Promise.all([get(`demos/${d.model}`), get(`demos/${d.data}`), get(`demos/${d.meta}`), d.kind === 'image' ? get(`demos/${d.label}`) : null, d.vocab ? get(`demos/${d.vocab}`) : null]);
        if (!model) return;
        try {
          const json = JSON.parse(new TextDecoder().decode(model)) as { weightsManifest?: { paths: string[] }[] };
          await Promise.all((json.weightsManifest ?? []).flatMap((g) => g.paths).map((p) => get(`demos/${dir}${p}`)));
        } catch {
          /* a damaged demo model.json is reported when the demo is picked */
        }
      }),
    );
  }

  /** The loader's file access: demo files fetched from the page's origin, dropped files from memory. */
  private io(source: TaskSource): TaskIO {
    const fetchOk = async (path: string): Promise<Response | null> => {
      const r = await this.fetchFn(path);
      if (r.status === 404) return null;
      if (!r.ok) throw new UserError(`Could not fetch ${path} (HTTP ${r.status}).`, 'Check that the studio is served with its demos folder (npm start).');
      return r;
    };
    const cached = this.demoFiles;
    if (source.kind === 'demo')
      return {
        demoPath: (rel) => `demos/${rel}`,
        async readText(path) {
          if (cached.has(path)) return new TextDecoder().decode(cached.get(path)!);
          const r = await fetchOk(path).catch(() => {
            throw new UserError(`Could not fetch ${path}: the studio's server cannot be reached.`, 'Reconnect and pick the demo again (demos fetched when the page loaded work offline).');
          });
          if (!r) throw new UserError(`Could not fetch ${path} (HTTP 404).`, 'Check that the studio is served with its demos folder (npm start).');
          return r.text();
        },
        async readBinary(path) {
          if (cached.has(path)) return cached.get(path)!.slice(0);
          const r = await fetchOk(path).catch(() => null);
          return r ? r.arrayBuffer() : null;
        },
      };
    const shards = new Map(source.shards.map((s) => [baseName(s.name), s.data]));
    if (source.kind === 'images') {
      // dropped image data: the engine's loader reads it from memory (imageFiles.ts adapts, never loads)
      const files = expandZips(source.files);
      const data = droppedImageIO(files, dataLayout(files));
      return {
        demoPath: (rel) => rel,
        async readText(path) {
          if (path === source.modelJson.name) return source.modelJson.text;
          throw new UserError(`${path} was not dropped.`, 'Drop the model folder (model.json and its .bin files) with the images.');
        },
        async readBinary(path) {
          return (await data.readBinary(path)) ?? shards.get(baseName(path)) ?? null;
        },
        isDirectory: data.isDirectory,
        listDir: data.listDir,
        decodeImage: this.decodeImage,
      };
    }
    if (source.kind === 'text') {
      // a dropped text model: the engine's loader reads vocab.json and the CSV's bytes (it checks UTF-8 itself)
      return {
        demoPath: (rel) => rel,
        async readText(path) {
          if (path === source.modelJson.name) return source.modelJson.text;
          if (path === source.vocab.name) return source.vocab.text;
          throw new UserError(`${path} was not dropped.`, 'Drop the model folder (model.json and its .bin files), its vocab.json and the CSV together.');
        },
        async readBinary(path) {
          if (path === source.csv.name) return source.csv.data.slice(0);
          return shards.get(baseName(path)) ?? null;
        },
      };
    }
    return {
      demoPath: (rel) => rel,
      async readText(path) {
        if (path === source.csv.name) return source.csv.text;
        if (path === source.modelJson.name) return source.modelJson.text;
        throw new UserError(`${path} was not dropped.`, 'Drop the model folder (model.json and its .bin files) and the CSV together.');
      },
      async readBinary(path) {
        return shards.get(baseName(path)) ?? null;
      },
    };
  }

  async loadTask(source: TaskSource, settings: TaskSettings, progress?: ProgressFn): Promise<TaskInfo> {
    progress?.('loading task', 0, 3);
    const common = { baseline: settings.baseline, output: settings.output, maxRows: 0 };
    const image = { ...(settings.patch !== undefined ? { patch: settings.patch } : {}), ...(settings.normalise !== undefined ? { normalise: settings.normalise } : {}) };
    const text = settings.maskToken !== undefined ? { maskToken: settings.maskToken } : {};
    let spec: TaskSpec;
    const demoKind = source.kind === 'demo' ? DEMOS.find((d) => d.id === source.demoId)?.kind : undefined;
    if (source.kind === 'demo') spec = { demo: source.demoId, ...common, ...(demoKind === 'image' ? image : demoKind === 'text' ? text : {}) };
    else if (source.kind === 'files') spec = { model: source.modelJson.name, data: source.csv.name, label: source.label, ...common };
    else if (source.kind === 'text') spec = { model: source.modelJson.name, data: source.csv.name, vocab: source.vocab.name, text: source.text, label: source.label, ...common, ...text };
    else {
      const layout = dataLayout(expandZips(source.files));
      spec = { model: source.modelJson.name, data: layout.kind === 'folder' ? layout.root : layout.data, label: layout.kind === 'array' ? layout.label : undefined, ...common, maxRows: source.maxRows ?? 0, ...image };
    }
    // where the score stage depends on the model's size, models load on wasm and the stage is chosen once the size is known
    const before = this.backend;
    if (this.backend) this.backend = await restageForModel(this.backend, undefined);
    let loaded: LoadedTask;
    try {
      loaded = await loadTask(spec, this.io(source));
      if (this.backend) this.backend = await restageForModel(this.backend, this.flopsOf(loaded));
    } catch (e) {
      // the old task stays, on the backend it was scored on
      if (before) this.backend = await restageForModel(before, this.full ? this.flopsOf(this.full) : undefined);
      throw e;
    }
    try {
      progress?.('loading task', 2, 3);
      const { task, data } = loaded;
      const nClasses = task.nClasses;
      const proba = await task.model.predict(data.x, data.nRows, settings.output === 'raw' ? 'raw' : 'probability');
      const predicted = Int32Array.from({ length: data.nRows }, (_, r) => argmax(proba, r * nClasses, nClasses));
      let correct = 0;
      for (let r = 0; r < data.nRows; r++) if (predicted[r] === loaded.labels[r]) correct++;
      const msPerModelRow = await timeModelRow(task, data.x, data.nRows);
      const space = task.space instanceof ImageFeatureSpace ? task.space : null;
      const img = data.image;
      const info: TaskInfo = {
        sourceLabel:
          source.kind === 'demo' ? `demo: ${loaded.meta?.name ?? source.demoId}`
          : source.kind === 'files' ? `${source.modelJson.name} + ${source.csv.name}`
          : source.kind === 'text' ? `${source.modelJson.name} + ${source.vocab.name} + ${source.csv.name}`
          : `${source.modelJson.name} + ${spec.data}${img?.format === 'folder' ? '/' : ''}`,
        demoId: source.kind === 'demo' ? source.demoId : undefined,
        featureNames: task.featureNames,
        classNames: task.classNames,
        labelName: data.labelName,
        columns: loaded.columns,
        nRows: data.nRows,
        nFeatures: task.nFeatures,
        x: data.x,
        labels: loaded.labels,
        predicted,
        proba,
        nClasses,
        accuracy: correct / data.nRows,
        baselineVector: rowBaselines(task.space, task.baseline)(loaded.batch.x.subarray(0, task.inputSize)), // blur: the first row's
        baseline: task.baseline,
        output: task.output,
        problems: findProblems(data, nClasses, predicted),
        modelSha256: loaded.fingerprint.model,
        dataSha256: loaded.fingerprint.data,
        metaAccuracy: typeof loaded.meta?.testAccuracy === 'number' ? loaded.meta.testAccuracy : undefined,
        msPerModelRow,
        image:
          img && space
            ? {
                data: spec.data ?? loaded.source.data,
                label: spec.label,
                format: img.format,
                height: img.height,
                width: img.width,
                channels: img.channels,
                normalise: img.normalise,
                channelMean: img.channelMean,
                channelStd: img.channelStd,
                patch: space.patch,
                gridRows: space.gridRows,
                gridCols: space.gridCols,
                files: img.files,
                resized: img.resized,
                grayToRgb: img.grayToRgb,
                colourToGray: img.colourToGray,
                alphaDropped: img.alphaDropped,
              }
            : undefined,
        text: textInfoOf(loaded, spec),
        notices: loaded.notices ?? [],
        backend: this.backend ?? undefined,
      };
      // The new task replaces the old one only once everything loaded: a bad drop keeps the old task.
      this.dispose();
      this.full = loaded;
      this.info = info;
      progress?.('loading task', 3, 3);
      return info;
    } catch (e) {
      loaded.task.model.dispose();
      if (before) this.backend = await restageForModel(before, this.full ? this.flopsOf(this.full) : undefined);
      throw e;
    }
  }

  requireTask(): { full: LoadedTask; info: TaskInfo } {
    if (!this.full || !this.info) throw new UserError('No task is loaded.', 'Pick a demo or drop a model and a CSV in the Task panel first.');
    return { full: this.full, info: this.info };
  }

  /** The task metrics and the inspector run on: the job's (its rows and baseline) once explained, else the loaded one. */
  currentTask(): Task {
    return this.prepared?.rows.loaded.task ?? this.requireTask().full.task;
  }

  /** Rows of the loaded data as a batch of model inputs. */
  batchOf(rows: number[]): Batch {
    const { full } = this.requireTask();
    const { data } = full;
    const d = full.task.inputSize;
    for (const r of rows) if (!(r >= 0 && r < data.nRows)) throw new UserError(`Row ${r} is not in the data (it has ${data.nRows} rows).`, `Choose rows between 0 and ${data.nRows - 1}.`);
    const x = new Float32Array(rows.length * d);
    rows.forEach((r, i) => x.set(data.x.subarray(r * d, (r + 1) * d), i * d));
    return { x, nRows: rows.length, rowIndex: Int32Array.from(rows) };
  }

  /**
   * The target class of each row, for an explainer whose explanation depends on it
   * (explainer.classFrame): the prepared job's targets where the row is one of its rows, else the
   * engine's target rule (core `targetsFor`) on the row — the prepared job's rule on its task, or
   * the model's prediction when no job is prepared.
   */
  async targetsOf(b: Batch): Promise<Int32Array> {
    const p = this.prepared?.rows;
    const known = new Map<number, number>();
    if (p) p.loaded.batch.rowIndex.forEach((row, pos) => known.set(row, p.target[pos]));
    const out = new Int32Array(b.nRows);
    const missing: number[] = [];
    for (let r = 0; r < b.nRows; r++) {
      const t = known.get(b.rowIndex[r]);
      if (t === undefined) missing.push(r);
      else out[r] = t;
    }
    if (missing.length) {
      const loaded = p?.loaded ?? this.requireTask().full;
      const w = loaded.task.inputSize;
      const x = new Float32Array(missing.length * w);
      missing.forEach((r, i) => x.set(b.x.subarray(r * w, (r + 1) * w), i * w));
      const rule = p?.job.task.target ?? 'predicted';
      const t = await targetsFor(loaded, rule, { x, nRows: missing.length, rowIndex: Int32Array.from(missing, (r) => b.rowIndex[r]) });
      missing.forEach((r, i) => (out[r] = t[i]));
    }
    return out;
  }

  /**
   * The job resolved and checked against the loaded task: it must name this task (the studio builds
   * it from the task it shows), so results can never mix tasks.
   */
  resolve(input: JobInput): Job {
    const job = resolveJob(input);
    const { full } = this.requireTask();
    const t = job.task;
    const same = t.demo !== undefined ? full.source.demo === t.demo : baseName(full.source.model) === baseName(t.model ?? '') && full.source.data === t.data;
    if (!same) throw new UserError(`The job is for another task (${t.demo ?? `${t.model} + ${t.data}`}) than the one loaded (${full.source.demo ?? `${full.source.model} + ${full.source.data}`}).`, 'Load the job\'s task first.');
    if (full.data.text && (t.maskToken ?? null) !== (this.info?.text?.maskToken ?? null))
      throw new UserError(
        `The job removes tokens with ${t.maskToken === undefined ? 'the pad token' : `the mask token ${JSON.stringify(t.maskToken)}`}, but the task was loaded with ${this.info?.text?.maskToken === undefined ? 'the pad token' : `the mask token ${JSON.stringify(this.info.text.maskToken)}`}.`,
        'Choose the mask token in the Task panel (it reloads the texts), then run again.',
      );
    const rule = full.data.image?.normalise;
    if (rule && (t.normalise ?? DEFAULT_NORMALISE) !== rule)
      throw new UserError(`The job normalises the pixels by ${t.normalise ?? DEFAULT_NORMALISE}, but the task was loaded with ${rule}.`, 'Choose the normalisation in the Task panel (it reloads the images), then run again.');
    return job;
  }

  /** The prepared state of this job (same task, rows, methods, metrics-independent key), or a UserError. */
  private preparedFor(job: Job, needScores: boolean): Prepared {
    const p = this.prepared;
    const stale = 'The explanations on screen are from other settings (rows, methods, baseline, seed or target).';
    if (!p) throw new UserError('There are no explanations yet.', 'Run the Explain step first.');
    if (explainKey(p.rows.job) !== explainKey(job)) throw new UserError(stale, 'Run Explain again with the current settings.');
    if (needScores) {
      if (!p.scores) throw new UserError('The prior explanations have not been scored yet.', 'Run Evaluate first: the supervision set keeps only explanations that pass every metric.');
      if (preparedKey(p.rows.job) !== preparedKey(job)) throw new UserError('The scores on screen are from other metric settings.', 'Run Evaluate again with the current metrics.');
    }
    return p;
  }

  /** The engine's PreparedJob for this job (settings such as δ, p, training from `job`). */
  preparedJob(job: Job): PreparedJob {
    const p = this.preparedFor(job, true);
    return { ...p.rows, job, priors: p.priors.methods, ranIds: p.priors.ranIds, explanations: p.priors.explanations, raw: p.priors.raw, scores: p.scores! };
  }

  /** F-Fidelity surrogates fine-tuned for the prepared job's task hold weights: free them when that task is replaced. */
  private releasePrepared(next: Task): void {
    const old = this.prepared?.rows.loaded.task;
    if (old && old !== next) releaseFfidelity(old);
  }

  /** Explain: the job's rows, targets and split, and its priors on them (startJob + runJobPriors). */
  async attribute(input: JobInput, progress?: ProgressFn, signal?: AbortSignal): Promise<AttributeResult> {
    const job = this.resolve(input);
    const { full } = this.requireTask();
    const loaded = taskRows(full, job.task.maxRows, { baseline: job.task.baseline, output: job.task.output, patch: job.task.patch, blurSigma: job.task.blurSigma });
    const rows = await startJob(job, loaded, signal);
    const priors = await runJobPriors(rows, (e) => progress?.(`explain: ${e.message ?? ''}`, Math.round(e.done * loaded.batch.nRows), e.total * loaded.batch.nRows), signal);
    this.releasePrepared(rows.loaded.task);
    this.prepared = { rows, priors, scores: null };
    return this.attributeResult();
  }

  private attributeResult(): AttributeResult {
    const { rows, priors } = this.prepared!;
    const rowIndex = Array.from(rows.loaded.batch.rowIndex);
    const ran = priors.methods.filter((m) => m.ran);
    return {
      rows: rowIndex,
      target: rows.target,
      explanations: priors.ranIds.map((id, j) => ({ methodId: id, values: priors.raw?.[j] ?? priors.explanations[j], normalised: priors.explanations[j], ms: ran[j].ms })),
      skipped: priors.methods.filter((m) => !m.ran).map((m) => ({ methodId: m.id, reason: m.reason ?? '' })),
      split: { train: rows.split.train.map((p) => rowIndex[p]), test: rows.split.test.map((p) => rowIndex[p]) },
      key: explainKey(rows.job),
      baseline: rows.loaded.task.baseline,
      baselineVector: rowBaselines(rows.loaded.task.space, rows.loaded.task.baseline)(rows.loaded.batch.x.subarray(0, rows.loaded.task.inputSize)), // blur: the first row's
    };
  }

  /** Evaluate: every normalised prior on every metric of the job, once (scoreJobPriors). */
  async evaluate(input: JobInput, progress?: ProgressFn, signal?: AbortSignal): Promise<EvaluateResult> {
    const job = this.resolve(input);
    const p = this.preparedFor(job, false);
    const rows: JobRows = { ...p.rows, job, metrics: job.metrics === 'all' ? METRICS.map((m) => ({ id: m.id })) : job.metrics };
    const scores = await scoreJobPriors(rows, p.priors.explanations, (e) => progress?.('evaluate', e.done, e.total), signal);
    this.prepared = { rows, priors: p.priors, scores };
    return this.evaluateResult();
  }

  private evaluateResult(): EvaluateResult {
    const { rows, priors, scores } = this.prepared!;
    const s = scores!;
    return {
      rows: Array.from(rows.loaded.batch.rowIndex),
      normalised: true,
      ms: s.ms ?? 0,
      key: preparedKey(rows.job),
      prepared: exportPrepared({ ...rows, priors: priors.methods, ranIds: priors.ranIds, explanations: priors.explanations, scores: s }),
      scores: priors.ranIds.map((id, j) => ({
        methodId: id,
        scored: priors.explanations[j],
        metrics: s.metricIds.map((metricId, m) => {
          const perSample = s.perSample[j][m];
          let sum = 0;
          let count = 0;
          for (const v of perSample)
            if (!Number.isNaN(v)) {
              sum += v;
              count++;
            }
          return { metricId, perSample, mean: count ? sum / count : NaN, nNaN: perSample.length - count, curves: s.curves?.[j]?.[m], modelCalls: s.modelCalls[j][m] };
        }),
      })),
    };
  }

  /** Restore a saved run: the job's rows from the loaded task, priors and scores from the saved cache. */
  async restore(input: JobInput, cache: PreparedCache, raw?: Float32Array[], filesChecked = false): Promise<{ attribution: AttributeResult; evaluation: EvaluateResult }> {
    const job = this.resolve(input);
    const { full } = this.requireTask();
    const loaded = taskRows(full, job.task.maxRows, { baseline: job.task.baseline, output: job.task.output, patch: job.task.patch, blurSigma: job.task.blurSigma });
    const prep = await importPrepared(job, loaded, cache, { filesChecked });
    if (raw && (raw.length !== prep.ranIds.length || raw.some((r) => r.length !== loaded.batch.nRows * loaded.task.nFeatures))) raw = undefined;
    this.releasePrepared(prep.loaded.task);
    this.prepared = { rows: prep, priors: { methods: prep.priors, ranIds: prep.ranIds, explanations: prep.explanations, raw }, scores: prep.scores };
    return { attribution: this.attributeResult(), evaluation: this.evaluateResult() };
  }

  /** The stored state as a cache the store saves (restored by `restore`). */
  exportPrepared(job: Job): PreparedCache {
    return exportPrepared(this.preparedJob(job));
  }

  /** Supervise: dedup + filter over the stored scores (the engine's buildSupervision), all rows for the view, Z on the training split. */
  supervise(input: JobInput): SuperviseResult {
    const job = this.resolve(input);
    const prep = this.preparedJob(job);
    const { batch, task } = prep.loaded;
    const n = task.nFeatures;
    const options = supervisionOptionsFor(job.mode, job.supervision.delta, job.supervision.p);
    const sup = { x: batch.x, n, rowIndex: batch.rowIndex, methodIds: prep.ranIds, explanations: prep.explanations, scores: prep.scores };
    const all = buildSupervision({ ...sup, use: Array.from({ length: batch.nRows }, (_, i) => i) }, options);
    const train = buildSupervision({ ...sup, use: prep.split.train }, options);
    const rowIndex = Array.from(batch.rowIndex);
    return {
      split: { train: prep.split.train.map((p) => rowIndex[p]), test: prep.split.test.map((p) => rowIndex[p]) },
      methodIds: prep.ranIds,
      normalised: prep.explanations,
      record: all.record,
      counts: all.counts,
      trainCounts: train.counts,
      nPairs: train.nPairs,
    };
  }

  /** The paper's Table 4: the explainer trained under each mode (trainAndReport, as `deepfaith run --mode`), ranked among the modes. */
  async ablate(input: JobInput, modes: TrainMode[], progress: ProgressFn, signal: AbortSignal): Promise<AblationResult> {
    const job = this.resolve(input);
    const prep = this.preparedJob(job);
    const rows: Omit<AblationResult['rows'][number], 'ranks' | 'meanRank'>[] = [];
    let metrics: AblationResult['metrics'] = [];
    let testRows: number[] = [];
    for (let i = 0; i < modes.length; i++) {
      const mode = modes[i];
      const t0 = performance.now();
      const { result, explainer } = await trainAndReport(prep, { mode }, (e) => progress(`ablation ${mode} (${i + 1}/${modes.length}): ${e.stage}`, i, modes.length), signal);
      explainer.dispose();
      const own = result.table.find((r) => r.isExplainer)!;
      metrics = result.metrics.map((m) => ({ id: m.id, direction: m.direction }));
      testRows = result.split.testRows;
      rows.push({ mode, scores: own.scores, nPairs: result.supervision.counts.afterFilter, steps: result.training.steps.length, ms: performance.now() - t0 });
      progress(`ablation ${mode} done`, i + 1, modes.length);
    }
    const { ranks, meanRank } = rankTable(rows, metrics);
    return { key: preparedKey(prep.job), metrics, rows: rows.map((r, i) => ({ ...r, ranks: ranks[i], meanRank: meanRank[i] })), testRows };
  }

  /**
   * Metric validation: one prior's normalised explanation of the job's rows degraded at noise
   * levels 0, 0.2, …, 1 (five copies each) and scored by the job's metrics (with F-Fidelity, after
   * fine-tuning a copy of the model on the job's rows with their labels, as `deepfaith validate`).
   */
  async validate(input: JobInput, methodId: string, fidelity: boolean, progress: ProgressFn, signal: AbortSignal): Promise<ValidationResult> {
    const job = this.resolve(input);
    const p = this.preparedFor(job, false);
    const j = p.priors.ranIds.indexOf(methodId);
    if (j < 0) throw new UserError(`${methodId} is not among the explained methods.`, 'Pick one of the methods of the Explain step.');
    const { task, batch, labels } = p.rows.loaded;
    const metrics = [...(job.metrics === 'all' ? METRICS.map((m) => ({ id: m.id })) : job.metrics)];
    if (fidelity) {
      // as deepfaith validate: the surrogate is fine-tuned on every row of the job's data with its label
      attachFinetuneRows(task, batch, labels, { onEvent: (e) => e.type === 'epoch' && progress('fine-tuning the F-Fidelity surrogate', e.epoch + 1, e.epochs) });
      // F-Fidelity's β = 0.1 removes nothing on fewer than ten features; then the smallest β (on a
      // 1 % grid) with ⌊β·n⌋ ≥ 1, shown with the result (MetricValidation.params)
      const beta0 = Number(getMetric('FFID+')!.defaults.beta);
      const beta = Math.floor(beta0 * task.nFeatures) >= 1 ? beta0 : Math.min(1, Math.ceil(100 / task.nFeatures) / 100);
      for (const id of ['FFID+', 'FFID-']) if (!metrics.some((m) => m.id === id)) metrics.push({ id, params: { beta } });
    }
    return validateMetrics({ task, batch, target: p.rows.target, explanation: p.priors.explanations[j], metrics, seeder: new Seeder(job.seed), onProgress: (done, total) => progress('validating the metrics', done, total), signal });
  }

  /** The frontier of the last training: each budgeted prior at four budgets against the explainer. */
  async frontier(input: JobInput, progress: ProgressFn, signal: AbortSignal): Promise<Frontier> {
    const job = this.resolve(input);
    const prep = this.preparedJob(job);
    const report = this.lastReport;
    if (!report || preparedKey(report.job) !== preparedKey(job)) throw new UserError('The frontier compares the priors with a trained explainer of these explanations.', 'Train the explainer first (step 5).');
    return costFrontier(prep, report, { signal, onProgress: (done, total) => progress('frontier', done, total) });
  }

  /** Positions of global rows among the prepared job's rows (a UserError for a row it does not hold). */
  private positionsOf(rows: number[]): number[] {
    const rowIndex = Array.from(this.prepared!.rows.loaded.batch.rowIndex);
    return rows.map((r) => {
      const i = rowIndex.indexOf(r);
      if (i < 0) throw new UserError(`Row ${r} is not among the explained rows.`, 'Pick one of the rows the Explain step ran on.');
      return i;
    });
  }

  /**
   * Image tasks: a gradient method's attribution per pixel (channels summed) for some of the job's
   * rows — the engine's own method (with the job's parameters, seed and targets) on the same rows
   * with 1-pixel patches, so its patch map is this map summed over each patch.
   */
  async pixelMap(input: JobInput, methodId: string, rows: number[], signal?: AbortSignal): Promise<PixelMapResult> {
    const job = this.resolve(input);
    const p = this.preparedFor(job, false);
    const { loaded } = p.rows;
    const space = loaded.task.space;
    if (!(space instanceof ImageFeatureSpace)) throw new UserError('Pixel maps exist for image tasks only.', 'Load an image task.');
    const unit = getMethod(methodId);
    const req = jobMethodRequests(job).find((m) => m.id === methodId);
    if (!unit || !req || !p.priors.ranIds.includes(methodId)) throw new UserError(`${methodId} is not among the explained methods.`, 'Pick one of the methods of the Explain step.');
    if (!unit.needs.gradients) throw new UserError(`${unit.label} scores whole patches, so it has no map per pixel.`, 'Show its patch map.');
    const pos = this.positionsOf(rows);
    const d = loaded.task.inputSize;
    const pixels = new ImageFeatureSpace({ height: space.height, width: space.width, channels: space.channels, inputShape: space.inputShape }, loaded.data.x, loaded.data.nRows, { patch: 1, blurSigma: space.blurSigma });
    const task = makeTask(loaded.task.model, loaded.data, { output: loaded.task.output, baseline: loaded.task.baseline, space: pixels });
    const x = new Float32Array(rows.length * d);
    pos.forEach((q, i) => x.set(loaded.batch.x.subarray(q * d, (q + 1) * d), i * d));
    const batch: Batch = { x, nRows: rows.length, rowIndex: Int32Array.from(pos, (q) => loaded.batch.rowIndex[q]) };
    const run = await runPriors(task, batch, Int32Array.from(pos, (q) => p.rows.target[q]), [req], new Seeder(job.seed), undefined, signal);
    if (!run.ranIds.length) throw new UserError(`${unit.label} could not make a map per pixel: ${run.methods[0]?.reason ?? 'it did not run'}.`, 'Show its patch map.');
    return { methodId, rows, key: explainKey(job), height: space.height, width: space.width, values: run.raw[0] };
  }

  /**
   * INS and DEL (with the job's parameters when it scores them) of given explanations of some of
   * the job's rows, min–max normalised and scored by the engine as Evaluate scores the priors (the
   * Report's Figure 5 grid: the priors' values equal their stored scores).
   */
  async figureScores(input: JobInput, rows: number[], columns: { id: string; values: Float32Array }[], signal?: AbortSignal): Promise<FigureScoresResult> {
    const job = this.resolve(input);
    const p = this.preparedFor(job, true);
    const { task, batch } = p.rows.loaded;
    const pos = this.positionsOf(rows);
    const n = task.nFeatures;
    const d = task.inputSize;
    for (const c of columns) if (c.values.length !== rows.length * n) throw new UserError(`The ${c.id} explanation has ${c.values.length} values for ${rows.length} rows of ${n} features.`, 'Explain the rows again.');
    const listed = job.metrics === 'all' ? [] : job.metrics;
    const metrics = ['INS', 'DEL'].map((id) => listed.find((m) => m.id === id) ?? { id });
    const x = new Float32Array(rows.length * d);
    pos.forEach((q, i) => x.set(batch.x.subarray(q * d, (q + 1) * d), i * d));
    const sub: Batch = { x, nRows: rows.length, rowIndex: Int32Array.from(pos, (q) => batch.rowIndex[q]) };
    // text: each row normalised over its real tokens, as the engine normalises explanations (core/task/ragged.ts)
    const counts = rowFeatureCounts(task, sub);
    const explanations = columns.map((c) => (counts ? minMaxNormalizeRows(c.values, rows.length, n, counts) : minMaxNormalize(c.values, rows.length, n)));
    const scores = await scoreAll(task, sub, Int32Array.from(pos, (q) => p.rows.target[q]), explanations, metrics, new Seeder(job.seed), undefined, signal);
    return { rows, key: preparedKey(job), metricIds: scores.metricIds, scores: columns.map((c, j) => ({ id: c.id, perSample: scores.perSample[j] })) };
  }

  /**
   * Text tasks: a sentence typed by the user, encoded as the task's rows were (the engine's
   * `encodeSentence`: same tokenizer, vocabulary, truncation and notices; an empty one refused),
   * explained by the job's methods with its parameters and seed on the job's task (its rows decide
   * which methods apply, as for the job), for the class `target` (absent: the model's prediction),
   * and by the trained explainer when `explain` is given. Its draws are seeded as the row after
   * the data (row index = the data's row count).
   */
  async explainSentence(input: JobInput, text: string, target: number | undefined, explain?: (x: Float32Array, target: number) => Promise<Float32Array>, signal?: AbortSignal, progress?: ProgressFn): Promise<SentenceResult> {
    const job = this.resolve(input);
    const { full } = this.requireTask();
    const info = full.data.text;
    if (!info) throw new UserError('A typed sentence can be explained on text tasks only.', 'Load a text task (the sentiment demo, or a text model with its vocab.json and a CSV).');
    const enc = encodeSentence(info, text);
    const loaded = taskRows(full, job.task.maxRows, { baseline: job.task.baseline, output: job.task.output });
    const { task } = loaded;
    const proba = await task.model.predict(enc.x, 1, task.output);
    const predicted = argmax(proba, 0, task.nClasses);
    if (target !== undefined && !(Number.isInteger(target) && target >= 0 && target < task.nClasses))
      throw new UserError(`Class ${target} is not a class of the model (it has ${task.nClasses}).`, 'Choose one of the model\'s classes, or its prediction.');
    const c = target ?? predicted;
    const batch: Batch = { x: enc.x, nRows: 1, rowIndex: Int32Array.of(full.data.nRows) };
    const run = await runPriors(task, batch, Int32Array.of(c), jobMethodRequests(job, task.space.kind), new Seeder(job.seed), (done, total, id) => progress?.(`explain: ${id}`, Math.round(done * 100), total * 100), signal);
    const ran = run.methods.filter((m) => m.ran);
    const space = task.space as TextFeatureSpace;
    return {
      text,
      tokens: enc.tokens,
      ids: Int32Array.from(enc.x),
      unknown: enc.tokens.map((_, t) => enc.x[t] === space.unk),
      notices: enc.notices,
      proba,
      target: c,
      predicted,
      explanations: run.ranIds.map((methodId, j) => ({ methodId, values: run.raw[j], normalised: run.explanations[j], ms: ran[j].ms })),
      skipped: run.methods.filter((m) => !m.ran).map((m) => ({ methodId: m.id, reason: m.reason ?? '' })),
      ...(explain ? { explainer: await explain(enc.x, c) } : {}),
      key: explainKey(job),
    };
  }

  async predict(x: Float32Array, nRows: number): Promise<{ proba: Float32Array; nClasses: number }> {
    const task = this.currentTask();
    const proba = await task.model.predict(x, nRows, task.output);
    return { proba, nClasses: task.nClasses };
  }

  numTensors(): number {
    return tf.memory().numTensors;
  }

  dispose(): void {
    // surrogates fine-tuned for F-Fidelity hold their own weights
    if (this.prepared) releaseFfidelity(this.prepared.rows.loaded.task);
    if (this.full) releaseFfidelity(this.full.task);
    this.full?.task.model.dispose();
    this.full = null;
    this.info = null;
    this.prepared = null;
    this.lastReport = null;
  }
}

export { minMaxNormalize };

/** The Task panel's facts of a text task (undefined for other tasks). */
function textInfoOf(loaded: LoadedTask, spec: TaskSpec): TaskTextInfo | undefined {
  const t = loaded.data.text;
  if (!t) return undefined;
  const demo = spec.demo !== undefined ? DEMOS.find((d) => d.id === spec.demo) : undefined;
  return {
    column: t.column,
    vocab: demo?.vocab ?? spec.vocab ?? '',
    tokens: t.tokens,
    lengths: t.lengths,
    maxLength: t.maxLength,
    vocabSize: t.vocabSize,
    lowercase: t.vocab.lowercase,
    pad: t.pad,
    unk: t.unk,
    removal: t.removal,
    padToken: t.vocab.tokens[t.pad],
    unkToken: t.vocab.tokens[t.unk],
    removalToken: t.vocab.tokens[t.removal],
    ...(spec.maskToken !== undefined ? { maskToken: spec.maskToken } : {}),
    truncatedRows: t.truncatedRows,
    unknownWords: t.unknownWords,
    totalWords: t.totalWords,
  };
}

/** Rows timed for the speed estimate (the model is already warm from the accuracy pass). */
const TIMED_ROWS = 4096;

/** Time per model row (ms) on this backend, from one batch of TIMED_ROWS rows of the task's data. */
async function timeModelRow(task: Task, x: Float32Array, nRows: number): Promise<number> {
  const d = task.inputSize;
  const rows = new Float32Array(TIMED_ROWS * d);
  for (let r = 0; r < TIMED_ROWS; r++) rows.set(x.subarray((r % nRows) * d, ((r % nRows) + 1) * d), r * d);
  const before = task.model.rowsEvaluated;
  const t0 = performance.now();
  await task.model.predict(rows, TIMED_ROWS, task.output);
  task.model.rowsEvaluated = before;
  return (performance.now() - t0) / TIMED_ROWS;
}
