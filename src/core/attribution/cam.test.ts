/**
 * The CNN methods (grad-cam, grad-cam-plus-plus, score-cam, guided-backprop, guided-grad-cam):
 * closed forms that can fail — Grad-CAM on conv → global average pooling → dense equals the
 * class-activation map ReLU(Σ_k w_k^c A_k) / (h·w) exactly (per pixel and per patch); Grad-CAM++
 * and Score-CAM on 2×2 images computed by hand; guided backpropagation on ReLU networks against a
 * hand computation of the guided backward pass (and unlike the plain gradient); bilinear
 * upsampling of a coarse map; applicability reasons; the layer parameter (default, by name, a
 * wrong name listing the layers); every method on the digits CNN giving [nRows, nFeatures] finite
 * values; no leaked tensors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Seeder } from '../rng';
import { TargetModel } from '../task/model';
import { makeTask, type Task } from '../task/task';
import { ImageFeatureSpace } from '../task/featureSpace';
import { resizeBilinear } from '../data/images';
import { loadTask, type LoadedTask } from '../task/load';
import { nodeTaskIO } from '../../cli/files';
import { batchOf, datasetOf, randomRows, reluMlpTask, useBackend } from '../../../tests/helpers/models';
import { getMethod } from './registry';
import { lastConvLayer, spatialLayers } from './cam';
import { UserError } from '../errors';
import { PAPER_IMAGE_METHODS, PAPER_METHODS, methodRequests, runPriors } from '../supervision/supervision';
import { checkJobForTask, jobMethodRequests, resolveJob } from '../job/schema';
import { methodRows } from '../estimate';

const CAM_IDS = ['guided-backprop', 'grad-cam', 'grad-cam-plus-plus', 'score-cam', 'guided-grad-cam'];

beforeAll(async () => {
  await useBackend('wasm');
});

/** An image task over [H, W, C] rows with the given model (output raw by default). */
function imageTask(model: tf.LayersModel, x: Float32Array, nRows: number, H: number, W: number, C: number, patch: number, nClasses: number, output: 'raw' | 'probability' = 'raw'): Task {
  const space = new ImageFeatureSpace({ height: H, width: W, channels: C }, x, nRows, { patch });
  return makeTask(new TargetModel(model), datasetOf(x, nRows, H * W * C, nClasses), { output, baseline: 'zero', space });
}

const explain = (id: string, task: Task, x: Float32Array, nRows: number, target: number[], params: Record<string, unknown> = {}) =>
  getMethod(id)!.explain(task, batchOf(x, nRows), Int32Array.from(target), { ...getMethod(id)!.defaults, ...params }, new Seeder(0));

