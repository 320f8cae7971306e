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
 *
 * `ImageFeatureSpace`: an H×W×C image (row-major: H, then W, then C — the model's channels-last
 * layout) cut into square patches of `patch` pixels; each patch is one feature and owns every
 * channel of its pixels. When `patch` does not divide H (or W), the last patch row (column) is
 * narrower: the grid is ⌈H/patch⌉ × ⌈W/patch⌉ ("edge patches"). Feature f = gr·gridCols + gc is
 * named `patch gr,gc`. Baselines: `zero`, `mean` (per-pixel, per-channel mean over the reference
 * images), `noise` (each input value uniform in its reference min–max range) and `blur` — a
 * Gaussian blur of the row itself (σ = `blurSigma` pixels, default patch/2), which depends on the
 * row and so is given by `baselineFor(x, 'blur')` only. Element attributions aggregate to patches
 * by summing over the patch's pixels and channels.
 *
 * Row-dependent baselines: `baselineFor(x, kind)` (optional in the interface; `rowBaseline` falls
 * back to `baseline(kind)`) gives x° for one row. A task's baseline setting (BASELINES) is `zero`,
 * `mean` or — on image tasks — `blur`; the methods, the metric engine, L_LC and the loader's checks
 * read each row's x° through `rowBaselines(space, task.baseline)`, which for `zero` and `mean`
 * gives one vector for every row (the numbers are those of `baseline(kind)`).
 */
import { UserError } from '../errors';
import type { Rng } from '../rng';

/** The task-wide baselines (one x° for every row): what `space.baseline(kind)` gives. */
export type BaselineKind = 'zero' | 'mean';
export const TASK_WIDE_BASELINES: readonly BaselineKind[] = ['zero', 'mean'];
/** Every baseline a space may offer, including those that depend on the row (image `blur`): what a task's `baseline` setting may be. */
export type RowBaselineKind = BaselineKind | 'blur';
/** A task's baseline settings; `blur` applies to image tasks only (other tasks refuse it with a message). */
export const BASELINES: readonly RowBaselineKind[] = ['zero', 'mean', 'blur'];

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
  /**
   * The baseline input x° for one row x ([inputSize] → [inputSize]): for a task-wide kind the same
   * vector as `baseline(kind)`; for a row-dependent kind (image `blur`) computed from x. Optional:
   * spaces without row-dependent baselines leave it out (see `rowBaseline`).
   */
  baselineFor?(x: ArrayLike<number>, kind: RowBaselineKind): Float32Array;
  /**
   * Spaces whose rows have their own feature counts (text: T tokens of L positions): the features
   * of row x are its first `rowFeatures(x)`; the rest are not features of that row (core/task/ragged.ts).
   * Absent = every row has all nFeatures.
   */
  rowFeatures?(x: ArrayLike<number>): number;
}

/** x° for row x: `space.baselineFor(x, kind)` where the space has it, else the task-wide `space.baseline(kind)`. */
export function rowBaseline(space: FeatureSpace, x: ArrayLike<number>, kind: RowBaselineKind): Float32Array {
  if (space.baselineFor) return space.baselineFor(x, kind);
  if (kind === 'blur') throw blurRefusal(space);
  return space.baseline(kind);
}

function blurRefusal(space: FeatureSpace): UserError {
  return new UserError(`The blur baseline (a Gaussian blur of each image) applies to image tasks; this task's features are ${space.kind}.`, `Use one of: ${TASK_WIDE_BASELINES.join(', ')}.`);
}

/**
 * x° of each row for a task's baseline setting, as a function of the row x ([inputSize] →
 * [inputSize]): for `zero` and `mean` the same vector for every row (`baseline(kind)`, computed
 * once); for `blur` the row's own blur (`baselineFor`). A space without row baselines refuses
 * `blur` here, before any row is read.
 */
