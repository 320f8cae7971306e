/**
 * A DeepFaith job: one plain-JSON description of a whole run (task, prior methods, metrics,
 * supervision δ/p, explainer and training settings, seed, mode), its DEFAULTS (the only place the
 * job-level defaults live; units keep their own), `resolveJob` (defaults merged, validated) and
 * `runJob`, the engine entry point that the CLI (`deepfaith run`) and the studio's worker both call.
 * File access goes through `JobIO`, so the same code runs in Node and in a browser.
 *
 * Pipeline: load → targets → 80/20 split of samples → K priors on all rows (min–max normalised)
 * → score all of them once on every metric → Z from the training rows (dedup/filter per mode)
 * → train the explainer → explain and score the test rows → method × metric table, ranks, runtimes.
 */
import { UserError, throwIfCancelled } from './errors';
import { Seeder } from './rng';
import { parseCsv, type Dataset } from './data/csv';
import { getDemo } from './data/demos';
import { loadModelFromFiles, OUTPUT_MODES, type ModelJsonLike, type OutputMode } from './task/model';
import { BASELINES, type BaselineKind } from './task/featureSpace';
import { chooseTargets, makeTask, type Batch, type Task, type TargetRule } from './task/task';
import { METRICS, getMetric } from './metrics/registry';
import { averageRanks } from './metrics/correlation';
import type { MetricRequest } from './metrics/evaluate';
import type { Params } from './attribution/types';
import {
  buildSupervision, methodRequests, minMaxNormalize, runPriors, scoreAll, splitSamples, supervisionOptionsFor,
  defaults as supervisionDefaults, type MethodSelection, type PriorMethodInfo, type SampleRecord, type StoredScores, type SupervisionCounts, type SupervisionSet,
} from './supervision/supervision';
import { Explainer, inputStatistics, defaults as explainerDefaults, type ExplainerArchitecture, type ExplainerConfig } from './explainer/model';
import { TRAIN_MODES, defaults as trainDefaults, runTraining, trainExplainer, type EvalEvent, type StepEvent, type TrainConfig, type TrainEvent, type TrainMode } from './explainer/train';
import type { AlphaState } from './explainer/alpha';

export interface JobTask {
  /** A built-in demo id (iris, wine, breast-cancer, penguins); or give model + data + label. */
  demo?: string;
  model?: string;
  data?: string;
  label?: string;
  drop?: string[];
  baseline: BaselineKind;
  output: OutputMode;
  target: TargetRule;
  /** Use only the first maxRows data rows (0 = all). */
  maxRows: number;
}

export interface Job {
  task: JobTask;
  /** 'paper' (the eight), 'all' (every applicable registered method but random) or a list. */
  methods: MethodSelection;
  /** 'all' = the ten with their defaults, or a list with params. */
  metrics: 'all' | MetricRequest[];
  supervision: { delta: number; p: number; testFraction: number };
  explainer: ExplainerArchitecture;
  training: TrainConfig;
  /** Job seed: split, methods, metrics. */
  seed: number;
  /** Seed of the explainer (initial weights, dropout, shuffles, L_LC subsets); null = the job seed. */
  trainSeed: number | null;
  mode: TrainMode;
  /** The preset the job started from, if any. */
  preset?: (typeof PRESETS)[number] | null;
}

/** A job as written by people: every field optional. */
export type JobInput = {
  task?: Partial<JobTask>;
  methods?: MethodSelection;
  metrics?: 'all' | MetricRequest[];
  supervision?: Partial<Job['supervision']>;
  explainer?: Partial<ExplainerArchitecture>;
  training?: Partial<Omit<TrainConfig, 'alpha'>> & { alpha?: Partial<TrainConfig['alpha']> };
  seed?: number;
  trainSeed?: number | null;
  mode?: TrainMode;
  /** "paper": start from PAPER_PRESET instead of DEFAULTS (fields given here still win). */
  preset?: (typeof PRESETS)[number] | null;
};

export const DEFAULTS: Job = {
  task: { baseline: 'zero', output: 'probability', target: 'predicted', maxRows: 0 },
  methods: 'paper',
  metrics: 'all',
  supervision: { ...supervisionDefaults },
  explainer: { ...explainerDefaults },
  training: { ...trainDefaults, alpha: { ...trainDefaults.alpha } },
  seed: 0,
  trainSeed: null,
  mode: 'full',
};

