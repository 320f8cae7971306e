/**
 * Unique-input evaluation: the engine sends each distinct input of a row once, across metrics and
 * explanations, and the numbers are those of sending every requested row. The row counts are
 * checked against counts derived independently (the documented draws, the orders, the data).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Seeder } from '../rng';
import { batchOf, mlpTask, randomRows, useBackend } from '../../../tests/helpers/models';
import { chooseTargets, type Task } from '../task/task';
import { argsortAsc, argsortDesc, sortOrders } from './curves';
import { Perturbations } from './effects';
import { runKernels, type BatchedMetric } from './engine';
import { scoreExplanations } from './evaluate';
import { getMetric, METRICS } from './registry';
import type { MetricResult } from './types';

const sum = (res: MetricResult[][], key: 'modelCalls' | 'rowsRequested') => res.flat().reduce((a, r) => a + (r[key] ?? 0), 0);
const units = (ids: [string, Record<string, number>?][]) => ids.map(([id, params]) => ({ metric: getMetric(id) as BatchedMetric<any>, params: { ...getMetric(id)!.defaults, ...(params ?? {}) } }));

/** Spy on the rows the model receives: how many, and how many distinct by value. */
function spy(task: Task) {
  const seen = new Set<string>();
  let rows = 0;
  const orig = task.model.predict.bind(task.model);
  task.model.predict = async (x, nRows, output) => {
    const d = task.inputSize;
    for (let r = 0; r < nRows; r++) seen.add(Array.from(new Uint32Array(x.buffer, x.byteOffset + r * d * 4, d)).join(','));
    rows += nRows;
    return orig(x, nRows, output);
  };
  return { get rows() { return rows; }, get distinct() { return seen.size; } };
}

describe('orders: π and argsort_asc from one sort', () => {
  it('equal argsortDesc and argsortAsc on ties, ±0, ±Infinity, subnormals and large rows; NaN rows fall back', () => {
    const cases: number[][] = [
      [0.5, 0.9, 0.5, 0.1],
      [0, -0, 0, -0, 1, -1],
      [Infinity, -Infinity, Infinity, 0, -Infinity, 3],
      [1e-45, -1e-45, 0, 3.4028234663852886e38, -3.4028234663852886e38],
      [NaN, 1, NaN, 0, 2],
      [],
      [7],
    ];
    for (let k = 0; k < 40; k++) {
      const n = [3, 8, 49, 196, 1000][k % 5];
      const v = randomRows(1, n, `orders${k}`, -2, 2);
      if (k % 2) for (let i = 0; i < n; i++) v[i] = Math.round(v[i] * 3) / 3; // many ties
      cases.push(Array.from(v));
    }
    for (const c of cases) {
      const s = Float32Array.from(c);
      const o = sortOrders(s);
      expect(Array.from(o.desc)).toEqual(Array.from(argsortDesc(s)));
      expect(Array.from(o.asc)).toEqual(Array.from(argsortAsc(s)));
    }
    expect(Array.from(sortOrders(Float32Array.from([0.5, 0.9, 0.5, 0.1])).desc)).toEqual([1, 0, 2, 3]);
    expect(Array.from(sortOrders(Float32Array.from([0.5, 0.9, 0.5, 0.1])).asc)).toEqual([3, 0, 2, 1]);
  });
});

