/** Pure helpers shared by the worker and the main thread (no tfjs import). */

/** Min–max normalise each row to [0,1]; a constant row becomes zeros (METRICS.md supervision). */
export function minMaxRows(values: Float32Array, nRows: number, n: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < nRows; r++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = 0; j < n; j++) {
      const v = values[r * n + j];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const span = hi - lo;
    for (let j = 0; j < n; j++) out[r * n + j] = span > 0 && Number.isFinite(span) ? (values[r * n + j] - lo) / span : 0;
  }
  return out;
}
