/**
 * The batched metric engine. Every metric is a `MetricKernel`: per row it first lays out the
 * perturbations that do not depend on the explanation (FC's and INF's subsets, MC's noise
 * baselines), then, per explanation, the ones that do. The engine runs
 *
 *   1. one clean pass: x and x° of every row → p_c(x), p_c(x°), predicted classes (each distinct
 *      input once: with a fixed baseline x° is one input for all rows);
 *   2. groups of whole rows: every perturbation of every metric and every explanation of those rows
 *      in one buffer, sent through the model in chunks of `task.model.maxBatchRows`.
 *
 * Rows are never split across groups, and all draws come from `seeder.rng(metricId, rowIndex)`,
 * so numbers do not depend on grouping, batching, the `--rows` slice or the order of metrics.
 *
 * Unique inputs: the buffer memoises by content per data row (effects.ts `Perturbations` with
 * `memo`): a perturbed input equal, bit for bit, to one already laid out for the same row — by any
 * metric, for any explanation — or to the row's clean x or x° (whose outputs the clean pass has),
 * is not sent again; its requester reads the earlier output. So FC's single-feature subsets reuse
 * FE's removals, INF's repeated masks and NEG's points that coincide with INS's are evaluated
 * once, and an s-independent perturbation is evaluated once per row however many explanations are
 * scored. Equal inputs give equal outputs, so the numbers are those of evaluating every request.
 * Each (row, explanation) is sorted once (`ordersOf`: π and argsort_asc from one sort).
 *
 * Counts (MetricResult):
 * - `modelCalls`: rows the model evaluated — each distinct input counted once, under the first
 *   (explanation, metric) that needed it (the clean pass under explanation 0 × the first metric),
 *   so the counts add up to the rows sent;
 * - `rowsRequested`: rows the (explanation, metric) laid out before the memo: its own
 *   perturbations, with an s-independent one counted once per row (under explanation 0), the
 *   cumulative curve along an order counted once per (row, explanation, order, step size) under
 *   the first metric asking for it (RP, DEL, IROF and POS share one), and the clean pass's 2 rows
 *   per data row under the first slot. This is what the engine sent before it memoised inputs,
 *   and what `estimate.ts` counts; rows sent ≤ rows requested.
 */
import { UserError } from '../errors';
import { resolveParams, type ParamSpec, type Params } from '../params';
import { checkpoint } from '../yield';
import type { Seeder } from '../rng';
import type { Batch, Progress, Task } from '../task/task';
import { rowBaselines } from '../task/featureSpace';
import { Evaluated, KNOWN_BASE, Perturbations, type KnownInput } from './effects';
import { nSteps, sortOrders, type Orders } from './curves';
import type { FaithfulnessMetric, MetricResult } from './types';
import { capParams, rowFeatureCounts } from '../task/ragged';

/** What a kernel knows about one row when it lays out its perturbations. */
export interface RowContext {
  task: Task;
  nFeatures: number;
  /** Index of the row inside the batch. */
  r: number;
  /** Global row index (file order): seeds the row's draws. */
  rowIndex: number;
  /** [inputSize] the clean input. */
  x: Float32Array;
  /** [inputSize] the row's all-baseline input x° (task.baseline; for blur, the row's own blur). */
  x0: Float32Array;
  /** Target class c. */
  c: number;
  /** p_c(x) */
  pClean: number;
  /** p_c(x°) */
  pBase: number;
  /** Predicted class on x (argmax, ties → lower index). */
  predClean: number;
  /** Predicted class on x°. */
  predBase: number;
  seeder: Seeder;
  /** Orders of the row's explanations, by explanation index, filled by `ordersOf` (the engine gives one per row). */
  orders?: (Orders | undefined)[];
}

/** π and argsort_asc of explanation e of this row: sorted once per (row, explanation) when the engine gives a cache. */
export function ordersOf(ctx: RowContext, s: Float32Array, e: number): Orders {
  const cache = ctx.orders;
  if (!cache) return sortOrders(s);
  return (cache[e] ??= sortOrders(s));
}

/** A row's value (and curve points, for metrics that have a curve) once its inputs are evaluated. */
export interface RowOutcome {
  value: number;
  curve?: Float32Array;
}
export type RowFinisher = (ev: Evaluated) => RowOutcome;

