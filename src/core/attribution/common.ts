/**
 * Shared plumbing of the attribution methods: parameter checks, row chunking with progress and
 * cancellation, quadrature rules, and a small weighted least-squares solver (double precision).
 */
import { checkpoint } from '../yield';
import { resolveParams, type ParamSpec, type Params } from '../params';
import type { Batch, Progress, Task } from '../task/task';
import { rowBaselines } from '../task/featureSpace';
import type { AttributionMethod } from './types';

/**
 * Perturbed (or interpolated) rows built per chunk. A chunk holds whole explained rows, so the
 * numbers never depend on it; it only bounds memory and sets how often progress is reported.
 * Each chunk goes to the model in one call, which chunks itself by `maxBatchRows`.
 */
export const PERTURBED_ROWS_PER_CHUNK = 32768;

/**
 * The Shapley kernel's distribution of coalition sizes k = 1..n−1: P(k) ∝ (n − 1) / (k (n − k)) summed
 * over the C(n, k) coalitions of size k, i.e. ∝ 1 / (k (n − k)). Returned as a cumulative table,
 * cdf[k − 1] = P(size ≤ k); empty for n < 2. Kernel SHAP and L_LC's "shapley" subsets draw from it.
 */
export function shapleySizeCdf(n: number): Float64Array {
  const cdf = new Float64Array(Math.max(0, n - 1));
  let total = 0;
  for (let k = 1; k < n; k++) cdf[k - 1] = total += 1 / (k * (n - k));
  for (let k = 0; k < cdf.length; k++) cdf[k] /= total;
  return cdf;
}

/** The size k ∈ 1..n−1 that a uniform draw u ∈ [0, 1) picks from `shapleySizeCdf(n)`. */
export function shapleySize(u: number, cdf: Float64Array, n: number): number {
  let k = 1;
  while (k < n - 1 && u >= cdf[k - 1]) k++;
  return k;
}

/** Row r of a [nRows, n] row-major array, as a view. */
export function rowOf(x: Float32Array, r: number, n: number): Float32Array {
  return x.subarray(r * n, (r + 1) * n);
}

/**
 * Run `work(start, end)` over consecutive slices of the batch's rows, each holding at most
 * PERTURBED_ROWS_PER_CHUNK / perRow rows (at least one), reporting progress in explained rows and
 * giving the event loop a turn (core/yield.ts) and checking for cancellation between slices.
 */
export async function forRowChunks(
  batch: Batch,
  perRow: number,
  work: (start: number, end: number) => Promise<void>,
  onProgress?: Progress,
  signal?: AbortSignal,
): Promise<void> {
  const rowsPerChunk = Math.max(1, Math.floor(PERTURBED_ROWS_PER_CHUNK / Math.max(1, perRow)));
  onProgress?.(0, batch.nRows);
  for (let start = 0; start < batch.nRows; start += rowsPerChunk) {
    await checkpoint(signal);
    const end = Math.min(batch.nRows, start + rowsPerChunk);
    await work(start, end);
    onProgress?.(end, batch.nRows);
  }
  await checkpoint(signal);
}

/** Target classes of the rows start..end-1, as a view. */
export function targetsOf(target: Int32Array, start: number, end: number): Int32Array {
  return target.subarray(start, end);
}

/**
 * The removal/reference baseline x° of each row (the task's `baseline`), as a function of the row
 * [inputSize] → [inputSize]: one vector for every row for zero and mean, the row's own blur for
 * image `blur` (featureSpace.ts `rowBaselines`).
 */
export function taskBaselines(task: Task): (x: ArrayLike<number>) => Float32Array {
  return rowBaselines(task.space, task.baseline);
}

