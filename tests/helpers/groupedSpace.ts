/**
 * A feature space whose features are groups of consecutive input columns (feature g owns columns
 * [g·width, (g+1)·width)): inputSize ≠ nFeatures, so a method or metric that indexes model inputs
 * by feature (instead of going through the FeatureSpace interface) gives wrong numbers or shapes.
 */
import type { Rng } from '../../src/core/rng';
import { TabularFeatureSpace, type BaselineKind, type FeatureSpace } from '../../src/core/task/featureSpace';

export class GroupedFeatureSpace implements FeatureSpace {
  readonly kind = 'grouped-test';
  readonly nFeatures: number;
  readonly inputSize: number;
  readonly inputShape: number[];
  readonly featureNames: string[];
  private readonly columns: TabularFeatureSpace;

  constructor(
    readonly width: number,
    nGroups: number,
    reference: Float32Array,
    nRows: number,
  ) {
    this.nFeatures = nGroups;
    this.inputSize = nGroups * width;
    this.inputShape = [this.inputSize];
    this.featureNames = Array.from({ length: nGroups }, (_, g) => `group${g}`);
    this.columns = new TabularFeatureSpace(Array.from({ length: this.inputSize }, (_, i) => `c${i}`), reference, nRows);
  }

  baseline(kind: BaselineKind): Float32Array {
    return this.columns.baseline(kind);
  }
  noiseBaseline(rng: Rng): Float32Array {
    return this.columns.noiseBaseline(rng);
  }
  inputRange(): Float32Array {
    return this.columns.inputRange();
  }
  private elements(features: ArrayLike<number>): Int32Array {
    const out = new Int32Array(features.length * this.width);
    for (let k = 0; k < features.length; k++) for (let c = 0; c < this.width; c++) out[k * this.width + c] = features[k] * this.width + c;
    return out;
  }
  writeRemoval(out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, removed: ArrayLike<number>): void {
    this.columns.writeRemoval(out, row, x, baseline, this.elements(removed));
  }
  writeInsertion(out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, inserted: ArrayLike<number>): void {
    this.columns.writeInsertion(out, row, x, baseline, this.elements(inserted));
  }
  writeMasked(out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, mask: ArrayLike<number>): void {
    const m = new Uint8Array(this.inputSize);
    for (let g = 0; g < this.nFeatures; g++) if (mask[g]) m.fill(1, g * this.width, (g + 1) * this.width);
    this.columns.writeMasked(out, row, x, baseline, m);
  }
  aggregate(values: Float32Array, nRows: number): Float32Array {
    const out = new Float32Array(nRows * this.nFeatures);
    for (let r = 0; r < nRows; r++)
      for (let g = 0; g < this.nFeatures; g++) {
        let acc = 0;
        for (let c = 0; c < this.width; c++) acc += values[r * this.inputSize + g * this.width + c];
        out[r * this.nFeatures + g] = acc;
      }
    return out;
  }
}