export interface MetricKernel<P extends Params, S = unknown> {
  /** Draws and perturbations of one row that do not depend on the explanation (shared by all). */
  prepareRow(ctx: RowContext, params: P, req: Perturbations, owner: number): S;
  /** The perturbations of one row for one explanation s (its row, [nFeatures]). */
  planRow(ctx: RowContext, s: Float32Array, explanation: number, params: P, shared: S, req: Perturbations, owner: number): RowFinisher;
}

/** A metric the engine can batch with others. */
export interface BatchedMetric<P extends Params> extends FaithfulnessMetric<P> {
  kernel: MetricKernel<P, any>;
  /** Whether its result carries one curve per sample. */
  hasCurve: boolean;
}

export function isBatched(m: FaithfulnessMetric<any>): m is BatchedMetric<any> {
  return typeof (m as BatchedMetric<any>).kernel === 'object';
}

/** Inputs per group are capped at this many float32 values (32 MiB), rounded to whole rows. */
export const GROUP_VALUE_BUDGET = 1 << 23;

export interface EngineOptions {
  /** Cap on float32 values held in one group of perturbed inputs. */
  groupValueBudget?: number;
  /**
   * Send each distinct input of a row once (default true). false sends every requested row — the
   * engine as it was before the memo: same numbers, more model rows (the benchmark's "before").
   */
  memo?: boolean;
}

/** A metric's params checked by the one resolver (core/params.ts), feature-count bounds included. */
export function checkMetricParams(metric: FaithfulnessMetric<any>, params: Params, nFeatures: number): Params {
  return resolveParams({ id: metric.id, kind: 'Metric', defaults: metric.defaults, params: metric.params }, params, nFeatures);
}

/** Evaluate a group of inputs in chunks of maxBatchRows (one forward pass each). */
async function evaluateInputs(task: Task, req: Perturbations, signal?: AbortSignal, known?: Float32Array): Promise<Evaluated> {
  const n = task.inputSize;
  const c = task.nClasses;
  const m = req.nInputs;
  const inputs = req.inputs; // [m, inputSize]
  const out = new Float32Array(m * c); // [m, nClasses]
  const step = task.model.maxBatchRows;
  for (let start = 0; start < m; start += step) {
    await checkpoint(signal);
    const rows = Math.min(step, m - start);
    out.set(await task.model.predict(inputs.subarray(start * n, (start + rows) * n), rows, task.output), start * c);
  }
  return new Evaluated(out, c, known);
}

export interface KernelUnit {
  metric: BatchedMetric<any>;
  params: Params;
}

/**
 * Score explanations[e] ([nRows, nFeatures] each) on every unit. Result [explanation][unit].
 * onProgress reports rows finished of nRows.
 */
