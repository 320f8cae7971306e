/**
 * Every metric on a 3-feature example, computed by hand in the test from the model's closed form
 * p_1(x) = σ(w·x + b) (a single logit read as the two classes [1 − σ, σ]), zero baseline.
 * The draws of FC, INF and MC are read from the documented streams seeder.rng(id, rowIndex).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { TargetModel } from '../task/model';
import { makeTask, type Task } from '../task/task';
import { Seeder } from '../rng';
import { batchOf, datasetOf, linearModel, useBackend } from '../../../tests/helpers/models';
import { pearson, spearman } from './correlation';
import { scoreExplanations } from './evaluate';
import { METRICS } from './registry';
import type { MetricResult } from './types';

beforeAll(() => useBackend('wasm'));

const w = [2, 1, -1];
const b = -0.5;
const sigma = (z: number) => 1 / (1 + Math.exp(-z));
/** p_1 of the input (class 1 probability). */
const P = (v: number[]) => sigma(w[0] * v[0] + w[1] * v[1] + w[2] * v[2] + b);
/** x with the listed features set to 0. */
const rm = (x: number[], ...idx: number[]) => x.map((v, i) => (idx.includes(i) ? 0 : v));
/** x° ∪ I: zeros with the listed features from x. */
const ins = (x: number[], ...idx: number[]) => x.map((v, i) => (idx.includes(i) ? v : 0));
/** Trapezoid AUC at x = t/T. */
const auc = (y: number[]) => y.slice(1).reduce((a, v, t) => a + (y[t] + v) / 2, 0) / (y.length - 1);

// two rows; reference rows (for MC's noise ranges) are these rows
const X = [
  [1, 1, 1],
  [0.5, 2, 1.5],
];
const xs = Float32Array.from(X.flat());

function handTask(): Task {
  const model = new TargetModel(linearModel([w], [b]));
  return makeTask(model, datasetOf(xs, 2, 3, 2), { output: 'probability', baseline: 'zero' });
}

async function scoreAll(task: Task, s: number[][], target: number[], seed = 11): Promise<Record<string, MetricResult>> {
  const res = await scoreExplanations(task, batchOf(xs, 2), Int32Array.from(target), [Float32Array.from(s.flat())], METRICS.map((m) => ({ id: m.id })), new Seeder(seed));
  return Object.fromEntries(METRICS.map((m, i) => [m.id, res[0][i]]));
}

