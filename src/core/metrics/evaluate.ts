/**
 * Score several explanations of the same rows on several metrics.
 * Results are indexed [explanation][metric]. Every explanation of a row sees the same random
 * draws (the metric's rng depends only on seed, metric id and row).
 *
 * Batched metrics (all ten built-in ones) run together through the engine (engine.ts): one clean
 * pass for p_c(x) and p_c(x°), the s-independent perturbations (FC's and INF's subsets) once per
 * row, every s-dependent perturbation of every explanation and metric in shared model batches, and
 * the cumulative curve along π once per (row, explanation) for RP, DEL, IROF and POS. A metric
 * without a kernel (a plug-in) is scored explanation by explanation through its own `score`.
 * modelCalls: each evaluated input counted once, under the first (explanation, metric) that
 * needed it; the sum over the result is the number of rows the model evaluated.
 */
import { UserError } from '../errors';
import type { Params } from '../attribution/types';
import type { Seeder } from '../rng';
import type { Batch, Progress, Task } from '../task/task';
import { isBatched, runKernels, type KernelUnit } from './engine';
import { getMetric } from './registry';
import type { FaithfulnessMetric, MetricResult } from './types';
import { hasScoreMany } from '../ffidelity/metrics';
import type { ExtraMetric } from '../ffidelity/types';

export interface MetricRequest {
  id: string;
  params?: Partial<Params>;
}

/** The registered metric with this id, or a UserError naming the valid ids. */
export function requireMetric(id: string): FaithfulnessMetric<any> {
  const unit = getMetric(id);
  if (!unit) throw new UserError(`Unknown metric "${id}".`, 'Use one of FC, FE, MC, INF, RP, INS, DEL, NEG, POS, IROF.');
  return unit;
}

export async function scoreExplanations(
  task: Task,
  batch: Batch,
  target: Int32Array,
  explanations: Float32Array[],
  metrics: MetricRequest[],
  seeder: Seeder,
  onProgress?: Progress,
  signal?: AbortSignal,
): Promise<MetricResult[][]> {
  const units = metrics.map((m) => {
    const unit = requireMetric(m.id);
    return { unit, params: { ...unit.defaults, ...(m.params ?? {}) } as Params };
  });
  const batchedIdx = units.map((u, i) => (isBatched(u.unit) ? i : -1)).filter((i) => i >= 0);
  const otherIdx = units.map((_, i) => i).filter((i) => !batchedIdx.includes(i));
  if (task.space.rowFeatures && otherIdx.length)
    throw new UserError(
      `${otherIdx.map((i) => units[i].unit.id).join(', ')} cannot score a task whose rows have their own number of features (text: each sentence its own tokens) yet.`,
      'Use the ten metrics (FC, FE, MC, INF, RP, INS, DEL, NEG, POS, IROF) on text tasks.',
    );
  const out: MetricResult[][] = explanations.map(() => new Array<MetricResult>(units.length));
  const total = explanations.length * units.length;
  const batchedShare = explanations.length * batchedIdx.length;
  if (batchedIdx.length) {
    const kernelUnits: KernelUnit[] = batchedIdx.map((i) => ({ metric: units[i].unit as KernelUnit['metric'], params: units[i].params }));
    const res = await runKernels(
      task,
      batch,
      target,
      explanations,
      kernelUnits,
      seeder,
      onProgress && batch.nRows > 0 ? (done, all) => onProgress(Math.round((batchedShare * done) / all), total) : undefined,
      signal,
    );
    res.forEach((row, e) => row.forEach((r, j) => (out[e][batchedIdx[j]] = r)));
  }
  let done = batchedShare;
  // metrics beyond the ten score every explanation in one call (one clean pass, inputs batched
  // across explanations; their draws do not depend on the explanation, so the numbers are those
  // of one call per explanation)
  for (const i of otherIdx.filter((i) => hasScoreMany(units[i].unit))) {
    signal?.throwIfAborted();
    const { unit, params } = units[i] as unknown as { unit: ExtraMetric<any>; params: Params };
    const res = await unit.scoreMany(task, batch, target, explanations, params, seeder, undefined, signal);
    res.forEach((r, e) => (out[e][i] = r));
    done += explanations.length;
    onProgress?.(done, total);
  }
  for (let e = 0; e < explanations.length; e++)
    for (const i of otherIdx.filter((i) => !hasScoreMany(units[i].unit))) {
      signal?.throwIfAborted();
      const { unit, params } = units[i] as { unit: FaithfulnessMetric<any>; params: Params };
      out[e][i] = await unit.score(task, batch, explanations[e], target, params, seeder, undefined, signal);
      onProgress?.(++done, total);
    }
  return out;
}

/**
 * Every (explanation, metric) scored on its own through `score`, with no sharing of model rows
 * between them: the batching-invariance check of `scoreExplanations` (same numbers, more model
 * rows) and the baseline of the metrics benchmark. Not an independent reference implementation.
 */
export async function scoreUnbatched(
  task: Task,
  batch: Batch,
  target: Int32Array,
  explanations: Float32Array[],
  metrics: MetricRequest[],
  seeder: Seeder,
): Promise<MetricResult[][]> {
  const out: MetricResult[][] = [];
  for (const s of explanations) {
    const row: MetricResult[] = [];
    for (const m of metrics) {
      const unit = getMetric(m.id);
      if (!unit) throw new UserError(`Unknown metric "${m.id}".`, 'Use one of FC, FE, MC, INF, RP, INS, DEL, NEG, POS, IROF.');
      row.push(await unit.score(task, batch, s, target, { ...unit.defaults, ...(m.params ?? {}) }, seeder));
    }
    out.push(row);
  }
  return out;
}
