/**
 * GradientSHAP (Lundberg & Lee 2017; Captum's GradientShap): expected gradients over a baseline
 * distribution. For each of `samples` draws per row: a baseline b (`uniform`: each feature uniform
 * in its reference min–max range, the same draw as the `noise` baseline; `task`: the task's
 * baseline x°), α ~ U[0, 1), and optional input noise ε_j ~ N(0, (noiseLevel · range_j)²);
 * x̃ = x + ε, the gradient g at b + α (x̃ − b), and the sample's attribution g ⊙ (x̃ − b).
 * The score is the mean over samples. Draws: seeder.rng('gradient-shap', row), per sample in the
 * order baseline (n uniforms, `uniform` only), α, noise (n normals, when noiseLevel > 0).
 */
import type { AttributionMethod } from './types';
import type { ParamSchema } from '../params';
import { checkParams, forRowChunks, repeatTargets, taskBaselines } from './common';

export type GradientShapBaselines = 'uniform' | 'task';
export const GRADIENT_SHAP_BASELINES: readonly GradientShapBaselines[] = ['uniform', 'task'];

export type GradientShapParams = {
  /** Draws (baseline, α, noise) per row. */
  samples: number;
  /** Baseline distribution. */
  baselines: GradientShapBaselines;
  /** Input noise standard deviation as a fraction of each feature's reference range (0: none). */
  noiseLevel: number;
};

export const defaults: GradientShapParams = { samples: 50, baselines: 'uniform', noiseLevel: 0 };

export const params: ParamSchema<GradientShapParams> = {
  samples: { type: 'int', min: 1, max: 100000, meaning: 'Draws of (baseline, position on the path, noise) per row.' },
  baselines: { type: 'choice', choices: GRADIENT_SHAP_BASELINES, meaning: 'Baseline distribution: uniform in each feature\'s range, or the task\'s baseline.' },
  noiseLevel: { type: 'number', min: 0, max: 10, meaning: 'Input noise standard deviation as a fraction of each feature\'s range (0: none).' },
};

export const gradientShap: AttributionMethod<GradientShapParams> = {
  id: 'gradient-shap',
  label: 'GradientSHAP',
  description: 'Expected gradients: gradients at random points between random baselines and the input, times (input − baseline).',
  needs: { gradients: true },
  defaults,
  params,
  applicable: () => null,
  async explain(task, batch, target, params, seeder, onProgress, signal) {
    const { samples, baselines, noiseLevel } = checkParams(gradientShap, params, task);
    const n = task.inputSize; // gradients, baselines and noise per model-input element
    const baselineOf = taskBaselines(task); // row → its x° [inputSize]
    const range = task.space.inputRange(); // [inputSize]
    const sigma = Float64Array.from({ length: n }, (_, j) => noiseLevel * range[j]); // [inputSize]
    const out = new Float32Array(batch.nRows * n); // [nRows, inputSize]
    await forRowChunks(
      batch,
      samples,
      async (start, end) => {
        const rows = end - start;
        const points = new Float32Array(rows * samples * n); // [rows · samples, n] gradient points
        const spans = new Float32Array(rows * samples * n); // [rows · samples, n] x̃ − b
        for (let r = 0; r < rows; r++) {
          const rng = seeder.rng('gradient-shap', batch.rowIndex[start + r]);
          const x = batch.x.subarray((start + r) * n, (start + r + 1) * n);
          const x0 = baselines === 'task' ? baselineOf(x) : undefined; // [inputSize]
          for (let k = 0; k < samples; k++) {
            const b = x0 ?? task.space.noiseBaseline(rng); // [n]
            const alpha = rng.uniform();
            const o = (r * samples + k) * n;
            for (let j = 0; j < n; j++) {
              const xt = noiseLevel > 0 ? x[j] + sigma[j] * rng.normal() : x[j];
              spans[o + j] = xt - b[j];
              points[o + j] = b[j] + alpha * (xt - b[j]);
            }
          }
        }
        const { grad } = await task.model.gradient(points, rows * samples, repeatTargets(target.subarray(start, end), samples), task.output); // [rows · samples, n]
        const sum = new Float64Array(n); // [n]
        for (let r = 0; r < rows; r++) {
          sum.fill(0);
          for (let k = 0; k < samples; k++) {
            const o = (r * samples + k) * n;
            for (let j = 0; j < n; j++) sum[j] += grad[o + j] * spans[o + j];
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
