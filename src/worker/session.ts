/**
 * The worker's state and the thin adapter from protocol requests to the engine in src/core.
 * No DOM and no Worker globals here, so it runs (and is tested) in Node as well.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendOptions, type BackendReport, type BackendRequest } from '../core/backend';
import { UserError } from '../core/errors';
import { Seeder } from '../core/rng';
import { parseCsv, type Dataset } from '../core/data/csv';
import { getDemo } from '../core/data/demos';
import { loadModelFromFiles, type ModelJsonLike, type TargetModel } from '../core/task/model';
import { argmax, checkWidth, makeTask, type Batch, type Task } from '../core/task/task';
import { ATTRIBUTION_METHODS, getMethod } from '../core/attribution/registry';
import { METRICS } from '../core/metrics/registry';
import { scoreExplanations } from '../core/metrics/evaluate';
import { minMaxNormalize } from '../core/supervision/supervision';
import { DEFAULTS } from '../core/job';
import { studioSplit } from './pipeline';
import type {
  AttributeResult,
  EvaluateResult,
  ExplanationInput,
  MethodMeta,
  MethodRequest,
  MetricMeta,
  MetricRequestSpec,
  TaskInfo,
  TaskSettings,
  TaskSource,
} from './protocol';

export type ProgressFn = (stage: string, done: number, total: number) => void;

/** Fetches a demo file; in the worker this is `fetch` against the page's own origin. */
export type FetchFn = (path: string) => Promise<Response>;

const LABEL_GUESSES = ['label', 'target', 'class', 'species', 'y', 'outcome', 'diagnosis'];

