/**
 * Perturbation effects (METRICS.md "Effects") and the builder of batched perturbed inputs.
 *
 * - `Δ(I) = p_c(x) − p_c(x \ I)` (perturbation effect),
 * - `Δ⁻_target(I) = p_c(x \ I)`, `Δ⁻_ratio(I) = p_c(x \ I) / p_c(x)` (preservation effects).
 *
 * `Perturbations` collects the perturbed inputs of many rows, many subsets and many explanations
 * in one growing Float32Array [nInputs, inputSize]; the engine (engine.ts) sends it through the
 * model in as few forward passes as the memory budget allows, then every metric reads its values
 * back by index. With the memo on, an input equal to one already laid out for the same data row is
 * not laid out again. Every sent input is counted under one owner (an explanation × metric slot),
 * so `modelCalls` add up to the rows the model actually evaluated.
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

/** A hit of the memo outside the group's buffer: an input whose output is already known. */
export interface KnownInput {
  /** [inputSize] its values. */
  input: ArrayLike<number>;
  /** Its index (≥ KNOWN_BASE) in the `Evaluated` that carries the known outputs. */
  index: number;
  /** Its content hash (`Perturbations.hashOf`). */
  hash: number;
}

/** Input indices from here on refer to outputs already known (the clean pass), not to the group's buffer. */
export const KNOWN_BASE = 1 << 30;

/**
 * Growing buffer of perturbed inputs: [nInputs, inputSize] row-major, plus who owns each row.
 *
 * Kernels ask for one perturbed input at a time (`removal`, `insertion`, `masked`) and get back
 * the index to read its output at. A plain buffer gives every request a fresh row, in request
 * order. A memoising buffer (`{ memo: true }`, what the engine uses) keeps one row per distinct
 * input within a scope (`beginScope`: the engine opens one per data row): a request whose values
 * equal, bit for bit, those of an input already laid out in the scope — or a known input of the
 * scope (the row's clean x and x°, evaluated by the clean pass) — gets that input's index and
 * sends nothing. This is what makes FC's single-feature subsets reuse FE's removals, repeated INF
 * masks, NEG's points that are INS's points, a removal that changes nothing (a feature already at
 * its baseline), and MC's noise perturbations shared by explanations cost one model row each.
 *
 * Two counts per owner slot (explanation × metric in the engine):
 * - `rowsRequested`: the inputs the owner laid out (a request counts whether or not it was a
 *   duplicate; a plan shared by key — `sharedPlan` — counts once, under its first owner);
 * - `rowsPerOwner`: the inputs sent to the model, each counted once under the first owner that
 *   asked for it (the sum is the number of rows in the buffer). Without memo both are equal.
 */
export class Perturbations {
  /** [capacity, inputSize]; the first `nInputs` rows are used. */
  private buf: Float32Array;
  private bits: Uint32Array;
  nInputs = 0;
  /** Inputs sent, counted per owner slot (explanation × metric in the engine). */
  readonly rowsPerOwner: Float64Array;
  /** Inputs requested per owner slot (before the memo). */
  readonly rowsRequested: Float64Array;
  /** Inputs shared by key (the same perturbation asked for by several metrics): key → first input index. */
  private readonly memo = new Map<string, number>();
  /** Index plans shared by key (a curve asked for by several metrics). */
  private readonly plans = new Map<string, Int32Array>();
  readonly memoise: boolean;
  /** Content memo of the scope: open addressing, slot → input index + 1 (0 = empty). */
  private table = new Int32Array(1024);
  /** Hash of each input of the buffer (memo only). */
  private hashes = new Int32Array(0);
  /** First input of the current scope (the scope's inputs are [scopeStart, nInputs)). */
  private scopeStart = 0;
  private scopeCount = 0;
  private known: KnownInput[] = [];
  /** Requests answered from the memo (duplicates not sent), since construction. */
  duplicates = 0;

  constructor(
    readonly space: FeatureSpace,
    nOwners: number,
    initialRows = 1024,
    opts: { memo?: boolean } = {},
  ) {
    this.buf = new Float32Array(Math.max(1, initialRows) * space.inputSize);
    this.bits = new Uint32Array(this.buf.buffer);
    this.rowsPerOwner = new Float64Array(nOwners);
    this.rowsRequested = new Float64Array(nOwners);
    this.memoise = opts.memo === true;
    if (this.memoise) this.hashes = new Int32Array(Math.max(1, initialRows));
  }

