/**
 * SmoothGrad (Smilkov et al. 2017): the gradient averaged over `samples` noisy copies of the
 * input, x + ε with ε_j ~ N(0, σ_j²), σ_j = noiseLevel · (max_j − min_j), the feature's range over
 * the task's reference rows (the paper's "noise level" times the input range, taken per feature
 * because tabular columns have different scales). `abs: true` averages |gradient| instead (Captum's
 * NoiseTunnel over Saliency). All rows × samples go through one batched gradient call per chunk.
 * Noise draws: seeder.rng('smoothgrad', row), sample-major then feature order.
 */
import type { AttributionMethod } from './types';
import type { ParamSchema } from '../params';
import { checkParams, forRowChunks, repeatTargets } from './common';

export type SmoothGradParams = {
  /** Noisy copies per row. */
  samples: number;
  /** Noise standard deviation as a fraction of each feature's reference range. */
  noiseLevel: number;
  /** Average the absolute gradients. */
  abs: boolean;
};

export const defaults: SmoothGradParams = { samples: 50, noiseLevel: 0.15, abs: false };

export const params: ParamSchema<SmoothGradParams> = {
  samples: { type: 'int', min: 1, max: 100000, meaning: 'Noisy copies of each row.' },
  noiseLevel: { type: 'number', min: 0, max: 10, meaning: 'Noise standard deviation as a fraction of each feature\'s range.' },
  abs: { type: 'boolean', meaning: 'Average the absolute gradients.' },
};

export const smoothgrad: AttributionMethod<SmoothGradParams> = {
  id: 'smoothgrad',
  label: 'SmoothGrad',
  description: 'Gradient averaged over noisy copies of the input (Gaussian noise scaled to each feature\'s range).',
  needs: { gradients: true },
  defaults,
  params,
  applicable: () => null,
  async explain(task, batch, target, params, seeder, onProgress, signal) {
    const { samples, noiseLevel, abs } = checkParams(smoothgrad, params, task);
    const n = task.inputSize; // gradients and noise per model-input element
    const range = task.space.inputRange(); // [inputSize]
    const sigma = Float64Array.from({ length: n }, (_, j) => noiseLevel * range[j]); // [inputSize]
    const out = new Float32Array(batch.nRows * n); // [nRows, inputSize]
    await forRowChunks(
      batch,
      samples,
      async (start, end) => {
        const rows = end - start;
        const noisy = new Float32Array(rows * samples * n); // [rows · samples, n]
        for (let r = 0; r < rows; r++) {
          const rng = seeder.rng('smoothgrad', batch.rowIndex[start + r]);
          const x = batch.x.subarray((start + r) * n, (start + r + 1) * n);
          for (let k = 0; k < samples; k++) {
            const o = (r * samples + k) * n;
            for (let j = 0; j < n; j++) noisy[o + j] = x[j] + sigma[j] * rng.normal();
          }
        }
        const { grad } = await task.model.gradient(noisy, rows * samples, repeatTargets(target.subarray(start, end), samples), task.output); // [rows · samples, n]
        const sum = new Float64Array(n); // [n]
        for (let r = 0; r < rows; r++) {
          sum.fill(0);
          for (let k = 0; k < samples; k++) {
            const o = (r * samples + k) * n;
            for (let j = 0; j < n; j++) sum[j] += abs ? Math.abs(grad[o + j]) : grad[o + j];
          }
          for (let j = 0; j < n; j++) out[(start + r) * n + j] = sum[j] / samples;
        }
      },
      onProgress,
      signal,
    );
    return task.space.aggregate(out, batch.nRows); // [nRows, nFeatures]
  },
};
