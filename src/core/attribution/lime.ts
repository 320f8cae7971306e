/**
 * LIME (Ribeiro et al. 2016) over binary "feature present" vectors z ∈ {0,1}^n: z_i = 1 keeps x_i,
 * z_i = 0 replaces it by the task's baseline. Sample 0 is the unperturbed input (z = 1, as the
 * `lime` package does); the other `samples − 1` have each z_i ~ Bernoulli(½) (Captum's default
 * perturbation), drawn from seeder.rng('lime', row) in sample then feature order.
 * Proximity weight π(z) = exp(−d(z)² / kernelWidth²) with d the cosine distance between z and the
 * all-ones vector, d = 1 − √(|z|/n) (d = 1 for z = 0) — the `lime` text explainer's distance.
 * The surrogate is a weighted ridge regression y ≈ β₀ + Σ β_i z_i (penalty `ridge` on β_i, none on
 * the intercept), solved exactly in double precision; the scores are β_1..β_n.
 */
import type { AttributionMethod } from './types';
import type { ParamSchema } from '../params';
import { checkParams, forRowChunks, repeatTargets, taskBaselines, weightedLeastSquares } from './common';

export type LimeParams = {
  /** Perturbed inputs per row, the unperturbed one included. */
  samples: number;
  /** Width σ of the exponential kernel on cosine distance. */
  kernelWidth: number;
  /** Ridge penalty on the coefficients (not on the intercept). */
  ridge: number;
};

export const defaults: LimeParams = { samples: 500, kernelWidth: 0.25, ridge: 0.01 };

export const params: ParamSchema<LimeParams> = {
  samples: { type: 'int', min: 2, max: 1000000, meaning: 'Perturbed inputs per row, the unperturbed one included.' },
  kernelWidth: { type: 'number', min: 0, minExclusive: true, max: 100, meaning: 'Width σ of the exponential kernel on cosine distance.' },
  ridge: { type: 'number', min: 0, max: 1e6, meaning: 'Ridge penalty on the coefficients (not on the intercept).' },
};

export const lime: AttributionMethod<LimeParams> = {
  id: 'lime',
  label: 'LIME',
  description: 'Coefficients of a proximity-weighted linear surrogate fitted to random on/off perturbations of the features.',
  needs: { gradients: false },
  defaults,
  params,
  applicable: () => null,
  async explain(task, batch, target, params, seeder, onProgress, signal) {
    const { samples, kernelWidth, ridge } = checkParams(lime, params, task);
    const n = task.nFeatures;
    const inSize = task.inputSize; // model-input values per row
    const d = n + 1; // intercept + one coefficient per feature
    const baselineOf = taskBaselines(task); // row → its x° [inputSize]
    const out = new Float32Array(batch.nRows * n); // [nRows, n]
    await forRowChunks(
      batch,
      samples,
      async (start, end) => {
        const rows = end - start;
        const inputs = new Float32Array(rows * samples * inSize); // [rows · samples, inputSize]
        const present = new Uint8Array(rows * samples * n); // [rows · samples, n] z
        const removed = new Uint8Array(n); // [n] 1 − z of one sample
        for (let r = 0; r < rows; r++) {
          const rng = seeder.rng('lime', batch.rowIndex[start + r]);
          const x = batch.x.subarray((start + r) * inSize, (start + r + 1) * inSize);
          const x0 = baselineOf(x); // [inputSize]
          for (let k = 0; k < samples; k++) {
            const o = (r * samples + k) * n;
            for (let j = 0; j < n; j++) {
              const z = k === 0 || rng.uniform() < 0.5 ? 1 : 0;
              present[o + j] = z;
              removed[j] = 1 - z;
            }
            task.space.writeMasked(inputs, r * samples + k, x, x0, removed);
          }
        }
        const f = await task.model.predictTarget(inputs, rows * samples, repeatTargets(target.subarray(start, end), samples), task.output); // [rows · samples]
        const Z = new Float64Array(samples * d); // [samples, 1 + n] design of one row
        const y = new Float64Array(samples); // [samples]
        const w = new Float64Array(samples); // [samples] proximity weights
        for (let r = 0; r < rows; r++) {
          for (let k = 0; k < samples; k++) {
            const o = (r * samples + k) * n;
            let count = 0;
            Z[k * d] = 1;
            for (let j = 0; j < n; j++) {
              Z[k * d + 1 + j] = present[o + j];
              count += present[o + j];
            }
            const dist = count === 0 ? 1 : 1 - Math.sqrt(count / n);
            w[k] = Math.exp(-(dist * dist) / (kernelWidth * kernelWidth));
            y[k] = f[r * samples + k];
          }
          const beta = weightedLeastSquares(Z, y, w, samples, d, ridge, (j) => j > 0); // [1 + n]
          for (let j = 0; j < n; j++) out[(start + r) * n + j] = beta[1 + j];
        }
      },
      onProgress,
      signal,
    );
    return out;
  },
};
