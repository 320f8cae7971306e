/**
 * Ranking and NaN-aware means of method × metric tables: tfjs-free, so the UI, the CLI, the worker
 * and the job report all import the same functions (one NaN rule everywhere).
 *
 * Rules: per metric, rank 1 = best in the metric's direction; ties share the mean rank (average
 * ranks); a NaN score (a method with no defined value on any row) ranks last, tied with the other
 * NaNs (and with a worst-possible infinite score); finite scores rank by value. The mean rank is the mean over the metrics. A per-sample NaN
 * is left out of the mean and counted, never dropped silently.
 */
import { averageRanks } from './metrics/correlation';

export type Direction = 'higher' | 'lower';

/** Per-metric ranks (1 = best; ties share the mean rank; NaN ranks last) and the mean rank of each row. */
export function rankTable(rows: { scores: Record<string, number> }[], metrics: { id: string; direction: Direction }[]): { ranks: Record<string, number>[]; meanRank: number[] } {
  const ranks = rows.map(() => ({}) as Record<string, number>);
  for (const m of metrics) {
    const keyed = rows.map((r) => {
      const v = r.scores[m.id];
      return Number.isNaN(v) ? Infinity : m.direction === 'higher' ? -v : v;
    });
    const rk = averageRanks(keyed);
    rows.forEach((_, i) => (ranks[i][m.id] = rk[i]));
  }
  const meanRank = ranks.map((r) => metrics.reduce((a, m) => a + r[m.id], 0) / Math.max(1, metrics.length));
  return { ranks, meanRank };
}

/** Mean of v over `positions` (all when absent), NaN values left out and counted. */
export function meanSkippingNaN(v: ArrayLike<number>, positions?: ArrayLike<number>): { mean: number; nNaN: number } {
  let s = 0;
  let c = 0;
  const n = positions ? positions.length : v.length;
  for (let i = 0; i < n; i++) {
    const x = v[positions ? positions[i] : i];
    if (Number.isNaN(x)) continue;
    s += x;
    c++;
  }
  return { mean: c ? s / c : NaN, nNaN: n - c };
}
