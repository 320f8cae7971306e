/**
 * Integrated Gradients (Sundararajan et al. 2017):
 *   φ_i = (x_i − x°_i) · ∫₀¹ ∂f_c/∂x_i (x° + α (x − x°)) dα,
 * with x° the row's baseline (the task's baseline setting), the integral taken by a quadrature rule (common.ts `quadrature`).
 * All rows × all nodes go through one batched gradient call per chunk.
 */
import type { AttributionMethod } from './types';
import type { ParamSchema } from '../params';
import { QUADRATURE_RULES, checkParams, forRowChunks, quadrature, repeatTargets, taskBaselines, type QuadratureRule } from './common';

export type IntegratedGradientsParams = {
  /** Number of nodes (gausslegendre, riemann-right) or of intervals (trapezoid: steps + 1 nodes). */
  steps: number;
  /** Quadrature rule over α ∈ [0, 1]. */
  rule: QuadratureRule;
};

export const defaults: IntegratedGradientsParams = { steps: 50, rule: 'gausslegendre' };

export const params: ParamSchema<IntegratedGradientsParams> = {
  steps: { type: 'int', min: 1, max: 10000, meaning: 'Quadrature nodes along the path (intervals for trapezoid).' },
  rule: { type: 'choice', choices: QUADRATURE_RULES, meaning: 'Quadrature rule over the path from the baseline to the input.' },
};

export const integratedGradients: AttributionMethod<IntegratedGradientsParams> = {
  id: 'integrated-gradients',
  label: 'Integrated Gradients',
  description: 'Gradients averaged along the straight path from the baseline to the input, times (input − baseline).',
  needs: { gradients: true },
  defaults,
  params,
  applicable: () => null,
  async explain(task, batch, target, params, _seeder, onProgress, signal) {
    const { steps, rule } = checkParams(integratedGradients, params, task);
    const { nodes, weights } = quadrature(rule, steps);
    const m = nodes.length;
    const n = task.inputSize; // gradients and inputs per model-input element
    const baselineOf = taskBaselines(task); // row → its x° [inputSize]
    const out = new Float32Array(batch.nRows * n); // [nRows, inputSize]
    await forRowChunks(
      batch,
      m,
      async (start, end) => {
        const rows = end - start;
        const path = new Float32Array(rows * m * n); // [rows · m, n]: row r, node k at (r·m + k)
        const x0s: Float32Array[] = []; // each row's x° [inputSize]
        for (let r = 0; r < rows; r++) {
          const x = batch.x.subarray((start + r) * n, (start + r + 1) * n);
          const x0 = baselineOf(x);
          x0s.push(x0);
          for (let k = 0; k < m; k++) {
            const o = (r * m + k) * n;
            for (let j = 0; j < n; j++) path[o + j] = x0[j] + nodes[k] * (x[j] - x0[j]);
          }
        }
        const { grad } = await task.model.gradient(path, rows * m, repeatTargets(target.subarray(start, end), m), task.output); // [rows · m, n]
        const avg = new Float64Array(n); // [n] ∫ gradient dα of one row
        for (let r = 0; r < rows; r++) {
          avg.fill(0);
          for (let k = 0; k < m; k++) {
            const o = (r * m + k) * n;
            for (let j = 0; j < n; j++) avg[j] += weights[k] * grad[o + j];
          }
          const x = batch.x.subarray((start + r) * n, (start + r + 1) * n);
          const x0 = x0s[r];
          for (let j = 0; j < n; j++) out[(start + r) * n + j] = (x[j] - x0[j]) * avg[j];
        }
      },
      onProgress,
      signal,
    );
    return task.space.aggregate(out, batch.nRows); // [nRows, nFeatures]
  },
};
