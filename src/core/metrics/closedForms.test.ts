/**
 * Closed forms of METRICS.md: the additive model with `output: raw`, zero baseline and
 * s_i = w_i x_i; brute force over all n! orders for DEL, INS and RP; the reversed order with
 * g(x) > 0; the constant model.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Seeder } from '../rng';
import { additiveTask, batchOf, constantTask, randomRows, useBackend } from '../../../tests/helpers/models';
import { scoreExplanations } from './evaluate';
import { METRICS } from './registry';
import type { Task } from '../task/task';

beforeAll(() => useBackend('wasm'));

/** s_i = w_i x_i for every row: [nRows, n]. */
function additiveAttribution(w: number[], x: Float32Array, nRows: number): Float32Array {
  const n = w.length;
  return Float32Array.from({ length: nRows * n }, (_, i) => w[i % n] * x[i]);
}

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  const out: number[][] = [];
  for (const p of permutations(n - 1))
    for (let pos = 0; pos <= p.length; pos++) out.push([...p.slice(0, pos), n - 1, ...p.slice(pos)]);
  return out;
}

/** An explanation row whose argsort_desc is `order` (distinct scores n, n−1, …, 1). */
function scoresFor(order: number[]): number[] {
  const s = new Array<number>(order.length);
  order.forEach((f, rank) => (s[f] = order.length - rank));
  return s;
}

async function withTask<T>(task: Task, fn: (t: Task) => Promise<T>): Promise<T> {
  try {
    return await fn(task);
  } finally {
    task.model.dispose();
  }
}

describe('additive model g(x) = w·x + b, output raw, zero baseline, s = w ⊙ x', () => {
  const w = [1.5, -2, 0.7, 3, -0.4, 1.1];
  it('FC = INF = FE = 1 (FE for k = 1 and 2; FC with m = 1 and m = 3)', async () => {
    const nRows = 4;
    const x = randomRows(nRows, w.length, 'additive-fc');
    await withTask(additiveTask(w, 0.25, x, nRows), async (task) => {
      const s = additiveAttribution(w, x, nRows);
      const res = await scoreExplanations(
        task,
        batchOf(x, nRows),
        new Int32Array(nRows),
        [s],
        [{ id: 'FC' }, { id: 'FC', params: { subsetSize: 3 } }, { id: 'INF' }, { id: 'FE' }, { id: 'FE', params: { stepSize: 2 } }],
        new Seeder(3),
      );
      for (const r of res[0]) for (const v of r.perSample) expect(v).toBeCloseTo(1, 4);
    });
  });

  it('an explanation unrelated to w scores below 1 on FC (the test can fail)', async () => {
    const nRows = 2;
    const x = randomRows(nRows, w.length, 'additive-fc');
    await withTask(additiveTask(w, 0.25, x, nRows), async (task) => {
      const s = Float32Array.from({ length: nRows * w.length }, (_, i) => (i * 7) % 5);
      const [[fc]] = await scoreExplanations(task, batchOf(x, nRows), new Int32Array(nRows), [s], [{ id: 'FC' }], new Seeder(3));
      for (const v of fc.perSample) expect(v).toBeLessThan(0.9);
    });
  });

  for (const [n, k] of [
    [5, 1],
    [6, 2],
    [7, 1],
    [7, 2],
  ] as const) {
    it(`π is optimal over all ${n}! orders for DEL, INS and RP (k = ${k})`, async () => {
      const ww = w.concat([0.9]).slice(0, n);
      const nRows = 2;
      const x = randomRows(nRows, n, `brute-${n}-${k}`);
      await withTask(additiveTask(ww, -0.3, x, nRows), async (task) => {
        const perms = permutations(n);
        // explanation e gives every row the order perms[e]
        const orders = perms.map((p) => {
          const s = scoresFor(p);
          return Float32Array.from({ length: nRows * n }, (_, i) => s[i % n]);
        });
        const sPi = additiveAttribution(ww, x, nRows);
        const metrics = [{ id: 'DEL', params: { stepSize: k } }, { id: 'INS', params: { stepSize: k } }, { id: 'RP', params: { stepSize: k } }];
        const res = await scoreExplanations(task, batchOf(x, nRows), new Int32Array(nRows), [sPi, ...orders], metrics, new Seeder(1));
        for (let r = 0; r < nRows; r++) {
          const col = (m: number) => res.slice(1).map((e) => e[m].perSample[r]);
          const del = col(0);
          const ins = col(1);
          const rp = col(2);
          // the orders really differ in score (otherwise the check is empty)
          expect(Math.max(...del) - Math.min(...del)).toBeGreaterThan(0.05);
          expect(res[0][0].perSample[r]).toBeLessThanOrEqual(Math.min(...del) + 1e-5);
          expect(res[0][1].perSample[r]).toBeGreaterThanOrEqual(Math.max(...ins) - 1e-5);
          expect(res[0][2].perSample[r]).toBeGreaterThanOrEqual(Math.max(...rp) - 1e-5);
        }
      });
    });
  }

  it('with g(x) > 0 the reverse of π scores no better on DEL, INS, RP and IROF (k = 1, 2)', async () => {
    const nRows = 5;
    const x = randomRows(nRows, w.length, 'reverse', 0, 1);
    await withTask(additiveTask(w, 6, x, nRows), async (task) => {
      const p = await task.model.predict(x, nRows, 'raw');
      for (const v of p) expect(v).toBeGreaterThan(0);
      const sPi = additiveAttribution(w, x, nRows);
      const sRev = Float32Array.from(sPi, (v) => -v); // argsort_desc(−s) is π reversed (no ties here)
      for (const k of [1, 2]) {
        const ids = ['DEL', 'INS', 'RP', 'IROF'];
        const res = await scoreExplanations(task, batchOf(x, nRows), new Int32Array(nRows), [sPi, sRev], ids.map((id) => ({ id, params: { stepSize: k } })), new Seeder(1));
        for (let r = 0; r < nRows; r++) {
          expect(res[0][0].perSample[r]).toBeLessThan(res[1][0].perSample[r]); // DEL ↓
          for (const m of [1, 2, 3]) expect(res[0][m].perSample[r]).toBeGreaterThan(res[1][m].perSample[r]); // ↑
        }
      }
    });
  });
});

describe('constant model', () => {
  it('correlations 0, RP = IROF = 0, DEL = INS = NEG = POS = p', async () => {
    const nRows = 3;
    const n = 5;
    const bias = [0.2, 1.0, -0.5];
    const x = randomRows(nRows, n, 'const');
    await withTask(constantTask(n, bias, x, nRows), async (task) => {
      const z = bias.map(Math.exp);
      const p1 = z[1] / (z[0] + z[1] + z[2]);
      const s = randomRows(nRows, n, 'const-s');
      const target = new Int32Array(nRows).fill(1); // the predicted class
      const res = await scoreExplanations(task, batchOf(x, nRows), target, [s], METRICS.map((m) => ({ id: m.id })), new Seeder(5));
      const byId = Object.fromEntries(METRICS.map((m, i) => [m.id, res[0][i]]));
      for (let r = 0; r < nRows; r++) {
        for (const id of ['FC', 'FE', 'MC', 'INF', 'RP', 'IROF']) expect(byId[id].perSample[r]).toBe(0);
        for (const id of ['DEL', 'INS', 'NEG', 'POS']) expect(byId[id].perSample[r]).toBeCloseTo(p1, 6);
        // NEG/POS never flip: the whole curve, t* = T
        expect(byId.NEG.curves![r].length).toBe(n + 1);
      }
    });
  });
});