  /** Model-input values per perturbed input. */
  get inputSize(): number {
    return this.space.inputSize;
  }

  /** The filled inputs: [nInputs, inputSize] (a view, valid until the next reserve or clear). */
  get inputs(): Float32Array {
    return this.buf.subarray(0, this.nInputs * this.inputSize);
  }

  /** Reserve m input rows counted under `owner` (requested and sent); returns the index of the first. */
  reserve(m: number, owner: number): number {
    if (this.nInputs + m > this.capacity) this.ensureCapacity(Math.max(this.nInputs + m, this.capacity * 2));
    const start = this.nInputs;
    this.nInputs += m;
    this.rowsPerOwner[owner] += m;
    this.rowsRequested[owner] += m;
    return start;
  }

  /** Rows the buffer holds without growing. */
  get capacity(): number {
    return Math.floor(this.buf.length / Math.max(1, this.inputSize));
  }

  /** Grow the buffer to hold at least `rows` inputs (a hint: it grows by itself as needed). */
  ensureCapacity(rows: number): void {
    const n = this.inputSize;
    if (rows * n > this.buf.length) {
      const grown = new Float32Array(rows * n);
      grown.set(this.buf.subarray(0, this.nInputs * n));
      this.buf = grown;
      this.bits = new Uint32Array(grown.buffer);
    }
    if (this.memoise && rows > this.hashes.length) {
      const grown = new Int32Array(rows);
      grown.set(this.hashes.subarray(0, this.nInputs));
      this.hashes = grown;
    }
  }

  /**
   * Reserve m rows under a sharing key: the first caller gets fresh rows (`fresh: true`, it must
   * write them) counted under its owner; later callers with the same key get the same rows.
   * (Not memoised by content: the rows are written after the call.)
   */
  reserveShared(key: string, m: number, owner: number): { start: number; fresh: boolean } {
    const hit = this.memo.get(key);
    if (hit !== undefined) return { start: hit, fresh: false };
    const start = this.reserve(m, owner);
    this.memo.set(key, start);
    return { start, fresh: true };
  }

  /** An index plan laid out earlier in this group under `key`, if any. */
  sharedPlan(key: string): Int32Array | undefined {
    return this.plans.get(key);
  }

  /** Remember an index plan under `key` for later askers in this group. */
  setSharedPlan(key: string, indices: Int32Array): void {
    this.plans.set(key, indices);
  }

  /** Input x \ removed (removed features set to baseline); returns the index to read its output at. */
  removal(x: ArrayLike<number>, baseline: ArrayLike<number>, removed: ArrayLike<number>, owner: number): number {
    const i = this.reserve(1, owner);
    this.writeRemoval(i, x, baseline, removed);
    return this.settle(i, owner);
  }

  /** Input x° ∪ inserted; returns the index to read its output at. */
  insertion(x: ArrayLike<number>, baseline: ArrayLike<number>, inserted: ArrayLike<number>, owner: number): number {
    const i = this.reserve(1, owner);
    this.writeInsertion(i, x, baseline, inserted);
    return this.settle(i, owner);
  }

