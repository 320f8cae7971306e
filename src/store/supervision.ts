/**
 * The Supervise panel's view of METRICS.md "Prior explanations → supervision", computed on the
 * main thread from scores already stored (so δ and p re-filter without re-scoring): cosine
 * similarity, greedy dedup in method order, per-metric quantile filter, and Z.
 */

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  if (aa === 0 || bb === 0) return 0;
  return ab / Math.sqrt(aa * bb);
}

/** Linear-interpolated quantile (numpy's default) of finite values. */
export function quantile(values: number[], q: number): number {
  const v = values.filter(Number.isFinite).sort((x, y) => x - y);
  if (!v.length) return NaN;
  const pos = (v.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}

export interface SampleSupervision {
  /** [k][k] cosine similarities of the methods' explanations of this sample */
  cos: number[][];
  keptByDedup: boolean[];
  /** Per metric: threshold and which (dedup-kept) methods pass. */
  thresholds: { metricId: string; direction: 'higher' | 'lower'; threshold: number }[];
  passed: boolean[];
  /** For each dropped method, why. */
  reasons: (string | null)[];
}

/**
 * One sample: explanations [k][n] (normalised), scores [k][m] on metrics with their directions.
 */
export function superviseSample(explanations: ArrayLike<number>[], scores: number[][], metrics: { id: string; direction: 'higher' | 'lower' }[], labels: string[], delta: number, p: number): SampleSupervision {
  const k = explanations.length;
  const cos = explanations.map((a) => explanations.map((b) => cosine(a, b)));
  const keptByDedup: boolean[] = [];
  const reasons: (string | null)[] = new Array(k).fill(null);
  const kept: number[] = [];
  for (let i = 0; i < k; i++) {
    const dup = kept.find((j) => cos[i][j] >= delta);
    keptByDedup.push(dup === undefined);
    if (dup === undefined) kept.push(i);
    else reasons[i] = `dedup: cosine ${cos[i][dup].toFixed(3)} ≥ δ with ${labels[dup]}`;
  }
  const thresholds = metrics.map((m, mi) => {
    const vals = kept.map((i) => scores[i][mi]);
    const threshold = m.direction === 'higher' ? quantile(vals, p) : quantile(vals, 1 - p);
    return { metricId: m.id, direction: m.direction, threshold };
  });
  const passed = explanations.map((_, i) => {
    if (!keptByDedup[i]) return false;
    for (let mi = 0; mi < metrics.length; mi++) {
      const v = scores[i][mi];
      const t = thresholds[mi];
      const ok = Number.isFinite(v) && (t.direction === 'higher' ? v >= t.threshold : v <= t.threshold);
      if (!ok) {
        reasons[i] = `filter: ${t.metricId} = ${Number.isFinite(v) ? v.toFixed(3) : 'NaN'} ${t.direction === 'higher' ? '<' : '>'} threshold ${t.threshold.toFixed(3)}`;
        return false;
      }
    }
    return true;
  });
  return { cos, keptByDedup, thresholds, passed, reasons };
}
