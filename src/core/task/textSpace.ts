/**
 * The token feature space (docs/text.md): a row of model input is L token ids (the model's sequence
 * length), and feature t is sequence position t. A row's real tokens are its first T ≤ L positions
 * (the tokenizer right-pads), and only those are features of the row: `rowFeatures(x)` = T, the
 * position after the last non-pad id. Padded positions are never written by any writer (they stay
 * pad whatever a caller asks), methods and metrics run on the first T features of each row
 * (core/task/ragged.ts), explanations hold 0 there, and normalisation skips them.
 *
 * Removal writes the removal id (pad, or a chosen mask token) at the chosen real positions;
 * insertion starts from the row with every real position removed (all pad when the removal id is
 * pad) and puts the chosen positions back. The task-wide baseline (`zero`) is the all-removal-id
 * sequence; there is no `mean` baseline (a mean of token ids is not a token). The `noise` baseline
 * (MC, GradientSHAP's uniform draws on ids) is a token drawn uniformly per position from the
 * vocabulary's ordinary tokens (every id but pad, unk and the mask token).
 *
 * Gradient methods do not read this space's element values (ids are not differentiable): they run on
 * the embedded sequence (core/task/embedding.ts).
 */
import { UserError } from '../errors';
import type { Rng } from '../rng';
import type { BaselineKind, FeatureSpace } from './featureSpace';

export interface TextSpaceOptions {
  /** L: the model's sequence length. */
  length: number;
  /** Vocabulary size (ids 0..vocabSize−1). */
  vocabSize: number;
  pad: number;
  unk: number;
  /** The id removal writes (default pad). */
  removal?: number;
  /** Feature names (default `token t`). */
  featureNames?: string[];
}

export class TextFeatureSpace implements FeatureSpace {
  readonly kind = 'text';
  readonly nFeatures: number;
  readonly inputSize: number;
  readonly inputShape: number[];
  readonly featureNames: string[];
  readonly vocabSize: number;
  readonly pad: number;
  readonly unk: number;
  /** The id removal writes. */
  readonly removal: number;
  /** The largest T over the reference rows (what a method's `applicable` is judged on). */
  readonly maxRowFeatures: number;
  /** Ids the noise baseline draws from. */
  private readonly ordinary: Int32Array;

  /** reference: [nRows, L] token-id rows of the task. */
  constructor(opts: TextSpaceOptions, reference: Float32Array, nRows: number) {
    const L = opts.length;
    if (!Number.isInteger(L) || L < 1) throw new Error(`TextFeatureSpace: bad sequence length ${L}`);
    this.nFeatures = L;
    this.inputSize = L;
    this.inputShape = [L];
    this.featureNames = opts.featureNames ?? Array.from({ length: L }, (_, t) => `token ${t}`);
    this.vocabSize = opts.vocabSize;
    this.pad = opts.pad;
    this.unk = opts.unk;
    this.removal = opts.removal ?? opts.pad;
    if (reference.length !== nRows * L) throw new Error('TextFeatureSpace: reference rows do not match the sequence length');
    let maxT = 0;
    for (let r = 0; r < nRows; r++) maxT = Math.max(maxT, this.rowFeatures(reference.subarray(r * L, (r + 1) * L)));
    this.maxRowFeatures = maxT;
    const ids: number[] = [];
    for (let i = 0; i < this.vocabSize; i++) if (i !== this.pad && i !== this.unk && i !== this.removal) ids.push(i);
    this.ordinary = Int32Array.from(ids.length ? ids : [this.unk]);
  }

  /** T: the real positions of row x (the position after its last non-pad id). */
  rowFeatures(x: ArrayLike<number>): number {
    for (let t = this.nFeatures - 1; t >= 0; t--) if (x[t] !== this.pad) return t + 1;
    return 0;
  }

  /** `zero`: every position holds the removal id (pad, or the mask token). */
  baseline(kind: BaselineKind): Float32Array {
    if (kind === 'zero') return new Float32Array(this.inputSize).fill(this.removal);
    if (kind === 'mean')
      throw new UserError('A text task has no mean baseline: a mean of token ids is not a token.', 'Use the zero baseline (removal writes the pad token, or the mask token you choose).');
    throw new UserError(`Unknown baseline "${kind as string}".`, 'Use the zero baseline.');
  }

  /** A fresh noise sequence: each position a token drawn uniformly from the ordinary tokens. */
  noiseBaseline(rng: Rng): Float32Array {
    const b = new Float32Array(this.inputSize);
    for (let t = 0; t < this.inputSize; t++) b[t] = this.ordinary[Math.min(this.ordinary.length - 1, Math.floor(rng.uniform() * this.ordinary.length))];
    return b;
  }

  /** Token ids have no numeric range (gradient methods use the embedding's: core/task/embedding.ts). */
  inputRange(): Float32Array {
    return new Float32Array(this.inputSize);
  }

  /** One element per position: the values are the feature values. */
  aggregate(values: Float32Array, nRows: number): Float32Array {
    if (values.length !== nRows * this.nFeatures) throw new Error(`aggregate: ${values.length} values for ${nRows} rows × ${this.nFeatures}`);
    return values;
  }

  /** out[row] = x with the real positions in `removed` set to the baseline's id; padded positions stay pad. */
  writeRemoval(out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, removed: ArrayLike<number>): void {
    const o = row * this.inputSize;
    const T = this.rowFeatures(x);
    for (let t = 0; t < this.inputSize; t++) out[o + t] = x[t];
    for (let k = 0; k < removed.length; k++) {
      const t = removed[k];
      if (t < T) out[o + t] = baseline[t];
    }
  }

  /** out[row] = the row with every real position removed, then the positions in `inserted` put back. */
  writeInsertion(out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, inserted: ArrayLike<number>): void {
    const o = row * this.inputSize;
    const T = this.rowFeatures(x);
    for (let t = 0; t < this.inputSize; t++) out[o + t] = t < T ? baseline[t] : x[t];
    for (let k = 0; k < inserted.length; k++) {
      const t = inserted[k];
      if (t < T) out[o + t] = x[t];
    }
  }

  /** out[row] = x with the real positions whose mask entry is non-zero removed. */
  writeMasked(out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, mask: ArrayLike<number>): void {
    const o = row * this.inputSize;
    const T = this.rowFeatures(x);
    for (let t = 0; t < this.inputSize; t++) out[o + t] = t < T && t < mask.length && mask[t] ? baseline[t] : x[t];
  }
}
