/**
 * Small target models for tests, built in memory with known weights, wrapped as Tasks.
 * Each returns a Task whose model must be disposed by the caller (task.model.dispose()).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { Dataset } from '../../src/core/data/csv';
import { TargetModel, type OutputMode } from '../../src/core/task/model';
import { makeTask, type Batch, type Task } from '../../src/core/task/task';
import type { BaselineKind } from '../../src/core/task/featureSpace';
import { makeRng } from '../../src/core/rng';

export async function useBackend(name: 'wasm' | 'cpu' = 'wasm'): Promise<void> {
  if (tf.getBackend() !== name) {
    await tf.setBackend(name);
    await tf.ready();
  }
}

export function datasetOf(x: Float32Array, nRows: number, nFeatures: number, nClasses = 2): Dataset {
  return {
    source: 'test.csv',
    featureNames: Array.from({ length: nFeatures }, (_, i) => `f${i}`),
    labelName: 'y',
    classNames: Array.from({ length: nClasses }, (_, i) => String(i)),
    x,
    labels: new Int32Array(nRows),
    nRows,
    nFeatures,
  };
}

/** Uniform random rows in [lo, hi), seeded. */
export function randomRows(nRows: number, nFeatures: number, seed = 'rows', lo = -1, hi = 1): Float32Array {
  const rng = makeRng(seed);
  return Float32Array.from({ length: nRows * nFeatures }, () => lo + (hi - lo) * rng.uniform());
}

export function batchOf(x: Float32Array, nRows: number, firstRow = 0): Batch {
  return { x, nRows, rowIndex: Int32Array.from({ length: nRows }, (_, i) => firstRow + i) };
}

/** g(x) = W x + b as a Dense layer with linear activation: w is [nOut][nFeatures]. */
export function linearModel(w: number[][], b: number[]): tf.LayersModel {
  const nOut = w.length;
  const n = w[0].length;
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [n], units: nOut, activation: 'linear' }));
  const kernel = tf.tensor2d(Array.from({ length: n }, (_, i) => w.map((row) => row[i]))); // [n, nOut]
  const bias = tf.tensor1d(b);
  m.layers[0].setWeights([kernel, bias]);
  kernel.dispose();
  bias.dispose();
  return m;
}

/** Additive task: one raw output g(x) = w·x + b, `output: raw`. */
export function additiveTask(w: number[], b: number, x: Float32Array, nRows: number, baseline: BaselineKind = 'zero'): Task {
  const model = new TargetModel(linearModel([w], [b]));
  return makeTask(model, datasetOf(x, nRows, w.length, 1), { output: 'raw', baseline });
}

/**
 * A two-class logistic model, p₁ = σ(w·x + b) (softmax over the logits ±(w·x + b)/2), `output:
 * probability`: with large weights its output is close to a threshold of w·x, a game with strong
 * interactions of every order (so Banzhaf and Shapley values differ).
 */
export function logisticTask(w: number[], b: number, x: Float32Array, nRows: number): Task {
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [w.length], units: 2, activation: 'softmax' }));
  const kernel = tf.tensor2d(w.map((v) => [-v / 2, v / 2])); // [n, 2]
  const bias = tf.tensor1d([-b / 2, b / 2]);
  m.layers[0].setWeights([kernel, bias]);
  kernel.dispose();
  bias.dispose();
  return makeTask(new TargetModel(m), datasetOf(x, nRows, w.length, 2), { output: 'probability' });
}

/** A model whose every output is constant (zero weights; bias b per class). */
export function constantTask(nFeatures: number, b: number[], x: Float32Array, nRows: number, output: OutputMode = 'probability'): Task {
  const w = b.map(() => new Array(nFeatures).fill(0));
  const model = new TargetModel(linearModel(w, b));
  return makeTask(model, datasetOf(x, nRows, nFeatures, b.length), { output });
}

/** A seeded smooth MLP classifier (tanh hidden layer, softmax head). */
export function mlpTask(nFeatures: number, nClasses: number, x: Float32Array, nRows: number, seed = 1, hidden = 16, output: OutputMode = 'probability', baseline: BaselineKind = 'zero'): Task {
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [nFeatures], units: hidden, activation: 'tanh', kernelInitializer: tf.initializers.glorotNormal({ seed }), biasInitializer: tf.initializers.randomNormal({ seed: seed + 1, stddev: 0.3 }) }));
  m.add(tf.layers.dense({ units: nClasses, activation: 'softmax', kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 2 }) }));
  return makeTask(new TargetModel(m), datasetOf(x, nRows, nFeatures, nClasses), { output, baseline });
}

/** A seeded ReLU MLP (Sequential of Dense layers; DeepLIFT-compatible). */
export function reluMlpTask(nFeatures: number, nClasses: number, x: Float32Array, nRows: number, seed = 1, hidden = 16): Task {
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [nFeatures], units: hidden, activation: 'relu', kernelInitializer: tf.initializers.glorotNormal({ seed }), biasInitializer: tf.initializers.randomNormal({ seed: seed + 1, stddev: 0.3 }) }));
  m.add(tf.layers.dense({ units: hidden, activation: 'relu', kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 2 }) }));
  m.add(tf.layers.dense({ units: nClasses, activation: 'softmax', kernelInitializer: tf.initializers.glorotNormal({ seed: seed + 3 }) }));
  return makeTask(new TargetModel(m), datasetOf(x, nRows, nFeatures, nClasses), {});
}
