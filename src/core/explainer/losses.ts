/**
 * DeepFaith's losses (METRICS.md "The explainer and its training"), differentiable tf ops:
 *
 * - L_PC = mean over Z of (1 − τ_pearson(φ(x), s))                                   (paper Eq. 3)
 * - L_LC = ½ − ½ · mean over x of τ_pearson[(Σ_{i∈I_j} φ(x)_i)_j, (Δ(I_j))_j]          (paper Eq. 2)
 *   with k random REMOVED subsets I_j per sample (each feature in with probability ½) and
 *   Δ(I) = p_c(x) − p_c(x \ I) from the target model, precomputed without gradient.
 *
 * The differentiable Pearson is Σ(a−ā)(b−b̄) / (√Σ(a−ā)² · √Σ(b−b̄)² + 1e-8), row by row; the
 * two square roots are taken separately so that a constant row on one side (an all-zero
 * supervision target, a constant Δ) gives correlation 0 with a finite gradient. A constant row on
 * the trained side (φ, or equal subset sums) gives 0 · ∞ = NaN in the gradient, deliberately: it
 * happens when the explainer has collapsed (its sigmoid saturated, e.g. at learning rate 1), and
 * the NaN is what makes training stop with "Training diverged …" instead of returning a constant
 * explainer (a floor under the square root was tried: the collapse then trained on silently).
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import type { Seeder } from '../rng';
import type { Task } from '../task/task';
import type { OutputMode } from '../task/model';
import { rowBaselines } from '../task/featureSpace';
import { shapleySize, shapleySizeCdf } from '../attribution/common';

/** Row-wise differentiable Pearson. a, b: [B, m] → [B]. */
export function pearsonRows(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const ac = tf.sub(a, tf.mean(a, 1, true)); // [B, m]
    const bc = tf.sub(b, tf.mean(b, 1, true)); // [B, m]
    const num = tf.sum(tf.mul(ac, bc), 1); // [B]
    const den = tf.add(tf.mul(tf.sqrt(tf.sum(tf.square(ac), 1)), tf.sqrt(tf.sum(tf.square(bc), 1))), 1e-8); // [B]
    return tf.div(num, den) as tf.Tensor1D;
  });
}

/** L_PC. phi, s: [B, n] → scalar. */
export function lossPC(phi: tf.Tensor2D, s: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.sub(1, pearsonRows(phi, s))) as tf.Scalar);
}

/** Σ_{i∈I_j} φ_i for every subset. phi: [B, n], masks: [B, k, n] (1 = removed) → [B, k]. */
export function subsetSums(phi: tf.Tensor2D, masks: tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(() => tf.squeeze(tf.matMul(masks, tf.expandDims(phi, 2)), [2]) as tf.Tensor2D); // [B, k, 1] → [B, k]
}

/** Per-row min–max normalisation to [0, 1] (what is scored), differentiable; a constant row becomes ≈ 0. phi: [B, n]. */
export function minMaxRows(phi: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const lo = tf.min(phi, 1, true); // [B, 1]
    const hi = tf.max(phi, 1, true); // [B, 1]
    return tf.div(tf.sub(phi, lo), tf.add(tf.sub(hi, lo), 1e-8)) as tf.Tensor2D;
  });
}

/**
 * L_LC. phi: [B, n], masks: [B, k, n] (1 = removed), delta: [B, k] → scalar. With `normalised`,
 * the subset sums are taken over the per-row min–max normalised output (what the metrics score)
 * instead of the sigmoid output.
 */
export function lossLC(phi: tf.Tensor2D, masks: tf.Tensor3D, delta: tf.Tensor2D, normalised = false): tf.Scalar {
  return tf.tidy(() => tf.sub(0.5, tf.mul(0.5, tf.mean(pearsonRows(subsetSums(normalised ? minMaxRows(phi) : phi, masks), delta)))) as tf.Scalar);
}

/**
 * How L_LC's removed subsets are drawn: 'independent' (default; each feature removed with
 * probability ½, k subsets), 'antithetic' (k/2 such subsets and their complements, rounded up to
 * pairs), 'exact' (all 2ⁿ subsets, the same for every sample; n ≤ LC_EXACT_MAX_FEATURES),
 * 'shapley' (k/2 subsets drawn from the Shapley kernel — a size s ∈ 1..n−1 with probability
 * ∝ 1/(s(n−s)), then s features uniformly — and their complements, as Kernel SHAP draws its
 * coalitions; n ≥ 2).
 *
 * What the subsets make L_LC's optimum: the φ maximising the Pearson of subset sums with Δ is the
 * least-squares fit of Δ on the removal indicators with an intercept (up to a positive factor).
 * Over subsets drawn with each feature in with probability ½ (or all 2ⁿ, equally weighted) that fit
 * is the Banzhaf value; over subsets drawn from the Shapley kernel it tends to the Shapley values plus
 * one constant added to every feature (the regression without Kernel SHAP's efficiency constraint),
 * which the per-row min–max normalisation of every scored explanation removes.
 */
export type LcSampling = 'independent' | 'antithetic' | 'exact' | 'shapley';
export const LC_SAMPLINGS: readonly LcSampling[] = ['independent', 'antithetic', 'exact', 'shapley'];
export const LC_EXACT_MAX_FEATURES = 12;