export function rowBaselines(space: FeatureSpace, kind: RowBaselineKind): (x: ArrayLike<number>) => Float32Array {
  if (kind !== 'blur') {
    const b = space.baseline(kind);
    return () => b;
  }
  if (!space.baselineFor) throw blurRefusal(space);
  return (x) => space.baselineFor!(x, 'blur');
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

// ---------------------------------------------------------------------------------------------
// Images

/** Shape of the images a space cuts into patches (the model's input after resize). */
export interface ImageShape {
  height: number;
  width: number;
  channels: number;
  /** One row of the model's input: [H, W] (no channel axis, channels = 1) or [H, W, C]. Default [H, W, C]. */
  inputShape?: number[];
}

export interface ImageSpaceOptions {
  /** Patch side in pixels (default: `defaultPatchSize(H, W)`). */
  patch?: number;
  /** σ of the `blur` baseline in pixels (default patch / 2). */
  blurSigma?: number;
}

/** The default patch count a task aims at: at most this many patches (see defaultPatchSize). */
export const DEFAULT_MAX_PATCHES = 64;

/**
 * Default patch side for an H×W image: the smallest side that divides both H and W and gives at
 * most DEFAULT_MAX_PATCHES (64) patches — 8×8 → 1 (64 patches), 28×28 → 4 (49), 32×32 → 4 (64),
 * 224×224 → 28 (64; the paper's 16 gives 196: set it). When no common divisor does (e.g. 29×31),
 * the smallest side with at most 64 patches, with edge patches.
 */
export function defaultPatchSize(height: number, width: number): number {
  const grid = (p: number) => Math.ceil(height / p) * Math.ceil(width / p);
  const side = Math.max(height, width);
  for (let p = 1; p <= side; p++) if (height % p === 0 && width % p === 0 && grid(p) <= DEFAULT_MAX_PATCHES) return p;
  for (let p = 1; p <= side; p++) if (grid(p) <= DEFAULT_MAX_PATCHES) return p;
  return side;
}

/**
 * A normalised 1-D Gaussian kernel of standard deviation σ (pixels), radius ⌈3σ⌉: [2·radius + 1].
 * σ = 0 gives [1] (no blur).
 */
export function gaussianKernel(sigma: number): Float64Array {
  if (!(sigma > 0)) return Float64Array.of(1);
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) sum += k[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/**
 * Gaussian blur of one H×W×C image (row-major, channels last): separable, rows then columns,
 * per channel, the image's edge pixels repeated beyond the border (so a constant image stays
 * constant). x: [H·W·C] → [H·W·C].
 */
export function gaussianBlur(x: ArrayLike<number>, height: number, width: number, channels: number, sigma: number): Float32Array {
  const k = gaussianKernel(sigma);
  const r = (k.length - 1) / 2;
  const n = height * width * channels;
  if (r === 0) return Float32Array.from({ length: n }, (_, i) => x[i]);
  const tmp = new Float64Array(n);
  for (let y = 0; y < height; y++)
    for (let xx = 0; xx < width; xx++)
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let t = -r; t <= r; t++) {
          const sx = Math.min(width - 1, Math.max(0, xx + t));
          acc += k[t + r] * x[(y * width + sx) * channels + c];
        }
        tmp[(y * width + xx) * channels + c] = acc;
      }
  const out = new Float32Array(n);
  for (let y = 0; y < height; y++)
    for (let xx = 0; xx < width; xx++)
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let t = -r; t <= r; t++) {
          const sy = Math.min(height - 1, Math.max(0, y + t));
          acc += k[t + r] * tmp[(sy * width + xx) * channels + c];
        }
        out[(y * width + xx) * channels + c] = acc;
      }
  return out;
}

export class ImageFeatureSpace implements FeatureSpace {
  readonly kind = 'image';
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly inputShape: number[];
  readonly inputSize: number;
  /** Patch side in pixels. */
  readonly patch: number;
  /** Patches down (⌈H/patch⌉) and across (⌈W/patch⌉); nFeatures = gridRows · gridCols. */
  readonly gridRows: number;
  readonly gridCols: number;
  readonly nFeatures: number;
  readonly featureNames: string[];
  /** σ of the blur baseline, pixels. */
  readonly blurSigma: number;
  /** [inputSize] the patch (feature) each input value belongs to. */
  readonly patchOf: Int32Array;
  readonly means: Float32Array;
  readonly mins: Float32Array;
  readonly maxs: Float32Array;
  /** Per patch f: its runs of consecutive input values, runs[runStart[f] .. runStart[f+1]) as (offset, length) pairs. */
  private readonly runStart: Int32Array;
  private readonly runs: Int32Array;

