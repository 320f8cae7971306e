/**
 * Seeded randomness. The generator is Alea (Johannes Baagøe, 2010; MIT) exactly as seedrandom 3's
 * `seedrandom.alea` implements it, seeded with the string `${seed}|${unitId}|${globalRowIndex}` so
 * that every row's draws depend only on (job seed, method or metric id, global row index) — never
 * on batching, on the `--rows` slice or on the order in which methods run (METRICS.md "Randomness").
 *
 * The draws are those of `seedrandom.alea(seedString).double()` bit for bit (rng.test.ts checks
 * this against seedrandom itself); what differs is the cost of a seeded stream on the hot path.
 * `Seeder.rng(unit, row)` builds no string: Alea's seeding hashes the seed string three times with
 * Mash, so the character codes of the prefix `${seed}|${unit}|` are cached per unit id (with Mash's
 * state after the first pass over them, which does not depend on the row), and the row index's
 * decimal digits are fed to Mash as numbers. The generator is a class with its state in fields (no
 * closures), and `sampleInto` draws a subset into a caller's buffer with no allocation per draw.
 */

export interface Rng {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** m distinct indices from 0..n-1, in draw order (partial Fisher–Yates). */
  sampleWithoutReplacement(n: number, m: number): Int32Array;
  /**
   * The same draw as `sampleWithoutReplacement(n, m)`, written into out[offset..offset+m) with no
   * allocation (a scratch pool is kept by the generator and restored after each draw).
   */
  sampleInto(n: number, m: number, out: Int32Array, offset?: number): void;
}

const TWO_M32 = 2.3283064365386963e-10; // 2^-32
const MASH_START = 0xefc8249d;

/** One step of Baagøe's Mash over a character code: the new hash state n. */
function mashStep(n: number, code: number): number {
  n += code;
  let h = 0.02519603282416938 * n;
  n = h >>> 0;
  h -= n;
  h *= n;
  n = h >>> 0;
  h -= n;
  n += h * 0x100000000; // 2^32
  return n;
}

function mashCodes(n: number, codes: ArrayLike<number>, len = codes.length): number {
  for (let i = 0; i < len; i++) n = mashStep(n, codes[i]);
  return n;
}

/** Mash state after mash(' ') three times (Alea's seeding), and the three values it gave. */
const SPACE = 32;
const N1 = mashStep(MASH_START, SPACE);
const N2 = mashStep(N1, SPACE);
const N3 = mashStep(N2, SPACE);
const S0 = (N1 >>> 0) * TWO_M32;
const S1 = (N2 >>> 0) * TWO_M32;
const S2 = (N3 >>> 0) * TWO_M32;

function codesOf(s: string): Uint16Array {
  const out = new Uint16Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Alea with seedrandom's `double()` as `uniform()`. */
class Alea implements Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private c = 1;
  private spare: number | null = null;
  private pool: Int32Array | null = null;
  private swaps: Int32Array | null = null;

  /** Seed from the Mash values of the three passes over the seed string (m1, m2, m3). */
  seed(m1: number, m2: number, m3: number): this {
    this.c = 1;
    this.s0 = S0 - m1;
    if (this.s0 < 0) this.s0 += 1;
    this.s1 = S1 - m2;
    if (this.s1 < 0) this.s1 += 1;
    this.s2 = S2 - m3;
    if (this.s2 < 0) this.s2 += 1;
    this.spare = null;
    return this;
  }

  private next(): number {
    const t = 2091639 * this.s0 + this.c * TWO_M32;
    this.s0 = this.s1;
    this.s1 = this.s2;
    return (this.s2 = t - (this.c = t | 0));
  }

  uniform(): number {
    const a = this.next();
    return a + ((this.next() * 0x200000) | 0) * 1.1102230246251565e-16; // 2^-53
  }

  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u <= Number.MIN_VALUE) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  sampleWithoutReplacement(n: number, m: number): Int32Array {
    const out = new Int32Array(m);
    this.sampleInto(n, m, out, 0);
    return out;
  }

  sampleInto(n: number, m: number, out: Int32Array, offset = 0): void {
    if (m > n) throw new RangeError(`cannot draw ${m} of ${n} without replacement`);
    let pool = this.pool;
    if (!pool || pool.length < n) {
      pool = this.pool = new Int32Array(n);
      for (let i = 0; i < n; i++) pool[i] = i;
    }
    let swaps = this.swaps;
    if (!swaps || swaps.length < m) swaps = this.swaps = new Int32Array(Math.max(m, 16));
    // partial Fisher–Yates on the identity 0..n-1 (the pool is the identity between draws)
    for (let i = 0; i < m; i++) {
      const j = i + Math.floor(this.uniform() * (n - i));
      swaps[i] = j;
      const t = pool[i];
      pool[i] = pool[j];
      pool[j] = t;
      out[offset + i] = pool[i];
    }
    // undo the swaps in reverse order: the pool is the identity again
    for (let i = m - 1; i >= 0; i--) {
      const j = swaps[i];
      const t = pool[i];
      pool[i] = pool[j];
      pool[j] = t;
    }
  }
}

/** Alea seeded by a string, as seedrandom.alea(seedString). */
export function makeRng(seedString: string): Rng {
  const codes = codesOf(String(seedString));
  const n1 = mashCodes(N3, codes);
  const n2 = mashCodes(n1, codes);
  const n3 = mashCodes(n2, codes);
  return new Alea().seed((n1 >>> 0) * TWO_M32, (n2 >>> 0) * TWO_M32, (n3 >>> 0) * TWO_M32);
}

/** A unit's cached seed prefix `${seed}|${unitId}|`: its codes and Mash's state after the first pass over them. */
interface Prefix {
  codes: Uint16Array;
  afterFirstPass: number;
}

const DIGITS = new Uint8Array(24);

/** Hands out one independent stream per (unit id, global row index) under one job seed. */
export class Seeder {
  private readonly prefixes = new Map<string, Prefix>();

  constructor(readonly seed: number) {}

  /** The stream of makeRng(`${seed}|${unitId}|${rowIndex}`), seeded without building that string. */
  rng(unitId: string, rowIndex: number): Rng {
    if (!(Number.isSafeInteger(rowIndex) && rowIndex >= 0)) return makeRng(`${this.seed}|${unitId}|${rowIndex}`);
    let p = this.prefixes.get(unitId);
    if (!p) {
      const codes = codesOf(`${this.seed}|${unitId}|`);
      p = { codes, afterFirstPass: mashCodes(N3, codes) };
      this.prefixes.set(unitId, p);
    }
    // decimal digits of the row index, most significant first, as character codes
    let len = 0;
    let v = rowIndex;
    do {
      DIGITS[len++] = 48 + (v % 10);
      v = Math.floor(v / 10);
    } while (v > 0);
    let n = p.afterFirstPass;
    for (let i = len - 1; i >= 0; i--) n = mashStep(n, DIGITS[i]);
    const m1 = (n >>> 0) * TWO_M32;
    n = mashCodes(n, p.codes);
    for (let i = len - 1; i >= 0; i--) n = mashStep(n, DIGITS[i]);
    const m2 = (n >>> 0) * TWO_M32;
    n = mashCodes(n, p.codes);
    for (let i = len - 1; i >= 0; i--) n = mashStep(n, DIGITS[i]);
    const m3 = (n >>> 0) * TWO_M32;
    return new Alea().seed(m1, m2, m3);
  }
}
