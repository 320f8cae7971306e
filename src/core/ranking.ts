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
import { quantileSorted } from 'd3-array';
import { checkpoint } from './yield';

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

/** One ranked row's mean rank under resampling of the evaluation rows (`bootstrapRanks`). */
export interface RankBootstrapRow {
  /** 2.5 % and 97.5 % percentiles of the mean rank over the resamples. */
  lo: number;
  hi: number;
  /** Share of resamples in which this row has the lowest mean rank alone. */
  pBest: number;
  /** Share of resamples in which no row has a lower mean rank (ties for first counted). */
  pBestOrTied: number;
}

/**
 * How much of a mean-rank table is the draw of evaluation rows: resample the rows with
 * replacement `resamples` times, rank the NaN-skipping means with `rankTable` each time, and report
 * each row's 95 % percentile interval of the mean rank and how often it is first (alone, or tied).
 * `perSample[row][metric]` holds one value per evaluation row, the same rows for every table row.
 * Mean ranks closer than 1e-9 count as tied (rank sums of tied metrics are exact multiples of ½).
 */
export async function bootstrapRanks(
  perSample: ArrayLike<number>[][],
  metrics: { id: string; direction: Direction }[],
  rng: { int(n: number): number },
  resamples: number,
  signal?: AbortSignal,
): Promise<RankBootstrapRow[]> {
  const nRows = perSample.length ? (perSample[0][0]?.length ?? 0) : 0;
  if (!nRows || !perSample.length || resamples < 1) return perSample.map(() => ({ lo: NaN, hi: NaN, pBest: NaN, pBestOrTied: NaN }));
  const draws = perSample.map(() => new Float64Array(resamples));
  const best = new Float64Array(perSample.length);
  const bestOrTied = new Float64Array(perSample.length);
  const positions = new Int32Array(nRows);
  for (let b = 0; b < resamples; b++) {
    await checkpoint(signal); // a few hundred ms in all on large tables: the worker stays responsive
    for (let i = 0; i < nRows; i++) positions[i] = rng.int(nRows);
    const rows = perSample.map((byMetric) => {
      const scores: Record<string, number> = {};
      metrics.forEach((m, j) => (scores[m.id] = meanSkippingNaN(byMetric[j], positions).mean));
      return { scores };
    });
    const { meanRank } = rankTable(rows, metrics);
    const low = Math.min(...meanRank);
    const atLow = meanRank.filter((v) => v - low < 1e-9).length;
    meanRank.forEach((v, r) => {
      draws[r][b] = v;
      if (v - low < 1e-9) {
        bestOrTied[r]++;
        if (atLow === 1) best[r]++;
      }
    });
  }
  return draws.map((d, r) => {
    const sorted = Array.from(d).sort((a, b) => a - b);
    return { lo: quantileSorted(sorted, 0.025) ?? NaN, hi: quantileSorted(sorted, 0.975) ?? NaN, pBest: best[r] / resamples, pBestOrTied: bestOrTied[r] / resamples };
  });
}
