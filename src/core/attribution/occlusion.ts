/**
 * Occlusion (Zeiler & Fergus 2014), 1-D over the feature index order as Captum's Occlusion does
 * for a flat input: windows of `window` consecutive features start at 0, stride, 2·stride, …;
 * there are ⌈(n − window) / stride⌉ + 1 of them (one if window ≥ n), the last clipped at n, so
 * every feature is covered. Each window is replaced by the baseline alone,
 * Δ_w = f_c(x) − f_c(x \ window_w), and a feature's score is the mean of Δ_w over the windows
 * that cover it.
 */
import type { AttributionMethod } from './types';
import type { ParamSchema } from '../params';
import { checkParams, forRowChunks, repeatTargets, taskBaselines } from './common';

export type OcclusionParams = {
  /** Features per occluding window. */
  window: number;
  /** Shift between consecutive windows. */
  stride: number;
};

export const defaults: OcclusionParams = { window: 2, stride: 1 };

export const params: ParamSchema<OcclusionParams> = {
  window: { type: 'int', min: 1, max: 'nFeatures', meaning: 'Consecutive features per occluding window.' },
  stride: { type: 'int', min: 1, max: 'nFeatures', meaning: 'Shift between consecutive windows.' },
};

/** The windows [start, end) over n features. */
export function occlusionWindows(n: number, window: number, stride: number): [number, number][] {
  const count = window >= n ? 1 : Math.ceil((n - window) / stride) + 1;
  return Array.from({ length: count }, (_, k) => [k * stride, Math.min(n, k * stride + window)] as [number, number]);
}

export const occlusion: AttributionMethod<OcclusionParams> = {
  id: 'occlusion',
  label: 'Occlusion',
  description: 'Mean drop in the explained output over the sliding windows of consecutive features that cover each feature.',
  needs: { gradients: false },
  defaults,
  params,
  applicable: () => null,
  async explain(task, batch, target, params, _seeder, onProgress, signal) {
    const n = task.nFeatures;
    const inSize = task.inputSize; // model-input values per row
    const { window, stride } = checkParams(occlusion, params, task);
    const windows = occlusionWindows(n, window, stride);
    const nWindows = windows.length;
    const members = windows.map(([a, b]) => Int32Array.from({ length: b - a }, (_, k) => a + k)); // feature indices of each window
    const cover = new Int32Array(n); // [n] windows covering each feature
    for (const [a, b] of windows) for (let j = a; j < b; j++) cover[j]++;
    const per = nWindows + 1; // the clean input, then one input per window
    const baselineOf = taskBaselines(task); // row → its x° [inputSize]
    const out = new Float32Array(batch.nRows * n); // [nRows, n]
    await forRowChunks(
      batch,
      per,
      async (start, end) => {
        const rows = end - start;
        const inputs = new Float32Array(rows * per * inSize); // [rows · (nWindows + 1), inputSize]
        for (let r = 0; r < rows; r++) {
          const x = batch.x.subarray((start + r) * inSize, (start + r + 1) * inSize);
          const x0 = baselineOf(x); // [inputSize]
          task.space.writeRemoval(inputs, r * per, x, x0, []);
          for (let w = 0; w < nWindows; w++) task.space.writeRemoval(inputs, r * per + 1 + w, x, x0, members[w]);
        }
        const f = await task.model.predictTarget(inputs, rows * per, repeatTargets(target.subarray(start, end), per), task.output); // [rows · (nWindows + 1)]
        const sum = new Float64Array(n); // [n] Σ Δ over covering windows
        for (let r = 0; r < rows; r++) {
          sum.fill(0);
          windows.forEach(([a, b], w) => {
            const delta = f[r * per] - f[r * per + 1 + w];
            for (let j = a; j < b; j++) sum[j] += delta;
          });
          for (let j = 0; j < n; j++) out[(start + r) * n + j] = sum[j] / cover[j];
        }
      },
      onProgress,
      signal,
    );
    return out;
  },
};