/**
 * The paper's settings for its tabular tasks, offered as `"preset": "paper"`: Table 13 (NAP column:
 * δ 0.9, p 0.15; WCD uses δ 0.93 — set supervision.delta), Table 14 (tabular columns: width 64,
 * 8 heads, FFN 128, 4 layers, dropout 0.01, 20 epochs, lr 1e-5, weight decay 1e-5), §F (ε 1e-5,
 * e 5, C 10, k 100) and the metric parameters of Table 12 (FC and INF with N = 30, |I| = 1; each
 * metric's `paper` values). The paper gives no batch size; ours (DEFAULTS) is kept. The job's own
 * fields override the preset, which overrides DEFAULTS.
 */
export const PAPER_PRESET = {
  metrics: () => METRICS.map((m) => (m.paper && Object.keys(m.paper).length ? { id: m.id, params: { ...(m.paper as Params) } } : { id: m.id })) as MetricRequest[],
  supervision: { delta: 0.9, p: 0.15 },
  explainer: { dModel: 64, nHeads: 8, nLayers: 4, dFF: 128, dropout: 0.01 },
  training: { epochs: 20, learningRate: 1e-5, weightDecay: 1e-5, lcSubsets: 100, alpha: { epsilon: 1e-5, window: 5, C: 10 } },
};

export const PRESETS = ['paper'] as const;

const KNOWN_KEYS = ['task', 'methods', 'metrics', 'supervision', 'explainer', 'training', 'seed', 'trainSeed', 'mode', 'preset', '$schema', 'description'];

function checkKeys(obj: object | undefined, allowed: object, where: string): void {
  if (!obj) return;
  for (const k of Object.keys(obj))
    if (!(k in allowed)) throw new UserError(`Job field ${where}.${k} is not known.`, `Known fields of ${where}: ${Object.keys(allowed).join(', ')}.`);
}

/** Merge a job over DEFAULTS and validate it. */
export function resolveJob(input: JobInput): Job {
  if (!input || typeof input !== 'object') throw new UserError('The job is not a JSON object.', 'See docs/jobs.md for the job format.');
  for (const k of Object.keys(input)) if (!KNOWN_KEYS.includes(k)) throw new UserError(`Job field "${k}" is not known.`, `Known fields: ${KNOWN_KEYS.filter((x) => x[0] !== '$').join(', ')}.`);
  checkKeys(input.task, { ...DEFAULTS.task, demo: 0, model: 0, data: 0, label: 0, drop: 0 }, 'task');
  checkKeys(input.supervision, DEFAULTS.supervision, 'supervision');
  checkKeys(input.explainer, DEFAULTS.explainer, 'explainer');
  checkKeys(input.training, DEFAULTS.training, 'training');
  checkKeys(input.training?.alpha, DEFAULTS.training.alpha, 'training.alpha');
  const preset = input.preset ?? null;
  if (preset !== null && !(PRESETS as readonly string[]).includes(preset)) throw new UserError(`Job preset "${preset}" is not known.`, `Use one of: ${PRESETS.join(', ')}, or leave it out.`);
  const base: Job = preset === 'paper'
    ? {
        ...DEFAULTS,
        metrics: PAPER_PRESET.metrics(),
        supervision: { ...DEFAULTS.supervision, ...PAPER_PRESET.supervision },
        explainer: { ...DEFAULTS.explainer, ...PAPER_PRESET.explainer },
        training: { ...DEFAULTS.training, ...PAPER_PRESET.training, alpha: { ...DEFAULTS.training.alpha, ...PAPER_PRESET.training.alpha } },
      }
    : DEFAULTS;
  const job: Job = {
    task: { ...base.task, ...(input.task ?? {}) },
    methods: input.methods ?? base.methods,
    metrics: input.metrics ?? base.metrics,
    supervision: { ...base.supervision, ...(input.supervision ?? {}) },
    explainer: { ...base.explainer, ...(input.explainer ?? {}) },
    training: { ...base.training, ...(input.training ?? {}), alpha: { ...base.training.alpha, ...(input.training?.alpha ?? {}) } },
    seed: input.seed ?? base.seed,
    trainSeed: input.trainSeed ?? base.trainSeed,
    mode: input.mode ?? base.mode,
    ...(preset ? { preset } : {}),
  };
  const t = job.task;
  if (t.demo !== undefined) {
    if (!getDemo(t.demo)) throw new UserError(`Job task.demo "${t.demo}" is not a demo.`, 'Use iris, wine, breast-cancer or penguins, or give task.model, task.data and task.label.');
  } else if (!t.model || !t.data || !t.label) throw new UserError('The job names no task.', 'Give task.demo, or task.model, task.data and task.label.');
  if (!(BASELINES as readonly string[]).includes(t.baseline)) throw new UserError(`Job task.baseline "${t.baseline}" is not known.`, `Use one of: ${BASELINES.join(', ')}.`);
  if (!(OUTPUT_MODES as readonly string[]).includes(t.output)) throw new UserError(`Job task.output "${t.output}" is not known.`, `Use one of: ${OUTPUT_MODES.join(', ')}.`);
  if (t.target !== 'predicted' && t.target !== 'label') throw new UserError(`Job task.target "${t.target}" is not known.`, 'Use predicted or label.');
  if (!(TRAIN_MODES as readonly string[]).includes(job.mode)) throw new UserError(`Job mode "${job.mode}" is not known.`, `Use one of: ${TRAIN_MODES.join(', ')}.`);
  if (!(job.supervision.delta >= -1 && job.supervision.delta <= 1.000001)) throw new UserError(`Job supervision.delta ${job.supervision.delta} is not a cosine threshold.`, 'Use a value in [−1, 1], e.g. 0.9.');
  if (!(job.supervision.p >= 0 && job.supervision.p <= 1)) throw new UserError(`Job supervision.p ${job.supervision.p} is not in [0, 1].`, 'Use e.g. 0.15.');
  if (typeof job.methods === 'string' && job.methods !== 'paper' && job.methods !== 'all') throw new UserError(`Job methods "${job.methods}" is not known.`, 'Use "paper", "all" or a list of {id, params}.');
  if (!Number.isInteger(job.seed)) throw new UserError(`Job seed ${job.seed} is not an integer.`, 'Use e.g. 0.');
  return job;
}

