/**
 * Explanation size from a dense FFid⁺ curve (F-Fidelity §4, Theorem 1; docs/ffidelity.md).
 * Theorem 1: for a Shapley-consistent ranking, e(s) = E FFid⁺(s) increases on [0, c₁] (c₁ = the
 * size of the most influential tier) and decreases on [max(β·n/α⁺, c₁), n]; in between it may be
 * flat. The first knee — where the curve stops rising — estimates c₁, provided the removal count
 * m⁺ = min(⌊α⁺·s⌋, ⌊β·n⌋) is still growing there: past s* = ⌈⌊β·n⌋/α⁺⌉ the cap holds m⁺ fixed
 * and the curve can flatten before c₁. A knee at s ≥ s* is therefore reported as `censored`
 * (c₁ ≥ s*; fine-tune and evaluate with a larger β to see it).
 *
 * Pinned estimator: on the mean curve over rows (grid '1%': ρ = 1..99%), the knee is the first
 * level whose value is within `tolerance` × (max − min) of the maximum (tolerance default 0.05:
 * on a rise of slope α⁺ the knee is found within 5% of c₁, and noise on the plateau does not move
 * it past the plateau's start); the size is that level's s and
 * s/n. A flat curve (max = min) has no knee ('undefined'). Interval: a percentile bootstrap over
 * rows (B resamples with replacement, default 200, from makeRng(`<seed>|ffid-size-bootstrap`)),
 * percentiles interpolated linearly (numpy's default) at (1 ∓ confidence)/2.
 */
import { makeRng } from '../rng';
import type { Batch, Task } from '../task/task';
import type { Seeder } from '../rng';
import { FFID_PLUS, gridLevels, gridSizes, type FfidParams, type Grid } from './ffid';
import { ceilTol, removalCap } from './sampler';

export const sizeDefaults = { tolerance: 0.05, bootstrap: 200, confidence: 0.95 };

export interface SizeEstimate {
  /** s at the knee (features), or 'undefined' for a flat curve. */
  size: number | 'undefined';
  /** s/n at the knee. */
  fraction: number | 'undefined';
  /** Percentile bootstrap interval of the size (features), 'undefined' ends when most resamples have no knee. */
  interval: [number | 'undefined', number | 'undefined'];
  confidence: number;
  bootstrap: number;
  /** Resamples whose curve was flat (no knee). */
  flatResamples: number;
  tolerance: number;
  /** s* = ⌈⌊β·n⌋/α⁺⌉, where the cap stops m⁺ from growing (absent when α⁺/β are not given). */
  capBindsAt?: number;
  /** Whether the knee lies at or past s*, so that it bounds c₁ from below only. */
  censored: boolean;
  /** The mean curve over rows, its levels ρ and sizes s. */
  curve: number[];
  levels: number[];
  sizes: number[];
}

/** Index of the first point within tolerance·(max − min) of the max; -1 for a flat or empty curve. */
export function firstKnee(curve: ArrayLike<number>, tolerance = sizeDefaults.tolerance): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < curve.length; i++) {
    if (curve[i] < lo) lo = curve[i];
    if (curve[i] > hi) hi = curve[i];
  }
  if (!(hi > lo)) return -1;
  const thr = hi - tolerance * (hi - lo);
  for (let i = 0; i < curve.length; i++) if (curve[i] >= thr) return i;
  return -1;
}

/** numpy-style linear-interpolated quantile of sorted values. */
function quantileSorted(v: number[], q: number): number {
  const pos = (v.length - 1) * q;
  const i = Math.floor(pos);
  const f = pos - i;
  return i + 1 < v.length ? v[i] + f * (v[i + 1] - v[i]) : v[i];
}

/** The estimate from per-sample curves over a grid (FFID+ curves of one explanation). */
export function estimateSize(curves: ArrayLike<number>[], n: number, grid: Grid, opts: Partial<typeof sizeDefaults> & { seed?: number; alpha?: number; beta?: number } = {}): SizeEstimate {
  const tol = opts.tolerance ?? sizeDefaults.tolerance;
  const B = opts.bootstrap ?? sizeDefaults.bootstrap;
  const conf = opts.confidence ?? sizeDefaults.confidence;
  const levels = gridLevels(grid);
  const sizes = Array.from(gridSizes(n, grid));
  const L = levels.length;
  const R = curves.length;
  if (R === 0 || curves.some((c) => c.length !== L)) throw new Error(`estimateSize: need ${L}-point curves for grid ${grid}`);
  const meanOf = (pick: (i: number) => number) => {
    const m = new Float64Array(L);
    for (let i = 0; i < R; i++) {
      const c = curves[pick(i)];
      for (let j = 0; j < L; j++) m[j] += c[j] / R;
    }
    return m;
  };
  const mean = meanOf((i) => i);
  const k = firstKnee(mean, tol);
  const rng = makeRng(`${opts.seed ?? 0}|ffid-size-bootstrap`);
  const boots: number[] = [];
  let flat = 0;
  for (let b = 0; b < B; b++) {
    const idx = Int32Array.from({ length: R }, () => rng.int(R));
    const kb = firstKnee(meanOf((i) => idx[i]), tol);
    if (kb < 0) flat++;
    else boots.push(sizes[kb]);
  }
  boots.sort((a, b) => a - b);
  const enough = boots.length > 0 && flat <= B / 2;
  const capBindsAt = opts.alpha !== undefined && opts.beta !== undefined ? ceilTol(removalCap(n, opts.beta) / opts.alpha) : undefined;
  return {
    size: k < 0 ? 'undefined' : sizes[k],
    fraction: k < 0 ? 'undefined' : sizes[k] / n,
    interval: enough ? [quantileSorted(boots, (1 - conf) / 2), quantileSorted(boots, 1 - (1 - conf) / 2)] : ['undefined', 'undefined'],
    confidence: conf,
    bootstrap: B,
    flatResamples: flat,
    tolerance: tol,
    capBindsAt,
    censored: capBindsAt !== undefined && k >= 0 && sizes[k] >= capBindsAt,
    curve: Array.from(mean),
    levels,
    sizes,
  };
}

/**
 * FFID+ on the dense grid (1%) for one explanation, then the estimate. params: FFID+'s (grid is
 * forced to '1%'); the surrogate comes as for any FFID score (context.ts).
 */
export async function explanationSize(task: Task, batch: Batch, target: Int32Array, explanation: Float32Array, seeder: Seeder, params: Partial<FfidParams> = {}, opts: Partial<typeof sizeDefaults> = {}, signal?: AbortSignal): Promise<SizeEstimate> {
  const res = await FFID_PLUS.score(task, batch, explanation, target, { ...FFID_PLUS.defaults, ...params, grid: '1%' }, seeder, undefined, signal);
  const p = { ...FFID_PLUS.defaults, ...params };
  return estimateSize(res.curves!, task.nFeatures, '1%', { ...opts, seed: seeder.seed, alpha: p.alpha, beta: p.beta });
}
