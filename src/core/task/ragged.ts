/**
 * Rows with their own number of features (text: a sentence of T tokens in a sequence of L
 * positions; docs/text.md). A space that has `rowFeatures(x)` says that row x's features are its
 * first T; the others (padding) are not features of that row. Methods and metrics then work on each
 * row's first T features only:
 *  - `rowFeatureCounts` gives T per row of a batch (null for spaces where every row has all n);
 *  - `prefixTask(task, T)` is the task seen through its first T features (`PrefixSpace`): the
 *    writers, baseline and element layout of the task's own space, nFeatures = T;
 *  - `capParams` caps parameters bounded by the feature count (`max: 'nFeatures'`: occlusion's
 *    window and stride, the metrics' step sizes, FC's subset size) at T — a row of 3 tokens
 *    explained with window 5 is explained with window 3;
 *  - explanations keep one value per position (n per row) with exactly 0 at padded positions.
 * Because rows are independent and every draw is seeded per (seed, unit, global row), running the
 * rows of each T together (as the attribution wrapper does) gives the numbers of running each row
 * alone.
 */
import type { ParamSpec, Params } from '../params';
import type { BaselineKind, FeatureSpace } from './featureSpace';
import type { Rng } from '../rng';
import type { Batch, Task } from './task';

/** T per row of the batch, or null when every row has all of the task's features. */
export function rowFeatureCounts(task: Task, batch: Batch): Int32Array | null {
  const space = task.space;
  if (!space.rowFeatures) return null;
  const d = task.inputSize;
  return Int32Array.from({ length: batch.nRows }, (_, r) => space.rowFeatures!(batch.x.subarray(r * d, (r + 1) * d)));
}

/** The largest T a task's rows have (its feature count where the space has no per-row counts). */
export function maxRowFeatures(task: Task): number {
  const m = (task.space as { maxRowFeatures?: number }).maxRowFeatures;
  return typeof m === 'number' && m > 0 ? Math.min(m, task.nFeatures) : task.nFeatures;
}

/** A space seen through its first k features (same input layout, writers and baselines). */
export class PrefixSpace implements FeatureSpace {
  readonly kind: string;
  readonly nFeatures: number;
  readonly inputSize: number;
  readonly inputShape: number[];
  readonly featureNames: string[];

  constructor(
    readonly inner: FeatureSpace,
    k: number,
  ) {
    if (!(Number.isInteger(k) && k >= 0 && k <= inner.nFeatures)) throw new Error(`PrefixSpace: ${k} of ${inner.nFeatures} features`);
    this.kind = inner.kind;
    this.nFeatures = k;
    this.inputSize = inner.inputSize;
    this.inputShape = inner.inputShape;
    this.featureNames = inner.featureNames.slice(0, k);
  }

  baseline(kind: BaselineKind): Float32Array {
    return this.inner.baseline(kind);
  }
  noiseBaseline(rng: Rng): Float32Array {
    return this.inner.noiseBaseline(rng);
  }
  inputRange(): Float32Array {
    return this.inner.inputRange();
  }
  writeRemoval(out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, removed: ArrayLike<number>): void {
    this.inner.writeRemoval(out, row, x, baseline, removed);
  }
  writeInsertion(out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, inserted: ArrayLike<number>): void {
    this.inner.writeInsertion(out, row, x, baseline, inserted);
  }
  /** mask: [k]; features k.. are never removed. */
  writeMasked(out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, mask: ArrayLike<number>): void {
    const full = new Uint8Array(this.inner.nFeatures);
    for (let j = 0; j < this.nFeatures; j++) full[j] = mask[j] ? 1 : 0;
    this.inner.writeMasked(out, row, x, baseline, full);
  }
  /** The inner space's per-feature values [nRows, n] cut to the first k of each row: [nRows, k]. */
  aggregate(values: Float32Array, nRows: number): Float32Array {
    const all = this.inner.aggregate(values, nRows);
    const n = this.inner.nFeatures;
    const k = this.nFeatures;
    if (k === n) return all;
    const out = new Float32Array(nRows * k);
    for (let r = 0; r < nRows; r++) out.set(all.subarray(r * n, r * n + k), r * k);
    return out;
  }
}

/** The task seen through its first k features. */
export function prefixTask(task: Task, k: number): Task {
  if (k === task.nFeatures) return task;
  const space = new PrefixSpace(task.space, k);
  return { ...task, space, nFeatures: k, featureNames: space.featureNames };
}

/** Parameters bounded by the feature count (`max: 'nFeatures'`) capped at k; others unchanged. */
export function capParams<P extends Params>(params: P, schema: Record<string, ParamSpec>, k: number): P {
  let out: P | undefined;
  for (const [key, spec] of Object.entries(schema))
    if (spec.type === 'int' && spec.max === 'nFeatures' && typeof params[key] === 'number' && (params[key] as number) > k) {
      out ??= { ...params };
      (out as Params)[key] = Math.max(spec.min, k);
    }
  return out ?? params;
}

/** Rows of a batch grouped by their feature count: count → positions in the batch (ascending). */
export function groupByCount(counts: Int32Array): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  counts.forEach((k, r) => {
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  });
  return new Map([...groups].sort((a, b) => a[0] - b[0]));
}

/** The rows at `positions` of a batch (their global row indices kept). */
export function pickRows(batch: Batch, positions: number[], d: number): Batch {
  const x = new Float32Array(positions.length * d);
  positions.forEach((p, i) => x.set(batch.x.subarray(p * d, (p + 1) * d), i * d));
  return { x, nRows: positions.length, rowIndex: Int32Array.from(positions, (p) => batch.rowIndex[p]) };
}

/**
 * Min–max over each row's first counts[r] values only, written as (v − lo)/(hi − lo) there and 0
 * at the row's other positions; a constant row (or one with no real value) stays all 0. s: [nRows, n].
 */
export function minMaxNormalizeRows(s: Float32Array, nRows: number, n: number, counts: ArrayLike<number>): Float32Array {
  const out = new Float32Array(nRows * n);
  for (let r = 0; r < nRows; r++) {
    const k = counts[r];
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < k; i++) {
      const v = s[r * n + i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const span = hi - lo;
    if (!(span > 0) || !Number.isFinite(span)) continue;
    for (let i = 0; i < k; i++) out[r * n + i] = (s[r * n + i] - lo) / span;
  }
  return out;
}
