import { describe, expect, it } from 'vitest';
import { breakEvens } from './frontier';
import { measurablySlower, timingNoiseMsPerRow } from '../timing';
import { breakEvenCell, frontierMarkdown, frontierVerdict } from './markdown';

const point = (method: string, budget: number, msPerRow: number, meanRank: number) => ({ method, param: 'samples', budget, msPerRow, meanRank, scores: {} });

describe('frontier break-evens', () => {
  it('the timing noise is 10 % of the explainer\'s ms per row or 1 ms over the timed rows, whichever is larger', () => {
    expect(timingNoiseMsPerRow(0.5, 30)).toBe(0.05);
    expect(timingNoiseMsPerRow(0.01, 30)).toBe(1 / 30);
    expect(timingNoiseMsPerRow(0.01, 0)).toBe(1);
    expect(measurablySlower(0.55, 0.5, 30)).toBe(true);
    expect(measurablySlower(0.549, 0.5, 30)).toBe(false);
  });

  it('a prior timed at the explainer\'s time up to the timer\'s rounding gets no break-even and the verdict is "never"', () => {
    // 30 rows each timed as "1 ms" in total; the prior's difference is float residue (was printed as ~10¹³ rows)
    const ex = { msPerRow: 1 / 30, meanRank: 4, buildMs: 7000 };
    const f = breakEvens([point('kernel-shap', 1024, 1.0000000000058 / 30, 3.1)], ex, 30);
    expect(f.points[0].breakEvenRows).toBeNull();
    expect(f.verdict).toEqual({ kind: 'never', against: 'kernel-shap (samples 1024)' });
    expect(f.breakEvenRows).toBeNull();
    expect(frontierVerdict({ ...f, explainer: { ...ex, timedRows: 30, noiseMsPerRow: timingNoiseMsPerRow(ex.msPerRow, 30) } })).toBe(
      'It never pays off here: kernel-shap (samples 1024) is at least as faithful and not measurably slower per row (a prior counts as slower only by 0.033 ms per row or more: the larger of 10 % of the explainer\'s time and 1 ms over the 30 timed rows).',
    );
  });

  it('break-even = ceil(build ms / (prior − explainer ms per row)) for measurably slower points at least as faithful; the verdict is against the cheapest of those', () => {
    const ex = { msPerRow: 0.25, meanRank: 4, buildMs: 1000 };
    const f = breakEvens(
      [
        point('lime', 25, 0.3, 5), // less faithful: none
        point('lime', 100, 0.75, 4), // as faithful: 1000 / 0.5 = 2000
        point('kernel-shap', 64, 0.5, 3), // more faithful: 1000 / 0.25 = 4000, the cheapest alternative
        point('kernel-shap', 256, 0.26, 6), // less faithful: none (a cheaper, as faithful point within the noise would make the verdict "never")
      ],
      ex,
      100,
    );
    expect(f.points.map((p) => p.breakEvenRows)).toEqual([null, 2000, 4000, null]);
    expect(f.verdict).toEqual({ kind: 'after', rows: 4000, against: 'kernel-shap (samples 64)' });
    expect(f.breakEvenRows).toBe(4000);
    expect(frontierVerdict({ ...f, explainer: ex })).toBe('It pays off after 4,000 explained rows, against kernel-shap (samples 64), the cheapest prior budget at least as faithful.');
    // the table's cells say why a point has no break-even
    expect(f.points.map((p) => breakEvenCell(p, { explainer: ex }))).toEqual(['– (less faithful)', '2,000', '4,000', '– (less faithful)']);
    expect(frontierMarkdown({ ...f, explainer: ex })).toContain('| lime | samples 100 | 0.750 | 4.00 | 2,000 |');
  });

  it('a point as faithful as the explainer but within the timing noise reads "never (not measurably slower)"', () => {
    const ex = { msPerRow: 0.25, meanRank: 4, buildMs: 1000 };
    const f = breakEvens([point('kernel-shap', 64, 0.26, 3)], ex, 100);
    expect(breakEvenCell(f.points[0], { explainer: ex })).toBe('never (not measurably slower)');
  });

  it('no prior point as faithful as the explainer: no alternative', () => {
    const f = breakEvens([point('lime', 25, 5, 5)], { msPerRow: 0.2, meanRank: 2, buildMs: 1000 }, 10);
    expect(f.points[0].breakEvenRows).toBeNull();
    expect(f.verdict).toEqual({ kind: 'no-alternative' });
  });
});
