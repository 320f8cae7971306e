/**
 * Exact Shapley values: efficiency, symmetry, dummy and hand-computed values; the n > 16 refusal;
 * Kernel SHAP converging to the exact values as its sample count grows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Seeder } from '../rng';
import { isUserError } from '../errors';
import { TargetModel } from '../task/model';
import { makeTask, type Task } from '../task/task';
import { batchOf, datasetOf, mlpTask, randomRows, useBackend } from '../../../tests/helpers/models';
import { shapleyExact, shapleyWeights } from './shapleyExact';
import { kernelShap } from './kernelShap';

beforeAll(() => useBackend('wasm'));
const seeder = new Seeder(5);

/** Raw output f(x) = relu(x0 + x1 − 1): features 0 and 1 interact symmetrically, feature 2 is a dummy. */
function handTask(x: Float32Array, nRows: number): Task {
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [3], units: 1, activation: 'relu' }));
  m.add(tf.layers.dense({ units: 1, activation: 'linear' }));
  tf.tidy(() => {
    m.layers[0].setWeights([tf.tensor2d([[1], [1], [0]]), tf.tensor1d([-1])]);
    m.layers[1].setWeights([tf.tensor2d([[1]]), tf.tensor1d([0])]);
  });
  return makeTask(new TargetModel(m), datasetOf(x, nRows, 3, 1), { output: 'raw' });
}

describe('shapley-exact', () => {
  it('Shapley weights sum to 1 over the coalitions not holding a feature', () => {
    for (const n of [1, 2, 5, 16]) {
      const w = shapleyWeights(n);
      let total = 0;
      let binom = 1; // C(n − 1, s)
      for (let s = 0; s < n; s++) {
        total += binom * w[s];
        binom = (binom * (n - 1 - s)) / (s + 1);
      }
      expect(total).toBeCloseTo(1, 12);
    }
  });

  it('efficiency: Σφ = f(x) − f(x°) within 1e-6 (summed in double) on an MLP', async () => {
    const n = 7;
    const nRows = 5;
    const x = randomRows(nRows, n, 'shapley', -2, 2);
    const task = mlpTask(n, 3, x, nRows, 9);
    try {
      const target = Int32Array.from({ length: nRows }, (_, r) => r % 3);
      const phi = await shapleyExact.explain(task, batchOf(x, nRows), target, shapleyExact.defaults, seeder);
      const fx = await task.model.predictTarget(x, nRows, target, 'probability');
      const f0 = await task.model.predictTarget(new Float32Array(nRows * n), nRows, target, 'probability');
      let largest = 0;
      for (let r = 0; r < nRows; r++) {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += phi[r * n + i];
        expect(Math.abs(sum - (fx[r] - f0[r]))).toBeLessThan(1e-6);
        largest = Math.max(largest, Math.abs(fx[r] - f0[r]));
      }
      expect(largest).toBeGreaterThan(0.05);
    } finally {
      task.model.dispose();
    }
  });

  it('symmetry, dummy and the hand-computed values on relu(x0 + x1 − 1)', async () => {
    // row 0: x = (1, 1, 5): f(∅)=0, f({0})=f({1})=0, f({0,1})=1 → φ = (½, ½, 0)
    // row 1: x = (2, 1, −3): f({0})=1, f({1})=0, f({0,1})=2 → φ0 = ½(1 + 2) = 1.5, φ1 = ½(0 + 1) = 0.5, φ2 = 0
    const x = Float32Array.from([1, 1, 5, 2, 1, -3]);
    const task = handTask(x, 2);
    try {
      const phi = await shapleyExact.explain(task, batchOf(x, 2), new Int32Array(2), shapleyExact.defaults, seeder);
      const want = [0.5, 0.5, 0, 1.5, 0.5, 0];
      for (let k = 0; k < 6; k++) expect(phi[k]).toBeCloseTo(want[k], 6);
    } finally {
      task.model.dispose();
    }
  });

  it('refuses n > 16 with a message naming n and kernel-shap', async () => {
    const n = 17;
    const x = randomRows(1, n, 'wide');
    const task = mlpTask(n, 2, x, 1, 2, 4);
    try {
      const why = shapleyExact.applicable(task);
      expect(why).toMatch(/n = 17/);
      expect(why).toMatch(/kernel-shap/);
      let caught: unknown;
      try {
        await shapleyExact.explain(task, batchOf(x, 1), new Int32Array(1), shapleyExact.defaults, seeder);
      } catch (e) {
        caught = e;
      }
      expect(isUserError(caught)).toBe(true);
      const narrow = mlpTask(16, 2, randomRows(1, 16, 'narrow'), 1, 2, 4);
      expect(shapleyExact.applicable(narrow)).toBeNull();
      narrow.model.dispose();
    } finally {
      task.model.dispose();
    }
  });
});

