/**
 * Metric inspector for the correlation metrics (FC, INF, FE, MC): replays one row of one metric
 * through the metric's own kernel (`prepareRow` + `planRow` with the job seed, so the subsets,
 * chunks and noise baselines are the ones the score used) with a Perturbations buffer that also
 * records which features each perturbed input removed. The perturbed inputs go through the model
 * as in the engine, and the kernel's own finisher gives the value, which the studio compares with
 * the stored score.
 */
import { UserError } from '../core/errors';
import { Perturbations, Evaluated, sumOver } from '../core/metrics/effects';
import { isBatched, type RowContext } from '../core/metrics/engine';
import { getMetric } from '../core/metrics/registry';
import { argmax } from '../core/task/task';
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
  override writeMasked(i: number, x: ArrayLike<number>, baseline: ArrayLike<number>, mask: ArrayLike<number>): void {
    super.writeMasked(i, x, baseline, mask);
    const idx: number[] = [];
    for (let j = 0; j < mask.length; j++) if (mask[j]) idx.push(j);
    this.removed.set(i, { idx: Int32Array.from(idx), baseline: Float32Array.from(baseline) });
  }
}

export const TRACEABLE = ['FC', 'INF', 'FE', 'MC'];

export async function traceMetric(session: Session, row: number, target: number, s: Float32Array, metricId: string, params: Record<string, unknown>, seed: number): Promise<TraceResult> {
  const { task } = session.requireTask();
  const unit = getMetric(metricId);
  if (!unit || !isBatched(unit) || !TRACEABLE.includes(metricId)) throw new UserError(`The inspector cannot replay ${metricId}.`, `Pick one of ${TRACEABLE.join(', ')} or a curve metric.`);
  const n = task.nFeatures;
  const merged = { ...unit.defaults, ...params };
  unit.kernel.validate?.(merged, n);
  const x = session.batchOf([row]).x; // [n]
  const x0 = task.space.baseline(task.baseline); // [n]
  const clean = await task.model.predict(Float32Array.from([...x, ...x0]), 2, task.output); // [2, nClasses]
  const nc = task.nClasses;
  const ctx: RowContext = {
    task, nFeatures: n, r: 0, rowIndex: row, x, x0, c: target,
    pClean: clean[target], pBase: clean[nc + target], predClean: argmax(clean, 0, nc), predBase: argmax(clean, nc, nc),
    seeder: new Seeder(seed),
  };
  const req = new RecordingPerturbations(task.space, 1, 64);
  const shared = unit.kernel.prepareRow(ctx, merged, req, 0);
  const finish = unit.kernel.planRow(ctx, s, 0, merged, shared, req, 0);
  const m = req.nInputs;
  const inputs = Float32Array.from(req.inputs); // [m, n]
  const out = new Float32Array(m * nc);
  for (let start = 0; start < m; start += task.model.maxBatchRows) {
    const rows = Math.min(task.model.maxBatchRows, m - start);
    out.set(await task.model.predict(inputs.subarray(start * n, (start + rows) * n), rows, task.output), start * nc);
  }
  const ev = new Evaluated(out, nc);
  const value = finish(ev).value;
  const steps = Array.from({ length: m }, (_, i) => {
    const rec = req.removed.get(i);
    const idx = rec ? Array.from(rec.idx) : [];
    const p = ev.p(i, target);
    return { input: inputs.slice(i * n, (i + 1) * n), removed: idx, p, saliencySum: sumOver(s, idx), delta: ctx.pClean - p };
  });
  return { metricId, row, pClean: ctx.pClean, value, correlation: metricId === 'MC' ? 'spearman' : 'pearson', groupSize: metricId === 'MC' ? Number(merged.nBaselines) : 1, steps };
}
