/**
 * DeepFaith's supervision set Z (METRICS.md "Prior explanations → supervision", paper §4):
 * run K prior attribution methods, min–max normalise each explanation per sample, score ALL of
 * them on the metrics (once), then dedup (δ) and filter (p) as pure functions over the stored
 * scores, keeping a per-sample record of every explanation's fate.
 *
 * The 80/20 split of samples happens before Z: `splitSamples` assigns each row by its own seeded
 * draw, so the split does not depend on the order or the slice of the rows.
 */
import { UserError } from '../errors';
import type { ParamSchema, Params } from '../params';
import { ATTRIBUTION_METHODS, getMethod, resolveMethodParams } from '../attribution/registry';
import { checkpoint } from '../yield';
import { minMaxNormalizeRows, rowFeatureCounts } from '../task/ragged';
import { requireMetric, scoreExplanations, type MetricRequest } from '../metrics/evaluate';
import type { Seeder } from '../rng';
import type { Batch, Task } from '../task/task';
import { dedup, defaults as dedupDefaults, type DedupFate } from './dedup';
import { filterSample, defaults as filterDefaults, type Direction } from './filter';

/** The paper's eight prior methods for tabular and text tasks, in the paper's order. */
export const PAPER_METHODS = ['integrated-gradients', 'gradient-shap', 'deeplift', 'saliency', 'occlusion', 'feature-ablation', 'lime', 'kernel-shap'];

/**
 * The paper's prior methods for image tasks (§5 and Table 7) that this project registers, in the
 * order of its Table 2. Expected Grads, DeepLIFT SHAP and LRP are in the paper's list but not
 * registered here. On a task a method does not apply to (e.g. deeplift on a CNN, the CAM methods
 * on a GraphModel) it is skipped with the reason recorded, like every prior.
 */
export const PAPER_IMAGE_METHODS = [
  'integrated-gradients',
  'deeplift',
  'saliency',
  'occlusion',
  'lime',
  'kernel-shap',
  'input-x-gradient',
  'guided-backprop',
  'grad-cam',
  'score-cam',
  'grad-cam-plus-plus',
];

/** The "paper" prior list for a task's feature-space kind ('image', or anything else: the eight). */
export function paperMethodsFor(spaceKind?: string): string[] {
  return spaceKind === 'image' ? PAPER_IMAGE_METHODS : PAPER_METHODS;
}

export const defaults = { delta: dedupDefaults.delta, p: filterDefaults.p, testFraction: 0.2 };

export const params: ParamSchema<typeof defaults> = {
  delta: { type: 'number', min: -1, max: 1, meaning: 'δ: an explanation is dropped when its cosine similarity to a kept one is ≥ δ.' },
  p: { type: 'number', min: 0, max: 1, meaning: 'p: per sample and metric, explanations below the p-quantile (above the (1−p)-quantile for ↓ metrics) fail the filter.' },
  testFraction: { type: 'number', min: 0, minExclusive: true, max: 0.9, meaning: 'Share of the samples held out as the test split (before Z is built).' },
};

export interface MethodRequest {
  id: string;
  params?: Params;
}

/** `paper` = the paper's list for the task's modality (above); `all` = every applicable registered method except `random`; or an explicit list. */
export type MethodSelection = 'paper' | 'all' | MethodRequest[];

export interface PriorMethodInfo {
  id: string;
  label: string;
  params: Params;
  /** False when skipped; `reason` says why. */
  ran: boolean;
  reason?: string;
  /** Wall time of the whole method run, and per sample. */
  ms: number;
  msPerSample: number;
}

/** The requests of a selection; `spaceKind` (the task's `space.kind`) picks the paper's list for images. */
export function methodRequests(selection: MethodSelection, spaceKind?: string): MethodRequest[] {
  if (selection === 'paper') return paperMethodsFor(spaceKind).map((id) => ({ id }));
  if (selection === 'all') return ATTRIBUTION_METHODS.filter((m) => m.id !== 'random').map((m) => ({ id: m.id }));
  return selection;
}

