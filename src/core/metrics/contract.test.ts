/**
 * Registry-wide contract: for every metric, shape, finite values (NaN only where NEG/POS
 * document it), determinism under a seed, independence from batching and row groups, no tensor
 * leak, modelCalls equal to the rows evaluated; and the shared-evaluation path of
 * scoreExplanations equal to scoring each (explanation, metric) on its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Seeder } from '../rng';
import { batchOf, mlpTask, randomRows, useBackend } from '../../../tests/helpers/models';
import { nSteps } from './curves';
import { runKernels, type BatchedMetric } from './engine';
import { scoreExplanations, scoreUnbatched } from './evaluate';
import { METRICS } from './registry';
import { METRIC_IDS, type MetricResult } from './types';
import type { Task } from '../task/task';
import type { Batch } from '../task/task';

const nRows = 6;
const n = 7;
const x = randomRows(nRows, n, 'contract-x', -2, 2);
const s = randomRows(nRows, n, 'contract-s');
let task: Task;
let target: Int32Array;
let predicted: Int32Array;

beforeAll(async () => {
  await useBackend('wasm');
  task = mlpTask(n, 3, x, nRows, 4, 16, 'probability', 'mean');
  const p = await task.model.predict(x, nRows, 'probability');
  predicted = Int32Array.from({ length: nRows }, (_, r) => {
    const row = Array.from(p.subarray(r * 3, r * 3 + 3));
    return row.indexOf(Math.max(...row));
  });
  // rows 0 and 3 get a target the model does not predict (as with target: label on a misclassified row)
  target = predicted.map((c, r) => (r === 0 || r === 3 ? (c + 1) % 3 : c));
});
afterAll(() => task.model.dispose());

function sliceRows(b: Batch, a: number, e: number): Batch {
  return { x: b.x.slice(a * n, e * n), nRows: e - a, rowIndex: b.rowIndex.slice(a, e) };
}

function expectSame(a: MetricResult, b: MetricResult) {
  expect(Array.from(a.perSample)).toEqual(Array.from(b.perSample));
  expect(a.curves?.map((c) => Array.from(c))).toEqual(b.curves?.map((c) => Array.from(c)));
}

describe('registry', () => {
  it('lists the ten metrics in METRICS.md order, each with direction, defaults and a paper preset', () => {
    expect(METRICS.map((m) => m.id)).toEqual([...METRIC_IDS]);
    const lower = METRICS.filter((m) => m.direction === 'lower').map((m) => m.id);
    expect(lower).toEqual(['DEL', 'POS']);
    for (const m of METRICS) {
      expect(Object.keys(m.defaults).length).toBeGreaterThan(0);
      expect(m.paper).toBeDefined();
      for (const k of Object.keys(m.paper!)) expect(k in m.defaults).toBe(true);
    }
    expect(METRICS.find((m) => m.id === 'FC')!.paper).toEqual({ nSubsets: 30, subsetSize: 1 });
    expect(METRICS.find((m) => m.id === 'INF')!.paper).toEqual({ nSubsets: 30 });
  });
});

describe.each(METRICS.map((m) => [m.id, m] as const))('%s contract', (id, metric) => {
  it('shape, finite values, modelCalls = rows evaluated, no leak, same seed → same numbers', async () => {
    const batch = batchOf(x, nRows);
    const tensorsBefore = tf.memory().numTensors;
    const rowsBefore = task.model.rowsEvaluated;
    const a = await metric.score(task, batch, s, target, metric.defaults, new Seeder(9));
    expect(a.modelCalls).toBeGreaterThan(0);
    expect(a.modelCalls).toBe(task.model.rowsEvaluated - rowsBefore);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(a.perSample.length).toBe(nRows);
    const nanRows = id === 'NEG' || id === 'POS' ? [0, 3] : [];
    for (let r = 0; r < nRows; r++) {
      if (nanRows.includes(r)) expect(Number.isNaN(a.perSample[r])).toBe(true);
      else expect(Number.isFinite(a.perSample[r])).toBe(true);
    }
    const hasCurve = ['RP', 'INS', 'DEL', 'NEG', 'POS', 'IROF'].includes(id);
    expect(a.curves !== undefined).toBe(hasCurve);
    if (a.curves) {
      expect(a.curves.length).toBe(nRows);
      const T = nSteps(n, 1);
      for (let r = 0; r < nRows; r++) {
        const len = a.curves[r].length;
        if (nanRows.includes(r)) expect(len).toBe(0);
        else if (id === 'NEG' || id === 'POS') expect(len >= 2 && len <= T + 1).toBe(true);
        else expect(len).toBe(T + 1);
        for (const v of a.curves[r]) expect(Number.isFinite(v)).toBe(true);
      }
    }
    const again = await metric.score(task, batch, s, target, metric.defaults, new Seeder(9));
    expectSame(again, a);
    expect(again.modelCalls).toBe(a.modelCalls);
  });

  it('same numbers for one batch and for its rows in two batches (and in small row groups)', async () => {
    const batch = batchOf(x, nRows, 20);
    const whole = await metric.score(task, batch, s, target, metric.defaults, new Seeder(2));
    const first = await metric.score(task, sliceRows(batch, 0, 2), s.slice(0, 2 * n), target.slice(0, 2), metric.defaults, new Seeder(2));
    const rest = await metric.score(task, sliceRows(batch, 2, nRows), s.slice(2 * n), target.slice(2), metric.defaults, new Seeder(2));
    const joined: MetricResult = {
      perSample: Float32Array.from([...first.perSample, ...rest.perSample]),
      curves: first.curves ? [...first.curves, ...rest.curves!] : undefined,
      modelCalls: 0,
    };
    if (!joined.curves) delete joined.curves;
    expectSame(joined, whole);
    // groups of a few inputs (a tiny memory budget) give the same numbers
    const grouped = await runKernels(task, batch, target, [s], [{ metric: metric as BatchedMetric<any>, params: metric.defaults }], new Seeder(2), undefined, undefined, { groupValueBudget: 1 });
    expectSame(grouped[0][0], whole);
    expect(grouped[0][0].modelCalls).toBe(whole.modelCalls);
  });
});

describe('random draws follow the seed', () => {
  it('FC, INF and MC change with the seed; the deterministic metrics do not', async () => {
    const batch = batchOf(x, nRows);
    const all = METRICS.map((m) => ({ id: m.id }));
    const [a] = await scoreExplanations(task, batch, target, [s], all, new Seeder(1));
    const [b] = await scoreExplanations(task, batch, target, [s], all, new Seeder(2));
    METRICS.forEach((m, i) => {
      const same = Array.from(a[i].perSample).every((v, r) => Object.is(v, b[i].perSample[r]));
      expect(same).toBe(!['FC', 'INF', 'MC'].includes(m.id));
    });
  });
});

describe('scoreExplanations', () => {
  it('equals scoring every (explanation, metric) on its own, with fewer model rows', async () => {
    const batch = batchOf(x, nRows, 5);
    const explanations = [s, randomRows(nRows, n, 'e2'), randomRows(nRows, n, 'e3', 0, 1), new Float32Array(nRows * n)];
    const metrics = [...METRICS.map((m) => ({ id: m.id })), { id: 'DEL', params: { stepSize: 3 } }, { id: 'FC', params: { subsetSize: 2 } }];
    const before = task.model.rowsEvaluated;
    const shared = await scoreExplanations(task, batch, target, explanations, metrics, new Seeder(7));
    const sharedRows = task.model.rowsEvaluated - before;
    const mid = task.model.rowsEvaluated;
    const naive = await scoreUnbatched(task, batch, target, explanations, metrics, new Seeder(7));
    const naiveRows = task.model.rowsEvaluated - mid;
    expect(shared.length).toBe(explanations.length);
    for (let e = 0; e < explanations.length; e++) {
      expect(shared[e].length).toBe(metrics.length);
      for (let m = 0; m < metrics.length; m++) expectSame(shared[e][m], naive[e][m]);
    }
    // every evaluated row is counted once
    expect(shared.flat().reduce((acc, r) => acc + r.modelCalls, 0)).toBe(sharedRows);
    expect(naive.flat().reduce((acc, r) => acc + r.modelCalls, 0)).toBe(naiveRows);
    // FC's and INF's subsets: 100 each per row once, not once per explanation; clean pass once
    // (counted in rows laid out before the memo: each call also memoises repeated inputs)
    const requested = (res: MetricResult[][]) => res.flat().reduce((acc, r) => acc + r.rowsRequested!, 0);
    const fcInfSaved = (explanations.length - 1) * nRows * (100 + 100 + 100);
    expect(requested(naive) - requested(shared)).toBeGreaterThanOrEqual(fcInfSaved);
    expect(naiveRows - sharedRows).toBeGreaterThan(0);
    expect(sharedRows).toBeLessThanOrEqual(requested(shared));
  });

  it('sends all perturbations of all rows, explanations and metrics through few forward passes', async () => {
    const batch = batchOf(x, nRows);
    const explanations = [s, randomRows(nRows, n, 'e2'), randomRows(nRows, n, 'e3')];
    const passes = task.model.forwardPasses;
    const rows = task.model.rowsEvaluated;
    await scoreExplanations(task, batch, target, explanations, METRICS.map((m) => ({ id: m.id })), new Seeder(7));
    const nInputs = task.model.rowsEvaluated - rows;
    expect(nInputs).toBeGreaterThan(800);
    // one clean pass (each row's x and the one x° of the 'mean' baseline: distinct inputs only),
    // then ⌈inputs / maxBatchRows⌉ passes for everything else
    expect(task.model.forwardPasses - passes).toBe(1 + Math.ceil((nInputs - (nRows + 1)) / task.model.maxBatchRows));
  });

  it('reports progress and stops when cancelled', async () => {
    const batch = batchOf(x, nRows);
    const seen: [number, number][] = [];
    await scoreExplanations(task, batch, target, [s], [{ id: 'DEL' }], new Seeder(1), (d, t) => seen.push([d, t]));
    expect(seen.at(-1)).toEqual([1, 1]);
    const ctl = new AbortController();
    ctl.abort();
    await expect(scoreExplanations(task, batch, target, [s], [{ id: 'DEL' }], new Seeder(1), undefined, ctl.signal)).rejects.toThrow();
  });

  it('rejects bad params and mismatched explanations with a message that says what to do', async () => {
    const batch = batchOf(x, nRows);
    await expect(scoreExplanations(task, batch, target, [s], [{ id: 'FE', params: { stepSize: 0 } }], new Seeder(1))).rejects.toThrow(/Metric FE: parameter "stepSize" is 0, but it must be an integer from 1 to 7\./);
    await expect(scoreExplanations(task, batch, target, [s], [{ id: 'FC', params: { subsetSize: n + 1 } }], new Seeder(1))).rejects.toThrow(/Metric FC: parameter "subsetSize" is 8, but it must be an integer from 0 to 7/);
    await expect(scoreExplanations(task, batch, target, [s.slice(1)], [{ id: 'DEL' }], new Seeder(1))).rejects.toThrow(/Score explanations made for these rows/);
    await expect(scoreExplanations(task, batch, target, [s], [{ id: 'XYZ' }], new Seeder(1))).rejects.toThrow(/Unknown metric "XYZ"/);
  });
});