  /** reference: [nRows, inputSize] images the `mean` and `noise` baselines are computed from. */
  constructor(shape: ImageShape, reference: Float32Array, nRows: number, opts: ImageSpaceOptions = {}) {
    const { height: H, width: W, channels: C } = shape;
    if (![H, W, C].every((v) => Number.isInteger(v) && v >= 1)) throw new Error(`ImageFeatureSpace: bad image shape ${H}×${W}×${C}`);
    this.height = H;
    this.width = W;
    this.channels = C;
    this.inputShape = shape.inputShape ? [...shape.inputShape] : [H, W, C];
    this.inputSize = H * W * C;
    if (this.inputShape.reduce((a, b) => a * b, 1) !== this.inputSize) throw new Error(`ImageFeatureSpace: input shape [${this.inputShape}] is not ${H}×${W}×${C}`);
    const patch = opts.patch ?? defaultPatchSize(H, W);
    checkPatchSize(patch, H, W);
    this.patch = patch;
    this.gridRows = Math.ceil(H / patch);
    this.gridCols = Math.ceil(W / patch);
    this.nFeatures = this.gridRows * this.gridCols;
    this.featureNames = Array.from({ length: this.nFeatures }, (_, f) => `patch ${Math.floor(f / this.gridCols)},${f % this.gridCols}`);
    const sigma = opts.blurSigma ?? patch / 2;
    if (!(sigma >= 0) || !Number.isFinite(sigma)) throw new UserError(`The blur baseline's σ ${sigma} is not a non-negative number of pixels.`, 'Give σ ≥ 0 (0 = no blur), e.g. half the patch size.');
    this.blurSigma = sigma;

    this.patchOf = new Int32Array(this.inputSize);
    const runs: number[] = [];
    this.runStart = new Int32Array(this.nFeatures + 1);
    for (let f = 0; f < this.nFeatures; f++) {
      this.runStart[f] = runs.length / 2;
      const y0 = Math.floor(f / this.gridCols) * patch;
      const x0 = (f % this.gridCols) * patch;
      const y1 = Math.min(H, y0 + patch);
      const x1 = Math.min(W, x0 + patch);
      for (let y = y0; y < y1; y++) {
        const o = (y * W + x0) * C;
        const len = (x1 - x0) * C;
        runs.push(o, len);
        this.patchOf.fill(f, o, o + len);
      }
    }
    this.runStart[this.nFeatures] = runs.length / 2;
    this.runs = Int32Array.from(runs);

    const d = this.inputSize;
    if (nRows < 1 || reference.length !== nRows * d) throw new Error('ImageFeatureSpace: reference rows do not match the image size');
    const sum = new Float64Array(d);
    this.mins = new Float32Array(d).fill(Infinity);
    this.maxs = new Float32Array(d).fill(-Infinity);
    for (let r = 0; r < nRows; r++)
      for (let j = 0; j < d; j++) {
        const v = reference[r * d + j];
        sum[j] += v;
        if (v < this.mins[j]) this.mins[j] = v;
        if (v > this.maxs[j]) this.maxs[j] = v;
      }
    this.means = Float32Array.from(sum, (s) => s / nRows);
  }

  /** The input values of patch f, ascending: [pixels of the patch × channels]. */
  patchElements(f: number): Int32Array {
    const out: number[] = [];
    for (let q = this.runStart[f]; q < this.runStart[f + 1]; q++) for (let i = 0; i < this.runs[2 * q + 1]; i++) out.push(this.runs[2 * q] + i);
    return Int32Array.from(out);
  }