export async function runKernels(
  task: Task,
  batch: Batch,
  target: Int32Array,
  explanations: Float32Array[],
  units: KernelUnit[],
  seeder: Seeder,
  onProgress?: Progress,
  signal?: AbortSignal,
  opts: EngineOptions = {},
): Promise<MetricResult[][]> {
  const n = task.nFeatures;
  const d = task.inputSize; // model-input values per row
  const nRows = batch.nRows;
  const nExpl = explanations.length;
  const nUnits = units.length;
  if (batch.x.length !== nRows * d) throw new Error(`metrics: the batch has ${batch.x.length} values, expected ${nRows} × ${d}`);
  if (target.length !== nRows) throw new Error(`metrics: ${target.length} targets for ${nRows} rows`);
  for (const s of explanations)
    if (s.length !== nRows * n)
      throw new UserError(
        `An explanation has ${s.length} values but ${nRows} rows × ${n} features need ${nRows * n}.`,
        'Score explanations made for these rows of this task.',
      );
  for (let r = 0; r < nRows; r++)
    if (!(target[r] >= 0 && target[r] < task.nClasses))
      throw new UserError(`Target class ${target[r]} of row ${batch.rowIndex[r]} is not a class of the model (it has ${task.nClasses}).`, 'Use targets from the model or the data labels.');
  units = units.map((u) => ({ metric: u.metric, params: checkMetricParams(u.metric, u.params, n) }));
  // rows with their own feature counts (text): row r is scored on its first counts[r] features only,
  // with parameters bounded by the feature count capped at that count (core/task/ragged.ts)
  const counts = rowFeatureCounts(task, batch);
  const cappedParams = new Map<string, Params>();
  const paramsFor = (u: number, k: number): Params => {
    if (k >= n) return units[u].params;
    const key = `${u}|${k}`;
    let p = cappedParams.get(key);
    if (!p) cappedParams.set(key, (p = capParams(units[u].params, units[u].metric.params as unknown as Record<string, ParamSpec>, k)));
    return p;
  };

  const owner = (e: number, u: number) => e * nUnits + u;
  const req = new Perturbations(task.space, nExpl * nUnits, 2 * nRows, { memo: opts.memo ?? true });
  const rowOf = (r: number) => batch.x.subarray(r * d, (r + 1) * d); // [inputSize]
  const baselineOf = rowBaselines(task.space, task.baseline); // row → its x° [inputSize]
  const x0s = Array.from({ length: nRows }, (_, r) => baselineOf(rowOf(r))); // x° of each row: one shared vector for zero and mean

  // 1. clean pass: x of every row, then x° of every row (each distinct input once)
  const pClean = new Float64Array(nRows);
  const pBase = new Float64Array(nRows);
  const predClean = new Int32Array(nRows);
  const predBase = new Int32Array(nRows);
  const cleanAt = new Int32Array(nRows);
  const baseAt = new Int32Array(nRows);
  let cleanOut: Float32Array = new Float32Array(0);
  if (nRows > 0) {
    const none = new Int32Array(0);
    req.beginScope();
    for (let r = 0; r < nRows; r++) cleanAt[r] = req.removal(rowOf(r), x0s[r], none, owner(0, 0));
    for (let r = 0; r < nRows; r++) baseAt[r] = req.insertion(rowOf(r), x0s[r], none, owner(0, 0));
    const ev = await evaluateInputs(task, req, signal);
    for (let r = 0; r < nRows; r++) {
      pClean[r] = ev.p(cleanAt[r], target[r]);
      pBase[r] = ev.p(baseAt[r], target[r]);
      predClean[r] = ev.argmax(cleanAt[r]);
      predBase[r] = ev.argmax(baseAt[r]);
    }
    cleanOut = ev.out;
    req.clear();
  }
  const sharedHash = nRows > 0 && task.baseline !== 'blur' ? Perturbations.hashOf(x0s[0]) : 0;
  const x0Hash = (r: number) => (task.baseline === 'blur' ? Perturbations.hashOf(x0s[r]) : sharedHash);

  // 2. groups of whole rows
  const perSample = Array.from({ length: nExpl }, () => Array.from({ length: nUnits }, () => new Float32Array(nRows)));
  const curves = Array.from({ length: nExpl }, () => units.map((u) => (u.metric.hasCurve ? new Array<Float32Array>(nRows) : undefined)));
  const budgetRows = Math.max(1, Math.floor((opts.groupValueBudget ?? GROUP_VALUE_BUDGET) / Math.max(1, d)));
  let pending: { e: number; u: number; r: number; finish: RowFinisher }[] = [];
  const flush = async (rowsDone: number) => {
    const ev = await evaluateInputs(task, req, signal, cleanOut);
    for (const { e, u, r, finish } of pending) {
      const o = finish(ev);
      perSample[e][u][r] = o.value;
      const cu = curves[e][u];
      if (cu) cu[r] = o.curve ?? new Float32Array(0);
    }
    pending = [];
    req.clear();
    onProgress?.(rowsDone, nRows);
  };
  for (let r = 0; r < nRows; r++) {
    await checkpoint(signal);
    const x = rowOf(r);
    // the row's memo scope knows its clean x and x° (outputs from the clean pass)
    const known: KnownInput[] = [
      { input: x, index: KNOWN_BASE + cleanAt[r], hash: Perturbations.hashOf(x) },
      { input: x0s[r], index: KNOWN_BASE + baseAt[r], hash: x0Hash(r) },
    ];
    req.beginScope(known);
    const nr = counts ? counts[r] : n; // the row's features: its first nr
    const ctx: RowContext = {
      task,
      nFeatures: nr,
      r,
      rowIndex: batch.rowIndex[r],
      x,
      x0: x0s[r],
      c: target[r],
      pClean: pClean[r],
      pBase: pBase[r],
      predClean: predClean[r],
      predBase: predBase[r],
      seeder,
      orders: new Array<Orders | undefined>(nExpl),
    };
    for (let u = 0; u < nUnits; u++) {
      const { metric } = units[u];
      const params = paramsFor(u, nr);
      const shared = metric.kernel.prepareRow(ctx, params, req, owner(0, u));
      for (let e = 0; e < nExpl; e++) {
        const s = explanations[e].subarray(r * n, r * n + nr);
        pending.push({ e, u, r, finish: metric.kernel.planRow(ctx, s, e, params, shared, req, owner(e, u)) });
      }
    }
    // after the first row: room for a whole group of rows like it, so the buffer rarely grows
    if (r === 0) req.ensureCapacity(Math.min(nRows * req.nInputs, budgetRows + 2 * req.nInputs) + 64);
    if (req.nInputs >= budgetRows || r === nRows - 1) await flush(r + 1);
  }

  return perSample.map((row, e) =>
    row.map((values, u) => {
      const res: MetricResult = { perSample: values, modelCalls: req.rowsPerOwner[owner(e, u)], rowsRequested: req.rowsRequested[owner(e, u)] };
      const cu = curves[e][u];
      if (cu) res.curves = cu;
      return res;
    }),
  );
}

