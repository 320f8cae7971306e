/**
 * Feature ablation: φ_i = f_c(x) − f_c(x \ {i}), each feature replaced alone by its baseline value.
 * One model call per chunk of rows holds every row's clean input and its n ablated inputs.
 */
import type { AttributionMethod } from './types';
import type { ParamSchema } from '../params';
import { forRowChunks, repeatTargets, taskBaselines } from './common';

export type FeatureAblationParams = Record<string, never>;

export const defaults: FeatureAblationParams = {};

export const params: ParamSchema<FeatureAblationParams> = {};

export const featureAblation: AttributionMethod<FeatureAblationParams> = {
  id: 'feature-ablation',
  label: 'Feature Ablation',
  description: 'Drop in the explained output when one feature alone is replaced by its baseline value.',
  needs: { gradients: false },
  defaults,
  params,
  applicable: () => null,
  async explain(task, batch, target, _params, _seeder, onProgress, signal) {
    const n = task.nFeatures;
    const inSize = task.inputSize; // model-input values per row
    const per = n + 1; // the clean input, then one input per ablated feature
    const baselineOf = taskBaselines(task); // row → its x° [inputSize]
    const out = new Float32Array(batch.nRows * n); // [nRows, n]
    const one = new Int32Array(1);
    await forRowChunks(
      batch,
      per,
      async (start, end) => {
        const rows = end - start;
        const inputs = new Float32Array(rows * per * inSize); // [rows · (n + 1), inputSize]
        for (let r = 0; r < rows; r++) {
          const x = batch.x.subarray((start + r) * inSize, (start + r + 1) * inSize);
          const x0 = baselineOf(x); // [inputSize]
          task.space.writeRemoval(inputs, r * per, x, x0, []);
          for (let i = 0; i < n; i++) {
            one[0] = i;
            task.space.writeRemoval(inputs, r * per + 1 + i, x, x0, one);
          }
        }
        const f = await task.model.predictTarget(inputs, rows * per, repeatTargets(target.subarray(start, end), per), task.output); // [rows · (n + 1)]
        for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) out[(start + r) * n + i] = f[r * per] - f[r * per + 1 + i];
      },
      onProgress,
      signal,
    );
    return out;
  },
};