export async function sha256Hex(parts: (ArrayBuffer | string)[]): Promise<string> {
  const enc = new TextEncoder();
  const chunks = parts.map((p) => (typeof p === 'string' ? enc.encode(p) : new Uint8Array(p)));
  const total = chunks.reduce((a, c) => a + c.length, 0);
  const all = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  const digest = await globalThis.crypto.subtle.digest('SHA-256', all);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Header row of a CSV text (first non-empty line, comma separated). */
export function csvHeader(text: string): string[] {
  const line = text.replace(/^\uFEFF/, '').split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  return line.split(',').map((h) => h.trim().replace(/^"|"$/g, ''));
}

export function guessLabel(columns: string[]): string | undefined {
  return columns.find((c) => LABEL_GUESSES.includes(c.toLowerCase()));
}

export function methodMetas(): MethodMeta[] {
  return ATTRIBUTION_METHODS.map((m) => ({ id: m.id, label: m.label, description: m.description, needsGradients: m.needs.gradients, defaults: { ...m.defaults } }));
}

export function metricMetas(): MetricMeta[] {
  return METRICS.map((m) => ({ id: m.id, label: m.label, description: m.description, direction: m.direction, defaults: { ...m.defaults } }));
}

export class Session {
  backend: BackendReport | null = null;
  model: TargetModel | null = null;
  data: Dataset | null = null;
  task: Task | null = null;
  info: TaskInfo | null = null;

  constructor(private readonly fetchFn: FetchFn, private readonly backendOpts: BackendOptions = {}) {}

  async init(request: BackendRequest): Promise<BackendReport> {
    // A backend switch keeps the task: models live in the tfjs engine, so reload it on the new backend.
    this.backend = await initBackend(request, this.backendOpts);
    return this.backend;
  }

  private async fetchText(path: string): Promise<string> {
    const r = await this.fetchFn(path);
    if (!r.ok) throw new UserError(`Could not fetch ${path} (HTTP ${r.status}).`, 'Check that the studio is served with its demos folder (npm start).');
    return r.text();
  }

  private async fetchBytes(path: string): Promise<ArrayBuffer> {
    const r = await this.fetchFn(path);
    if (!r.ok) throw new UserError(`Could not fetch ${path} (HTTP ${r.status}).`, 'Check that the studio is served with its demos folder (npm start).');
    return r.arrayBuffer();
  }

  async loadTask(source: TaskSource, settings: TaskSettings, progress?: ProgressFn): Promise<TaskInfo> {
    let modelText: string;
    let modelName: string;
    const shards = new Map<string, ArrayBuffer>();
    let csvText: string;
    let csvName: string;
    let label: string | undefined;
    let classNames: string[] | undefined;
    let metaAccuracy: number | undefined;
    let sourceLabel: string;
    progress?.('loading task', 0, 3);
    if (source.kind === 'demo') {
      const demo = getDemo(source.demoId);
      if (!demo) throw new UserError(`There is no demo "${source.demoId}".`, 'Pick a demo from the list.');
      modelName = `${demo.id}/model.json`;
      modelText = await this.fetchText(`demos/${demo.model}`);
      const dir = demo.model.slice(0, demo.model.lastIndexOf('/') + 1);
      const json = safeJson(modelText, modelName);
      for (const g of json.weightsManifest ?? []) for (const p of g.paths) shards.set(p, await this.fetchBytes(`demos/${dir}${p}`));
      csvText = await this.fetchText(`demos/${demo.data}`);
      csvName = `${demo.id}/data.csv`;
      label = demo.label;
      try {
        const meta = JSON.parse(await this.fetchText(`demos/${demo.meta}`)) as { classNames?: string[]; testAccuracy?: number; accuracy?: number };
        classNames = Array.isArray(meta.classNames) ? meta.classNames.map(String) : undefined;
        metaAccuracy = typeof meta.testAccuracy === 'number' ? meta.testAccuracy : typeof meta.accuracy === 'number' ? meta.accuracy : undefined;
      } catch {
        /* meta.json is optional */
      }
      sourceLabel = `demo: ${demo.name}`;
    } else {
      modelName = source.modelJson.name;
      modelText = source.modelJson.text;
      for (const s of source.shards) shards.set(s.name, s.data);
      csvText = source.csv.text;
      csvName = source.csv.name;
      label = source.label;
      sourceLabel = `${modelName} + ${csvName}`;
    }
    progress?.('loading task', 1, 3);
    const columns = csvHeader(csvText);
    if (!label) {
      label = guessLabel(columns);
      if (!label)
        throw new UserError(
          `${csvName} has no label column (none of its columns is called ${LABEL_GUESSES.join(', ')}).`,
          `Pick the label column from the list: ${columns.join(', ')}.`,
        );
    }
    const data = parseCsv(csvText, csvName, { label });
    if (classNames && classNames.length === data.classNames.length) data.classNames = classNames;
    const json = safeJson(modelText, modelName);
    const model = await loadModelFromFiles(json, shards, modelName);
    try {
      checkWidth(model, data);
    } catch (e) {
      model.dispose();
      throw e;
    }
    progress?.('loading task', 2, 3);
    const task = makeTask(model, data, { output: settings.output, baseline: settings.baseline });
    const nClasses = task.nClasses;
    const proba = await model.predict(data.x, data.nRows, settings.output === 'raw' ? 'raw' : 'probability');
    const predicted = Int32Array.from({ length: data.nRows }, (_, r) => argmax(proba, r * nClasses, nClasses));
    let correct = 0;
    for (let r = 0; r < data.nRows; r++) if (predicted[r] === data.labels[r]) correct++;
    const problems = findProblems(data, nClasses, predicted);
    const [modelSha256, dataSha256] = await Promise.all([
      sha256Hex([modelText, ...[...shards.values()]]),
      sha256Hex([csvText]),
    ]);
    // The new task replaces the old one only once everything loaded: a bad drop keeps the old task.
    this.model?.dispose();
    this.model = model;
    this.data = data;
    this.task = task;
    this.info = {
      sourceLabel,
      demoId: source.kind === 'demo' ? source.demoId : undefined,
      featureNames: data.featureNames,
      classNames: task.classNames,
      labelName: data.labelName,
      columns,
      nRows: data.nRows,
      nFeatures: data.nFeatures,
      x: data.x,
      labels: data.labels,
      predicted,
      proba,
      nClasses,
      accuracy: correct / data.nRows,
      baselineVector: task.space.baseline(task.baseline),
      baseline: task.baseline,
      output: task.output,
      problems,
      modelSha256,
      dataSha256,
      metaAccuracy,
    };
    progress?.('loading task', 3, 3);
    return this.info;
  }

  requireTask(): { task: Task; data: Dataset; info: TaskInfo } {
    if (!this.task || !this.data || !this.info) throw new UserError('No task is loaded.', 'Pick a demo or drop a model and a CSV in the Task panel first.');
    return { task: this.task, data: this.data, info: this.info };
  }

  batchOf(rows: number[]): Batch {
    const { data } = this.requireTask();
    const n = data.nFeatures;
    for (const r of rows) if (!(r >= 0 && r < data.nRows)) throw new UserError(`Row ${r} is not in the data (it has ${data.nRows} rows).`, 'Choose rows between 0 and ' + (data.nRows - 1) + '.');
    const x = new Float32Array(rows.length * n);
    rows.forEach((r, i) => x.set(data.x.subarray(r * n, (r + 1) * n), i * n));
    return { x, nRows: rows.length, rowIndex: Int32Array.from(rows) };
  }

  targetsOf(rows: number[]): Int32Array {
    const { info } = this.requireTask();
    return Int32Array.from(rows, (r) => info.predicted[r]);
  }

  async attribute(rows: number[], methods: MethodRequest[], seed: number, progress?: ProgressFn, signal?: AbortSignal): Promise<AttributeResult> {
    const { task } = this.requireTask();
    const batch = this.batchOf(rows);
    const target = this.targetsOf(rows);
    const seeder = new Seeder(seed);
    const out: AttributeResult = { rows, target, explanations: [], skipped: [], split: rows.length > 1 ? studioSplit(rows, DEFAULTS.supervision.testFraction, seed) : { train: rows, test: [] } };
    const total = methods.length * rows.length;
    for (let i = 0; i < methods.length; i++) {
      const req = methods[i];
      const method = getMethod(req.id);
      if (!method) {
        out.skipped.push({ methodId: req.id, reason: `unknown method "${req.id}"` });
        continue;
      }
      const why = method.applicable(task);
      if (why) {
        out.skipped.push({ methodId: req.id, reason: why });
        continue;
      }
      const t0 = performance.now();
      const values = await method.explain(task, batch, target, { ...method.defaults, ...req.params }, seeder, (d, tot) => progress?.(`explain: ${method.label}`, i * rows.length + Math.round((d / Math.max(1, tot)) * rows.length), total), signal);
      out.explanations.push({ methodId: req.id, values, ms: performance.now() - t0 });
      progress?.(`explain: ${method.label}`, (i + 1) * rows.length, total);
    }
    return out;
  }

  async evaluate(rows: number[], target: Int32Array, explanations: ExplanationInput[], metrics: MetricRequestSpec[], seed: number, normalise: boolean, progress?: ProgressFn, signal?: AbortSignal): Promise<EvaluateResult> {
    const { task } = this.requireTask();
    const batch = this.batchOf(rows);
    const n = task.nFeatures;
    const seeder = new Seeder(seed);
    const scores: EvaluateResult['scores'] = [];
    const total = explanations.length * metrics.length;
    let done = 0;
    for (const e of explanations) {
      const s = normalise ? minMaxNormalize(e.values, rows.length, n) : e.values;
      const perMetric: EvaluateResult['scores'][number]['metrics'] = [];
      for (const m of metrics) {
        signal?.throwIfAborted();
        const t0 = performance.now();
        const [[res]] = await scoreExplanations(task, batch, target, [s], [{ id: m.id, params: m.params }], seeder, undefined, signal);
        let sum = 0;
        let count = 0;
        for (const v of res.perSample)
          if (Number.isFinite(v)) {
            sum += v;
            count++;
          }
        perMetric.push({
          metricId: m.id,
          perSample: res.perSample,
          mean: count ? sum / count : NaN,
          nNaN: res.perSample.length - count,
          curves: res.curves,
          modelCalls: res.modelCalls,
          ms: performance.now() - t0,
        });
        progress?.(`evaluate: ${e.methodId} × ${m.id}`, ++done, total);
      }
      scores.push({ methodId: e.methodId, metrics: perMetric, scored: s });
    }
    return { rows, normalised: normalise, scores };
  }

  async predict(x: Float32Array, nRows: number): Promise<{ proba: Float32Array; nClasses: number }> {
    const { task } = this.requireTask();
    const proba = await task.model.predict(x, nRows, task.output);
    return { proba, nClasses: task.nClasses };
  }

  numTensors(): number {
    return tf.memory().numTensors;
  }

  dispose(): void {
    this.model?.dispose();
    this.model = null;
    this.task = null;
    this.data = null;
    this.info = null;
  }
}

function safeJson(text: string, name: string): ModelJsonLike {
  try {
    const j = JSON.parse(text);
    if (!j || typeof j !== 'object') throw new Error('not an object');
    return j as ModelJsonLike;
  } catch {
    throw new UserError(`${name} is not valid JSON, so it is not a TensorFlow.js model.json.`, 'Drop the model.json written by tf.io or tensorflowjs_converter together with its .bin files.');
  }
}

/** Problems that do not stop the task but a user should know about. */
export function findProblems(data: Dataset, nClasses: number, predicted: Int32Array): string[] {
  const problems: string[] = [];
  if (data.classNames.length !== nClasses)
    problems.push(`The data has ${data.classNames.length} classes (${data.classNames.join(', ')}) but the model outputs ${nClasses}: the accuracy compares class indices.`);
  const n = data.nFeatures;
  for (let j = 0; j < n; j++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let r = 0; r < data.nRows; r++) {
      const v = data.x[r * n + j];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo === hi) problems.push(`Column "${data.featureNames[j]}" is constant (${lo}): every method will give it little or no attribution.`);
  }
  const predictedClasses = new Set(predicted);
  if (predictedClasses.size === 1 && nClasses > 1) problems.push(`The model predicts the same class (${data.classNames[predicted[0]] ?? predicted[0]}) for every row.`);
  if (data.nRows < 10) problems.push(`Only ${data.nRows} rows: scores averaged over so few samples are noisy.`);
  return problems;
}
