/**
 * DeepLIFT (Rescale): summation to delta in every output mode, and clear refusals of models it
 * does not support.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Seeder } from '../rng';
import { isUserError } from '../errors';
import { TargetModel, type OutputMode } from '../task/model';
import { makeTask, type Task } from '../task/task';
import { batchOf, datasetOf, mlpTask, randomRows, reluMlpTask, useBackend } from '../../../tests/helpers/models';
import { deeplift } from './deeplift';

beforeAll(() => useBackend('wasm'));
const seeder = new Seeder(1);

/** A ReLU MLP whose last Dense layer is linear (logits, or a single unit read through a sigmoid). */
function reluLogitsModel(n: number, nOut: number, seed: number): tf.Sequential {
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [n], units: 12, activation: 'relu', kernelInitializer: tf.initializers.glorotNormal({ seed }), biasInitializer: tf.initializers.randomNormal({ seed: seed + 1, stddev: 0.3 }) }));
  m.add(tf.layers.dropout({ rate: 0.5 }));
  m.add(tf.layers.dense({ units: 8, activation: 'relu', kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 2 }), biasInitializer: tf.initializers.randomNormal({ seed: seed + 3, stddev: 0.3 }) }));
  m.add(tf.layers.dense({ units: nOut, activation: 'linear', kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 4 }) }));
  return m;
}

async function checkSummation(task: Task, x: Float32Array, nRows: number, target: Int32Array): Promise<number> {
  const n = task.nFeatures;
  const before = tf.memory().numTensors;
  const s = await deeplift.explain(task, batchOf(x, nRows), target, deeplift.defaults, seeder);
  expect(tf.memory().numTensors).toBe(before);
  const fx = await task.model.predictTarget(x, nRows, target, task.output);
  const f0 = await task.model.predictTarget(new Float32Array(nRows * n), nRows, target, task.output);
  let largest = 0;
  for (let r = 0; r < nRows; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += s[r * n + i];
    const delta = fx[r] - f0[r];
    expect(Math.abs(sum - delta)).toBeLessThan(1e-4 * Math.max(1, Math.abs(delta)));
    largest = Math.max(largest, Math.abs(delta));
  }
  return largest;
}

describe('deeplift summation to delta', () => {
  const n = 6;
  const nRows = 8;
  const x = randomRows(nRows, n, 'deeplift', -2, 2);
  const target = Int32Array.from({ length: nRows }, (_, r) => r % 3);

  it.each<OutputMode>(['probability', 'logit', 'raw'])('ReLU MLP with a softmax head, output %s', async (output) => {
    const base = reluMlpTask(n, 3, x, nRows, 7);
    const task = makeTask(base.model, datasetOf(x, nRows, n, 3), { output });
    try {
      expect(deeplift.applicable(task)).toBeNull();
      expect(await checkSummation(task, x, nRows, target)).toBeGreaterThan(0.02);
    } finally {
      task.model.dispose();
    }
  });

  it.each<OutputMode>(['probability', 'logit', 'raw'])('ReLU MLP with a linear head (logits) and Dropout, output %s', async (output) => {
    const task = makeTask(new TargetModel(reluLogitsModel(n, 3, 3)), datasetOf(x, nRows, n, 3), { output });
    try {
      expect(await checkSummation(task, x, nRows, target)).toBeGreaterThan(0.02);
    } finally {
      task.model.dispose();
    }
  });

  it.each<OutputMode>(['probability', 'logit'])('single unit read through a sigmoid as two classes, output %s', async (output) => {
    const task = makeTask(new TargetModel(reluLogitsModel(n, 1, 5)), datasetOf(x, nRows, n, 2), { output });
    try {
      const t2 = Int32Array.from({ length: nRows }, (_, r) => r % 2);
      expect(await checkSummation(task, x, nRows, t2)).toBeGreaterThan(0.02);
    } finally {
      task.model.dispose();
    }
  });

  it('on a mean baseline too', async () => {
    const base = reluMlpTask(n, 3, x, nRows, 2);
    const task = makeTask(base.model, datasetOf(x, nRows, n, 3), { baseline: 'mean' });
    try {
      const s = await deeplift.explain(task, batchOf(x, nRows), target, deeplift.defaults, seeder);
      const fx = await task.model.predictTarget(x, nRows, target, 'probability');
      const means = task.space.baseline('mean');
      const ref = new Float32Array(nRows * n);
      for (let r = 0; r < nRows; r++) ref.set(means, r * n);
      const f0 = await task.model.predictTarget(ref, nRows, target, 'probability');
      for (let r = 0; r < nRows; r++) {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += s[r * n + i];
        expect(sum).toBeCloseTo(fx[r] - f0[r], 4);
      }
    } finally {
      task.model.dispose();
    }
  });
});

describe('deeplift refusals', () => {
  const x = randomRows(2, 4, 'refuse');
  async function expectRefusal(task: Task, re: RegExp): Promise<void> {
    try {
      const why = deeplift.applicable(task);
      expect(why).toMatch(re);
      expect(why).toMatch(/integrated-gradients/);
      let caught: unknown;
      try {
        await deeplift.explain(task, batchOf(x, 2), new Int32Array(2), deeplift.defaults, seeder);
      } catch (e) {
        caught = e;
      }
      expect(isUserError(caught)).toBe(true);
      expect((caught as Error).message).toMatch(re);
    } finally {
      task.model.dispose();
    }
  }
  it('refuses a tanh MLP, naming the layer and its activation', async () => {
    await expectRefusal(mlpTask(4, 2, x, 2), /uses tanh/);
  });
  it('refuses a functional (non-Sequential) model', async () => {
    const input = tf.input({ shape: [4] });
    const out = tf.layers.dense({ units: 2, activation: 'softmax' }).apply(input) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    await expectRefusal(makeTask(new TargetModel(model), datasetOf(x, 2, 4, 2)), /functional LayersModel/);
  });
  it('refuses a layer that is not Dense', async () => {
    const m = tf.sequential();
    m.add(tf.layers.dense({ inputShape: [4], units: 3, activation: 'relu' }));
    m.add(tf.layers.batchNormalization());
    m.add(tf.layers.dense({ units: 2, activation: 'softmax' }));
    await expectRefusal(makeTask(new TargetModel(m), datasetOf(x, 2, 4, 2)), /BatchNormalization/);
  });
});