/** Reads files for a job: paths as written in the job; demo files relative to the demos folder. */
export interface JobIO {
  readText(path: string): Promise<string>;
  readBinary(path: string): Promise<ArrayBuffer>;
  /** Where a demo file lives (Node: public/demos/<rel>; browser: /demos/<rel>). */
  demoPath(rel: string): string;
}

export type JobStage = 'load' | 'priors' | 'score-priors' | 'supervision' | 'train' | 'explain' | 'score-explainer' | 'report';

export interface JobEvent {
  stage: JobStage;
  done: number;
  total: number;
  message?: string;
  /** Training events, during stage 'train'. */
  train?: TrainEvent;
}

export interface LoadedJobTask {
  task: Task;
  data: Dataset;
  /** The rows the job uses (all, or the first maxRows). */
  batch: Batch;
  labels: Int32Array;
  source: { model: string; data: string };
}

const dirOf = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/') + 1) : '');

export async function loadJobTask(job: Job, io: JobIO): Promise<LoadedJobTask> {
  const t = job.task;
  const demo = t.demo !== undefined ? getDemo(t.demo)! : undefined;
  const modelPath = demo ? io.demoPath(demo.model) : t.model!;
  const dataPath = demo ? io.demoPath(demo.data) : t.data!;
  const label = demo ? demo.label : t.label!;
  const data = parseCsv(await io.readText(dataPath), dataPath, { label, drop: t.drop });
  let modelJson: ModelJsonLike;
  try {
    modelJson = JSON.parse(await io.readText(modelPath));
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`${modelPath} is not valid JSON.`, 'Give the model.json of a TensorFlow.js model.');
  }
  const shards = new Map<string, ArrayBuffer>();
  for (const g of modelJson.weightsManifest ?? []) for (const p of g.paths) shards.set(p, await io.readBinary(dirOf(modelPath) + p));
  const model = await loadModelFromFiles(modelJson, shards, modelPath);
  try {
    const task = makeTask(model, data, { output: t.output, baseline: t.baseline });
    const nRows = t.maxRows > 0 ? Math.min(t.maxRows, data.nRows) : data.nRows;
    const n = data.nFeatures;
    const batch: Batch = { x: data.x.slice(0, nRows * n), nRows, rowIndex: Int32Array.from({ length: nRows }, (_, i) => i) };
    return { task, data, batch, labels: data.labels.slice(0, nRows), source: { model: modelPath, data: dataPath } };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** Everything before training: loaded task, targets, split, priors and their stored scores. */
export interface PreparedJob {
  job: Job;
  loaded: LoadedJobTask;
  target: Int32Array;
  split: { train: number[]; test: number[] };
  metrics: MetricRequest[];
  priors: PriorMethodInfo[];
  ranIds: string[];
  /** Normalised prior explanations of all rows, per method that ran. */
  explanations: Float32Array[];
  /** Stored scores of all rows. */
  scores: StoredScores;
}

function metricList(job: Job): MetricRequest[] {
  if (job.metrics === 'all') return METRICS.map((m) => ({ id: m.id }));
  for (const m of job.metrics) if (!getMetric(m.id)) throw new UserError(`Job metric "${m.id}" is not known.`, 'Use FC, FE, MC, INF, RP, INS, DEL, NEG, POS, IROF.');
  return job.metrics;
}

function subBatch(batch: Batch, positions: number[], n: number): Batch {
  const x = new Float32Array(positions.length * n);
  positions.forEach((p, i) => x.set(batch.x.subarray(p * n, (p + 1) * n), i * n));
  return { x, nRows: positions.length, rowIndex: Int32Array.from(positions, (p) => batch.rowIndex[p]) };
}

/**
 * The expensive part of a PreparedJob (targets, split, priors, their normalised explanations and
 * stored scores) as plain JSON, so a script can keep it on disk and train many explainers from it.
 * `key` is what it was computed for (see `preparedKey`); `prepareJob` refuses a cache for another key.
 */
export interface PreparedCache {
  format: 'deepfaith-prepared';
  version: 1;
  key: string;
  target: number[];
  split: { train: number[]; test: number[] };
  priors: PriorMethodInfo[];
  ranIds: string[];
  explanations: number[][];
  scores: { metricIds: string[]; directions: StoredScores['directions']; perSample: number[][][]; modelCalls: number[][] };
}

/** What the priors and their scores depend on: task, methods, metrics, job seed, test fraction. */
export function preparedKey(job: Job): string {
  return JSON.stringify({ task: job.task, methods: job.methods, metrics: job.metrics, seed: job.seed, testFraction: job.supervision.testFraction });
}

export function exportPrepared(prep: PreparedJob): PreparedCache {
  return {
    format: 'deepfaith-prepared',
    version: 1,
    key: preparedKey(prep.job),
    target: Array.from(prep.target),
    split: prep.split,
    priors: prep.priors,
    ranIds: prep.ranIds,
    explanations: prep.explanations.map((e) => Array.from(e)),
    scores: { metricIds: prep.scores.metricIds, directions: prep.scores.directions, perSample: prep.scores.perSample.map((m) => m.map((v) => Array.from(v))), modelCalls: prep.scores.modelCalls },
  };
}

/**
 * Load, split, run the priors and score them. The caller disposes `loaded.task.model`.
 * With `reuse` (an `exportPrepared` object of the same `preparedKey`), only the task is loaded.
 */
export async function prepareJob(job: Job, io: JobIO, onEvent?: (e: JobEvent) => void, signal?: AbortSignal, reuse?: PreparedCache): Promise<PreparedJob> {
  if (reuse) {
    if (reuse.format !== 'deepfaith-prepared' || reuse.key !== preparedKey(job)) throw new UserError('The cached priors were computed for another job.', 'Delete the cache file or run without it.');
    const loaded = await loadJobTask(job, io);
    if (reuse.target.length !== loaded.batch.nRows) {
      loaded.task.model.dispose();
      throw new UserError('The cached priors do not match the rows of the task.', 'Delete the cache file.');
    }
    const toF32 = (v: number[]) => Float32Array.from(v.map((x) => (x === null ? NaN : x)));
    return {
      job,
      loaded,
      target: Int32Array.from(reuse.target),
      split: reuse.split,
      metrics: metricList(job),
      priors: reuse.priors,
      ranIds: reuse.ranIds,
      explanations: reuse.explanations.map(toF32),
      scores: { metricIds: reuse.scores.metricIds, directions: reuse.scores.directions, perSample: reuse.scores.perSample.map((m) => m.map(toF32)), modelCalls: reuse.scores.modelCalls },
    };
  }
  onEvent?.({ stage: 'load', done: 0, total: 1 });
  const loaded = await loadJobTask(job, io);
  try {
    const { task, batch } = loaded;
    const seeder = new Seeder(job.seed);
    const target = await chooseTargets(task, batch, job.task.target, loaded.labels);
    const split = splitSamples(batch.rowIndex, job.supervision.testFraction, seeder);
    onEvent?.({ stage: 'load', done: 1, total: 1, message: `${batch.nRows} rows × ${task.nFeatures} features; ${split.train.length} train, ${split.test.length} test` });
    const metrics = metricList(job);
    const requests = methodRequests(job.methods);
    const priors = await runPriors(task, batch, target, requests, seeder, (done, total, id) => onEvent?.({ stage: 'priors', done, total, message: id }), signal);
    if (priors.ranIds.length === 0) throw new UserError('None of the prior methods could run on this task.', `Skipped: ${priors.methods.map((m) => `${m.id} (${m.reason})`).join('; ')}.`);
    const scores = await scoreAll(task, batch, target, priors.explanations, metrics, seeder, (done, total) => onEvent?.({ stage: 'score-priors', done, total }), signal);
    return { job, loaded, target, split, metrics, priors: priors.methods, ranIds: priors.ranIds, explanations: priors.explanations, scores };
  } catch (e) {
    loaded.task.model.dispose();
    throw e;
  }
}

export interface MethodRow {
  method: string;
  label: string;
  isExplainer: boolean;
  /** Mean over test samples per metric id (NaN samples excluded). */
  scores: Record<string, number>;
  /** Test samples whose score was NaN, per metric id. */
  nNaN: Record<string, number>;
  /** Rank among the rows per metric (1 = best; ties share the mean rank). */
  ranks: Record<string, number>;
  meanRank: number;
  /** Time to explain one sample (ms): method run time / rows, explainer forward time / rows. */
  msPerSample: number;
}

export interface JobResult {
  job: Job;
  task: { source: { model: string; data: string }; nRows: number; nFeatures: number; featureNames: string[]; classNames: string[]; baseline: string; output: string; target: string };
  /** testRows = the rows the table scores: the test split, or validation rows carved from the training rows. */
  split: { trainRows: number[]; testRows: number[]; evaluatedOn?: 'test' | 'validation' };
  priors: PriorMethodInfo[];
  supervision: { options: SupervisionSet['options']; counts: SupervisionCounts; testCounts: SupervisionCounts; record: SampleRecord[] };
  training: { mode: TrainMode; seed: number; steps: StepEvent[]; evals: EvalEvent[]; alpha: AlphaState; ms: number };
  metrics: { id: string; direction: 'higher' | 'lower'; params: Params }[];
  table: MethodRow[];
}

/** Per-metric ranks (1 = best; ties share the mean rank; NaN means rank last) and mean rank. */
export function rankTable(rows: { scores: Record<string, number> }[], metrics: { id: string; direction: 'higher' | 'lower' }[]): { ranks: Record<string, number>[]; meanRank: number[] } {
  const ranks = rows.map(() => ({}) as Record<string, number>);
  for (const m of metrics) {
    const keyed = rows.map((r) => {
      const v = r.scores[m.id];
      return Number.isNaN(v) ? Infinity : m.direction === 'higher' ? -v : v;
    });
    const rk = averageRanks(keyed);
    rows.forEach((_, i) => (ranks[i][m.id] = rk[i]));
  }
  const meanRank = ranks.map((r) => metrics.reduce((a, m) => a + r[m.id], 0) / Math.max(1, metrics.length));
  return { ranks, meanRank };
}

function meanSkippingNaN(v: ArrayLike<number>, positions: number[]): { mean: number; nNaN: number } {
  let s = 0;
  let c = 0;
  for (const p of positions) {
    const x = v[p];
    if (Number.isNaN(x)) continue;
    s += x;
    c++;
  }
  return { mean: c ? s / c : NaN, nNaN: positions.length - c };
}

/** Build Z for the mode, train the explainer, score it with the priors on the test rows. */
export interface TrainAndReportOptions {
  mode?: TrainMode;
  trainSeed?: number;
  /**
   * 'test' (default): train on the training rows, score on the test rows. 'validation': carve
   * `validationFraction` of the TRAINING rows out (seeded, unit 'deepfaith-validation'), train on the
   * rest and score on those validation rows — for choosing settings without looking at the test split.
   */
  evaluateOn?: 'test' | 'validation';
  validationFraction?: number;
  /** Overrides of the job's settings for this training (tuning sweeps reuse one PreparedJob). */
  training?: Partial<Omit<TrainConfig, 'alpha'>> & { alpha?: Partial<TrainConfig['alpha']> };
  explainer?: Partial<ExplainerArchitecture>;
  supervision?: Partial<Pick<Job['supervision'], 'delta' | 'p'>>;
}

/** The rows a training run fits and the rows it is scored on (positions into the job's rows). */
export function evaluationSplit(prep: PreparedJob, evaluateOn: 'test' | 'validation' = 'test', validationFraction = 0.2): { train: number[]; test: number[] } {
  if (evaluateOn === 'test') return prep.split;
  const rowIndex = Int32Array.from(prep.split.train, (p) => prep.loaded.batch.rowIndex[p]);
  const inner = splitSamples(rowIndex, validationFraction, new Seeder(prep.job.seed), 'deepfaith-validation');
  return { train: inner.train.map((i) => prep.split.train[i]), test: inner.test.map((i) => prep.split.train[i]) };
}

export async function trainAndReport(
  prep: PreparedJob,
  opts: TrainAndReportOptions = {},
  onEvent?: (e: JobEvent) => void,
  signal?: AbortSignal,
): Promise<{ result: JobResult; explainer: Explainer }> {
  const baseJob = prep.job;
  const job: Job = {
    ...baseJob,
    supervision: { ...baseJob.supervision, ...(opts.supervision ?? {}) },
    explainer: { ...baseJob.explainer, ...(opts.explainer ?? {}) },
    training: { ...baseJob.training, ...(opts.training ?? {}), alpha: { ...baseJob.training.alpha, ...(opts.training?.alpha ?? {}) } },
  };
  const { loaded, target, scores } = prep;
  const evaluateOn = opts.evaluateOn ?? 'test';
  const split = evaluationSplit(prep, evaluateOn, opts.validationFraction ?? 0.2);
  const { task, batch } = loaded;
  const n = task.nFeatures;
  const mode = opts.mode ?? job.mode;
  const trainSeed = opts.trainSeed ?? job.trainSeed ?? job.seed;
  const supOpts = supervisionOptionsFor(mode, job.supervision.delta, job.supervision.p);
  const supInput = { x: batch.x, n, rowIndex: batch.rowIndex, methodIds: prep.ranIds, explanations: prep.explanations, scores };
  const zTrain = buildSupervision({ ...supInput, use: split.train }, supOpts);
  const zTest = buildSupervision({ ...supInput, use: split.test }, supOpts);
  onEvent?.({ stage: 'supervision', done: 1, total: 1, message: `Z: ${zTrain.counts.afterFilter} pairs from ${zTrain.counts.total} explanations (${zTrain.counts.afterDedup} after dedup); ${zTrain.counts.samplesWithoutSurvivor} samples without a survivor` });
  const trainBatch = subBatch(batch, split.train, n);
  const testBatch = subBatch(batch, split.test, n);
  const trainTarget = Int32Array.from(split.train, (p) => target[p]);
  const testTarget = Int32Array.from(split.test, (p) => target[p]);
  const explainerConfig: ExplainerConfig = { nFeatures: n, ...job.explainer, seed: trainSeed, ...inputStatistics(trainBatch.x, trainBatch.nRows, n, job.explainer.inputTransform) };
  const steps: StepEvent[] = [];
  const evals: EvalEvent[] = [];
  const totalSteps = job.training.epochs * Math.max(1, Math.ceil((zTrain.nPairs || trainBatch.nRows) / job.training.batchSize));
  const t0 = performance.now();
  const trained = await runTraining(
    trainExplainer({
      task,
      explainer: explainerConfig,
      config: job.training,
      mode,
      seed: trainSeed,
      z: zTrain,
      samples: { x: trainBatch.x, nRows: trainBatch.nRows, rowIndex: trainBatch.rowIndex, target: trainTarget },
      heldOut: { z: zTest, samples: { x: testBatch.x, nRows: testBatch.nRows, rowIndex: testBatch.rowIndex, target: testTarget } },
      signal,
    }),
    (e) => {
      if (e.type === 'step') steps.push(e);
      if (e.type === 'eval') evals.push(e);
      onEvent?.({ stage: 'train', done: e.type === 'step' ? e.step + 1 : steps.length, total: totalSteps, train: e });
    },
  );
  const trainMs = performance.now() - t0;
  const explainer = trained.explainer;
  try {
    throwIfCancelled(signal);
    onEvent?.({ stage: 'explain', done: 0, total: 1 });
    const te = performance.now();
    const raw = await explainer.explain(testBatch.x, testBatch.nRows);
    const explainMs = performance.now() - te;
    const ours = minMaxNormalize(raw, testBatch.nRows, n);
    onEvent?.({ stage: 'explain', done: 1, total: 1 });
    const ourScores = await scoreAll(task, testBatch, testTarget, [ours], prep.metrics, new Seeder(job.seed), (done, total) => onEvent?.({ stage: 'score-explainer', done, total }), signal);
    const metricsInfo = prep.metrics.map((m, i) => {
      const unit = getMetric(m.id)!;
      return { id: m.id, direction: scores.directions[i], params: { ...unit.defaults, ...(m.params ?? {}) } as Params };
    });
    const testPositions = Array.from({ length: testBatch.nRows }, (_, i) => i);
    const rowsOut: Omit<MethodRow, 'ranks' | 'meanRank'>[] = [];
    const summarise = (perSample: Float32Array[], positions: number[]) => {
      const s: Record<string, number> = {};
      const nn: Record<string, number> = {};
      metricsInfo.forEach((m, i) => {
        const r = meanSkippingNaN(perSample[i], positions);
        s[m.id] = r.mean;
        nn[m.id] = r.nNaN;
      });
      return { scores: s, nNaN: nn };
    };
    rowsOut.push({ method: 'deepfaith', label: 'DeepFaith explainer', isExplainer: true, ...summarise(ourScores.perSample[0], testPositions), msPerSample: explainMs / Math.max(1, testBatch.nRows) });
    const ran = prep.priors.filter((p) => p.ran);
    prep.ranIds.forEach((id, j) => {
      const info = ran[j];
      rowsOut.push({ method: id, label: info.label, isExplainer: false, ...summarise(scores.perSample[j], split.test), msPerSample: info.msPerSample });
    });
    const { ranks, meanRank } = rankTable(rowsOut, metricsInfo);
    const table: MethodRow[] = rowsOut.map((r, i) => ({ ...r, ranks: ranks[i], meanRank: meanRank[i] }));
    onEvent?.({ stage: 'report', done: 1, total: 1 });
    const result: JobResult = {
      job,
      task: { source: loaded.source, nRows: batch.nRows, nFeatures: n, featureNames: task.featureNames, classNames: task.classNames, baseline: task.baseline, output: task.output, target: job.task.target },
      split: { trainRows: Array.from(trainBatch.rowIndex), testRows: Array.from(testBatch.rowIndex), evaluatedOn: evaluateOn },
      priors: prep.priors,
      supervision: { options: supOpts, counts: zTrain.counts, testCounts: zTest.counts, record: zTrain.record },
      training: { mode, seed: trainSeed, steps, evals, alpha: trained.alpha, ms: trainMs },
      metrics: metricsInfo,
      table,
    };
    return { result, explainer };
  } catch (e) {
    explainer.dispose();
    throw e;
  }
}

/** Run a whole job. Returns the results and the trained explainer (the caller disposes it). */
export async function runJob(jobInput: JobInput | Job, io: JobIO, onEvent?: (e: JobEvent) => void, signal?: AbortSignal): Promise<{ result: JobResult; explainer: Explainer }> {
  const job = resolveJob(jobInput as JobInput);
  const prep = await prepareJob(job, io, onEvent, signal);
  try {
    return await trainAndReport(prep, {}, onEvent, signal);
  } finally {
    prep.loaded.task.model.dispose();
  }
}

const fmt = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');

/** The report: method × metric table (directions, ranks, mean rank), runtimes, supervision counts, training summary. */
export function reportMarkdown(r: JobResult): string {
  const arrow = (d: string) => (d === 'higher' ? '↑' : '↓');
  const sorted = [...r.table].sort((a, b) => a.meanRank - b.meanRank);
  const lines: string[] = [];
  const taskName = r.job.task.demo ?? r.task.source.data;
  lines.push(`# DeepFaith report: ${taskName}`, '');
  lines.push(`${r.task.nRows} rows × ${r.task.nFeatures} features; ${r.split.trainRows.length} train / ${r.split.testRows.length} test samples; baseline ${r.task.baseline}, output ${r.task.output}, target ${r.task.target}; mode ${r.training.mode}, job seed ${r.job.seed}, explainer seed ${r.training.seed}.`, '');
  lines.push('## Faithfulness on the test split (means over samples; every explanation min–max normalised)', '');
  lines.push(`| method | ${r.metrics.map((m) => `${m.id} ${arrow(m.direction)}`).join(' | ')} | mean rank | ms / sample |`);
  lines.push(`|---|${r.metrics.map(() => '---:').join('|')}|---:|---:|`);
  for (const row of sorted)
    lines.push(`| ${row.isExplainer ? '**DeepFaith**' : row.method} | ${r.metrics.map((m) => `${fmt(row.scores[m.id])} (${row.ranks[m.id]})`).join(' | ')} | ${fmt(row.meanRank, 2)} | ${fmt(row.msPerSample, 3)} |`);
  lines.push('', 'Each cell: mean score (rank among the methods; ties share the mean rank).', '');
  const nan = r.table.filter((row) => Object.values(row.nNaN).some((v) => v > 0));
  if (nan.length) lines.push(`NaN scores excluded from means: ${nan.map((row) => `${row.method} ${Object.entries(row.nNaN).filter(([, v]) => v > 0).map(([k, v]) => `${k}×${v}`).join(' ')}`).join('; ')}.`, '');
  const skipped = r.priors.filter((p) => !p.ran);
  if (skipped.length) lines.push('Skipped prior methods: ' + skipped.map((p) => `${p.id} (${p.reason})`).join('; ') + '.', '');
  const c = r.supervision.counts;
  lines.push('## Supervision set Z (training samples)', '');
  lines.push(`δ = ${r.supervision.options.delta}${r.supervision.options.dedup ? '' : ' (dedup off)'}, p = ${r.supervision.options.p}${r.supervision.options.filter ? '' : ' (filter off)'}: ${c.total} explanations → ${c.afterDedup} after dedup → ${c.afterFilter} after filter; ${c.samplesWithoutSurvivor} of ${c.samples} samples without a survivor.`, '');
  const kept = new Map<string, number>();
  for (const rec of r.supervision.record) for (const f of rec.fates) if (f.fate === 'kept') kept.set(f.method, (kept.get(f.method) ?? 0) + 1);
  lines.push('Pairs in Z per method: ' + r.priors.filter((p) => p.ran).map((p) => `${p.id} ${kept.get(p.id) ?? 0}`).join(', ') + '.', '');
  const st = r.training.steps;
  lines.push('## Training', '');
  if (st.length) {
    const firstConv = st.find((s) => s.converged);
    const resets = st.filter((s, i) => i > 0 && st[i - 1].converged && !s.converged).length;
    lines.push(`${st.length} steps in ${fmt(r.training.ms / 1000, 1)} s. L_PC ${fmt(st[0].lossPC)} → ${fmt(st[st.length - 1].lossPC)}, L_LC ${fmt(st[0].lossLC)} → ${fmt(st[st.length - 1].lossLC)}; final α ${fmt(r.training.alpha.alpha)}; ${firstConv ? `first convergence at step ${firstConv.step}` : 'L_PC never met the convergence test'}; ${resets} reset(s).`, '');
  }
  for (const e of r.training.evals) lines.push(`- held-out after epoch ${e.epoch + 1}: L_PC ${fmt(e.lossPC)}, L_LC ${fmt(e.lossLC)}`);
  lines.push('');
  return lines.join('\n');
}