/** The model output whose Δ the training steps' L_LC fits (train.ts TrainConfig.lcOutput). */
export type LcOutput = 'task' | 'logit';
export const LC_OUTPUTS: readonly LcOutput[] = ['task', 'logit'];

/** Subsets per sample for a sampling rule. */
export function lcSubsetCount(sampling: LcSampling, k: number, n: number): number {
  if (sampling === 'exact') {
    if (n > LC_EXACT_MAX_FEATURES)
      throw new UserError(`L_LC over all subsets needs 2^${n} subsets per sample; it is offered up to ${LC_EXACT_MAX_FEATURES} features.`, 'Use training.lcSampling "antithetic" (or "independent") with lcSubsets k.');
    return 2 ** n;
  }
  if (sampling === 'shapley' && n < 2) throw new UserError(`L_LC subsets from the Shapley kernel need at least 2 features; this task has ${n}.`, 'Use training.lcSampling "independent" or "exact".');
  return sampling === 'antithetic' || sampling === 'shapley' ? 2 * Math.ceil(k / 2) : k;
}

/** Model-input values built at once by `lcTargets` (rows · (k+1) · inputSize): bounds memory on images. */
export const LC_INPUT_VALUES = 1 << 24;

/** The k removed subsets and their effects for a set of samples. */
export interface LcTargets {
  nRows: number;
  k: number;
  /** [nRows, k, n] 1 where feature i is removed in subset j */
  masks: Float32Array;
  /** [nRows, k] Δ(I_j) = p_c(x) − p_c(x \ I_j) */
  delta: Float32Array;
}

/**
 * Draw the subsets of each sample (by `sampling`: each feature removed with probability ½ from
 * `seeder.rng(unitId, rowIndex[r])`, those and their complements, all 2ⁿ, or Shapley-kernel draws
 * and their complements) and compute their Δ
 * with one batched model call over the nRows·(k+1) inputs (clean rows included; on `output`, the task's by default) — per chunk of rows
 * when they would exceed LC_INPUT_VALUES values (images); the numbers do not depend on it —,
 * k = lcSubsetCount(sampling, kRequested, n). No gradient flows through Δ.
 */
export async function lcTargets(
  task: Task,
  x: Float32Array,
  nRows: number,
  rowIndex: ArrayLike<number>,
  target: ArrayLike<number>,
  kRequested: number,
  seeder: Seeder,
  unitId: string,
  sampling: LcSampling = 'independent',
  output: OutputMode = task.output,
): Promise<LcTargets> {
  const n = task.nFeatures;
  const k = lcSubsetCount(sampling, kRequested, n);
  const d = task.inputSize; // model-input values per row (x is [nRows, inputSize])
  const baselineOf = rowBaselines(task.space, task.baseline); // row → its x° [inputSize]
  const masks = new Float32Array(nRows * k * n); // [nRows, k, n]
  const delta = new Float32Array(nRows * k);
  const rowsPerChunk = Math.max(1, Math.floor(LC_INPUT_VALUES / ((k + 1) * d)));
  const sizeCdf = sampling === 'shapley' ? shapleySizeCdf(n) : new Float64Array(0);
  for (let r0 = 0; r0 < nRows; r0 += rowsPerChunk) {
    const r1 = Math.min(nRows, r0 + rowsPerChunk);
    const inputs = new Float32Array((r1 - r0) * (k + 1) * d); // [rows·(k+1), inputSize]: clean row, then its k perturbations
    const targets = new Int32Array((r1 - r0) * (k + 1));
    for (let r = r0; r < r1; r++) {
      const rng = seeder.rng(unitId, rowIndex[r]);
      const xr = x.subarray(r * d, (r + 1) * d);
      const baseline = baselineOf(xr); // [inputSize]
      const base = (r - r0) * (k + 1);
      task.space.writeMasked(inputs, base, xr, baseline, new Float32Array(n));
      for (let j = 0; j < k; j++) {
        const m = masks.subarray((r * k + j) * n, (r * k + j + 1) * n);
        if (sampling === 'exact') for (let i = 0; i < n; i++) m[i] = (j >> i) & 1;
        else if ((sampling === 'antithetic' || sampling === 'shapley') && j % 2 === 1) {
          const prev = masks.subarray((r * k + j - 1) * n, (r * k + j) * n);
          for (let i = 0; i < n; i++) m[i] = 1 - prev[i];
        } else if (sampling === 'shapley') for (const i of rng.sampleWithoutReplacement(n, shapleySize(rng.uniform(), sizeCdf, n))) m[i] = 1;
        else for (let i = 0; i < n; i++) m[i] = rng.uniform() < 0.5 ? 1 : 0;
        task.space.writeMasked(inputs, base + 1 + j, xr, baseline, m);
      }
      targets.fill(target[r], base, base + k + 1);
    }
    const p = await task.model.predictTarget(inputs, (r1 - r0) * (k + 1), targets, output);
    for (let r = r0; r < r1; r++) for (let j = 0; j < k; j++) delta[r * k + j] = p[(r - r0) * (k + 1)] - p[(r - r0) * (k + 1) + 1 + j];
  }
  return { nRows, k, masks, delta };
}
