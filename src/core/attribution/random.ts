/**
 * Random control: each feature's score is uniform in [0, 1), drawn from
 * seeder.rng('random', row) in feature order. Any faithful method should beat it.
 */
import type { AttributionMethod } from './types';
import type { ParamSchema } from '../params';

export type RandomParams = Record<string, never>;

export const defaults: RandomParams = {};

export const params: ParamSchema<RandomParams> = {};

export const random: AttributionMethod<RandomParams> = {
  id: 'random',
  label: 'Random (control)',
  description: 'Seeded uniform random scores: a baseline every faithful explanation should beat.',
  needs: { gradients: false },
  defaults,
  params,
  applicable: () => null,
  async explain(task, batch, _target, _params, seeder, onProgress, signal) {
    signal?.throwIfAborted();
    const n = task.nFeatures;
    const out = new Float32Array(batch.nRows * n); // [nRows, n]
    for (let r = 0; r < batch.nRows; r++) {
      const rng = seeder.rng('random', batch.rowIndex[r]);
      for (let j = 0; j < n; j++) out[r * n + j] = rng.uniform();
    }
    onProgress?.(batch.nRows, batch.nRows);
    return out;
  },
};
