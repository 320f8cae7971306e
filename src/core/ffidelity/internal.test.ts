/**
 * Internal faithfulness (FEI-inspired): the deviation is 0 for identical inputs, equals the closed
 * form ‖W(x′ − x)‖ / (‖Wx + b‖ + 1e-12) for one linear Dense layer, averages over the chosen
 * layers, reads post-activation outputs, and runs along the insertion and deletion curves.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Seeder } from '../rng';
import { isUserError } from '../errors';
import { makeTask } from '../task/task';
import { loadModelFromFiles, TargetModel } from '../task/model';
import { batchOf, datasetOf, linearModel, randomRows, useBackend } from '../../../tests/helpers/models';
import { AD_DEL, AD_INS, activationDeviation, chooseLayers } from './internal';
import { nSteps } from '../metrics/curves';

beforeAll(() => useBackend('wasm'));

/** Dense(relu, 6) → Dense(linear, 5) → Activation(tanh) → Dense(softmax, 3). */
function threeLayer(n: number): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [n], units: 6, activation: 'relu', name: 'h1', kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }) }));
  m.add(tf.layers.dense({ units: 5, name: 'h2', kernelInitializer: tf.initializers.glorotNormal({ seed: 2 }) }));
  m.add(tf.layers.activation({ activation: 'tanh', name: 'h2act' }));
  m.add(tf.layers.dense({ units: 3, activation: 'softmax', name: 'out', kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }) }));
  return m;
}

describe('activation deviation', () => {
  it('chooses every Dense/Conv layer after its activation; hidden leaves out the output layer', () => {
    const m = threeLayer(4);
    try {
      expect(chooseLayers(m, 'hidden').map((l) => l.name)).toEqual(['h1', 'h2act']);
      expect(chooseLayers(m, 'all').map((l) => l.name)).toEqual(['h1', 'h2act', 'out']);
      const lin = linearModel([[1, 2]], [0]);
      expect(() => chooseLayers(lin, 'hidden')).toThrow(/no hidden Dense or Conv layer/);
      lin.dispose();
    } finally {
      m.dispose();
    }
  });

  it('is 0 for identical inputs and equals ‖W(x′−x)‖ / (‖Wx + b‖ + 1e-12) for one linear layer', async () => {
    const n = 5;
    const W = [
      [0.5, -1, 2, 0, 0.3],
      [1, 1, -0.5, 0.2, 0],
      [-0.7, 0.1, 0, 1.5, -2],
    ]; // [nOut][n]
    const b = [0.2, -0.1, 0.4];
    const rows = 4;
    const x = randomRows(rows, n, 'lin-x');
    const task = makeTask(new TargetModel(linearModel(W, b)), datasetOf(x, rows, n, 3), { output: 'raw' });
    try {
      const layers = chooseLayers(task.model.model as tf.LayersModel, 'all');
      const same = await activationDeviation(task, layers, x, rows, x, Int32Array.from([0, 1, 2, 3]));
      expect(Array.from(same)).toEqual([0, 0, 0, 0]);
      const xp = randomRows(6, n, 'lin-xp');
      const owner = Int32Array.from([0, 0, 1, 2, 3, 3]);
      const got = await activationDeviation(task, layers, x, rows, xp, owner);
      for (let i = 0; i < 6; i++) {
        const r = owner[i];
        let num = 0;
        let den = 0;
        for (let k = 0; k < 3; k++) {
          let dv = 0;
          let av = b[k];
          for (let j = 0; j < n; j++) {
            dv += W[k][j] * (xp[i * n + j] - x[r * n + j]);
            av += W[k][j] * x[r * n + j];
          }
          num += dv * dv;
          den += av * av;
        }
        expect(got[i]).toBeCloseTo(Math.sqrt(num) / (Math.sqrt(den) + 1e-12), 5);
      }
    } finally {
      task.model.dispose();
    }
  });

  it('AD-INS and AD-DEL: curves of T + 1 points, 0 where x′ = x (insertion t = T, deletion t = 0), the mean over layers, AUC value', async () => {
    const n = 6;
    const rows = 3;
    const x = randomRows(rows, n, 'ad-x', 0.5, 2);
    const task = makeTask(new TargetModel(threeLayer(n)), datasetOf(x, rows, n, 3));
    try {
      const s = randomRows(rows, n, 'ad-s');
      const ins = await AD_INS.score(task, batchOf(x, rows), s, new Int32Array(rows), AD_INS.defaults, new Seeder(0));
      const del = await AD_DEL.score(task, batchOf(x, rows), s, new Int32Array(rows), { ...AD_DEL.defaults, stepSize: 2 }, new Seeder(0));
      expect(ins.curves![0].length).toBe(n + 1);
      expect(del.curves![0].length).toBe(nSteps(n, 2) + 1);
      for (let r = 0; r < rows; r++) {
        expect(ins.curves![r][n]).toBeCloseTo(0, 6);
        expect(del.curves![r][0]).toBeCloseTo(0, 6);
        expect(ins.curves![r][0]).toBeGreaterThan(0);
      }
      // insertion t = 0 is the baseline x°: its deviation is the mean over h1 and h2act of the closed distance
      const layers = chooseLayers(task.model.model as tf.LayersModel, 'hidden');
      const x0 = new Float32Array(n);
      const one = await activationDeviation(task, [layers[0]], x.subarray(0, n), 1, x0, Int32Array.of(0));
      const two = await activationDeviation(task, [layers[1]], x.subarray(0, n), 1, x0, Int32Array.of(0));
      expect(ins.curves![0][0]).toBeCloseTo((one[0] + two[0]) / 2, 5);
      expect(ins.modelCalls).toBe(rows * (n + 1) + rows);
      // many explanations in shared batches give the same numbers
      const both = await AD_INS.scoreMany(task, batchOf(x, rows), new Int32Array(rows), [randomRows(rows, n, 'other'), s], AD_INS.defaults, new Seeder(0));
      expect(Array.from(both[1].perSample)).toEqual(Array.from(ins.perSample));
    } finally {
      task.model.dispose();
    }
  });

  it('a model without reachable hidden layers (GraphModel) is refused with a UserError', async () => {
    const dir = join(__dirname, '../../../tests/fixtures/models/graph-mlp');
    const w = readFileSync(join(dir, 'weights.bin'));
    const gm = await loadModelFromFiles(JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')), new Map([['weights.bin', w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength) as ArrayBuffer]]), 'graph-mlp');
    const x = randomRows(2, gm.nFeatures, 'g');
    const gt = makeTask(gm, datasetOf(x, 2, gm.nFeatures, gm.nClasses('probability')));
    try {
      const e = await AD_INS.score(gt, batchOf(x, 2), randomRows(2, gm.nFeatures, 's'), new Int32Array(2), AD_INS.defaults, new Seeder(0)).catch((err) => err);
      expect(isUserError(e) && /GraphModel/.test(e.message)).toBe(true);
    } finally {
      gm.dispose();
    }
  });
});
