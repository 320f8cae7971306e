/**
 * DeepLIFT (Rescale): Rescale multipliers computed by hand on a 2-2-1 ReLU net (the same numbers
 * from a tf.Sequential, one with an explicit InputLayer, a single-chain functional model and a
 * Keras-layout model.json), summation to delta in every output mode, and clear refusals of models
 * it does not support.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Seeder } from '../rng';
import { isUserError } from '../errors';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadModelFromFiles, TargetModel, type OutputMode } from '../task/model';
import { FIXTURE_DIR } from '../../../scripts/make-test-models';
import { GroupedFeatureSpace } from '../../../tests/helpers/groupedSpace';
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
  it('refuses a functional model that is not a single chain, naming the layer with two inputs', async () => {
    const input = tf.input({ shape: [4] });
    const a = tf.layers.dense({ units: 3, activation: 'relu' }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.dense({ units: 3, activation: 'relu' }).apply(input) as tf.SymbolicTensor;
    const sum = tf.layers.add({ name: 'merge' }).apply([a, b]) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2, activation: 'softmax' }).apply(sum) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    await expectRefusal(makeTask(new TargetModel(model), datasetOf(x, 2, 4, 2)), /single chain of layers.*layer "merge" \(Add\) takes 2 inputs/);
  });
  it('refuses a GraphModel', async () => {
    const dir = join(FIXTURE_DIR, 'graph-mlp');
    const bin = readFileSync(join(dir, 'weights.bin'));
    const model = await loadModelFromFiles(JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')), new Map([['weights.bin', bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer]]));
    await expectRefusal(makeTask(model, datasetOf(randomRows(2, 3, 'g'), 2, 3, 3)), /this model is a GraphModel/);
  });
  it('refuses softmax before the last layer, naming the layer', async () => {
    const m = tf.sequential();
    m.add(tf.layers.dense({ name: 'early', inputShape: [4], units: 3, activation: 'softmax' }));
    m.add(tf.layers.dense({ units: 2 }));
    await expectRefusal(makeTask(new TargetModel(m), datasetOf(x, 2, 4, 2)), /layer "early" uses softmax before the last layer/);
  });
  it('refuses a layer that is not Dense', async () => {
    const m = tf.sequential();
    m.add(tf.layers.dense({ inputShape: [4], units: 3, activation: 'relu' }));
    m.add(tf.layers.batchNormalization());
    m.add(tf.layers.dense({ units: 2, activation: 'softmax' }));
    await expectRefusal(makeTask(new TargetModel(m), datasetOf(x, 2, 4, 2)), /BatchNormalization/);
  });
});

describe('deeplift Rescale multipliers by hand (2 inputs, 2 ReLU units, 1 linear output)', () => {
  // z0 = x0 + x1 + 0.5, z1 = 2·x0 − x1 − 1, y = relu(z0) + 2·relu(z1) + 0.25; reference x° = 0, output raw.
  // At x°: z = (0.5, −1), a = (0.5, 0), y = 0.75.
  // Row (2, 1): z = (3.5, 2), Δz = (3, 3), Δa = (3, 2): Rescale ratios (1, 2/3) — unit 1 crosses zero.
  //   m_z = (1·1, 2·2/3) = (1, 4/3); m_x = W1 m_z = (1·1 + 2·4/3, 1·1 − 1·4/3) = (11/3, −1/3);
  //   scores = m_x ⊙ (x − x°) = (22/3, −1/3); sum 7 = y(x) − y(x°) = 7.75 − 0.75.
  //   (gradient × input would be (1 + 2·2, 1 − 2·1) ⊙ (2, 1) = (10, −1).)
  // Row (1, 3): z = (4.5, −2), Δz = (4, −1), Δa = (4, 0): ratios (1, 0); m_x = (1, 1); scores (1, 3); sum 4 = 4.75 − 0.75.
  const W1 = [
    [1, 2],
    [1, -1],
  ]; // [input][hidden]
  const B1 = [0.5, -1];
  const W2 = [[1], [2]]; // [hidden][output]
  const B2 = [0.25];
  const X = Float32Array.from([2, 1, 1, 3]);
  const EXPECTED = [22 / 3, -1 / 3, 1, 3];
  const GRAD_X_INPUT_ROW0 = [10, -1];

  function setDense(layer: tf.layers.Layer, w: number[][], b: number[]): void {
    const k = tf.tensor2d(w);
    const bb = tf.tensor1d(b);
    layer.setWeights([k, bb]);
    k.dispose();
    bb.dispose();
  }

  async function explainRaw(model: tf.LayersModel | TargetModel): Promise<Float32Array> {
    const tm = model instanceof TargetModel ? model : new TargetModel(model);
    const task = makeTask(tm, datasetOf(X, 2, 2, 1), { output: 'raw' });
    try {
      expect(deeplift.applicable(task)).toBeNull();
      const before = tf.memory().numTensors;
      const s = await deeplift.explain(task, batchOf(X, 2), new Int32Array(2), deeplift.defaults, seeder);
      expect(tf.memory().numTensors).toBe(before);
      return s;
    } finally {
      tm.dispose();
    }
  }

  function expectHandNumbers(s: Float32Array): void {
    for (let i = 0; i < 4; i++) expect(Math.abs(s[i] - EXPECTED[i])).toBeLessThan(1e-5);
    // Rescale differs from gradient × input where unit 1 crosses zero
    expect(Math.abs(s[0] - GRAD_X_INPUT_ROW0[0])).toBeGreaterThan(2);
  }

  it('tf.sequential (inputShape on the first Dense)', async () => {
    const m = tf.sequential();
    m.add(tf.layers.dense({ inputShape: [2], units: 2, activation: 'relu' }));
    m.add(tf.layers.dense({ units: 1, activation: 'linear' }));
    setDense(m.layers[0], W1, B1);
    setDense(m.layers[1], W2, B2);
    expectHandNumbers(await explainRaw(m));
  });

  it('tf.sequential with an explicit InputLayer (and a Dropout)', async () => {
    const m = tf.sequential();
    m.add(tf.layers.inputLayer({ inputShape: [2] }));
    m.add(tf.layers.dense({ units: 2, activation: 'relu' }));
    m.add(tf.layers.dropout({ rate: 0.5 }));
    m.add(tf.layers.dense({ units: 1 }));
    expect(m.layers[0].getClassName()).toBe('InputLayer'); // the layer that used to be refused
    setDense(m.layers[1], W1, B1);
    setDense(m.layers[3], W2, B2);
    expectHandNumbers(await explainRaw(m));
  });

  it('a single-chain functional model gives the same numbers', async () => {
    const input = tf.input({ shape: [2] });
    const hidden = tf.layers.dense({ units: 2, activation: 'relu' });
    const out = tf.layers.dense({ units: 1 });
    const model = tf.model({ inputs: input, outputs: out.apply(hidden.apply(input)) as tf.SymbolicTensor });
    expect(model.layers[0].getClassName()).toBe('InputLayer');
    setDense(hidden, W1, B1);
    setDense(out, W2, B2);
    expectHandNumbers(await explainRaw(model));
  });

  it('a linear Dense followed by an Activation(relu) layer is the same as a relu Dense', async () => {
    const m = tf.sequential();
    m.add(tf.layers.dense({ inputShape: [2], units: 2 }));
    m.add(tf.layers.activation({ activation: 'relu' }));
    m.add(tf.layers.dense({ units: 1 }));
    setDense(m.layers[0], W1, B1);
    setDense(m.layers[2], W2, B2);
    expectHandNumbers(await explainRaw(m));
  });

  it('on a feature space grouping both inputs into one feature, the score is the row sum: 22/3 − 1/3 = 7 and 1 + 3 = 4', async () => {
    const m = tf.sequential();
    m.add(tf.layers.dense({ inputShape: [2], units: 2, activation: 'relu' }));
    m.add(tf.layers.dense({ units: 1 }));
    setDense(m.layers[0], W1, B1);
    setDense(m.layers[1], W2, B2);
    const task = makeTask(new TargetModel(m), datasetOf(X, 2, 2, 1), { output: 'raw', space: new GroupedFeatureSpace(2, 1, X, 2) });
    try {
      const s = await deeplift.explain(task, batchOf(X, 2), new Int32Array(2), deeplift.defaults, seeder);
      expect(s.length).toBe(2);
      expect(Math.abs(s[0] - 7)).toBeLessThan(1e-5);
      expect(Math.abs(s[1] - 4)).toBeLessThan(1e-5);
    } finally {
      task.model.dispose();
    }
  });

  it('a Keras-layout model.json whose layers[0] is an InputLayer (tests/fixtures/models/keras-mlp-inputlayer) gives the same numbers', async () => {
    const dir = join(FIXTURE_DIR, 'keras-mlp-inputlayer');
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(json.modelTopology.model_config.config.layers[0].class_name).toBe('InputLayer');
    const bin = readFileSync(join(dir, 'group1-shard1of1.bin'));
    const model = await loadModelFromFiles(json, new Map([['group1-shard1of1.bin', bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer]]), 'keras-mlp-inputlayer/model.json');
    expectHandNumbers(await explainRaw(model));
  });
});

describe('deeplift with a sigmoid last layer: summation to delta', () => {
  const n = 5;
  const nRows = 6;
  const x = randomRows(nRows, n, 'sigmoid', -2, 2);
  function sigmoidModel(nOut: number, seed: number): tf.Sequential {
    const m = tf.sequential();
    m.add(tf.layers.inputLayer({ inputShape: [n] }));
    m.add(tf.layers.dense({ units: 6, activation: 'relu', kernelInitializer: tf.initializers.glorotNormal({ seed }), biasInitializer: tf.initializers.randomNormal({ seed: seed + 1, stddev: 0.3 }) }));
    m.add(tf.layers.dense({ units: nOut, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 2 }) }));
    return m;
  }
  it.each<OutputMode>(['probability', 'logit', 'raw'])('one sigmoid unit, output %s', async (output) => {
    const task = makeTask(new TargetModel(sigmoidModel(1, 11)), datasetOf(x, nRows, n, 2), { output });
    try {
      expect(task.model.head).toBe('sigmoid');
      const t = Int32Array.from({ length: nRows }, (_, r) => (output === 'raw' ? 0 : r % 2));
      expect(await checkSummation(task, x, nRows, t)).toBeGreaterThan(0.02);
    } finally {
      task.model.dispose();
    }
  });
  it.each<OutputMode>(['probability', 'logit', 'raw'])('three sigmoid units normalised, output %s', async (output) => {
    const task = makeTask(new TargetModel(sigmoidModel(3, 21)), datasetOf(x, nRows, n, 3), { output });
    try {
      const t = Int32Array.from({ length: nRows }, (_, r) => r % 3);
      expect(await checkSummation(task, x, nRows, t)).toBeGreaterThan(0.02);
    } finally {
      task.model.dispose();
    }
  });
});
