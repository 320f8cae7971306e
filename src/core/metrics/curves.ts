/** Orderings, step sets and AUC of METRICS.md "Curves" (pure functions). */

/** π = argsort_desc(s), ties → lower feature index first. s is one row (offset/len select it). */
export function argsortDesc(s: ArrayLike<number>, offset = 0, n = s.length - offset): Int32Array {
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((i, j) => s[offset + j] - s[offset + i] || i - j);
  return Int32Array.from(idx);
}

/** Stable ascending argsort, ties → lower index first (not the reverse of π). */
export function argsortAsc(s: ArrayLike<number>, offset = 0, n = s.length - offset): Int32Array {
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((i, j) => s[offset + i] - s[offset + j] || i - j);
  return Int32Array.from(idx);
}

/** T = ⌈n/k⌉ */
export function nSteps(n: number, k: number): number {
  return Math.ceil(n / k);
}

/** The first min(t·k, n) entries of an order. */
export function prefix(order: Int32Array, t: number, k: number): Int32Array {
  return order.subarray(0, Math.min(t * k, order.length));
}

/** Chunk t (0-based) of k consecutive entries of an order: G_t. */
export function chunk(order: Int32Array, t: number, k: number): Int32Array {
  return order.subarray(t * k, Math.min((t + 1) * k, order.length));
}

/** Trapezoid AUC of points y_0..y_T at x_t = t/T. A single point (T = 0) gives 0. */
export function trapezoidAuc(y: ArrayLike<number>, count = y.length): number {
  const T = count - 1;
  if (T <= 0) return 0;
  let s = 0;
  for (let t = 0; t < T; t++) s += (y[t] + y[t + 1]) / 2;
  return s / T;
}

/** π and argsort_asc of one explanation row, from one sort. */
export interface Orders {
  /** π = argsort_desc(s), ties → lower index first. */
  desc: Int32Array;
  /** Stable argsort_asc(s), ties → lower index first. */
  asc: Int32Array;
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/**
 * Both orders of METRICS.md "Curves" from ONE sort, equal entry for entry to `argsortDesc(s)` and
 * `argsortAsc(s)`. The stable ascending order is sorted natively as float64 keys
 * `ord(s_i)·2^21 + i` (ord: the float32 bits mapped to an order-preserving uint32, −0 as +0);
 * π is then read off it backwards, tie run by tie run, each run kept in ascending index order.
 * Rows with a NaN, a value that is not a float32, or more than 2^21 features use the two
 * comparator sorts (whose result a NaN makes implementation-defined).
 */
export function sortOrders(s: ArrayLike<number>): Orders {
  const n = s.length;
  let simple = n <= 1 << 21;
  for (let i = 0; simple && i < n; i++) {
    const v = s[i];
    if (v !== v || Math.fround(v) !== v) simple = false;
  }
  if (!simple) return { desc: argsortDesc(s), asc: argsortAsc(s) };
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    F32[0] = s[i] + 0; // −0 → +0: the comparators treat them as equal
    const u = U32[0];
    const ord = u & 0x80000000 ? ~u >>> 0 : (u | 0x80000000) >>> 0;
    keys[i] = ord * 2097152 + i; // 2^21: exact in float64 (< 2^53)
  }
  keys.sort();
  const asc = new Int32Array(n);
  for (let k = 0; k < n; k++) asc[k] = keys[k] % 2097152;
  const desc = new Int32Array(n);
  let w = 0;
  let end = n; // runs of equal values, from the largest
  while (end > 0) {
    let start = end - 1;
    const v = s[asc[start]];
    while (start > 0 && s[asc[start - 1]] === v) start--;
    for (let k = start; k < end; k++) desc[w++] = asc[k];
    end = start;
  }
  return { desc, asc };
}
