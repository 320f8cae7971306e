/**
 * Everything before training, as steps the CLI (`prepareJob`, all at once) and the studio's worker
 * (one panel at a time) share: load the task (core/task/load), check the job against it, choose
 * the targets, split the samples 80/20 (before Z), run the K priors (min–max normalised), score
 * all of them once on every metric. A `PreparedCache` keeps the expensive part on disk or in
 * IndexedDB and is refused for any other job (`preparedKey`).
 */
import { UserError } from '../errors';
import { Seeder } from '../rng';
import { loadTask, rowsFingerprint, targetsFor, type LoadedTask, type TaskIO } from '../task/load';
import type { Batch } from '../task/task';
import type { MetricRequest } from '../metrics/evaluate';
import { runPriors, scoreAll, splitSamplesAsync, type PriorMethodInfo, type StoredScores } from '../supervision/supervision';
import { checkJobForTask, jobMethodRequests, jobMetrics, type Job } from './schema';
import { preparedKey } from './diff';

/** File access for jobs: the task loader's. */
export type JobIO = TaskIO;

export type JobStage = 'load' | 'priors' | 'score-priors' | 'supervision' | 'train' | 'explain' | 'score-explainer' | 'report';

export interface JobEvent {
  stage: JobStage;
  done: number;
  total: number;
  message?: string;
  /** Training events, during stage 'train'. */
  train?: import('../explainer/train').TrainEvent;
}

/** The job's rows, targets and split: what every later stage works on. */
export interface JobRows {
  job: Job;
  loaded: LoadedTask;
  target: Int32Array;
  /** Positions into loaded.batch. */
  split: { train: number[]; test: number[] };
  metrics: MetricRequest[];
  /** SHA-256 of the model and of the job's rows (`rowsFingerprint`): what a prepared cache is tied to. */
  fingerprint: { model: string; data: string };
}

/** Everything before training: rows, priors and their stored scores. */
export interface PreparedJob extends JobRows {
  priors: PriorMethodInfo[];
  ranIds: string[];
  /** Normalised prior explanations of all rows, per method that ran. */
  explanations: Float32Array[];
  /** The same as the methods produced them (absent when restored from a cache). */
  raw?: Float32Array[];
  /** Stored scores of all rows. */
  scores: StoredScores;
}

export async function loadJobTask(job: Job, io: JobIO): Promise<LoadedTask> {
  return loadTask(job.task, io);
}

/** Check the job against the loaded task, choose the targets and split the samples. No prior runs yet. */
export async function startJob(job: Job, loaded: LoadedTask, signal?: AbortSignal): Promise<JobRows> {
  checkJobForTask(job, loaded.task.nFeatures, loaded.task);
  const target = await targetsFor(loaded, job.task.target);
  const split = await splitSamplesAsync(loaded.batch.rowIndex, job.supervision.testFraction, new Seeder(job.seed), signal);
  return { job, loaded, target, split, metrics: jobMetrics(job), fingerprint: await rowsFingerprint(loaded) };
}

/** The K prior methods on every row of the job (skipped ones with the reason). */
export async function runJobPriors(rows: JobRows, onEvent?: (e: JobEvent) => void, signal?: AbortSignal) {
  const { task, batch } = rows.loaded;
  const priors = await runPriors(task, batch, rows.target, jobMethodRequests(rows.job, task.space.kind), new Seeder(rows.job.seed), (done, total, id) => onEvent?.({ stage: 'priors', done, total, message: id }), signal);
  if (priors.ranIds.length === 0) throw new UserError('None of the prior methods could run on this task.', `Skipped: ${priors.methods.map((m) => `${m.id} (${m.reason})`).join('; ')}.`);
  return priors;
}

/** Every normalised prior on every metric, once: the stored scores dedup and filter read. */
export async function scoreJobPriors(rows: JobRows, explanations: Float32Array[], onEvent?: (e: JobEvent) => void, signal?: AbortSignal): Promise<StoredScores> {
  const { task, batch } = rows.loaded;
  return scoreAll(task, batch, rows.target, explanations, rows.metrics, new Seeder(rows.job.seed), (done, total) => onEvent?.({ stage: 'score-priors', done, total }), signal);
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
  /**
   * SHA-256 of the model and of the rows the priors were computed on (`rowsFingerprint`): the key
   * names the files, this ties the cache to their contents, so a cache is refused once the model
   * or the job's rows changed at the same path.
   */
  fingerprint?: { model: string; data: string };
  target: number[];
  split: { train: number[]; test: number[] };
  priors: PriorMethodInfo[];
  ranIds: string[];
  explanations: number[][];
  scores: { metricIds: string[]; directions: StoredScores['directions']; perSample: number[][][]; modelCalls: number[][] };
}

export { preparedKey, explainKey } from './diff';

export function exportPrepared(prep: PreparedJob): PreparedCache {
  return {
    format: 'deepfaith-prepared',
    version: 1,
    key: preparedKey(prep.job),
    fingerprint: prep.fingerprint,
    target: Array.from(prep.target),
    split: prep.split,
    priors: prep.priors,
    ranIds: prep.ranIds,
    explanations: prep.explanations.map((e) => Array.from(e)),
    scores: { metricIds: prep.scores.metricIds, directions: prep.scores.directions, perSample: prep.scores.perSample.map((m) => m.map((v) => Array.from(v))), modelCalls: prep.scores.modelCalls },
  };
}

