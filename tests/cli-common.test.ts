/** The CLI's pure plumbing: number formatting, JSON layout, --set parsing, normalisation, explanations checks. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatFloat32, parseScopedSets, parseSets, toJson } from '../src/cli/common';
import { minMaxRows, parseMetricList, readExplanations } from '../src/cli/commands/evaluate';
import { METRICS } from '../src/core/metrics/registry';
import { makeRng } from '../src/core/rng';
import { isUserError } from '../src/core/errors';

function userErrorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isUserError(e)) return e.message;
    throw e;
  }
  throw new Error('expected a UserError');
}

describe('formatFloat32', () => {
  it('writes the shortest decimal that reads back as the same float32', () => {
    expect(formatFloat32(Math.fround(0.1))).toBe('0.1');
    expect(formatFloat32(1)).toBe('1');
    expect(formatFloat32(-0.25)).toBe('-0.25');
    expect(formatFloat32(NaN)).toBe('null');
    expect(formatFloat32(Infinity)).toBe('null');
    const rng = makeRng('float32');
    const xs = Float32Array.from({ length: 2000 }, () => (rng.uniform() - 0.5) * 10 ** (rng.int(12) - 6));
    for (const x of xs) {
      const text = formatFloat32(x);
      expect(Math.fround(Number(text))).toBe(x);
      expect(text.replace(/^-|e.*$|\./g, '').replace(/^0+/, '').length).toBeLessThanOrEqual(9);
    }
  });
});

describe('toJson', () => {
  it('is valid JSON, float32 arrays round-trip exactly, tables are one row per line, NaN becomes null', () => {
    const v = Float32Array.from([0.1, 1 / 3, -2e-7, NaN]);
    const value = { a: 1, rows: [v.subarray(0, 2), v.subarray(2, 4)], ints: Int32Array.from([3, 4]), nested: { s: 'x', none: undefined }, empty: [] };
    const text = toJson(value);
    const back = JSON.parse(text);
    expect(back.a).toBe(1);
    expect(Float32Array.from(back.rows[0])).toEqual(v.subarray(0, 2));
    expect(back.rows[1][0]).toBe(formatFloat32(v[2]) === 'null' ? null : Number(formatFloat32(v[2])));
    expect(Math.fround(back.rows[1][0])).toBe(v[2]);
    expect(back.rows[1][1]).toBeNull();
    expect(back.ints).toEqual([3, 4]);
    expect(back.nested).toEqual({ s: 'x' });
    expect(back.empty).toEqual([]);
    expect(text).toContain('\n    [0.1, 0.33333334]');
  });
});

describe('--set parsing', () => {
  it('types values as numbers, booleans or strings', () => {
    expect(parseSets(['steps=32', 'abs=false', 'rule=trapezoid', 'x=1e-3'])).toEqual({ steps: 32, abs: false, rule: 'trapezoid', x: 0.001 });
    expect(userErrorOf(() => parseSets(['steps']))).toMatch(/not of the form key=value/);
  });
  it('groups METRIC.key=value by metric and names the valid scopes', () => {
    expect(parseScopedSets(['FC.nSubsets=30', 'DEL.stepSize=2', 'FC.subsetSize=2'], ['FC', 'DEL'], 'FC.nSubsets=100', 'metric')).toEqual({
      FC: { nSubsets: 30, subsetSize: 2 },
      DEL: { stepSize: 2 },
    });
    expect(userErrorOf(() => parseScopedSets(['XX.k=1'], ['FC', 'DEL'], 'FC.nSubsets=100', 'metric'))).toMatch(/"XX" is not a metric \(FC, DEL\)/);
    expect(userErrorOf(() => parseScopedSets(['FC.=1'], ['FC'], 'FC.nSubsets=100', 'metric'))).toMatch(/does not say which metric/);
  });
});

describe('--metrics', () => {
  it('all is every registered metric in registry order; a list keeps its order and drops repeats', () => {
    expect(parseMetricList('all')).toEqual(METRICS.map((m) => m.id));
    expect(parseMetricList('DEL, FC,DEL')).toEqual(['DEL', 'FC']);
    expect(userErrorOf(() => parseMetricList('fc'))).toMatch(/Unknown metric "fc".*upper case/);
    expect(userErrorOf(() => parseMetricList(' , '))).toMatch(/--metrics is empty/);
  });
});

describe('minMaxRows (METRICS.md: min–max per sample, a constant explanation becomes all zeros)', () => {
  it('maps each row to [0, 1] by its own min and max', () => {
    const s = Float32Array.from([1, 3, 2, -4, 5, 5, 5, 5, 0, -1, -2, -0.5]);
    // row 0: min −4, max 3; row 1 constant; row 2: min −2, max 0
    const want = [5 / 7, 1, 6 / 7, 0, 0, 0, 0, 0, 1, 0.5, 0, 0.75];
    minMaxRows(s, 3, 4).forEach((v, i) => expect(v).toBeCloseTo(want[i], 6));
    expect(Array.from(minMaxRows(Float32Array.from([7, 7, 7]), 1, 3))).toEqual([0, 0, 0]);
  });
});

describe('readExplanations', () => {
  const dir = mkdtempSync(join(tmpdir(), 'deepfaith-exp-'));
  const write = (name: string, value: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, typeof value === 'string' ? value : JSON.stringify(value));
    return p;
  };
  const good = { method: 'm', rows: [2, 4], target: [0, 1], values: [[1, 2, 3], [4, 5, 6]], baseline: 'mean' };
  it('reads rows, targets and a [nRows, nFeatures] table', () => {
    const e = readExplanations(write('good.json', good));
    expect(e.rows).toEqual([2, 4]);
    expect(Array.from(e.target)).toEqual([0, 1]);
    expect(e.nFeatures).toBe(3);
    expect(Array.from(e.values)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(e.baseline).toBe('mean');
  });
  const bad: [string, unknown, RegExp][] = [
    ['not JSON', '{ nope', /is not valid JSON/],
    ['an array', [1, 2], /not a JSON object/],
    ['rows reversed', { ...good, rows: [4, 2] }, /"rows" must be \[A, B\] with 0 ≤ A < B/],
    ['too few rows of values', { ...good, rows: [2, 5] }, /one row per data row 2:5 \(3\), but it has 2/],
    ['ragged values', { ...good, values: [[1, 2, 3], [4, 5]] }, /values row 1 has 2 entries, the first has 3/],
    ['a null value', { ...good, values: [[1, null, 3], [4, 5, 6]] }, /values row 0, feature 1 is null, not a finite number/],
    ['fractional target', { ...good, target: [0, 1.5] }, /"target" must hold one class index/],
  ];
  it.each(bad)('refuses %s', (name, value, re) => {
    expect(userErrorOf(() => readExplanations(write(`${name}.json`, value)))).toMatch(re);
  });
  it('refuses a missing file', () => {
    expect(userErrorOf(() => readExplanations(join(dir, 'absent.json')))).toMatch(/does not exist\. Give the JSON file written by deepfaith attribute --out/);
  });
});
