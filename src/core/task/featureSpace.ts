/**
 * Tabular feature space: one feature per column. Builds batched removal and insertion inputs.
 * Baselines: `zero`, `mean` (per-feature mean over the reference rows — for the CLI all data
 * rows of the file), and `noise` (uniform in each feature's reference min–max range, seeded,
 * used by MC).
 */
import { UserError } from '../errors';
import type { Rng } from '../rng';

export type BaselineKind = 'zero' | 'mean';
export const BASELINES: readonly BaselineKind[] = ['zero', 'mean'];

export class TabularFeatureSpace {
  readonly nFeatures: number;
  readonly means: Float32Array;
  readonly mins: Float32Array;
  readonly maxs: Float32Array;

  /** reference: [nRows, nFeatures] rows the `mean` and `noise` baselines are computed from. */
  constructor(
    readonly featureNames: string[],
    reference: Float32Array,
    nRows: number,
  ) {
    const n = featureNames.length;
    this.nFeatures = n;
    if (nRows < 1 || reference.length !== nRows * n) throw new Error('TabularFeatureSpace: reference rows do not match the feature count');
    const sum = new Float64Array(n);
    this.mins = new Float32Array(n).fill(Infinity);
    this.maxs = new Float32Array(n).fill(-Infinity);
    for (let r = 0; r < nRows; r++)
      for (let j = 0; j < n; j++) {
        const v = reference[r * n + j];
        sum[j] += v;
        if (v < this.mins[j]) this.mins[j] = v;
        if (v > this.maxs[j]) this.maxs[j] = v;
      }
    this.means = Float32Array.from(sum, (s) => s / nRows);
  }

  /** The fixed baseline vector x° for `zero` or `mean`. */
  baseline(kind: BaselineKind): Float32Array {
    if (kind === 'zero') return new Float32Array(this.nFeatures);
    if (kind === 'mean') return this.means.slice();
    throw new UserError(`Unknown baseline "${kind as string}".`, `Use one of: ${BASELINES.join(', ')}.`);
  }

  /** A fresh noise baseline: each feature uniform in its reference [min, max]. */
  noiseBaseline(rng: Rng): Float32Array {
    const b = new Float32Array(this.nFeatures);
    for (let j = 0; j < this.nFeatures; j++) b[j] = this.mins[j] + rng.uniform() * (this.maxs[j] - this.mins[j]);
    return b;
  }

  /** Write x \ I (features in `removed` set to `baseline`) into out[row]. x, baseline: [n]. */
  writeRemoval(out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, removed: ArrayLike<number>): void {
    const n = this.nFeatures;
    const o = row * n;
    for (let j = 0; j < n; j++) out[o + j] = x[j];
    for (let k = 0; k < removed.length; k++) out[o + removed[k]] = baseline[removed[k]];
  }

  /** Write x° ∪ I (start from baseline, put back the features in `inserted` from x) into out[row]. */
  writeInsertion(out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, inserted: ArrayLike<number>): void {
    const n = this.nFeatures;
    const o = row * n;
    for (let j = 0; j < n; j++) out[o + j] = baseline[j];
    for (let k = 0; k < inserted.length; k++) out[o + inserted[k]] = x[inserted[k]];
  }

  /** Write x with removal by a 0/1 mask (mask[j] = 1 → removed) into out[row]. */
  writeMasked(out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, mask: ArrayLike<number>): void {
    const n = this.nFeatures;
    const o = row * n;
    for (let j = 0; j < n; j++) out[o + j] = mask[j] ? baseline[j] : x[j];
  }
}