/** A fingerprint as a file holds it: both hashes present (files written before they were recorded have none). */
export function isFingerprint(f: unknown): f is JobRows['fingerprint'] {
  return !!f && typeof (f as JobRows['fingerprint']).model === 'string' && typeof (f as JobRows['fingerprint']).data === 'string';
}

/**
 * Refuses stored priors whose model or rows differ from the ones loaded now (or that do not say
 * what they were computed on): the same job on changed files gives other explanations.
 */
export function checkFingerprint(stored: PreparedCache['fingerprint'], loaded: JobRows['fingerprint'], what: string): void {
  if (!isFingerprint(stored))
    throw new UserError(`${what} do not record which model and data files they were computed on, so they cannot be checked against the files loaded now.`, 'Compute the priors again (run without the cache file, or delete it).');
  const changed: string[] = [];
  if (stored.model !== loaded.model) changed.push(`with another model than the one loaded now (model SHA-256 ${stored.model.slice(0, 12)}… ≠ ${loaded.model.slice(0, 12)}…)`);
  // the rows' fingerprint, not the file's SHA-256 the Task panel shows: rows beyond the job's maxRows do not count
  if (stored.data !== loaded.data) changed.push(`on other data rows than the job's rows loaded now (fingerprint of the rows ${stored.data.slice(0, 12)}… ≠ ${loaded.data.slice(0, 12)}…)`);
  if (changed.length)
    throw new UserError(`${what} were computed ${changed.join(' and ')}.`, 'Compute the priors again for these files (run without the cache file, or delete it), or load the files the cache was made for.');
}

/** A PreparedJob from a cache of the same job, on an already loaded task. */
export async function importPrepared(job: Job, loaded: LoadedTask, reuse: PreparedCache, opts: { filesChecked?: boolean } = {}): Promise<PreparedJob> {
  if (reuse.format !== 'deepfaith-prepared' || reuse.key !== preparedKey(job)) throw new UserError('The cached priors were computed for another job.', 'Delete the cache file or run without it.');
  const fingerprint = await rowsFingerprint(loaded);
  // filesChecked: the caller compared the files themselves (the studio's saved run, with its task's fingerprint), so a cache saved before caches recorded theirs is taken as the files'
  checkFingerprint(reuse.fingerprint ?? (opts.filesChecked ? fingerprint : undefined), fingerprint, 'The cached priors');
  if (reuse.target.length !== loaded.batch.nRows) throw new UserError('The cached priors do not match the rows of the task.', 'Delete the cache file.');
  const toF32 = (v: (number | null)[]) => Float32Array.from(v, (x) => (x === null ? NaN : x));
  return {
    job,
    loaded,
    fingerprint,
    target: Int32Array.from(reuse.target),
    split: reuse.split,
    metrics: jobMetrics(job),
    priors: reuse.priors,
    ranIds: reuse.ranIds,
    explanations: reuse.explanations.map(toF32),
    scores: { metricIds: reuse.scores.metricIds, directions: reuse.scores.directions, perSample: reuse.scores.perSample.map((m) => m.map(toF32)), modelCalls: reuse.scores.modelCalls },
  };
}

/**
 * Load, split, run the priors and score them. The caller disposes `loaded.task.model`.
 * With `reuse` (an `exportPrepared` object of the same `preparedKey`), only the task is loaded.
 */
export async function prepareJob(job: Job, io: JobIO, onEvent?: (e: JobEvent) => void, signal?: AbortSignal, reuse?: PreparedCache): Promise<PreparedJob> {
  onEvent?.({ stage: 'load', done: 0, total: 1 });
  const loaded = await loadJobTask(job, io);
  try {
    return await prepareLoaded(job, loaded, onEvent, signal, reuse);
  } catch (e) {
    loaded.task.model.dispose();
    throw e;
  }
}

/** `prepareJob` on a task already loaded (the caller keeps ownership of its model). */
export async function prepareLoaded(job: Job, loaded: LoadedTask, onEvent?: (e: JobEvent) => void, signal?: AbortSignal, reuse?: PreparedCache): Promise<PreparedJob> {
  if (reuse) return await importPrepared(job, loaded, reuse);
  const rows = await startJob(job, loaded, signal);
  onEvent?.({ stage: 'load', done: 1, total: 1, message: `${loaded.batch.nRows} rows × ${loaded.task.nFeatures} features; ${rows.split.train.length} train, ${rows.split.test.length} test` });
  const priors = await runJobPriors(rows, onEvent, signal);
  const scores = await scoreJobPriors(rows, priors.explanations, onEvent, signal);
  return { ...rows, priors: priors.methods, ranIds: priors.ranIds, explanations: priors.explanations, raw: priors.raw, scores };
}

/** Rows at the given positions of a batch, as a batch. */
export function subBatch(batch: Batch, positions: number[], width: number): Batch {
  const x = new Float32Array(positions.length * width);
  positions.forEach((p, i) => x.set(batch.x.subarray(p * width, (p + 1) * width), i * width));
  return { x, nRows: positions.length, rowIndex: Int32Array.from(positions, (p) => batch.rowIndex[p]) };
}
