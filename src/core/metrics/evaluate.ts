/**
 * Score several explanations of the same rows on several metrics.
 * Results are indexed [explanation][metric]. Every explanation of a row sees the same random
 * draws (the metric's rng depends only on seed, metric id and row).
 */
import { UserError } from '../errors';
import type { Params } from '../attribution/types';
import type { Seeder } from '../rng';
import type { Batch, Progress, Task } from '../task/task';
import { getMetric } from './registry';
import type { MetricResult } from './types';

export interface MetricRequest {
  id: string;
  params?: Partial<Params>;
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
    const unit = getMetric(m.id);
    if (!unit) throw new UserError(`Unknown metric "${m.id}".`, 'Use one of FC, FE, MC, INF, RP, INS, DEL, NEG, POS, IROF.');
    return { unit, params: { ...unit.defaults, ...(m.params ?? {}) } };
  });
  const total = explanations.length * units.length;
  let done = 0;
  const out: MetricResult[][] = [];
  for (const s of explanations) {
    const row: MetricResult[] = [];
    for (const { unit, params } of units) {
      signal?.throwIfAborted();
      row.push(await unit.score(task, batch, s, target, params, seeder, undefined, signal));
      onProgress?.(++done, total);
    }
    out.push(row);
  }
  return out;
}