describe('Perturbations', () => {
  const space = { inputSize: 3, nFeatures: 3, writeRemoval: (o: Float32Array, i: number, x: ArrayLike<number>, b: ArrayLike<number>, rm: ArrayLike<number>) => { for (let j = 0; j < 3; j++) o[i * 3 + j] = x[j]; for (const j of Array.from(rm)) o[i * 3 + j] = b[j]; } } as never;
  const x = Float32Array.from([1, 2, 3]);
  const b = new Float32Array(3);

  it('a plain buffer gives every request its own row, in order (the inspector replays kernels on one)', () => {
    const req = new Perturbations(space, 2, 1);
    expect([req.removal(x, b, [0], 0), req.removal(x, b, [0], 1), req.removal(x, b, [1], 1)]).toEqual([0, 1, 2]);
    expect([req.nInputs, ...req.rowsPerOwner, ...req.rowsRequested]).toEqual([3, 1, 2, 1, 2]);
  });

  it('a memoising buffer keeps one row per distinct input of a scope, knows the scope\'s known inputs, counts sent under the first owner', () => {
    const req = new Perturbations(space, 2, 1, { memo: true });
    const known = [{ input: x, index: (1 << 30) + 5, hash: Perturbations.hashOf(x) }];
    req.beginScope(known);
    expect(req.removal(x, b, [0], 0)).toBe(0);
    expect(req.removal(x, b, [1, 2], 0)).toBe(1);
    expect(req.removal(x, b, [0], 1)).toBe(0); // same input again
    expect(req.removal(x, b, [2, 1], 1)).toBe(1); // same set, other order
    expect(req.removal(x, b, [], 1)).toBe((1 << 30) + 5); // x itself: known
    expect(req.removal(x, x, [0, 1, 2], 1)).toBe((1 << 30) + 5); // baseline equal to x: x again
    expect(req.removal(x, Float32Array.from([1, 0, 3]), [0, 1, 2], 1)).toBe(2);
    expect(Array.from(req.inputs)).toEqual([0, 2, 3, 1, 0, 0, 1, 0, 3]);
    expect([...req.rowsPerOwner, ...req.rowsRequested, req.duplicates]).toEqual([2, 1, 2, 5, 4]);
    req.beginScope();
    expect(req.removal(x, b, [0], 0)).toBe(3); // a new scope (the next data row) does not share
  });
});

