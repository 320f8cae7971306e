/**
 * Kernel SHAP (Lundberg & Lee 2017). Coalitions z ∈ {0,1}^n (z_i = 1 keeps x_i, 0 puts the
 * baseline) are sampled from the Shapley kernel: a size k ∈ 1..n−1 with probability
 * ∝ (n − 1) / (k (n − k)), then k features uniformly without replacement; each draw is used
 * together with its complement (paired sampling), so `samples` coalitions are ⌈samples/2⌉ pairs.
 * Since they are drawn from the kernel, all get weight 1 in the regression
 * f(z) − f(x°) ≈ Σ φ_i z_i, solved in double precision with the efficiency constraint
 * Σ φ_i = f(x) − f(x°) imposed exactly (φ_n eliminated, as the `shap` package does).
 * As samples grow the result converges to the exact Shapley values. Draws: seeder.rng('kernel-shap', row).
 * When samples ≥ 2^n − 2 there is nothing to sample: every coalition but the empty and the full one
 * is used once with its Shapley kernel weight (n − 1) / (C(n, |z|) |z| (n − |z|)), which gives the
 * exact Shapley values (the `shap` package likewise enumerates what its budget covers).
 */
import type { AttributionMethod } from './types';
import type { ParamSchema } from '../params';
import { checkParams, forRowChunks, repeatTargets, shapleySize, shapleySizeCdf, taskBaselines, weightedLeastSquares } from './common';

export type KernelShapParams = {
  /** Sampled coalitions per row (rounded up to an even number: pairs of complements). */
  samples: number;
};

export const defaults: KernelShapParams = { samples: 512 };

export const params: ParamSchema<KernelShapParams> = {
  samples: { type: 'int', min: 2, max: 1000000, meaning: 'Sampled coalitions per row (rounded up to an even number: pairs of complements).' },
};

export const kernelShap: AttributionMethod<KernelShapParams> = {
  id: 'kernel-shap',
  label: 'Kernel SHAP',
  description: 'Shapley values estimated by a regression on coalitions sampled from the Shapley kernel, with efficiency imposed exactly.',
  needs: { gradients: false },
  defaults,
  params,
  applicable: () => null,
  async explain(task, batch, target, params, seeder, onProgress, signal) {
    const n = task.nFeatures;
    const inSize = task.inputSize; // model-input values per row
    const { samples } = checkParams(kernelShap, params, task);
    const exhaustive = n < 2 || 2 ** n - 2 <= samples;
    const pairs = exhaustive ? 0 : Math.ceil(samples / 2);
    const nCoalitions = exhaustive ? Math.max(0, 2 ** n - 2) : 2 * pairs;
    // regression weight of each coalition: the Shapley kernel when enumerating, 1 when sampled from it
    const weight = new Float64Array(nCoalitions).fill(1); // [nCoalitions]
    const enumerated = new Uint8Array(exhaustive ? nCoalitions * n : 0); // [nCoalitions, n] z of coalition m + 1
    if (exhaustive)
      for (let c = 0; c < nCoalitions; c++) {
        const m = c + 1;
        let k = 0;
        for (let j = 0; j < n; j++) k += enumerated[c * n + j] = (m >> j) & 1;
        let binom = 1; // C(n, k)
        for (let i = 1; i <= k; i++) binom = (binom * (n - k + i)) / i;
        weight[c] = (n - 1) / (binom * k * (n - k));
      }
    const per = 2 + nCoalitions; // the clean input, the all-baseline input, then the coalitions
    const baselineOf = taskBaselines(task); // row → its x° [inputSize]
    // size distribution of the Shapley kernel, as a cumulative table over k = 1..n−1
    const cdf = shapleySizeCdf(n);
    const out = new Float32Array(batch.nRows * n); // [nRows, n]
    await forRowChunks(
      batch,
      per,
      async (start, end) => {
        const rows = end - start;
        const inputs = new Float32Array(rows * per * inSize); // [rows · per, inputSize]
        const present = new Uint8Array(rows * nCoalitions * n); // [rows · nCoalitions, n] z
        const removed = new Uint8Array(n); // [n]
        const all = Int32Array.from({ length: n }, (_, j) => j);
        for (let r = 0; r < rows; r++) {
          const rng = seeder.rng('kernel-shap', batch.rowIndex[start + r]);
          const x = batch.x.subarray((start + r) * inSize, (start + r + 1) * inSize);
          const x0 = baselineOf(x); // [inputSize]
          task.space.writeRemoval(inputs, r * per, x, x0, []);
          task.space.writeRemoval(inputs, r * per + 1, x, x0, all);
          if (exhaustive) {
            present.set(enumerated, r * nCoalitions * n);
            for (let c = 0; c < nCoalitions; c++) {
              for (let j = 0; j < n; j++) removed[j] = 1 - enumerated[c * n + j];
              task.space.writeMasked(inputs, r * per + 2 + c, x, x0, removed);
            }
            continue;
          }
          for (let p = 0; p < pairs; p++) {
            const chosen = rng.sampleWithoutReplacement(n, shapleySize(rng.uniform(), cdf, n));
            const a = (r * nCoalitions + 2 * p) * n; // z
            const b = a + n; // its complement
            for (let j = 0; j < n; j++) present[b + j] = 1;
            for (const j of chosen) {
              present[a + j] = 1;
              present[b + j] = 0;
            }
            for (let j = 0; j < n; j++) removed[j] = 1 - present[a + j];
            task.space.writeMasked(inputs, r * per + 2 + 2 * p, x, x0, removed);
            for (let j = 0; j < n; j++) removed[j] = 1 - present[b + j];
            task.space.writeMasked(inputs, r * per + 3 + 2 * p, x, x0, removed);
          }
        }
        const f = await task.model.predictTarget(inputs, rows * per, repeatTargets(target.subarray(start, end), per), task.output); // [rows · per]
        const d = n - 1; // unknowns φ_1..φ_{n−1}; φ_n = Δ − Σ
        const U = new Float64Array(nCoalitions * d); // [nCoalitions, n − 1] z_i − z_n
        const t = new Float64Array(nCoalitions); // [nCoalitions] f(z) − f(x°) − z_n Δ
        for (let r = 0; r < rows; r++) {
          const fx = f[r * per];
          const f0 = f[r * per + 1];
          const delta = fx - f0;
          const o = (start + r) * n;
          if (n === 1) {
            out[o] = delta;
            continue;
          }
          for (let s = 0; s < nCoalitions; s++) {
            const zo = (r * nCoalitions + s) * n;
            const zn = present[zo + n - 1];
            for (let i = 0; i < d; i++) U[s * d + i] = present[zo + i] - zn;
            t[s] = f[r * per + 2 + s] - f0 - zn * delta;
          }
          const phi = weightedLeastSquares(U, t, weight, nCoalitions, d); // [n − 1]
          let sum = 0;
          for (let i = 0; i < d; i++) {
            out[o + i] = phi[i];
            sum += phi[i];
          }
          out[o + n - 1] = delta - sum;
        }
      },
      onProgress,
      signal,
    );
    return out;
  },
};
