/**
 * The one mask generator of F-Fidelity (docs/ffidelity.md). The fine-tuning of the surrogate
 * (finetune.ts) and every stochastic removal of the evaluation (ffid.ts: FFID±, RFID±) draw the
 * features they remove through `drawRemoval`, so the evaluation's removals are, by construction,
 * of the kind the surrogate was fine-tuned on: a uniformly random subset of a given size, drawn
 * without replacement (partial Fisher–Yates, `Rng.sampleInto`).
 *
 * Counts (pinned; F-Fidelity §3, Eq. 6, with METRICS.md "Beyond the ten"):
 * - cap K = ⌊β·n⌋ (never more than β·n features are removed, on either side);
 * - fine-tuning: k uniform in {0, 1, …, K} per input and epoch, then k of the n features;
 * - FFid⁺ at size s: m⁺ = min(⌊α⁺·s⌋, K) of the top-s features;
 * - FFid⁻ at size s: m⁻ = min(⌈α⁻·(n − s)⌉, K) of the other n − s features.
 * m⁺ is METRICS.md's ⌊min(α⁺·s, β·n)⌋ exactly; m⁻ equals its ⌈min(α⁻·(n−s), β·n)⌉ whenever β·n
 * is an integer, and otherwise takes the cap as ⌊β·n⌋ (not ⌈β·n⌉), so that no evaluation input
 * removes more features than the fine-tuning ever removed (the paper's "absolute upper bound βtd").
 * R-Fidelity (original model, no fine-tuning) uses the same counts with no cap (K = n).
 * Floors and ceilings of products of decimals are taken with a 1e-9 tolerance, so that 0.1 · 30
 * (= 3.0000000000000004 in floating point) counts as 3 on both sides.
 */
import type { Rng } from '../rng';

const EPS = 1e-9;

/** ⌊v⌋ with the tolerance (⌊2.9999999999⌋ = 3). */
export function floorTol(v: number): number {
  return Math.floor(v + EPS);
}

/** ⌈v⌉ with the tolerance (⌈3.0000000000000004⌉ = 3). */
export function ceilTol(v: number): number {
  return Math.ceil(v - EPS);
}

/** K = ⌊β·n⌋: the most features any F-Fidelity input has removed. */
export function removalCap(n: number, beta: number): number {
  return Math.max(0, Math.min(n, floorTol(beta * n)));
}

/** m⁺ = min(⌊α⁺·s⌋, cap): features removed from the top-s. */
export function plusCount(s: number, alpha: number, cap: number): number {
  return Math.max(0, Math.min(s, floorTol(alpha * s), cap));
}

/** m⁻ = min(⌈α⁻·(n − s)⌉, cap): features removed from the n − s others. */
export function minusCount(n: number, s: number, alpha: number, cap: number): number {
  return Math.max(0, Math.min(n - s, ceilTol(alpha * (n - s)), cap));
}

/**
 * Draw exactly `count` distinct positions of 0..poolSize−1, uniformly (partial Fisher–Yates),
 * into out[offset..offset+count). THE mask generator: fine-tuning and evaluation both call it.
 * Positions index a candidate list (all features for fine-tuning; the ranks of the top-s or of
 * the others for the evaluation), so every explanation of a row sees the same draws.
 */
export function drawRemoval(rng: Rng, poolSize: number, count: number, out: Int32Array, offset = 0): void {
  if (!(Number.isInteger(count) && count >= 0 && count <= poolSize)) throw new RangeError(`drawRemoval: cannot remove ${count} of ${poolSize}`);
  rng.sampleInto(poolSize, count, out, offset);
}

/** How many features fine-tuning removes from one input: k uniform in {0, 1, …, cap} (then `drawRemoval(rng, n, k, …)`). */
export function finetuneCount(rng: Rng, cap: number): number {
  return rng.int(cap + 1);
}

/** The slice of a FeatureSpace the removal writer needs. */
export interface MaskWriter {
  writeMasked(out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, mask: ArrayLike<number>): void;
}

/**
 * out[row] = x with features[0..count) removed (replaced by the baseline), through the space's
 * `writeMasked` — the one writer of fine-tuning and evaluation inputs (so an image patch is removed
 * whole, every channel, on both sides). `mask` is a zeroed [nFeatures] scratch, left zeroed.
 */
export function writeRemoved(space: MaskWriter, out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, features: ArrayLike<number>, count: number, mask: Uint8Array): void {
  for (let i = 0; i < count; i++) mask[features[i]] = 1;
  space.writeMasked(out, row, x, baseline, mask);
  for (let i = 0; i < count; i++) mask[features[i]] = 0;
}