  /** Input x with the features whose mask entry is non-zero removed; returns the index to read its output at. */
  masked(x: ArrayLike<number>, baseline: ArrayLike<number>, mask: ArrayLike<number>, owner: number): number {
    const i = this.reserve(1, owner);
    this.writeMasked(i, x, baseline, mask);
    return this.settle(i, owner);
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

  /**
   * Start a memo scope (the engine: one per data row): later requests are matched only against
   * inputs laid out from here on and against `known` (inputs whose outputs are already known).
   */
  beginScope(known: KnownInput[] = []): void {
    if (this.scopeCount > 0) this.table.fill(0);
    this.scopeCount = 0;
    this.scopeStart = this.nInputs;
    this.known = known;
  }

  /** Content hash of d values (their float32 bits), a 31-bit integer. */
  static hashOf(v: ArrayLike<number>): number {
    const f = v instanceof Float32Array ? v : Float32Array.from(v);
    const u = new Uint32Array(f.buffer, f.byteOffset, f.length);
    return hashBits(u, 0, u.length);
  }

  /** The memo's verdict on the input just written at the tail (index i): its own index, or an equal earlier one. */
  private settle(i: number, owner: number): number {
    if (!this.memoise) return i;
    const d = this.inputSize;
    const o = i * d;
    const bits = this.bits;
    const h = hashBits(bits, o, d);
    for (const k of this.known) if (k.hash === h && sameBits(bits, o, k.input, d)) return this.drop(i, owner, k.index);
    const table = this.table;
    const mask = table.length - 1;
    let slot = h & mask;
    for (let e = table[slot]; e !== 0; e = table[slot]) {
      const j = e - 1;
      if (this.hashes[j] === h && sameRows(bits, j * d, o, d)) return this.drop(i, owner, j);
      slot = (slot + 1) & mask;
    }
    table[slot] = i + 1;
    this.hashes[i] = h;
    if (++this.scopeCount * 2 > table.length) this.rehash(table.length * 4);
    return i;
  }

  /** A larger table for the current scope, its inputs put back in. */
  private rehash(size: number): void {
    const table = new Int32Array(size);
    const mask = size - 1;
    for (let i = this.scopeStart; i < this.nInputs; i++) {
      let slot = this.hashes[i] & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = i + 1;
    }
    this.table = table;
  }

  private drop(i: number, owner: number, existing: number): number {
    this.nInputs = i; // i is the last row: take it back
    this.rowsPerOwner[owner] -= 1;
    this.duplicates++;
    return existing;
  }

  /** Start a new group (after its inputs were evaluated); owner counts are kept. */
  clear(): void {
    this.nInputs = 0;
    this.memo.clear();
    this.plans.clear();
    this.beginScope();
  }
}

/**
 * A 31-bit hash of d words: four interleaved multiply–xor lanes (independent, so they run in
 * parallel), mixed at the end. Equal inputs always hash equal; the memo compares the values of
 * inputs whose hashes match, so a collision costs a comparison, never a wrong answer.
 */
function hashBits(u: Uint32Array, o: number, d: number): number {
  let h0 = 0x811c9dc5 | 0;
  let h1 = 0x27d4eb2f | 0;
  let h2 = 0x165667b1 | 0;
  let h3 = 0x61c88647 | 0;
  let k = 0;
  for (; k + 3 < d; k += 4) {
    h0 = Math.imul(h0 ^ u[o + k], 0x01000193);
    h1 = Math.imul(h1 ^ u[o + k + 1], 0x85ebca6b);
    h2 = Math.imul(h2 ^ u[o + k + 2], 0xc2b2ae35);
    h3 = Math.imul(h3 ^ u[o + k + 3], 0x27d4eb2d);
  }
  for (; k < d; k++) h0 = Math.imul(h0 ^ u[o + k], 0x01000193);
  let h = Math.imul(h0 ^ (h1 >>> 15), 0x7feb352d) ^ Math.imul(h2 ^ (h3 >>> 13), 0x846ca68b) ^ (h1 + h3);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return (h ^ d) & 0x7fffffff;
}

function sameRows(u: Uint32Array, a: number, b: number, d: number): boolean {
  for (let k = 0; k < d; k++) if (u[a + k] !== u[b + k]) return false;
  return true;
}

const CMP = new Float32Array(1);
const CMP_BITS = new Uint32Array(CMP.buffer);
function sameBits(u: Uint32Array, o: number, v: ArrayLike<number>, d: number): boolean {
  for (let k = 0; k < d; k++) {
    CMP[0] = v[k];
    if (u[o + k] !== CMP_BITS[0]) return false;
  }
  return true;
}

/**
 * Model outputs of one evaluated group of inputs: [nInputs, nClasses] row-major; indices from
 * KNOWN_BASE on read `known` (outputs evaluated earlier, e.g. the clean pass).
 */
export class Evaluated {
  constructor(
    readonly out: Float32Array,
    readonly nClasses: number,
    readonly known?: Float32Array,
  ) {}

  /** Output of class c at input i. */
  p(i: number, c: number): number {
    return i < KNOWN_BASE ? this.out[i * this.nClasses + c] : this.known![(i - KNOWN_BASE) * this.nClasses + c];
  }

  /** Predicted class at input i (argmax, ties → lower index). */
  argmax(i: number): number {
    const src = i < KNOWN_BASE ? this.out : this.known!;
    const o = (i < KNOWN_BASE ? i : i - KNOWN_BASE) * this.nClasses;
    let best = 0;
    for (let k = 1; k < this.nClasses; k++) if (src[o + k] > src[o + best]) best = k;
    return best;
  }
}