describe('kernel-shap', () => {
  const n = 10;
  const nRows = 4;
  const x = randomRows(nRows, n, 'kernel', -2, 2);
  let task: Task;
  let exact: Float32Array;
  const target = Int32Array.from({ length: nRows }, (_, r) => r % 2);
  beforeAll(async () => {
    task = mlpTask(n, 2, x, nRows, 4);
    exact = await shapleyExact.explain(task, batchOf(x, nRows), target, shapleyExact.defaults, seeder);
  });
  afterAll(() => task.model.dispose());

  async function maxError(samples: number): Promise<{ err: number; sums: number[] }> {
    const phi = await kernelShap.explain(task, batchOf(x, nRows), target, { samples }, seeder);
    let err = 0;
    const sums: number[] = [];
    for (let r = 0; r < nRows; r++) {
      let s = 0;
      for (let i = 0; i < n; i++) {
        err = Math.max(err, Math.abs(phi[r * n + i] - exact[r * n + i]));
        s += phi[r * n + i];
      }
      sums.push(s);
    }
    return { err, sums };
  }

  it('approaches shapley-exact as the sampled coalitions grow, and is efficient at any sample count', async () => {
    // 2^10 − 2 = 1022 coalitions: both counts below it are sampled
    const small = await maxError(8);
    const large = await maxError(1000);
    let scale = 0;
    for (const v of exact) scale = Math.max(scale, Math.abs(v));
    expect(scale).toBeGreaterThan(0.02);
    expect(large.err).toBeLessThan(small.err / 4);
    expect(large.err).toBeLessThan(0.05 * scale);
    // efficiency holds exactly by construction: compare to the exact values' sums
    for (let r = 0; r < nRows; r++) {
      let exactSum = 0;
      for (let i = 0; i < n; i++) exactSum += exact[r * n + i];
      expect(small.sums[r]).toBeCloseTo(exactSum, 5);
      expect(large.sums[r]).toBeCloseTo(exactSum, 5);
    }
  });
});

describe('kernel-shap enumerating every coalition', () => {
  it('equals shapley-exact when samples ≥ 2^n − 2', async () => {
    const n = 6;
    const nRows = 3;
    const x = randomRows(nRows, n, 'enumerate', -2, 2);
    const task = mlpTask(n, 3, x, nRows, 8);
    try {
      const target = Int32Array.from({ length: nRows }, (_, r) => r % 3);
      const exact = await shapleyExact.explain(task, batchOf(x, nRows), target, shapleyExact.defaults, seeder);
      const ks = await kernelShap.explain(task, batchOf(x, nRows), target, { samples: 62 }, seeder);
      const sampled = await kernelShap.explain(task, batchOf(x, nRows), target, { samples: 60 }, seeder);
      let sampledErr = 0;
      for (let k = 0; k < exact.length; k++) {
        expect(ks[k]).toBeCloseTo(exact[k], 5);
        sampledErr = Math.max(sampledErr, Math.abs(sampled[k] - exact[k]));
      }
      expect(sampledErr).toBeGreaterThan(1e-4); // one coalition fewer and it samples instead
    } finally {
      task.model.dispose();
    }
  });
});
