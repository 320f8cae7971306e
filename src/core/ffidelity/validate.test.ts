/**
 * Metric validation: Spearman with "undefined" for ties, the degradation, the per-seed summaries,
 * and end to end on an additive model (a perfect explanation, degraded) and a constant model.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { makeRng, Seeder } from '../rng';
import { additiveTask, batchOf, constantTask, randomRows, useBackend } from '../../../tests/helpers/models';
import { degradeExplanation, spearmanDefined, spread, summariseMetric, validateMetrics, validationTable, VALIDATION_LEVELS } from './validate';

beforeAll(() => useBackend('wasm'));

const R = [...VALIDATION_LEVELS];

describe('Spearman with undefined', () => {
  it('is ±1 for any strictly monotone function of r, "undefined" (not NaN, not 0) for a constant or a NaN', () => {
    for (const f of [(r: number) => r, (r: number) => r * r * r + 3, (r: number) => Math.exp(5 * r)]) expect(spearmanDefined(R, R.map(f))).toBe(1);
    for (const f of [(r: number) => -r, (r: number) => 1 / (1 + r), (r: number) => Math.cos(r)]) expect(spearmanDefined(R, R.map(f))).toBe(-1);
    expect(spearmanDefined(R, R.map(() => 0.25))).toBe('undefined');
    expect(spearmanDefined(R, [1, 2, NaN, 4, 5, 6])).toBe('undefined');
    expect(spearmanDefined(R, [1, 1, 2, 2, 3, 3])).toBeCloseTo(16 / Math.sqrt(17.5 * 16), 12); // partial ties are defined (average ranks 1.5, 1.5, 3.5, …)
    expect(spread(['undefined', 'undefined'])).toEqual({ mean: 'undefined', sd: 'undefined', perSeed: ['undefined', 'undefined'], nDefined: 0 });
    expect(spread([1, 'undefined', 0])).toMatchObject({ mean: 0.5, sd: 0.5, nDefined: 2 });
  });

  it('summaries: a metric monotone in r gives macro = micro = ±1 on every seed, sd 0, trust +1 for its direction', () => {
    const copies = 5;
    const setOf = R.map((_, i) => Array.from({ length: copies }, (_, c) => (i === 0 ? 0 : 1 + (i - 1) * copies + c)));
    const nSets = 1 + (R.length - 1) * copies;
    const levelOf = (set: number) => R[setOf.findIndex((row) => row.includes(set))];
    const mean = Float64Array.from({ length: nSets }, (_, k) => 1 - levelOf(k) ** 2); // ↓ in r
    const curves = Array.from({ length: nSets }, (_, k) => Float64Array.from([1, 2, 3], (t) => t - levelOf(k))); // every point ↓ in r
    const up = summariseMetric(R, setOf, mean, curves, 'higher');
    expect(up.macro).toEqual({ mean: -1, sd: 0, perSeed: [-1, -1, -1, -1, -1], nDefined: 5 });
    expect(up.micro).toEqual({ mean: -1, sd: 0, perSeed: [-1, -1, -1, -1, -1], nDefined: 5 });
    expect(up.trust).toBe(1);
    const down = summariseMetric(R, setOf, mean, curves, 'lower');
    expect(down.trust).toBe(-1);
    const flat = summariseMetric(R, setOf, new Float64Array(nSets).fill(0.3), curves.map(() => undefined), 'higher');
    expect(flat.macro.mean).toBe('undefined');
    expect(flat.trust).toBe('undefined');
    expect(flat.micro).toBe('n/a');
  });

  it('degradation: r = 0 is the explanation, r = 1 a permutation of each row, at most ⌊r·n + ½⌋ scores moved', () => {
    const n = 11;
    const rows = 4;
    const s = Float32Array.from({ length: rows * n }, (_, i) => i);
    expect(Array.from(degradeExplanation(s, rows, n, 0, (r) => makeRng(`d${r}`)))).toEqual(Array.from(s));
    for (const level of [0.2, 0.6, 1]) {
      const d = degradeExplanation(s, rows, n, level, (r) => makeRng(`d${r}`));
      for (let r = 0; r < rows; r++) {
        const a = Array.from(s.subarray(r * n, (r + 1) * n));
        const b = Array.from(d.subarray(r * n, (r + 1) * n));
        expect([...b].sort((p, q) => p - q)).toEqual(a);
        expect(a.filter((v, i) => v !== b[i]).length).toBeLessThanOrEqual(Math.floor(level * n + 0.5));
      }
      expect(Array.from(degradeExplanation(s, rows, n, level, (r) => makeRng(`d${r}`)))).toEqual(Array.from(d));
    }
  });
});

describe('validateMetrics end to end', () => {
  it('additive model, s = w ⊙ x degraded: FE, INS, DEL, FID± rank every seed in order; a constant model gives "undefined"', async () => {
    const n = 16;
    const rows = 10;
    const w = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 2 : 1) * (1 + i / n));
    const x = randomRows(rows, n, 'val-x', 0.2, 1);
    const s = Float32Array.from({ length: rows * n }, (_, i) => w[i % n] * x[i]);
    const task = additiveTask(w, 0.5, x, rows);
    try {
      const ids = ['FE', 'INS', 'DEL', 'FID+', 'FID-'];
      const v = await validateMetrics({ task, batch: batchOf(x, rows), target: new Int32Array(rows), explanation: s, metrics: ids.map((id) => ({ id, params: id.startsWith('FID') ? { score: 'probability' } : undefined })), seeder: new Seeder(0) });
      expect(v.metrics.map((m) => m.id)).toEqual(ids);
      for (const m of v.metrics) {
        expect(m.macro.perSeed).toEqual(new Array(5).fill(m.direction === 'higher' ? -1 : 1));
        expect(m.trust).toBe(1);
        expect(m.values.length).toBe(6);
        expect(new Set(m.values[0]).size).toBe(1); // r = 0: the explanation itself on every copy
      }
      expect(v.metrics.find((m) => m.id === 'FE')!.micro).toBe('n/a');
      expect(v.metrics.find((m) => m.id === 'FID+')!.curves!.length).toBe(6);
      expect(validationTable(v)).toContain('| FID+ | ↑ | -1.00 ± 0.00 |');
    } finally {
      task.model.dispose();
    }
    const ct = constantTask(n, [0.3, 0.7], x, rows);
    try {
      const v = await validateMetrics({ task: ct, batch: batchOf(x, rows), target: new Int32Array(rows), explanation: s, metrics: [{ id: 'DEL' }, { id: 'FID+' }, { id: 'FC' }], seeder: new Seeder(0), copies: 2 });
      for (const m of v.metrics) {
        expect(m.macro.perSeed).toEqual(['undefined', 'undefined']);
        expect(m.trust).toBe('undefined');
      }
      expect(v.metrics[0].micro).toMatchObject({ mean: 'undefined', nDefined: 0 });
      expect(validationTable(v)).toContain('| DEL | ↓ | undefined | undefined | undefined |');
    } finally {
      ct.model.dispose();
    }
  });
});