describe('3-feature hand example', () => {
  it('all ten metrics, with ties in s (π ties → lower index; ascending order not the reverse of π)', async () => {
    const task = handTask();
    try {
      // row 0: s has a tie between features 0 and 1 → π = [0, 1, 2], ascending = [2, 0, 1]
      // row 1: s = [0.5, 0.1, 0.9] → π = [2, 0, 1], ascending = [1, 0, 2]
      const S = [
        [0.5, 0.5, 0.1],
        [0.5, 0.1, 0.9],
      ];
      const pi = [
        [0, 1, 2],
        [2, 0, 1],
      ];
      const asc = [
        [2, 0, 1],
        [1, 0, 2],
      ];
      const seed = 11;
      const r = await scoreAll(task, S, [1, 1], seed);
      for (let row = 0; row < 2; row++) {
        const x = X[row];
        const s = S[row];
        const p = P(x);
        expect(p).toBeGreaterThan(0.5); // both rows are predicted class 1 = the target
        const [a, bb, c] = pi[row];
        // cumulative removal along π
        const delCurve = [p, P(rm(x, a)), P(rm(x, a, bb)), P(rm(x, a, bb, c))];
        const insCurve = [P(ins(x)), P(ins(x, a)), P(ins(x, a, bb)), P(ins(x, a, bb, c))];
        expect(r.DEL.perSample[row]).toBeCloseTo(auc(delCurve), 6);
        expect(Array.from(r.DEL.curves![row])).toEqual(delCurve.map((v) => expect.closeTo(v, 6)));
        expect(r.INS.perSample[row]).toBeCloseTo(auc(insCurve), 6);
        expect(r.RP.perSample[row]).toBeCloseTo(delCurve.reduce((acc, v) => acc + (p - v), 0) / 4, 6);
        expect(r.IROF.perSample[row]).toBeCloseTo(1 - auc(delCurve.map((v) => v / p)), 6);
        // FE: each feature of π removed alone
        const fe = pearson(pi[row].map((i) => s[i]), pi[row].map((i) => p - P(rm(x, i))));
        expect(r.FE.perSample[row]).toBeCloseTo(fe, 5);
      }
      // POS, row 0: removing feature 0 gives z = 1 − 1 − 0.5 < 0 → class 0 at t = 1: t* = 1
      expect(r.POS.curves![0].length).toBe(2);
      expect(r.POS.perSample[0]).toBeCloseTo((P(X[0]) + P(rm(X[0], 0))) / 2, 6);
      // NEG, row 0: ascending [2, 0, 1]: z = 2.5, 0.5, then x° (z = −0.5) flips at t = T = 3
      const negCurve0 = [P(X[0]), P(rm(X[0], 2)), P(rm(X[0], 2, 0)), P(rm(X[0], 2, 0, 1))];
      expect(P(rm(X[0], 2, 0))).not.toBeCloseTo(P(rm(X[0], 2, 1)), 3); // the reverse of π would differ
      expect(r.NEG.perSample[0]).toBeCloseTo(auc(negCurve0), 6);
      // NEG, row 1: ascending [1, 0, 2]: z(x \ {1}) = 1 − 1.5 − 0.5 = −1 → flips at t* = 1
      expect(r.NEG.curves![1].length).toBe(2);
      expect(r.NEG.perSample[1]).toBeCloseTo((P(X[1]) + P(rm(X[1], 1))) / 2, 6);
      // POS, row 1: π = [2, 0, 1]: z = 3.5, 2.5, then x° flips at T
      const posCurve1 = [P(X[1]), P(rm(X[1], 2)), P(rm(X[1], 2, 0)), P(rm(X[1], 0, 1, 2))];
      expect(r.POS.perSample[1]).toBeCloseTo(auc(posCurve1), 6);

      // FC: N = 100 subsets of size m = max(1, ⌊3/16 + ½⌋) = 1, drawn from rng('FC', row)
      // INF: 100 subsets, feature i in when uniform() < ½, from rng('INF', row)
      // MC: K = 10 noise baselines from rng('MC', row); ranges of the reference rows
      const seeder = new Seeder(seed);
      const lo = [0.5, 1, 1];
      const hi = [1, 2, 1.5];
      for (let row = 0; row < 2; row++) {
        const x = X[row];
        const s = S[row];
        const p = P(x);
        const fcRng = seeder.rng('FC', row);
        const fcSums: number[] = [];
        const fcEff: number[] = [];
        for (let j = 0; j < 100; j++) {
          const [i] = fcRng.sampleWithoutReplacement(3, 1);
          fcSums.push(s[i]);
          fcEff.push(p - P(rm(x, i)));
        }
        expect(r.FC.perSample[row]).toBeCloseTo(pearson(fcSums, fcEff), 5);
        const infRng = seeder.rng('INF', row);
        const infSums: number[] = [];
        const infEff: number[] = [];
        for (let j = 0; j < 100; j++) {
          const I = [0, 1, 2].filter(() => infRng.uniform() < 0.5);
          infSums.push(I.reduce((acc, i) => acc + s[i], 0));
          infEff.push(p - P(rm(x, ...I)));
        }
        expect(r.INF.perSample[row]).toBeCloseTo(pearson(infSums, infEff), 5);
        const mcRng = seeder.rng('MC', row);
        const bases = Array.from({ length: 10 }, () => [0, 1, 2].map((i) => lo[i] + mcRng.uniform() * (hi[i] - lo[i])));
        const v = asc[row].map((i) => bases.reduce((acc, base) => acc + (P(x.map((xv, j) => (j === i ? base[i] : xv))) - p) ** 2, 0) / 10 / p ** 2);
        expect(r.MC.perSample[row]).toBeCloseTo(spearman(asc[row].map((i) => s[i]), v), 6);
      }
    } finally {
      task.model.dispose();
    }
  });

  it('POS stops inside the curve at t* = 2 < T', async () => {
    const task = handTask();
    try {
      // row 0: π = [1, 0, 2]: z(x \ {1}) = 0.5 (class 1), z(x \ {1, 0}) = −1.5 (class 0) → t* = 2
      const r = await scoreAll(task, [
        [0.5, 0.9, 0.1],
        [0.5, 0.9, 0.1],
      ], [1, 1]);
      const y = [P(X[0]), P(rm(X[0], 1)), P(rm(X[0], 1, 0))];
      expect(y[1]).toBeGreaterThan(0.5);
      expect(y[2]).toBeLessThan(0.5);
      expect(Array.from(r.POS.curves![0])).toEqual(y.map((v) => expect.closeTo(v, 6)));
      expect(r.POS.perSample[0]).toBeCloseTo(((y[0] + y[1]) / 2 + (y[1] + y[2]) / 2) / 2, 6);
    } finally {
      task.model.dispose();
    }
  });

  it('NEG and POS are NaN on a row whose clean prediction is not its target; DEL uses that target', async () => {
    const task = handTask();
    try {
      const before = task.model.rowsEvaluated;
      const r = await scoreAll(task, [
        [0.3, 0.2, 0.1],
        [0.3, 0.2, 0.1],
      ], [0, 1]);
      expect(Number.isNaN(r.NEG.perSample[0])).toBe(true);
      expect(Number.isNaN(r.POS.perSample[0])).toBe(true);
      expect(r.NEG.curves![0].length).toBe(0);
      expect(Number.isFinite(r.NEG.perSample[1])).toBe(true);
      const x = X[0];
      const q = (v: number[]) => 1 - P(v); // p_0
      expect(r.DEL.perSample[0]).toBeCloseTo(auc([q(x), q(rm(x, 0)), q(rm(x, 0, 1)), q(rm(x, 0, 1, 2))]), 6);
      const total = Object.values(r).reduce((acc, m) => acc + m.modelCalls, 0);
      expect(total).toBe(task.model.rowsEvaluated - before);
    } finally {
      task.model.dispose();
    }
  });
});
