import { describe, expect, it } from 'vitest';
import { cosine, quantile, superviseSample } from './supervision';

describe('supervision view', () => {
  it('quantile interpolates linearly like numpy', () => {
    expect(quantile([1, 2, 3, 4], 0.15)).toBeCloseTo(1.45, 10);
    expect(quantile([4, 1, 3, 2], 0.5)).toBeCloseTo(2.5, 10);
  });
  it('cosine with an all-zero vector is 0', () => {
    expect(cosine([0, 0], [1, 2])).toBe(0);
    expect(cosine([1, 2], [2, 4])).toBeCloseTo(1, 10);
  });
  it('dedups greedily in method order and filters per metric direction', () => {
    const ex = [[1, 0, 0], [0.99, 0.01, 0], [0, 1, 0], [0, 0, 1]];
    const scores = [[0.9, 0.1], [0.1, 0.9], [0.5, 0.5], [0.2, 0.3]];
    const r = superviseSample(ex, scores, [{ id: 'FC', direction: 'higher' }, { id: 'DEL', direction: 'lower' }], ['a', 'b', 'c', 'd'], 0.9, 0.4);
    expect(r.keptByDedup).toEqual([true, false, true, true]);
    // kept FC values 0.9, 0.5, 0.2 → 0.4-quantile 0.44; DEL 0.1, 0.5, 0.3 → 0.6-quantile 0.34
    expect(r.thresholds[0].threshold).toBeCloseTo(0.44, 10);
    expect(r.thresholds[1].threshold).toBeCloseTo(0.34, 10);
    expect(r.passed).toEqual([true, false, false, false]);
    expect(r.reasons[1]).toMatch(/dedup/);
    expect(r.reasons[2]).toMatch(/DEL/);
    expect(r.reasons[3]).toMatch(/FC/);
  });
});
