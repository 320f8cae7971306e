/**
 * Perturbation effects (METRICS.md "Effects") and the builder of batched perturbed inputs.
 *
 * - `Δ(I) = p_c(x) − p_c(x \ I)` (perturbation effect),
 * - `Δ⁻_target(I) = p_c(x \ I)`, `Δ⁻_ratio(I) = p_c(x \ I) / p_c(x)` (preservation effects).
 *
 * `Perturbations` collects the perturbed inputs of many rows, many subsets and many explanations
 * in one growing Float32Array [nInputs, inputSize]; the engine (engine.ts) sends it through the
 * model in as few forward passes as the memory budget allows, then every metric reads its values
 * back by index. Every input is counted under one owner (an explanation × metric slot), so
 * `modelCalls` add up to the rows the model actually evaluated.
 */
import type { FeatureSpace } from '../task/featureSpace';

/** Perturbation effect Δ = p_c(x) − p_c(x \ I). */
export function delta(pClean: number, pPerturbed: number): number {
  return pClean - pPerturbed;
}

/** Preservation effect Δ⁻_target = p_c(x \ I). */
export function preservationTarget(pPerturbed: number): number {
  return pPerturbed;
}

/**
 * Preservation effect Δ⁻_ratio = p_c(x \ I) / p_c(x). Not clipped. NaN when p_c(x) = 0
 * (the ratio is undefined there).
 */
export function preservationRatio(pClean: number, pPerturbed: number): number {
  return pClean === 0 ? NaN : pPerturbed / pClean;
}

/** Σ_{i∈I} s_i over one explanation row. */
export function sumOver(s: ArrayLike<number>, idx: ArrayLike<number>): number {
  let acc = 0;
  for (let k = 0; k < idx.length; k++) acc += s[idx[k]];
  return acc;
}

/** Growing buffer of perturbed inputs: [nInputs, inputSize] row-major, plus who owns each row. */
export class Perturbations {
  /** [capacity, inputSize]; the first `nInputs` rows are used. */
  private buf: Float32Array;
  nInputs = 0;
  /** Inputs counted per owner slot (explanation × metric in the engine). */
  readonly rowsPerOwner: Float64Array;
  /** Inputs shared by key (the same perturbation asked for by several metrics): key → first input index. */
  private readonly memo = new Map<string, number>();

  constructor(
    readonly space: FeatureSpace,
    nOwners: number,
    initialRows = 1024,
  ) {
    this.buf = new Float32Array(Math.max(1, initialRows) * space.inputSize);
    this.rowsPerOwner = new Float64Array(nOwners);
  }

  /** Model-input values per perturbed input. */
  get inputSize(): number {
    return this.space.inputSize;
  }

  /** The filled inputs: [nInputs, inputSize] (a view, valid until the next reserve or clear). */
  get inputs(): Float32Array {
    return this.buf.subarray(0, this.nInputs * this.inputSize);
  }

  /** Reserve m input rows counted under `owner`; returns the index of the first. */
  reserve(m: number, owner: number): number {
    const n = this.inputSize;
    const need = (this.nInputs + m) * n;
    if (need > this.buf.length) {
      const grown = new Float32Array(Math.max(need, this.buf.length * 2));
      grown.set(this.buf.subarray(0, this.nInputs * n));
      this.buf = grown;
    }
    const start = this.nInputs;
    this.nInputs += m;
    this.rowsPerOwner[owner] += m;
    return start;
  }

  /**
   * Reserve m rows under a sharing key: the first caller gets fresh rows (`fresh: true`, it must
   * write them) counted under its owner; later callers with the same key get the same rows.
   */
  reserveShared(key: string, m: number, owner: number): { start: number; fresh: boolean } {
    const hit = this.memo.get(key);
    if (hit !== undefined) return { start: hit, fresh: false };
    const start = this.reserve(m, owner);
    this.memo.set(key, start);
    return { start, fresh: true };
  }

  /** Input i = x \ removed (removed features set to baseline). x, baseline: [inputSize]. */
  writeRemoval(i: number, x: ArrayLike<number>, baseline: ArrayLike<number>, removed: ArrayLike<number>): void {
    this.space.writeRemoval(this.buf, i, x, baseline, removed);
  }

  /** Input i = x° ∪ inserted (baseline with the inserted features put back from x). */
  writeInsertion(i: number, x: ArrayLike<number>, baseline: ArrayLike<number>, inserted: ArrayLike<number>): void {
    this.space.writeInsertion(this.buf, i, x, baseline, inserted);
  }

  /** Input i = x with the features whose mask entry is 1 set to baseline. mask: [nFeatures]. */
  writeMasked(i: number, x: ArrayLike<number>, baseline: ArrayLike<number>, mask: ArrayLike<number>): void {
    this.space.writeMasked(this.buf, i, x, baseline, mask);
  }

  /** Start a new group (after its inputs were evaluated); owner counts are kept. */
  clear(): void {
    this.nInputs = 0;
    this.memo.clear();
  }
}

/** Model outputs of one evaluated group of inputs: [nInputs, nClasses] row-major. */
export class Evaluated {
  constructor(
    readonly out: Float32Array,
    readonly nClasses: number,
  ) {}

  /** Output of class c at input i. */
  p(i: number, c: number): number {
    return this.out[i * this.nClasses + c];
  }

  /** Predicted class at input i (argmax, ties → lower index). */
  argmax(i: number): number {
    const o = i * this.nClasses;
    let best = 0;
    for (let k = 1; k < this.nClasses; k++) if (this.out[o + k] > this.out[o + best]) best = k;
    return best;
  }
}
