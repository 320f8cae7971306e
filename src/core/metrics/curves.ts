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
