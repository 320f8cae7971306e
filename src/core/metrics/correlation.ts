/**
 * Correlations τ of METRICS.md, in double precision. A constant vector has correlation 0.
 * spearman = Pearson of average ranks (ties share the mean rank).
 */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (n !== b.length) throw new Error('pearson: length mismatch');
  if (n === 0) return 0;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i] - ma;
    const db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  // constant (to float32 resolution) → 0
  const tinyA = saa <= 1e-24 * Math.max(1, ma * ma) * n;
  const tinyB = sbb <= 1e-24 * Math.max(1, mb * mb) * n;
  if (tinyA || tinyB) return 0;
  const r = sab / Math.sqrt(saa * sbb);
  return Math.max(-1, Math.min(1, r));
}

/** Average ranks (1-based), ties share the mean of their ranks. */
export function averageRanks(v: ArrayLike<number>): Float64Array {
  const n = v.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((i, j) => v[i] - v[j] || i - j);
  const ranks = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && v[idx[j + 1]] === v[idx[i]]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[idx[k]] = r;
    i = j + 1;
  }
  return ranks;
}

export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(averageRanks(a), averageRanks(b));
}

/** 1 − mean((a−b)²)/2 */
export function mseCorrelation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return 1 - s / a.length / 2;
}

export type CorrelationKind = 'pearson' | 'spearman' | 'mse';
export function correlation(kind: CorrelationKind, a: ArrayLike<number>, b: ArrayLike<number>): number {
  return kind === 'pearson' ? pearson(a, b) : kind === 'spearman' ? spearman(a, b) : mseCorrelation(a, b);
}