describe('unique inputs in the engine', () => {
  const n = 8;
  const nRows = 50;
  const x = randomRows(nRows, n, 'memo-x', -2, 2);
  let task: Task;
  let target: Int32Array;
  beforeAll(async () => {
    await useBackend('wasm');
    task = mlpTask(n, 3, x, nRows, 5);
    target = await chooseTargets(task, batchOf(x, nRows), 'predicted');
  });
  afterAll(() => task.model.dispose());

  it('the ten metrics with defaults, 50 rows, one explanation: 15,550 rows requested, every row sent is distinct, ≤ 1.1 × distinct', async () => {
    const s = randomRows(nRows, n, 'memo-s');
    const seen = spy(task);
    const before = task.model.rowsEvaluated;
    const res = await scoreExplanations(task, batchOf(x, nRows), target, [s], METRICS.map((m) => ({ id: m.id })), new Seeder(3));
    const sent = sum(res, 'modelCalls');
    // requested: 50 × (2 clean + FC 100 + FE 8 + MC 80 + INF 100 + 3 curves × 7 inner points)
    expect(sum(res, 'rowsRequested')).toBe(50 * 311);
    expect(sent).toBe(task.model.rowsEvaluated - before);
    expect(seen.rows).toBe(sent);
    expect(seen.distinct).toBe(sent); // nothing sent twice (this data has no coincidences across rows)
    expect(sent).toBeLessThanOrEqual(1.1 * seen.distinct);
    expect(sent).toBeLessThan(0.65 * 50 * 311);
  });

  it('same numbers, bit for bit, with and without the memo, for many explanations and metric mixes; sent without memo = requested with it', async () => {
    const ties = randomRows(nRows, n, 'memo-t');
    for (let i = 0; i < ties.length; i++) ties[i] = Math.round(ties[i] * 2) / 2;
    const expl = [randomRows(nRows, n, 'memo-s'), ties, new Float32Array(nRows * n)];
    const mixes = [METRICS.map((m) => [m.id] as [string]), [['DEL', { stepSize: 3 }], ['NEG', { stepSize: 3 }], ['INS', { stepSize: 3 }], ['FC', { nSubsets: 40, subsetSize: 2 }], ['MC', { nBaselines: 2, stepSize: 2 }], ['FE', { stepSize: 2 }]] as [string, Record<string, number>][]];
    for (const mix of mixes) {
      const on = await runKernels(task, batchOf(x, nRows, 7), target, expl, units(mix), new Seeder(5));
      const b0 = task.model.rowsEvaluated;
      const off = await runKernels(task, batchOf(x, nRows, 7), target, expl, units(mix), new Seeder(5), undefined, undefined, { memo: false });
      expect(sum(off, 'modelCalls')).toBe(task.model.rowsEvaluated - b0);
      expect(sum(off, 'modelCalls')).toBe(sum(on, 'rowsRequested'));
      expect(sum(off, 'rowsRequested')).toBe(sum(on, 'rowsRequested'));
      expect(sum(on, 'modelCalls')).toBeLessThan(sum(off, 'modelCalls'));
      on.forEach((row, e) =>
        row.forEach((r, u) => {
          expect(Array.from(r.perSample), `${mix[u][0]} e${e}`).toEqual(Array.from(off[e][u].perSample));
          expect(r.curves?.map((c) => Array.from(c))).toEqual(off[e][u].curves?.map((c) => Array.from(c)));
        }),
      );
    }
  });

  it('exact counts: x° once for all rows, FC (m = 1) inside FE, NEG inside INS, INF repeats from its draws, removals of a feature already at its baseline', async () => {
    const rows = 6;
    const xs = randomRows(rows, n, 'memo-exact', -2, 2);
    xs[1 * n + 3] = 0; // two features already at the zero baseline
    xs[4 * n + 0] = 0;
    const t = mlpTask(n, 3, xs, rows, 9);
    try {
      const tg = await chooseTargets(t, batchOf(xs, rows), 'predicted');
      const s = randomRows(rows, n, 'memo-exact-s'); // no ties
      const batch = batchOf(xs, rows, 30);
      const calls = async (ids: [string, Record<string, number>?][]) => (await runKernels(t, batch, tg, [s], units(ids), new Seeder(2)))[0].map((r) => r.modelCalls);
      const clean = rows + 1; // each row's x, and the one x° of the zero baseline
      const zeros = 2;
      // FE removes each feature alone; a removal of a feature at 0 is x itself
      expect(await calls([['FE']])).toEqual([clean + rows * n - zeros]);
      // FC's 100 single-feature subsets are FE's removals (listed after FE: nothing new; before: all of them)
      expect(await calls([['FE'], ['FC']])).toEqual([clean + rows * n - zeros, 0]);
      expect(await calls([['FC'], ['FE']])).toEqual([clean + rows * n - zeros, 0]);
      // NEG's points x \ bottom_t are INS's points x° ∪ top_(n−t) (no ties)
      // (a row with a feature at 0 has one pair of equal points: inserting that feature changes nothing)
      expect(await calls([['INS'], ['NEG']])).toEqual([clean + rows * (n - 1) - zeros, 0]);
      // INF: its distinct masks, from its documented draws, less the empty mask (x) and the full one (x°)
      const infRows = Array.from({ length: rows }, (_, r) => {
        const rng = new Seeder(2).rng('INF', 30 + r);
        const seen = new Set<string>();
        for (let j = 0; j < 100; j++) {
          const m = Array.from({ length: n }, () => (rng.uniform() < 0.5 ? 1 : 0));
          // a mask whose removed features are all already at the baseline gives x
          const removesSomething = m.some((v, i) => v === 1 && xs[r * n + i] !== 0);
          const keepsSomething = m.some((v, i) => v === 0 && xs[r * n + i] !== 0);
          if (removesSomething && keepsSomething) seen.add(m.map((v, i) => (xs[r * n + i] === 0 ? 0 : v)).join(''));
        }
        return seen.size;
      });
      expect(await calls([['INF']])).toEqual([clean + infRows.reduce((a, v) => a + v, 0)]);
      expect(infRows.reduce((a, v) => a + v, 0)).toBeLessThan(rows * 100 * 0.8); // 100 draws of 256 masks repeat
    } finally {
      t.model.dispose();
    }
  });

  it('an s-independent perturbation is sent once per row for any number of explanations; MC\'s noise perturbations too when the chunks coincide', async () => {
    const rows = 4;
    const xs = randomRows(rows, n, 'memo-e', -2, 2);
    const t = mlpTask(n, 3, xs, rows, 4);
    try {
      const tg = await chooseTargets(t, batchOf(xs, rows), 'predicted');
      const e1 = randomRows(rows, n, 'memo-e1');
      const e2 = randomRows(rows, n, 'memo-e2');
      const one = await runKernels(t, batchOf(xs, rows), tg, [e1], units([['FC'], ['MC']]), new Seeder(1));
      const two = await runKernels(t, batchOf(xs, rows), tg, [e1, e2], units([['FC'], ['MC']]), new Seeder(1));
      // MC with k = 1 removes every feature alone with each of its K noise baselines, whatever the order
      expect(sum(two, 'modelCalls')).toBe(sum(one, 'modelCalls'));
      expect(two[1].map((r) => r.modelCalls)).toEqual([0, 0]);
      expect(one[0][1].modelCalls).toBe(rows * n * 10);
    } finally {
      t.model.dispose();
    }
  });
});