/** `score` of a batched metric: the engine with one explanation and one metric. */
export function scoreOne<P extends Params>(metric: BatchedMetric<P>) {
  return (task: Task, batch: Batch, s: Float32Array, target: Int32Array, params: P, seeder: Seeder, onProgress?: Progress, signal?: AbortSignal): Promise<MetricResult> =>
    runKernels(task, batch, target, [s], [{ metric, params: { ...metric.defaults, ...params } }], seeder, onProgress, signal).then((r) => r[0][0]);
}

/** Points t = 0..T of a cumulative curve, read back once its inputs are evaluated. */
export interface CurvePoints {
  /** [T+1] p_c at each step. */
  p: Float64Array;
  /** [T+1] predicted class at each step. */
  pred: Int32Array;
}

/**
 * Lay out a cumulative curve of one row: `removal` gives x \ prefix_t, `insertion` gives
 * x° ∪ prefix_t, for t = 0..T with prefix_t the first min(t·k, n) entries of `order`.
 * The end points come from the clean pass (removal: t = 0 is x, t = T is x°; insertion the
 * reverse); inputs t = 1..T−1 are laid out once under `key` and shared by every metric asking for
 * the same curve (requested once, under the first; a memoising buffer may answer some of them
 * from inputs laid out before).
 */
export function planCurve(
  ctx: RowContext,
  req: Perturbations,
  owner: number,
  mode: 'removal' | 'insertion',
  order: Int32Array,
  k: number,
  key: string,
): (ev: Evaluated) => CurvePoints {
  const n = ctx.nFeatures;
  const T = nSteps(n, k);
  const planKey = `${mode}|${key}|${k}|${ctx.r}`;
  let at = req.sharedPlan(planKey);
  if (!at) {
    at = new Int32Array(Math.max(0, T - 1)); // input index of point t at [t − 1]
    for (let t = 1; t < T; t++) {
      const prefix = order.subarray(0, Math.min(t * k, n));
      at[t - 1] = mode === 'removal' ? req.removal(ctx.x, ctx.x0, prefix, owner) : req.insertion(ctx.x, ctx.x0, prefix, owner);
    }
    req.setSharedPlan(planKey, at);
  }
  const idx = at;
  return (ev) => {
    const p = new Float64Array(T + 1);
    const pred = new Int32Array(T + 1);
    const [p0, c0, pT, cT] = mode === 'removal' ? [ctx.pClean, ctx.predClean, ctx.pBase, ctx.predBase] : [ctx.pBase, ctx.predBase, ctx.pClean, ctx.predClean];
    p[0] = p0;
    pred[0] = c0;
    for (let t = 1; t < T; t++) {
      p[t] = ev.p(idx[t - 1], ctx.c);
      pred[t] = ev.argmax(idx[t - 1]);
    }
    p[T] = pT;
    pred[T] = cT;
    return { p, pred };
  };
}