/** Min–max normalise each row to [0,1]; a constant row becomes all zeros. s: [nRows, n]. */
export function minMaxNormalize(s: Float32Array, nRows: number, n: number): Float32Array {
  const out = new Float32Array(nRows * n);
  for (let r = 0; r < nRows; r++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = s[r * n + i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const span = hi - lo;
    if (!(span > 0) || !Number.isFinite(span)) continue;
    for (let i = 0; i < n; i++) out[r * n + i] = (s[r * n + i] - lo) / span;
  }
  return out;
}

export interface PriorRun {
  /** Every requested method, in request order, with ran/skipped. */
  methods: PriorMethodInfo[];
  /** Ids of the methods that ran, in order (the order dedup uses). */
  ranIds: string[];
  /** Normalised explanations of the methods that ran: [nRows, n] each. */
  explanations: Float32Array[];
  /** The same explanations as the methods produced them (signed, unnormalised), for display. */
  raw: Float32Array[];
}

/** Run the prior methods on every row of `batch`; skip (with the reason) any that cannot run. */
export async function runPriors(
  task: Task,
  batch: Batch,
  target: Int32Array,
  requests: MethodRequest[],
  seeder: Seeder,
  onProgress?: (done: number, total: number, methodId: string) => void,
  signal?: AbortSignal,
): Promise<PriorRun> {
  const methods: PriorMethodInfo[] = [];
  const explanations: Float32Array[] = [];
  const raw: Float32Array[] = [];
  const ranIds: string[] = [];
  let done = 0;
  for (const req of requests) {
    await checkpoint(signal);
    const unit = getMethod(req.id);
    if (!unit) {
      methods.push({ id: req.id, label: req.id, params: req.params ?? {}, ran: false, reason: `"${req.id}" is not a registered attribution method in this build.`, ms: 0, msPerSample: 0 });
      onProgress?.(++done, requests.length, req.id);
      continue;
    }
    const params = resolveMethodParams(unit, req.params ?? {}, task.nFeatures);
    const reason = unit.applicable(task);
    if (reason) {
      methods.push({ id: unit.id, label: unit.label, params, ran: false, reason, ms: 0, msPerSample: 0 });
      onProgress?.(++done, requests.length, req.id);
      continue;
    }
    const t0 = performance.now();
    const values = await unit.explain(task, batch, target, params, seeder, onProgress ? (d, t) => onProgress(done + d / Math.max(1, t), requests.length, req.id) : undefined, signal);
    const ms = performance.now() - t0;
    methods.push({ id: unit.id, label: unit.label, params, ran: true, ms, msPerSample: ms / Math.max(1, batch.nRows) });
    raw.push(values);
    // text: each row normalised over its real tokens only, padded positions stay 0 (core/task/ragged.ts)
    const counts = rowFeatureCounts(task, batch);
    explanations.push(counts ? minMaxNormalizeRows(values, batch.nRows, task.nFeatures, counts) : minMaxNormalize(values, batch.nRows, task.nFeatures));
    ranIds.push(unit.id);
    onProgress?.(++done, requests.length, req.id);
  }
  return { methods, ranIds, explanations, raw };
}

export interface StoredScores {
  metricIds: string[];
  directions: Direction[];
  /** perSample[method][metric]: [nRows] scores. */
  perSample: Float32Array[][];
  /** modelCalls[method][metric] */
  modelCalls: number[][];
  /** curves[method][metric]: one curve per row for curve metrics (absent when restored from a cache). */
  curves?: (Float32Array[] | undefined)[][];
  /** Wall time of the whole scoring (every method and metric share model batches). */
  ms?: number;
}

/** Score every explanation on every metric once (the stored scores dedup/filter read). */
export async function scoreAll(
  task: Task,
  batch: Batch,
  target: Int32Array,
  explanations: Float32Array[],
  metrics: MetricRequest[],
  seeder: Seeder,
  onProgress?: (done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<StoredScores> {
  const directions = metrics.map((m) => requireMetric(m.id).direction);
  const t0 = performance.now();
  const results = explanations.length ? await scoreExplanations(task, batch, target, explanations, metrics, seeder, onProgress, signal) : [];
  return {
    metricIds: metrics.map((m) => m.id),
    directions,
    perSample: results.map((row) => row.map((r) => r.perSample)),
    modelCalls: results.map((row) => row.map((r) => r.modelCalls)),
    curves: results.map((row) => row.map((r) => r.curves)),
    ms: performance.now() - t0,
  };
}

/** One explanation's fate in the per-sample record. */
export type ExplanationFate =
  | { method: string; fate: 'kept' }
  | { method: string; fate: 'similar'; similarTo: string; cosine: number }
  | { method: string; fate: 'filtered'; failed: { metric: string; value: number; threshold: number }[] };

export interface SampleRecord {
  /** Global row index of the sample. */
  row: number;
  fates: ExplanationFate[];
  /** Filter threshold per metric id (absent when filtering is off). */
  thresholds?: Record<string, number>;
  /** Number of explanations of this sample in Z. */
  nKept: number;
}

export interface SupervisionCounts {
  samples: number;
  total: number;
  afterDedup: number;
  afterFilter: number;
  samplesWithoutSurvivor: number;
}

export interface SupervisionSet {
  /** [nPairs, inputSize] inputs and [nPairs, n] normalised saliency targets. */
  x: Float32Array;
  s: Float32Array;
  nPairs: number;
  /** Global row index and method id index (into methodIds) of each pair. */
  pairRow: Int32Array;
  pairMethod: Int32Array;
  methodIds: string[];
  record: SampleRecord[];
  counts: SupervisionCounts;
  options: SupervisionOptions;
}

export interface SupervisionOptions {
  delta: number;
  p: number;
  /** Turn dedup / filter off for the ablations (`filter-only` / `dedup-only`). */
  dedup: boolean;
  filter: boolean;
}

export interface SupervisionInput {
  /** All rows the priors ran on: [nRows, inputSize]. */
  x: Float32Array;
  n: number;
  /** Model-input values per row (default n: tabular; image tasks have more values than patches). */
  inputSize?: number;
  rowIndex: Int32Array;
  /** Positions (into the rows above) of the samples Z is built from (the training split). */
  use: ArrayLike<number>;
  methodIds: string[];
  /** Normalised explanations of all rows: [nRows, n] per method. */
  explanations: Float32Array[];
  scores: StoredScores;
}

/** Dedup + filter over stored scores and build Z with its per-sample record. Pure. */
export function buildSupervision(input: SupervisionInput, options: SupervisionOptions): SupervisionSet {
  const { n, methodIds, explanations, scores } = input;
  const K = methodIds.length;
  const nUse = input.use.length;
  // explanations of the used rows only, for dedup
  const sub = explanations.map((e) => {
    const out = new Float32Array(nUse * n);
    for (let u = 0; u < nUse; u++) out.set(e.subarray(input.use[u] * n, (input.use[u] + 1) * n), u * n);
    return out;
  });
  const dd: DedupFate[][] = options.dedup ? dedup(sub, nUse, n, options.delta) : Array.from({ length: nUse }, () => methodIds.map(() => ({ kept: true }) as DedupFate));
  const pairs: { u: number; j: number }[] = [];
  const record: SampleRecord[] = [];
  const counts: SupervisionCounts = { samples: nUse, total: nUse * K, afterDedup: 0, afterFilter: 0, samplesWithoutSurvivor: 0 };
  for (let u = 0; u < nUse; u++) {
    const pos = input.use[u];
    const candidates = dd[u].map((f) => f.kept);
    counts.afterDedup += candidates.filter(Boolean).length;
    const fates: ExplanationFate[] = [];
    let thresholds: Record<string, number> | undefined;
    let failures: (ReturnType<typeof filterSample>['failures'][number])[] = candidates.map((c) => (c ? [] : null));
    if (options.filter && K > 0) {
      const rowScores = methodIds.map((_, j) => scores.metricIds.map((_, m) => scores.perSample[j][m][pos]));
      const f = filterSample(rowScores, candidates, scores.directions, options.p);
      failures = f.failures;
      thresholds = Object.fromEntries(scores.metricIds.map((id, m) => [id, f.thresholds[m]]));
    }
    let nKept = 0;
    for (let j = 0; j < K; j++) {
      const d = dd[u][j];
      if (!d.kept) {
        fates.push({ method: methodIds[j], fate: 'similar', similarTo: methodIds[d.similarTo], cosine: d.cosine });
        continue;
      }
      const failed = failures[j] ?? [];
      if (failed.length) {
        fates.push({ method: methodIds[j], fate: 'filtered', failed: failed.map((f) => ({ metric: scores.metricIds[f.metric], value: f.value, threshold: f.threshold })) });
        continue;
      }
      fates.push({ method: methodIds[j], fate: 'kept' });
      pairs.push({ u, j });
      nKept++;
    }
    counts.afterFilter += nKept;
    if (nKept === 0) counts.samplesWithoutSurvivor++;
    record.push({ row: input.rowIndex[pos], fates, thresholds, nKept });
  }
  const d = input.inputSize ?? n; // model-input values per row
  const x = new Float32Array(pairs.length * d);
  const s = new Float32Array(pairs.length * n);
  const pairRow = new Int32Array(pairs.length);
  const pairMethod = new Int32Array(pairs.length);
  pairs.forEach(({ u, j }, i) => {
    const pos = input.use[u];
    x.set(input.x.subarray(pos * d, (pos + 1) * d), i * d);
    s.set(explanations[j].subarray(pos * n, (pos + 1) * n), i * n);
    pairRow[i] = input.rowIndex[pos];
    pairMethod[i] = j;
  });
  return { x, s, nPairs: pairs.length, pairRow, pairMethod, methodIds, record, counts, options };
}

/** Supervision options of a training mode: `dedup-only` skips the filter, `filter-only` the dedup. */
export function supervisionOptionsFor(mode: string, delta: number, p: number): SupervisionOptions {
  return { delta, p, dedup: mode !== 'filter-only', filter: mode !== 'dedup-only' };
}

/**
 * Split rows into train and test: each row draws u from seeder.rng(unit, rowIndex) (unit
 * 'deepfaith-split' for the train/test split, 'deepfaith-validation' for the validation rows carved
 * out of the training rows);
 * the round(testFraction·nRows) rows with the smallest u (ties → lower row index) are the test split.
 * Returns positions into the rows, each list in row order.
 */
export function splitSamples(rowIndex: Int32Array, testFraction: number, seeder: Seeder, unit = 'deepfaith-split'): { train: number[]; test: number[] } {
  checkSplit(rowIndex.length, testFraction);
  return splitFromKeys(rowIndex, testFraction, Array.from(rowIndex, (r) => seeder.rng(unit, r).uniform()));
}

/** `splitSamples` for many rows: the same split, drawn with turns of the event loop (cancellable). */
export async function splitSamplesAsync(rowIndex: Int32Array, testFraction: number, seeder: Seeder, signal?: AbortSignal, unit = 'deepfaith-split'): Promise<{ train: number[]; test: number[] }> {
  checkSplit(rowIndex.length, testFraction);
  const u = new Array<number>(rowIndex.length);
  for (let i = 0; i < rowIndex.length; i++) {
    if ((i & 1023) === 0) await checkpoint(signal);
    u[i] = seeder.rng(unit, rowIndex[i]).uniform();
  }
  return splitFromKeys(rowIndex, testFraction, u);
}

function checkSplit(nRows: number, testFraction: number): void {
  if (!(testFraction > 0 && testFraction < 1)) throw new UserError(`Test fraction ${testFraction} is outside (0, 1).`, 'Use e.g. 0.2 for an 80/20 split.');
  if (nRows < 2) throw new UserError('At least 2 samples are needed to split into train and test.', 'Use more rows.');
}

function splitFromKeys(rowIndex: Int32Array, testFraction: number, u: number[]): { train: number[]; test: number[] } {
  const nRows = rowIndex.length;
  const nTest = Math.min(nRows - 1, Math.max(1, Math.round(testFraction * nRows)));
  const order = Array.from({ length: nRows }, (_, i) => i).sort((a, b) => u[a] - u[b] || rowIndex[a] - rowIndex[b]);
  const isTest = new Uint8Array(nRows);
  for (let i = 0; i < nTest; i++) isTest[order[i]] = 1;
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < nRows; i++) (isTest[i] ? test : train).push(i);
  return { train, test };
}