describe('Grad-CAM on conv → global average pooling → dense: the class-activation map', () => {
  const H = 5;
  const W = 5;
  const C = 2;
  const K = 3;
  const nClasses = 2;
  const nRows = 3;
  const x = randomRows(nRows, H * W * C, 'gradcam-x', -1, 1);
  const kernel = randomRows(1, 3 * 3 * C * K, 'gradcam-kernel', -1, 1); // [3, 3, C, K]
  const bias = Float32Array.from([0.1, -0.2, 0.05]);
  const dense = randomRows(1, K * nClasses, 'gradcam-dense', -1, 1); // [K, nClasses]
  let task: Task;
  let task2: Task;

  function model(): tf.LayersModel {
    const m = tf.sequential();
    m.add(tf.layers.conv2d({ inputShape: [H, W, C], filters: K, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv' }));
    m.add(tf.layers.globalAveragePooling2d({ name: 'gap' }));
    m.add(tf.layers.dense({ units: nClasses, activation: 'linear', name: 'head' }));
    tf.tidy(() => {
      m.layers[0].setWeights([tf.tensor4d(kernel, [3, 3, C, K]), tf.tensor1d(bias)]);
      m.layers[2].setWeights([tf.tensor2d(dense, [K, nClasses]), tf.tensor1d([0.3, -0.1])]);
    });
    return m;
  }

  /** A = ReLU(conv(x) + b) by hand (zero padding), [H, W, K] of row r. */
  function activations(r: number): Float64Array {
    const A = new Float64Array(H * W * K);
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++)
        for (let k = 0; k < K; k++) {
          let s = bias[k];
          for (let di = -1; di <= 1; di++)
            for (let dj = -1; dj <= 1; dj++) {
              const ii = i + di;
              const jj = j + dj;
              if (ii < 0 || jj < 0 || ii >= H || jj >= W) continue;
              for (let c = 0; c < C; c++) s += x[r * H * W * C + (ii * W + jj) * C + c] * kernel[(((di + 1) * 3 + (dj + 1)) * C + c) * K + k];
            }
          A[(i * W + j) * K + k] = Math.max(0, s);
        }
    return A;
  }

  /** ReLU(Σ_k w_k^c A_k) / (H·W) per pixel of row r. */
  function cam(r: number, c: number): Float64Array {
    const A = activations(r);
    return Float64Array.from({ length: H * W }, (_, p) => {
      let s = 0;
      for (let k = 0; k < K; k++) s += dense[k * nClasses + c] * A[p * K + k];
      return Math.max(0, s) / (H * W);
    });
  }

  beforeAll(() => {
    task = imageTask(model(), x, nRows, H, W, C, 1, nClasses);
    task2 = imageTask(model(), x, nRows, H, W, C, 2, nClasses);
  });
  afterAll(() => {
    task.model.dispose();
    task2.model.dispose();
  });

  it('per pixel (patch 1): ReLU(Σ_k w_k^c A_k) / (h·w) for each row and its target class', async () => {
    const target = [0, 1, 1];
    const s = await explain('grad-cam', task, x, nRows, target);
    expect(s.length).toBe(nRows * H * W);
    let positive = 0;
    for (let r = 0; r < nRows; r++) {
      const want = cam(r, target[r]);
      for (let p = 0; p < H * W; p++) {
        expect(s[r * H * W + p]).toBeCloseTo(want[p], 6);
        if (want[p] > 0) positive++;
      }
    }
    expect(positive).toBeGreaterThan(5); // the check is not vacuous
  });

  it('per patch (patch 2, edge patches): the sums of that map over each patch\'s pixels', async () => {
    const target = [1, 0, 1];
    const s = await explain('grad-cam', task2, x, nRows, target);
    const space = task2.space as ImageFeatureSpace;
    expect(space.nFeatures).toBe(9);
    for (let r = 0; r < nRows; r++) {
      const want = new Float64Array(space.nFeatures);
      const m = cam(r, target[r]);
      for (let p = 0; p < H * W; p++) want[space.patchOf[p * C]] += m[p];
      for (let f = 0; f < space.nFeatures; f++) expect(s[r * space.nFeatures + f]).toBeCloseTo(want[f], 6);
    }
  });

  it('relu: false keeps the negative part: Σ_k w_k^c A_k / (h·w)', async () => {
    const s = await explain('grad-cam', task, x, nRows, [1, 1, 1], { relu: false });
    const A = activations(0);
    let negative = 0;
    for (let p = 0; p < H * W; p++) {
      let v = 0;
      for (let k = 0; k < K; k++) v += dense[k * nClasses + 1] * A[p * K + k];
      expect(s[p]).toBeCloseTo(v / (H * W), 6);
      if (v < 0) negative++;
    }
    expect(negative).toBeGreaterThan(0);
  });

  it('the layer parameter: default = the last conv layer; a wrong name lists the layers; no tensor leaks', async () => {
    const model = task.model.model as tf.LayersModel;
    expect(lastConvLayer(model)!.name).toBe('conv');
    expect(spatialLayers(model).map((l) => l.name)).toEqual(['conv']);
    const before = tf.memory().numTensors;
    const a = await explain('grad-cam', task, x, nRows, [0, 0, 0]);
    const b = await explain('grad-cam', task, x, nRows, [0, 0, 0], { layer: 'conv' });
    expect(Array.from(b)).toEqual(Array.from(a));
    for (const id of CAM_IDS) await explain(id, task, x, nRows, [0, 1, 0]);
    expect(tf.memory().numTensors).toBe(before);
    await expect(explain('grad-cam', task, x, nRows, [0, 0, 0], { layer: 'head' })).rejects.toThrow(/layer "head" \(Dense\) has the output shape \[batch, 2\].*/);
    await expect(explain('score-cam', task, x, nRows, [0, 0, 0], { layer: 'nope' })).rejects.toThrow(UserError);
    try {
      getMethod('grad-cam-plus-plus')!.validate!(task, { layer: 'nope' });
      expect.unreachable();
    } catch (e) {
      expect((e as UserError).what).toMatch(/no layer "nope"/);
      expect((e as UserError).todo).toMatch(/Set layer to one of: conv/);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('2×2 images by hand: Grad-CAM, Grad-CAM++ and Score-CAM', () => {
  const x = Float32Array.from([1, 2, 3, 4]); // one 2×2 gray image
  const v = [1, -1, 0.5, 2]; // dense weights over the flattened conv output
  let linearTask: Task;
  let scoreTask: Task;

  beforeAll(() => {
    // conv 1×1 (weight 1, bias 0, linear): A = x; flatten; dense(1): f = Σ v_ij A_ij, so ∂f/∂A_ij = v_ij
    const m = tf.sequential();
    m.add(tf.layers.conv2d({ inputShape: [2, 2, 1], filters: 1, kernelSize: 1, activation: 'linear', name: 'conv' }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 1, activation: 'linear' }));
    tf.tidy(() => {
      m.layers[0].setWeights([tf.ones([1, 1, 1, 1]), tf.zeros([1])]);
      m.layers[2].setWeights([tf.tensor2d(v, [4, 1]), tf.zeros([1])]);
    });
    linearTask = imageTask(m, x, 1, 2, 2, 1, 1, 1);
    // two channels: A_0 = x, A_1 = 5 − x; the output reads channel 0 only: f = 0.1 Σ A_0
    const s = tf.sequential();
    s.add(tf.layers.conv2d({ inputShape: [2, 2, 1], filters: 2, kernelSize: 1, activation: 'linear', name: 'conv' }));
    s.add(tf.layers.flatten());
    s.add(tf.layers.dense({ units: 1, activation: 'linear' }));
    tf.tidy(() => {
      s.layers[0].setWeights([tf.tensor4d([1, -1], [1, 1, 1, 2]), tf.tensor1d([0, 5])]);
      s.layers[2].setWeights([tf.tensor2d([0.1, 0, 0.1, 0, 0.1, 0, 0.1, 0], [8, 1]), tf.zeros([1])]);
    });
    scoreTask = imageTask(s, x, 1, 2, 2, 1, 1, 1);
  });
  afterAll(() => {
    linearTask.model.dispose();
    scoreTask.model.dispose();
  });

  it('Grad-CAM: α = mean v = 0.625, map = ReLU(0.625 · A) = [0.625, 1.25, 1.875, 2.5]', async () => {
    const s = await explain('grad-cam', linearTask, x, 1, [0]);
    [0.625, 1.25, 1.875, 2.5].forEach((want, i) => expect(s[i]).toBeCloseTo(want, 6));
  });

  it('Grad-CAM++: S = ΣA = 10; w = Σ_{g>0} g · g²/(2g² + 10 g³) = 1/12 + 1/14 + 1/11; map = w · A', async () => {
    const s = await explain('grad-cam-plus-plus', linearTask, x, 1, [0]);
    // g = 1: 1·1/(2 + 10) = 1/12; g = −1: ReLU(g) = 0; g = 0.5: 0.5·0.25/(0.5 + 1.25) = 1/14; g = 2: 2·4/(8 + 80) = 1/11
    const w = 1 / 12 + 1 / 14 + 1 / 11;
    [1, 2, 3, 4].forEach((a, i) => expect(s[i]).toBeCloseTo(w * a, 6));
  });

  it('Score-CAM: masks (x−1)/3 and (4−x)/3; scores 0.1·Σ(x·M) = 2/3 and 1/3; α = softmax; map = α₀x + α₁(5−x)', async () => {
    const s = await explain('score-cam', scoreTask, x, 1, [0]);
    // M_0 = [0, 1/3, 2/3, 1] → x·M_0 = [0, 2/3, 2, 4], Σ = 20/3; M_1 = [1, 2/3, 1/3, 0] → x·M_1 = [1, 4/3, 1, 0], Σ = 10/3
    const a0 = Math.exp(2 / 3) / (Math.exp(2 / 3) + Math.exp(1 / 3));
    const a1 = 1 - a0;
    expect(a0).toBeCloseTo(0.58257, 5);
    [1, 2, 3, 4].forEach((xi, i) => expect(s[i]).toBeCloseTo(a0 * xi + a1 * (5 - xi), 5));
  });

  it('Score-CAM is batched: every channel of every row in one model call per chunk', async () => {
    const rows = 3;
    const xs = randomRows(rows, 4, 'score-batch', 0, 1);
    const t = imageTask(scoreTask.model.model as tf.LayersModel, xs, rows, 2, 2, 1, 1, 1);
    const passes = t.model.forwardPasses;
    await explain('score-cam', t, xs, rows, [0, 0, 0]);
    expect(t.model.forwardPasses - passes).toBe(2); // the activations, then all 3 · 2 masked inputs
  });
});

describe('guided backpropagation by hand', () => {
  /** Dense ReLU layers (no bias) then a linear output unit, on a tabular row. */
  function relu3(w1: number[][], w2: number[][], w3: number[]): Task {
    const m = tf.sequential();
    m.add(tf.layers.dense({ inputShape: [2], units: 2, activation: 'relu', useBias: false }));
    m.add(tf.layers.dense({ units: 2, activation: 'relu', useBias: false }));
    m.add(tf.layers.dense({ units: 1, activation: 'linear', useBias: false }));
    tf.tidy(() => {
      m.layers[0].setWeights([tf.tensor2d(w1)]);
      m.layers[1].setWeights([tf.tensor2d(w2)]);
      m.layers[2].setWeights([tf.tensor2d(w3, [2, 1])]);
    });
    return makeTask(new TargetModel(m), datasetOf(Float32Array.from([1, 2]), 1, 2, 1), { output: 'raw' });
  }

  it('negative gradients are zeroed at every ReLU: [0, 3] where the plain gradient is [−3, 3]', async () => {
    // x = [1, 2]; h1 = ReLU(x·I) = [1, 2]; z2 = h1·W2 = [1 − 2, −1 + 2] = [−1, 1], h2 = [0, 1]; f = h2·[2, 3] = 3
    // guided: dh2 = [2, 3] → ·[z2 > 0] = [0, 3] → dh1 = W2·[0, 3] = [−3, 3] → keep dy > 0 (and z1 > 0): [0, 3] → dx = I·[0, 3]
    const task = relu3([[1, 0], [0, 1]], [[1, -1], [-1, 1]], [2, 3]);
    try {
      const x = Float32Array.from([1, 2]);
      const g = await getMethod('guided-backprop')!.explain(task, batchOf(x, 1), Int32Array.from([0]), {}, new Seeder(0));
      expect(Array.from(g)).toEqual([0, 3]);
      const plain = await getMethod('saliency')!.explain(task, batchOf(x, 1), Int32Array.from([0]), { abs: false }, new Seeder(0));
      expect(Array.from(plain)).toEqual([-3, 3]);
    } finally {
      task.model.dispose();
    }
  });

  it('a zero at the input side through the first layer: W1 = [[1, −1], [2, 1]], W2 = I, w3 = [1, −2] gives [1, 2] (plain [3, 0])', async () => {
    // z1 = x·W1 = [1 + 4, −1 + 2] = [5, 1] > 0; h2 = h1; dh2 = [1, −2] → guided [1, 0]; dh1 = [1, 0] → dx = W1·[1, 0] = [1, 2]
    const task = relu3([[1, -1], [2, 1]], [[1, 0], [0, 1]], [1, -2]);
    try {
      const x = Float32Array.from([1, 2]);
      const g = await getMethod('guided-backprop')!.explain(task, batchOf(x, 1), Int32Array.from([0]), {}, new Seeder(0));
      expect(Array.from(g)).toEqual([1, 2]);
      const plain = await getMethod('saliency')!.explain(task, batchOf(x, 1), Int32Array.from([0]), { abs: false }, new Seeder(0));
      expect(Array.from(plain)).toEqual([3, 0]);
    } finally {
      task.model.dispose();
    }
  });

  it('leaves the model as it was (its ReLUs are restored) and leaks no tensor', async () => {
    const task = relu3([[1, 0], [0, 1]], [[1, -1], [-1, 1]], [2, 3]);
    try {
      const x = Float32Array.from([1, 2]);
      const before = tf.memory().numTensors;
      await getMethod('guided-backprop')!.explain(task, batchOf(x, 1), Int32Array.from([0]), {}, new Seeder(0));
      expect(tf.memory().numTensors).toBe(before);
      const { grad } = await task.model.gradient(x, 1, [0], 'raw');
      expect(Array.from(grad)).toEqual([-3, 3]);
    } finally {
      task.model.dispose();
    }
  });
});

describe('applicability', () => {
  it('CAM methods refuse tabular tasks and models without a conv layer, saying why; guided-backprop needs a ReLU', () => {
    const x = randomRows(4, 5, 'app');
    const mlp = reluMlpTask(5, 3, x, 4, 1);
    try {
      for (const id of ['grad-cam', 'grad-cam-plus-plus', 'score-cam', 'guided-grad-cam']) expect(getMethod(id)!.applicable(mlp)).toMatch(/image models.*tabular.*Use a gradient or perturbation method/);
      expect(getMethod('guided-backprop')!.applicable(mlp)).toBeNull();
    } finally {
      mlp.model.dispose();
    }
    const m = tf.sequential();
    m.add(tf.layers.flatten({ inputShape: [2, 2, 1] }));
    m.add(tf.layers.dense({ units: 2, activation: 'tanh' }));
    const xi = randomRows(2, 4, 'app-img', 0, 1);
    const t = imageTask(m, xi, 2, 2, 2, 1, 1, 2);
    try {
      expect(getMethod('grad-cam')!.applicable(t)).toMatch(/needs a convolutional layer.*has none \(layers: flatten.*dense/);
      expect(getMethod('guided-backprop')!.applicable(t)).toMatch(/this model has none.*Use saliency/);
    } finally {
      t.model.dispose();
    }
  });
});

describe('upsampling a coarse map', () => {
  it('a conv with stride 2 gives a 2×2 map, upsampled bilinearly to 4×4 (half-pixel centres) and summed per patch', async () => {
    const m = tf.sequential();
    m.add(tf.layers.conv2d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 2, strides: 2, activation: 'relu', name: 'down', kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }) }));
    m.add(tf.layers.globalAveragePooling2d({}));
    m.add(tf.layers.dense({ units: 1, activation: 'linear', kernelInitializer: tf.initializers.constant({ value: 1 }) }));
    const x = randomRows(1, 16, 'up', 0, 1);
    const t1 = imageTask(m, x, 1, 4, 4, 1, 1, 1);
    try {
      const s = await explain('grad-cam', t1, x, 1, [0]);
      // w^c = 1 for both channels: map = ReLU(A_0 + A_1) / 4 at 2×2, A read through the layer itself
      const A = await tf.model({ inputs: m.inputs, outputs: m.layers[0].output as tf.SymbolicTensor }).predict(tf.tensor4d(x, [1, 4, 4, 1])) as tf.Tensor;
      const a = await A.data();
      A.dispose();
      const coarse = Float32Array.from({ length: 4 }, (_, p) => Math.max(0, a[p * 2] + a[p * 2 + 1]) / 4);
      const want = resizeBilinear(coarse, 2, 2, 1, 4, 4);
      for (let i = 0; i < 16; i++) expect(s[i]).toBeCloseTo(want[i], 6);
      // bilinear, not nearest: an inner pixel mixes its neighbours
      expect(want[5]).toBeCloseTo(0.5625 * coarse[0] + 0.1875 * coarse[1] + 0.1875 * coarse[2] + 0.0625 * coarse[3], 6);
    } finally {
      t1.model.dispose();
    }
  });
});

describe('the registry contract on a small CNN (contract.test.ts runs it for the other methods on an MLP)', () => {
  const H = 6;
  const W = 6;
  const nRows = 6;
  const x = randomRows(nRows, H * W, 'cnn-contract', 0, 1);
  let task: Task;
  beforeAll(() => {
    const m = tf.sequential();
    m.add(tf.layers.conv2d({ inputShape: [H, W, 1], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotNormal({ seed: 5 }) }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.conv2d({ filters: 3, kernelSize: 2, activation: 'relu', kernelInitializer: tf.initializers.glorotNormal({ seed: 6 }), biasInitializer: tf.initializers.constant({ value: 0.05 }) }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotNormal({ seed: 7 }) }));
    task = imageTask(m, x, nRows, H, W, 1, 2, 3, 'probability');
  });
  afterAll(() => task.model.dispose());
  const rows = (a: number, b: number) => ({ x: x.slice(a * H * W, b * H * W), nRows: b - a, rowIndex: Int32Array.from({ length: b - a }, (_, i) => 30 + a + i) });
  const target = Int32Array.from({ length: nRows }, (_, r) => r % 3);

  for (const id of CAM_IDS)
    it(`${id}: shape, finite, deterministic, independent of batching, progress in rows, cancellable, no leak`, async () => {
      const m = getMethod(id)!;
      expect(m.applicable(task)).toBeNull();
      const before = tf.memory().numTensors;
      const progress: [number, number][] = [];
      const a = await m.explain(task, rows(0, nRows), target, m.defaults, new Seeder(1), (d, t) => progress.push([d, t]));
      const again = await m.explain(task, rows(0, nRows), target, m.defaults, new Seeder(1));
      const first = await m.explain(task, rows(0, 2), target.slice(0, 2), m.defaults, new Seeder(1));
      const rest = await m.explain(task, rows(2, nRows), target.slice(2), m.defaults, new Seeder(1));
      expect(tf.memory().numTensors).toBe(before);
      expect(a.length).toBe(nRows * task.nFeatures);
      expect(a.every(Number.isFinite)).toBe(true);
      expect(a.some((v) => v !== 0)).toBe(true);
      expect(Array.from(again)).toEqual(Array.from(a));
      const split = [...first, ...rest];
      for (let k = 0; k < a.length; k++) expect(split[k]).toBeCloseTo(a[k], 5);
      expect(progress[progress.length - 1]).toEqual([nRows, nRows]);
      const controller = new AbortController();
      controller.abort();
      await expect(m.explain(task, rows(0, nRows), target, m.defaults, new Seeder(1), undefined, controller.signal)).rejects.toThrow();
      expect(tf.memory().numTensors).toBe(before);
    });
  it('each method evaluates exactly the model rows the cost model (estimate.ts methodRows) counts', async () => {
    for (const id of CAM_IDS) {
      const m = getMethod(id)!;
      const before = task.model.rowsEvaluated;
      await m.explain(task, rows(0, nRows), target, m.defaults, new Seeder(1));
      expect(task.model.rowsEvaluated - before, id).toBe(nRows * methodRows(id, m.defaults, task.nFeatures, 3)); // the last conv has 3 channels
    }
  });
});

describe('the digits CNN', () => {
  let loaded: LoadedTask;
  beforeAll(async () => {
    loaded = await loadTask({ demo: 'digits', baseline: 'zero', output: 'probability', maxRows: 6 }, nodeTaskIO());
  });
  afterAll(() => loaded.task.model.dispose());

  it('every CNN method applies and returns [nRows, nFeatures] finite values, not all zero, without leaking', async () => {
    const { task, batch } = loaded;
    const p = await task.model.predict(batch.x, batch.nRows, 'probability');
    const target = Int32Array.from({ length: batch.nRows }, (_, r) => {
      let best = 0;
      for (let c = 1; c < 10; c++) if (p[r * 10 + c] > p[r * 10 + best]) best = c;
      return best;
    });
    const before = tf.memory().numTensors;
    for (const id of CAM_IDS) {
      const m = getMethod(id)!;
      expect(m.applicable(task), id).toBeNull();
      const s = await m.explain(task, batch, target, m.defaults, new Seeder(0));
      expect(s.length, id).toBe(batch.nRows * task.nFeatures);
      expect(s.every(Number.isFinite), id).toBe(true);
      expect(s.some((v) => v !== 0), id).toBe(true);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(lastConvLayer(task.model.model as tf.LayersModel)!.name).toBe('conv2');
    const first = await getMethod('grad-cam')!.explain(task, batch, target, { layer: 'conv1', relu: true }, new Seeder(0));
    expect(first.every(Number.isFinite)).toBe(true);
    expect(() => getMethod('score-cam')!.validate!(task, { layer: 'flatten' })).toThrow(/Set layer to one of: conv1, conv2, pool2/);
  });

  it('"methods": "paper" on an image task is the paper\'s image list; what does not apply is skipped with its reason; a bad layer is refused before any model call', async () => {
    const { task, batch } = loaded;
    expect(methodRequests('paper', 'image').map((m) => m.id)).toEqual(PAPER_IMAGE_METHODS);
    expect(methodRequests('paper', 'tabular').map((m) => m.id)).toEqual(PAPER_METHODS);
    expect(jobMethodRequests({ methods: 'paper', priorBudget: 'paper' }, 'image').find((m) => m.id === 'lime')!.params).toEqual({ samples: 1000 });
    const bad = resolveJob({ task: { demo: 'digits' }, methods: [{ id: 'score-cam', params: { layer: 'nope' } }] });
    const passes = task.model.forwardPasses;
    expect(() => checkJobForTask(bad, task.nFeatures, task)).toThrow(/no layer "nope"/);
    expect(task.model.forwardPasses).toBe(passes);
    const two = { x: batch.x.slice(0, 2 * task.inputSize), nRows: 2, rowIndex: batch.rowIndex.slice(0, 2) };
    const run = await runPriors(task, two, Int32Array.from([0, 1]), methodRequests('paper', 'image').map((m) => (m.id === 'lime' || m.id === 'kernel-shap' ? { id: m.id, params: { samples: 64 } } : m)), new Seeder(0));
    expect(run.methods.map((m) => m.id)).toEqual(PAPER_IMAGE_METHODS);
    const skipped = run.methods.filter((m) => !m.ran);
    expect(skipped.map((m) => m.id)).toEqual(['deeplift']);
    expect(skipped[0].reason).toMatch(/Dense/);
    for (const e of run.explanations) expect(e.every(Number.isFinite)).toBe(true);
  });
});
