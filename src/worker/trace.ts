/**
 * Metric inspector for every batched metric. Correlation metrics (FC, INF, FE, MC) and curve
 * metrics (RP, DEL, INS, POS, NEG, IROF) alike (the kind and curve mode come from each metric's `info`): replays one row of one metric
 * through the metric's own kernel (`prepareRow` + `planRow` with the job seed, so the subsets,
 * chunks and noise baselines are the ones the score used) with a Perturbations buffer that also
 * records which features each perturbed input removed. The perturbed inputs go through the model
 * as in the engine, and the kernel's own finisher gives the value, which the studio compares with
 * the stored score.
 */
import { UserError } from '../core/errors';
import { Perturbations, Evaluated, sumOver } from '../core/metrics/effects';
import { checkMetricParams, isBatched, type RowContext } from '../core/metrics/engine';
import { METRICS, getMetric } from '../core/metrics/registry';
import type { Params } from '../core/params';
import { argmax } from '../core/task/task';
import { rowBaselines } from '../core/task/featureSpace';
import { capParams } from '../core/task/ragged';
import type { ParamSpec } from '../core/params';
import { Seeder } from '../core/rng';
import type { TraceResult } from './protocol';
import type { Session } from './session';

class RecordingPerturbations extends Perturbations {
  /** Per input index: the removed features and the baseline row used. */
  readonly removed = new Map<number, { idx: Int32Array; baseline: Float32Array }>();
  override writeRemoval(i: number, x: ArrayLike<number>, baseline: ArrayLike<number>, removed: ArrayLike<number>): void {
    super.writeRemoval(i, x, baseline, removed);
    this.removed.set(i, { idx: Int32Array.from(removed), baseline: Float32Array.from(baseline) });
  }
  override writeInsertion(i: number, x: ArrayLike<number>, baseline: ArrayLike<number>, inserted: ArrayLike<number>): void {
    super.writeInsertion(i, x, baseline, inserted);
    const put = new Set(Array.from(inserted));
    const idx: number[] = [];
    for (let j = 0; j < this.space.nFeatures; j++) if (!put.has(j)) idx.push(j);
    this.removed.set(i, { idx: Int32Array.from(idx), baseline: Float32Array.from(baseline) });
  }
  override writeMasked(i: number, x: ArrayLike<number>, baseline: ArrayLike<number>, mask: ArrayLike<number>): void {
    super.writeMasked(i, x, baseline, mask);
    const idx: number[] = [];
    for (let j = 0; j < mask.length; j++) if (mask[j]) idx.push(j);
    this.removed.set(i, { idx: Int32Array.from(idx), baseline: Float32Array.from(baseline) });
  }
}

/** Every batched metric of the registry can be replayed; its kind and curve mode come from its `info`. */
export const TRACEABLE = METRICS.filter(isBatched).map((m) => m.id as string);