  /** The task-wide baseline: `zero` or `mean` (per input value). `blur` depends on the row: use baselineFor. */
  baseline(kind: BaselineKind): Float32Array {
    if (kind === 'zero') return new Float32Array(this.inputSize);
    if (kind === 'mean') return this.means.slice();
    if ((kind as string) === 'blur')
      throw new UserError('The blur baseline is a blur of each row itself, so it has no single baseline image.', 'Read it per row with baselineFor(x, "blur"), or use the zero or mean baseline.');
    throw new UserError(`Unknown baseline "${kind as string}".`, `Use one of: zero, mean, blur.`);
  }

  /** x° for row x: the blur of x itself for `blur` (σ = blurSigma), else `baseline(kind)`. */
  baselineFor(x: ArrayLike<number>, kind: RowBaselineKind): Float32Array {
    if (kind === 'blur') {
      if (x.length !== this.inputSize) throw new Error(`baselineFor: the row has ${x.length} values, the image ${this.inputSize}`);
      return gaussianBlur(x, this.height, this.width, this.channels, this.blurSigma);
    }
    return this.baseline(kind);
  }

  inputRange(): Float32Array {
    return Float32Array.from(this.maxs, (hi, j) => hi - this.mins[j]);
  }

  /** A fresh noise baseline: each input value uniform in its reference [min, max]. */
  noiseBaseline(rng: Rng): Float32Array {
    const b = new Float32Array(this.inputSize);
    for (let j = 0; j < this.inputSize; j++) b[j] = this.mins[j] + rng.uniform() * (this.maxs[j] - this.mins[j]);
    return b;
  }

  /** Pixel (and channel) attributions [nRows, inputSize] summed per patch → [nRows, nPatches]. */
  aggregate(values: Float32Array, nRows: number): Float32Array {
    const d = this.inputSize;
    const n = this.nFeatures;
    if (values.length !== nRows * d) throw new Error(`aggregate: ${values.length} values for ${nRows} rows × ${d}`);
    const acc = new Float64Array(nRows * n);
    for (let r = 0; r < nRows; r++) {
      const o = r * d;
      const a = r * n;
      for (let j = 0; j < d; j++) acc[a + this.patchOf[j]] += values[o + j];
    }
    return Float32Array.from(acc);
  }

  private copyPatch(out: Float32Array, o: number, src: ArrayLike<number>, f: number): void {
    for (let q = this.runStart[f]; q < this.runStart[f + 1]; q++) {
      const s = this.runs[2 * q];
      const end = s + this.runs[2 * q + 1];
      for (let j = s; j < end; j++) out[o + j] = src[j];
    }
  }

  /** out[row] = x with the patches in `removed` replaced by the baseline's pixels. */
  writeRemoval(out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, removed: ArrayLike<number>): void {
    const o = row * this.inputSize;
    out.set(x, o);
    for (let k = 0; k < removed.length; k++) this.copyPatch(out, o, baseline, removed[k]);
  }

  /** out[row] = the baseline with the patches in `inserted` put back from x. */
  writeInsertion(out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, inserted: ArrayLike<number>): void {
    const o = row * this.inputSize;
    out.set(baseline, o);
    for (let k = 0; k < inserted.length; k++) this.copyPatch(out, o, x, inserted[k]);
  }

  /** out[row] = x with the patches whose mask entry is non-zero removed. mask: [nPatches]. */
  writeMasked(out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, mask: ArrayLike<number>): void {
    const o = row * this.inputSize;
    out.set(x, o);
    for (let f = 0; f < this.nFeatures; f++) if (mask[f]) this.copyPatch(out, o, baseline, f);
  }
}

/** A patch side must be a whole number of pixels that leaves at least two patches. */
export function checkPatchSize(patch: number, height: number, width: number): void {
  if (!Number.isInteger(patch) || patch < 1)
    throw new UserError(`Patch size ${patch} is not a whole number of pixels ≥ 1.`, `Give a patch side in pixels, e.g. --patch ${defaultPatchSize(height, width)} (the default for ${height}×${width} images).`);
  if (Math.ceil(height / patch) * Math.ceil(width / patch) < 2)
    throw new UserError(
      `Patch size ${patch} covers the whole ${height}×${width} image with one patch, so there is nothing to rank.`,
      `Give a patch side below ${Math.max(height, width)} pixels, e.g. --patch ${defaultPatchSize(height, width)} (the default).`,
    );
}
