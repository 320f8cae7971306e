/**
 * Feature spaces: how the n features an explanation scores map to the elements of the model's
 * input. Methods, metrics, supervision and the explainer see only the `FeatureSpace` interface
 * (and `nFeatures`); a new modality (image patches, text tokens) is a new space, not a change to
 * any method or metric.
 *
 * Rows of model input are `inputSize` values each (row-major, in the model's own input layout);
 * explanations are `nFeatures` values per row. Writers build perturbed inputs in place, batched:
 * removal `x \ I` (the features in I replaced by the baseline), insertion `x° ∪ I` (the baseline
 * with the features in I put back), and masked removal (a 0/1 mask over the features).
 * Element-level attributions (gradients × inputs) become feature attributions by `aggregate` (a sum
 * over each feature's input elements).
 *
 * `TabularFeatureSpace`: one feature per column (inputSize = nFeatures). Baselines: `zero`, `mean`
 * (per-feature mean over the task's reference rows: the rows of the task), and `noise` (uniform in
 * each feature's reference min–max range, seeded, used by MC and GradientSHAP).
 */
import { UserError } from '../errors';
import type { Rng } from '../rng';

export type BaselineKind = 'zero' | 'mean';
export const BASELINES: readonly BaselineKind[] = ['zero', 'mean'];

export interface FeatureSpace {
  /** 'tabular' (and later 'image', 'text'): the UI chooses its views by it. */
  readonly kind: string;
  /** n: the units an explanation scores. */
  readonly nFeatures: number;
  readonly featureNames: string[];
  /** Model-input values per row. */
  readonly inputSize: number;
  /** Shape of one row of model input (its product is inputSize). */
  readonly inputShape: number[];
  /** The fixed baseline input x° of a kind: [inputSize]. */
  baseline(kind: BaselineKind): Float32Array;
  /** A fresh random baseline input (each element uniform in its reference range): [inputSize]. */
  noiseBaseline(rng: Rng): Float32Array;
  /** Per input element, the width of its reference range (max − min): [inputSize]. Scales input noise. */
  inputRange(): Float32Array;
  /** out[row] = x \ removed. x, baseline: [inputSize]; removed: feature indices. */
  writeRemoval(out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, removed: ArrayLike<number>): void;
  /** out[row] = x° ∪ inserted. */
  writeInsertion(out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, inserted: ArrayLike<number>): void;
  /** out[row] = x with the features whose mask entry is non-zero removed. mask: [nFeatures]. */
  writeMasked(out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, mask: ArrayLike<number>): void;
  /** Element attributions [nRows, inputSize] summed per feature → [nRows, nFeatures]. */
  aggregate(values: Float32Array, nRows: number): Float32Array;
}

export class TabularFeatureSpace implements FeatureSpace {
  readonly kind = 'tabular';
  readonly nFeatures: number;
  readonly inputSize: number;
  readonly inputShape: number[];
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
    this.inputSize = n;
    this.inputShape = [n];
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

  inputRange(): Float32Array {
    return Float32Array.from(this.maxs, (hi, j) => hi - this.mins[j]);
  }

  /** One feature per column: the element values are the feature values. */
  aggregate(values: Float32Array, nRows: number): Float32Array {
    if (values.length !== nRows * this.nFeatures) throw new Error(`aggregate: ${values.length} values for ${nRows} rows × ${this.nFeatures}`);
    return values;
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