/** Repeat each of the targets `times` times: [nRows · times]. */
export function repeatTargets(target: ArrayLike<number>, times: number): Int32Array {
  const out = new Int32Array(target.length * times);
  for (let r = 0; r < target.length; r++) out.fill(target[r], r * times, (r + 1) * times);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Parameter checks: every method checks its params once, through the one resolver (core/params.ts).

/** The method's params resolved and checked against its schema on this task (feature-count bounds included). */
export function checkParams<P extends Params>(method: AttributionMethod<P>, params: P, task: Task): P {
  return resolveParams({ id: method.id, kind: 'Method', defaults: method.defaults, params: method.params as Record<string, ParamSpec> }, params, task.nFeatures) as P;
}

// ---------------------------------------------------------------------------------------------
// Quadrature on [0, 1].

export type QuadratureRule = 'gausslegendre' | 'trapezoid' | 'riemann-right';
export const QUADRATURE_RULES: readonly QuadratureRule[] = ['gausslegendre', 'trapezoid', 'riemann-right'];

/**
 * Nodes α_k in [0, 1] and weights w_k (Σ w_k = 1) for ∫₀¹ g(α) dα ≈ Σ w_k g(α_k).
 * - gausslegendre: `steps` Gauss–Legendre nodes (Newton iteration on P_steps, in double).
 * - trapezoid: the textbook trapezoid over `steps` equal intervals: steps + 1 nodes k/steps,
 *   weights 1/steps, halved at both ends.
 * - riemann-right: nodes k/steps for k = 1..steps, weights 1/steps.
 */
export function quadrature(rule: QuadratureRule, steps: number): { nodes: Float64Array; weights: Float64Array } {
  if (rule === 'trapezoid') {
    const nodes = Float64Array.from({ length: steps + 1 }, (_, k) => k / steps);
    const weights = Float64Array.from({ length: steps + 1 }, (_, k) => (k === 0 || k === steps ? 0.5 : 1) / steps);
    return { nodes, weights };
  }
  if (rule === 'riemann-right') {
    return { nodes: Float64Array.from({ length: steps }, (_, k) => (k + 1) / steps), weights: new Float64Array(steps).fill(1 / steps) };
  }
  return gaussLegendre(steps);
}

/** Gauss–Legendre rule with m nodes mapped to [0, 1], nodes ascending. */
export function gaussLegendre(m: number): { nodes: Float64Array; weights: Float64Array } {
  const nodes = new Float64Array(m);
  const weights = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    // i-th root of P_m on [-1, 1], descending from near 1
    let t = Math.cos((Math.PI * (i + 0.75)) / (m + 0.5));
    let dp = 1;
    for (let iter = 0; iter < 100; iter++) {
      let p0 = 1;
      let p1 = t;
      for (let k = 2; k <= m; k++) {
        const p2 = ((2 * k - 1) * t * p1 - (k - 1) * p0) / k;
        p0 = p1;
        p1 = p2;
      }
      dp = (m * (t * p1 - p0)) / (t * t - 1);
      const dt = p1 / dp;
      t -= dt;
      if (Math.abs(dt) < 1e-15) break;
    }
    // recompute the derivative at the converged root for the weight
    let p0 = 1;
    let p1 = t;
    for (let k = 2; k <= m; k++) {
      const p2 = ((2 * k - 1) * t * p1 - (k - 1) * p0) / k;
      p0 = p1;
      p1 = p2;
    }
    dp = (m * (t * p1 - p0)) / (t * t - 1);
    const w = 2 / ((1 - t * t) * dp * dp);
    nodes[m - 1 - i] = (1 + t) / 2;
    weights[m - 1 - i] = w / 2;
  }
  return { nodes, weights };
}

// ---------------------------------------------------------------------------------------------
// Linear algebra in double precision (small systems: one per explained row).

/**
 * Solve the symmetric positive (semi-)definite system A v = b (A: [d, d] row-major, copied) by
 * Cholesky. A tiny jitter (1e-10 · mean diagonal, growing if needed) keeps a singular system
 * solvable; the caller adds any deliberate ridge penalty itself.
 */
export function solveSpd(A: Float64Array, b: Float64Array, d: number): Float64Array {
  let meanDiag = 0;
  for (let i = 0; i < d; i++) meanDiag += A[i * d + i];
  meanDiag = Math.max(meanDiag / Math.max(1, d), 1e-300);
  for (let jitter = 0, attempt = 0; attempt < 12; attempt++, jitter = jitter === 0 ? 1e-10 * meanDiag : jitter * 100) {
    const L = new Float64Array(d * d);
    let ok = true;
    for (let i = 0; i < d && ok; i++) {
      for (let j = 0; j <= i; j++) {
        let s = A[i * d + j] + (i === j ? jitter : 0);
        for (let k = 0; k < j; k++) s -= L[i * d + k] * L[j * d + k];
        if (i === j) {
          if (!(s > 0)) {
            ok = false;
            break;
          }
          L[i * d + i] = Math.sqrt(s);
        } else L[i * d + j] = s / L[j * d + j];
      }
    }
    if (!ok) continue;
    const y = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let s = b[i];
      for (let k = 0; k < i; k++) s -= L[i * d + k] * y[k];
      y[i] = s / L[i * d + i];
    }
    const v = new Float64Array(d);
    for (let i = d - 1; i >= 0; i--) {
      let s = y[i];
      for (let k = i + 1; k < d; k++) s -= L[k * d + i] * v[k];
      v[i] = s / L[i * d + i];
    }
    return v;
  }
  return new Float64Array(d);
}

/**
 * Weighted least squares: minimise Σ_s w_s (y_s − Z_s·β)² + ridge · Σ_{j ∈ penalised} β_j².
 * Z: [nSamples, d] row-major design; penalise[j] = false exempts column j (an intercept).
 * Returns β: [d].
 */
export function weightedLeastSquares(
  Z: Float64Array,
  y: Float64Array,
  w: Float64Array,
  nSamples: number,
  d: number,
  ridge = 0,
  penalise?: (j: number) => boolean,
): Float64Array {
  const A = new Float64Array(d * d); // Zᵀ W Z: [d, d]
  const b = new Float64Array(d); // Zᵀ W y: [d]
  for (let s = 0; s < nSamples; s++) {
    const ws = w[s];
    if (ws === 0) continue;
    const o = s * d;
    for (let i = 0; i < d; i++) {
      const zi = Z[o + i] * ws;
      if (zi === 0) continue;
      b[i] += zi * y[s];
      for (let j = 0; j <= i; j++) A[i * d + j] += zi * Z[o + j];
    }
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) A[j * d + i] = A[i * d + j];
  if (ridge > 0) for (let j = 0; j < d; j++) if (!penalise || penalise(j)) A[j * d + j] += ridge;
  return solveSpd(A, b, d);
}
