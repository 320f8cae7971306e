import { describe, expect, it } from 'vitest';
import { bootstrapRanks, rankTable } from './ranking';
import { Seeder } from './rng';

/** An rng whose int() returns a fixed sequence: the resamples can be enumerated by hand. */
const sequence = (values: number[]) => {
  let i = 0;
  return { int: (n: number) => values[i++ % values.length] % n };
};

describe('bootstrapRanks', () => {
  const one = [{ id: 'A', direction: 'higher' as const }];

  it('enumerates the four resamples of two rows exactly: first alone, tied, and the percentile interval', async () => {
    // method 0 scores +1 on row 0 and −1 on row 1; method 1 scores 0 on both. The resamples
    // (0,0), (0,1), (1,0), (1,1) give method 0 the means 1, 0, 0, −1: first alone once, tied
    // twice, second once; mean ranks 1, 1.5, 1.5, 2.
    const r = await bootstrapRanks([[Float32Array.of(1, -1)], [Float32Array.of(0, 0)]], one, sequence([0, 0, 0, 1, 1, 0, 1, 1]), 4);
    expect(r[0].pBest).toBe(0.25);
    expect(r[0].pBestOrTied).toBe(0.75);
    expect(r[1].pBest).toBe(0.25);
    expect(r[1].pBestOrTied).toBe(0.75);
    // d3's quantile of the sorted [1, 1.5, 1.5, 2] at p: position 3p, linear between neighbours
    expect(r[0].lo).toBeCloseTo(1 + 0.075 * 0.5, 12);
    expect(r[0].hi).toBeCloseTo(1.5 + 0.925 * 0.5, 12);
  });

  it('a row better on every row and metric is first in every resample; identical rows are always tied', async () => {
    const metrics = [
      { id: 'A', direction: 'higher' as const },
      { id: 'B', direction: 'lower' as const },
    ];
    const better = [Float32Array.of(3, 2, 5), Float32Array.of(0, 1, 0)];
    const worse = [Float32Array.of(1, 1, 1), Float32Array.of(2, 2, 2)];
    const rng = new Seeder(7).rng('rank-bootstrap-test', 0);
    const r = await bootstrapRanks([worse, better, worse], metrics, rng, 200);
    expect(r[1]).toEqual({ lo: 1, hi: 1, pBest: 1, pBestOrTied: 1 });
    expect(r[0]).toEqual({ lo: 2.5, hi: 2.5, pBest: 0, pBestOrTied: 0 });
    expect(r[2]).toEqual(r[0]);
    const tied = await bootstrapRanks([better, better], metrics, rng, 50);
    expect(tied[0]).toEqual({ lo: 1.5, hi: 1.5, pBest: 0, pBestOrTied: 1 });
  });

  it('each resample is ranked like the table: a resample of every row once reproduces rankTable', async () => {
    // an rng that draws 0, 1, 2, 3 in order resamples the rows as they are
    const metrics = [
      { id: 'A', direction: 'higher' as const },
      { id: 'B', direction: 'lower' as const },
    ];
    const rows = [
      [Float32Array.of(0.1, 0.5, NaN, 0.2), Float32Array.of(0.3, 0.1, 0.2, 0.4)],
      [Float32Array.of(0.4, 0.2, 0.3, 0.1), Float32Array.of(0.2, 0.2, 0.6, 0.1)],
      [Float32Array.of(0.0, 0.1, 0.2, 0.3), Float32Array.of(0.5, 0.3, 0.1, 0.2)],
    ];
    const mean = (v: Float32Array) => {
      const ok = Array.from(v).filter((x) => !Number.isNaN(x));
      return ok.reduce((a, b) => a + b, 0) / ok.length;
    };
    const { meanRank } = rankTable(
      rows.map((byMetric) => ({ scores: { A: mean(byMetric[0]), B: mean(byMetric[1]) } })),
      metrics,
    );
    const r = await bootstrapRanks(rows, metrics, sequence([0, 1, 2, 3]), 3);
    r.forEach((b, i) => {
      expect(b.lo).toBe(meanRank[i]);
      expect(b.hi).toBe(meanRank[i]);
    });
    expect(meanRank.filter((v) => v === Math.min(...meanRank))).toHaveLength(1); // a first alone
    const first = meanRank.indexOf(Math.min(...meanRank));
    expect(r.map((b) => b.pBest)).toEqual(meanRank.map((_, i) => (i === first ? 1 : 0)));
    expect(r.map((b) => b.pBestOrTied)).toEqual(meanRank.map((_, i) => (i === first ? 1 : 0)));
  });
});
