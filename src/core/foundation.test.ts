import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { pearson, spearman, averageRanks, mseCorrelation } from './metrics/correlation';
import { argsortAsc, argsortDesc, trapezoidAuc, nSteps, prefix } from './metrics/curves';
import { makeRng, Seeder } from './rng';
import { parseCsv, parseRows } from './data/csv';
import { isUserError } from './errors';
import { additiveTask, batchOf, mlpTask, randomRows, useBackend } from '../../tests/helpers/models';
import { chooseTargets } from './task/task';

describe('correlation', () => {
  it('pearson matches a hand computation and is 0 for a constant vector', () => {
    // a = [1,2,3], b = [1,3,2]: cov = 0.5·… → r = 0.5
    expect(pearson([1, 2, 3], [1, 3, 2])).toBeCloseTo(0.5, 12);
    expect(pearson([1, 1, 1], [1, 2, 3])).toBe(0);
    expect(pearson([2, 4, 6], [1, 2, 3])).toBeCloseTo(1, 12);
  });
  it('spearman uses average ranks for ties', () => {
    expect(Array.from(averageRanks([10, 20, 20, 5]))).toEqual([2, 3.5, 3.5, 1]);
    // ranks a = [1, 2.5, 2.5], b = [1,2,3]: pearson = 0.866025…
    expect(spearman([1, 2, 2], [1, 2, 3])).toBeCloseTo(Math.sqrt(3) / 2, 12);
  });
  it('mse correlation', () => {
    expect(mseCorrelation([0, 1], [1, 1])).toBeCloseTo(1 - 0.5 / 2, 12);
  });
});

describe('curves', () => {
  it('orders break ties by lower index, ascending order is stable (not the reverse of π)', () => {
    const s = [0.5, 0.9, 0.5, 0.1];
    expect(Array.from(argsortDesc(s))).toEqual([1, 0, 2, 3]);
    expect(Array.from(argsortAsc(s))).toEqual([3, 0, 2, 1]);
    expect(nSteps(5, 2)).toBe(3);
    expect(Array.from(prefix(argsortDesc(s), 1, 3))).toEqual([1, 0, 2]);
    expect(Array.from(prefix(argsortDesc(s), 2, 3))).toEqual([1, 0, 2, 3]);
  });
  it('trapezoid AUC at x = t/T', () => {
    expect(trapezoidAuc([1, 0])).toBeCloseTo(0.5, 12);
    expect(trapezoidAuc([1, 1, 0])).toBeCloseTo(0.75, 12);
  });
});

describe('rng', () => {
  it('same seed string gives the same stream; different ids differ', () => {
    const a = new Seeder(7).rng('lime', 3);
    const b = new Seeder(7).rng('lime', 3);
    const c = new Seeder(7).rng('lime', 4);
    const va = [a.uniform(), a.normal(), a.int(10)];
    expect([b.uniform(), b.normal(), b.int(10)]).toEqual(va);
    expect(c.uniform()).not.toBe(va[0]);
    const s = makeRng('x').sampleWithoutReplacement(10, 10);
    expect(Array.from(s).sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('csv', () => {
  const good = 'a,b,label\n1,2,0\n3,4,1\n';
  it('parses features and labels', () => {
    const d = parseCsv(good, 'g.csv', { label: 'label' });
    expect(d.featureNames).toEqual(['a', 'b']);
    expect(Array.from(d.x)).toEqual([1, 2, 3, 4]);
    expect(Array.from(d.labels)).toEqual([0, 1]);
  });
  it('maps non-index labels to sorted classes', () => {
    const d = parseCsv('a,y\n1,2\n2,1\n3,2\n', 'w.csv', { label: 'y' });
    expect(d.classNames).toEqual(['1', '2']);
    expect(Array.from(d.labels)).toEqual([1, 0, 1]);
    const t = parseCsv('a,y\n1,dog\n2,cat\n', 't.csv', { label: 'y' });
    expect(t.classNames).toEqual(['cat', 'dog']);
    expect(Array.from(t.labels)).toEqual([1, 0]);
  });
  const bad: [string, string, RegExp][] = [
    ['a,b,label\n1,,0\n', 'label', /row 0 \(line 2\), column "b": the cell is missing/],
    ['a,b,label\n1,2,0\n1,x,0\n', 'label', /row 1 \(line 3\), column "b": "x" is not a number/],
    ['a,b,label\n1,2,0\n1,2\n', 'label', /row 1 \(line 3\) has 2 cells but the header has 3/],
    ['a,b,label\n1,2,0\n', 'species', /has no label column "species".*a, b, label/],
  ];
  it.each(bad)('rejects bad input %#', (text, label, re) => {
    try {
      parseCsv(text, 'bad.csv', { label });
      expect.unreachable();
    } catch (e) {
      expect(isUserError(e)).toBe(true);
      expect((e as Error).message).toMatch(/bad\.csv/);
      expect((e as Error).message).toMatch(re);
    }
  });
  it('parses row slices', () => {
    expect(parseRows('2:5', 10)).toEqual([2, 5]);
    expect(parseRows(':3', 10)).toEqual([0, 3]);
    expect(() => parseRows('5:2', 10)).toThrow(/outside/);
  });
});

describe('target model', () => {
  beforeAll(() => useBackend('wasm'));
  it('predicts in chunks identically, counts rows, and gives exact linear gradients', async () => {
    const x = randomRows(5, 3);
    const task = additiveTask([1, -2, 3], 0.5, x, 5);
    try {
      const before = tf.memory().numTensors;
      const y = await task.model.predict(x, 5, 'raw');
      for (let r = 0; r < 5; r++) expect(y[r]).toBeCloseTo(x[r * 3] - 2 * x[r * 3 + 1] + 3 * x[r * 3 + 2] + 0.5, 5);
      const { grad } = await task.model.gradient(x, 5, new Int32Array(5), 'raw');
      expect(Array.from(grad.subarray(0, 3)).map((v) => +v.toFixed(5))).toEqual([1, -2, 3]);
      expect(tf.memory().numTensors).toBe(before);
      expect(task.model.rowsEvaluated).toBe(15);
    } finally {
      task.model.dispose();
    }
  });
  it('chooses the predicted class, ties to the lower index', async () => {
    const x = randomRows(8, 4);
    const task = mlpTask(4, 3, x, 8);
    try {
      const t = await chooseTargets(task, batchOf(x, 8), 'predicted');
      const p = await task.model.predict(x, 8, 'probability');
      for (let r = 0; r < 8; r++) {
        const row = Array.from(p.subarray(r * 3, r * 3 + 3));
        expect(t[r]).toBe(row.indexOf(Math.max(...row)));
      }
    } finally {
      task.model.dispose();
    }
  });
});
