/**
 * Exact Shapley values over all 2^n coalitions (features present keep x_i, the others take the
 * task's baseline): φ_i = Σ_{S ⊆ N∖{i}} |S|! (n − |S| − 1)! / n! · (f(S ∪ {i}) − f(S)),
 * accumulated in double precision. All coalitions of a chunk of rows go to the model in one call.
 * Refuses n > maxFeatures (default 16: 65,536 coalitions per row).
 */
import { UserError } from '../errors';
import type { AttributionMethod } from './types';
import type { ParamSchema } from '../params';
import { forRowChunks, repeatTargets, taskBaselines } from './common';

export type ShapleyExactParams = Record<string, never>;

export const defaults: ShapleyExactParams = {};

export const params: ParamSchema<ShapleyExactParams> = {};

/** Largest feature count exact enumeration accepts. */
export const SHAPLEY_EXACT_MAX_FEATURES = 16;

/** Shapley weight |S|! (n − |S| − 1)! / n! = 1 / (n · C(n − 1, |S|)) for every |S| = 0..n−1. */
export function shapleyWeights(n: number): Float64Array {
  const w = new Float64Array(n);
  let binom = 1; // C(n − 1, s)
  for (let s = 0; s < n; s++) {
    w[s] = 1 / (n * binom);
    binom = (binom * (n - 1 - s)) / (s + 1);
  }
  return w;
}

function tooManyFeatures(n: number): UserError | null {
  if (n <= SHAPLEY_EXACT_MAX_FEATURES) return null;
  return new UserError(
    `shapley-exact enumerates all 2^n coalitions, and this task has n = ${n} features (2^${n} inputs per row; the limit is n ≤ ${SHAPLEY_EXACT_MAX_FEATURES}).`,
    'Use kernel-shap, which estimates the same Shapley values from sampled coalitions.',
  );
}

export const shapleyExact: AttributionMethod<ShapleyExactParams> = {
  id: 'shapley-exact',
  label: 'Exact Shapley values',
  description: `Shapley values computed over all 2^n coalitions of features (n ≤ ${SHAPLEY_EXACT_MAX_FEATURES}).`,
  needs: { gradients: false },
  defaults,
  params,
  applicable: (task) => {
    const e = tooManyFeatures(task.nFeatures);
    return e ? e.message : null;
  },
  async explain(task, batch, target, _params, _seeder, onProgress, signal) {
    const e = tooManyFeatures(task.nFeatures);
    if (e) throw e;
    const n = task.nFeatures;
    const inSize = task.inputSize; // model-input values per row
    const nCoalitions = 2 ** n;
    const weight = shapleyWeights(n); // [n] by coalition size
    const size = new Uint8Array(nCoalitions); // [2^n] popcount of each coalition
    for (let m = 1; m < nCoalitions; m++) size[m] = size[m >> 1] + (m & 1);
    const baselineOf = taskBaselines(task); // row → its x° [inputSize]
    const out = new Float32Array(batch.nRows * n); // [nRows, n]
    const removed = new Uint8Array(n); // [n]
    await forRowChunks(
      batch,
      nCoalitions,
      async (start, end) => {
        const rows = end - start;
        const inputs = new Float32Array(rows * nCoalitions * inSize); // [rows · 2^n, inputSize]: bit i of the coalition index = feature i present
        for (let r = 0; r < rows; r++) {
          const x = batch.x.subarray((start + r) * inSize, (start + r + 1) * inSize);
          const x0 = baselineOf(x); // [inputSize]
          for (let m = 0; m < nCoalitions; m++) {
            for (let j = 0; j < n; j++) removed[j] = (m >> j) & 1 ? 0 : 1;
            task.space.writeMasked(inputs, r * nCoalitions + m, x, x0, removed);
          }
        }
        const f = await task.model.predictTarget(inputs, rows * nCoalitions, repeatTargets(target.subarray(start, end), nCoalitions), task.output); // [rows · 2^n]
        const phi = new Float64Array(n); // [n]
        for (let r = 0; r < rows; r++) {
          phi.fill(0);
          const o = r * nCoalitions;
          for (let m = 0; m < nCoalitions; m++) {
            const w = weight[size[m]];
            const fm = f[o + m];
            for (let i = 0; i < n; i++) if (!((m >> i) & 1)) phi[i] += w * (f[o + (m | (1 << i))] - fm);
          }
          for (let i = 0; i < n; i++) out[(start + r) * n + i] = phi[i];
        }
      },
      onProgress,
      signal,
    );
    return out;
  },
};