export async function traceMetric(session: Session, row: number, target: number, s: Float32Array, metricId: string, params: Record<string, unknown>, seed: number): Promise<TraceResult> {
  const task = session.currentTask();
  const unit = getMetric(metricId);
  if (!unit || !isBatched(unit) || !TRACEABLE.includes(metricId)) throw new UserError(`The inspector cannot replay ${metricId}.`, `Pick one of ${TRACEABLE.join(', ')} or a curve metric.`);
  const n = task.nFeatures;
  const d = task.inputSize; // model-input values per row
  const checked = checkMetricParams(unit, params as Params, n);
  const x = session.batchOf([row]).x; // [inputSize]
  // rows with their own feature counts (text): scored on the row's first nr features with the
  // parameters bounded by the feature count capped at nr, as the metric engine scores them
  const nr = task.space.rowFeatures ? task.space.rowFeatures(x) : n;
  const merged = nr < n ? capParams(checked, unit.params as unknown as Record<string, ParamSpec>, nr) : checked;
  s = s.subarray(0, nr);
  const real = (idx: ArrayLike<number>) => Array.from(idx).filter((j) => j < nr);
  const x0 = rowBaselines(task.space, task.baseline)(x); // [inputSize] the row's x°
  const clean = await task.model.predict(Float32Array.from([...x, ...x0]), 2, task.output); // [2, nClasses]
  const nc = task.nClasses;
  const ctx: RowContext = {
    task, nFeatures: nr, r: 0, rowIndex: row, x, x0, c: target,
    pClean: clean[target], pBase: clean[nc + target], predClean: argmax(clean, 0, nc), predBase: argmax(clean, nc, nc),
    seeder: new Seeder(seed),
  };
  const req = new RecordingPerturbations(task.space, 1, 64);
  const shared = unit.kernel.prepareRow(ctx, merged, req, 0);
  const finish = unit.kernel.planRow(ctx, s, 0, merged, shared, req, 0);
  const m = req.nInputs;
  const inputs = Float32Array.from(req.inputs); // [m, inputSize]
  const out = new Float32Array(m * nc);
  for (let start = 0; start < m; start += task.model.maxBatchRows) {
    const rows = Math.min(task.model.maxBatchRows, m - start);
    out.set(await task.model.predict(inputs.subarray(start * d, (start + rows) * d), rows, task.output), start * nc);
  }
  const ev = new Evaluated(out, nc);
  const outcome = finish(ev);
  const value = outcome.value;
  const mode = unit.info.curve?.mode;
  // text: the tokens the model saw at the row's real positions, as vocabulary strings
  const vocab = session.requireTask().full.data.text?.vocab.tokens;
  const tokensOf = (input: ArrayLike<number>) => Array.from({ length: nr }, (_, t) => vocab![input[t]] ?? `#${input[t]}`);
  const textOf = (steps: { input: Float32Array }[]) => (vocab ? { nFeatures: nr, tokens: steps.map((st) => tokensOf(st.input)) } : {});
  if (mode) {
    // the kernel asked for the inner points t = 1..T−1 (planCurve); t = 0 and t = T are the clean
    // and the all-baseline rows, whose probabilities the engine takes from p_c(x) and p_c(x°)
    const curve = outcome.curve ?? new Float32Array(0);
    const T = Math.ceil(nr / Number(merged.stepSize ?? 1));
    if (curve.length > 0 && m !== T - 1) throw new Error(`Inspector out of step with ${metricId}: ${m} perturbed inputs for ${T + 1} curve points.`);
    const all = Array.from({ length: nr }, (_, j) => j);
    const clean = { input: Float32Array.from(x), removed: [] as number[], p: ctx.pClean };
    const base = { input: Float32Array.from(x0), removed: all, p: ctx.pBase };
    const steps = Array.from({ length: curve.length }, (_, t) => {
      const st =
        t === 0 ? (mode === 'removal' ? clean : base)
        : t === T ? (mode === 'removal' ? base : clean)
        : { input: inputs.slice((t - 1) * d, t * d), removed: real(req.removed.get(t - 1)?.idx ?? []), p: ev.p(t - 1, target) };
      return { ...st, saliencySum: sumOver(s, st.removed), delta: ctx.pClean - st.p };
    });
    return { metricId, kind: 'curve', row, pClean: ctx.pClean, value, correlation: 'pearson', groupSize: 1, steps, curve, ...textOf(steps) };
  }
  const steps = Array.from({ length: m }, (_, i) => {
    const rec = req.removed.get(i);
    const idx = rec ? real(rec.idx) : [];
    const p = ev.p(i, target);
    return { input: inputs.slice(i * d, (i + 1) * d), removed: idx, p, saliencySum: sumOver(s, idx), delta: ctx.pClean - p };
  });
  return { metricId, kind: 'correlation', row, pClean: ctx.pClean, value, correlation: unit.info.correlation ?? 'pearson', groupSize: unit.info.groupParam ? Number(merged[unit.info.groupParam]) : 1, steps, ...textOf(steps) };
}
