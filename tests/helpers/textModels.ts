/**
 * Small text models and tasks for the text tests: a bag-of-embeddings classifier (Embedding →
 * GlobalAveragePooling1D → Dense, linear head) whose output is additive over positions, so IG and
 * exact Shapley values have closed forms per token; and a convolutional one (Embedding → Conv1D →
 * GlobalMaxPooling1D → Dense softmax) for split-reproduction checks.
 */
import * as tf from '@tensorflow/tfjs';
import { TargetModel } from '../../src/core/task/model';
import { makeTask, type Batch, type Task } from '../../src/core/task/task';
import { TextFeatureSpace } from '../../src/core/task/textSpace';
import type { Dataset } from '../../src/core/data/csv';
import type { OutputMode } from '../../src/core/task/model';

/** Deterministic weights: a smooth function of the index (no PRNG needed). */
function fill(n: number, salt: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(1.7 * i + salt) * 0.8 + 0.1 * Math.cos(0.3 * i * salt));
}

export function bagOfEmbeddings(V: number, D: number, L: number, C: number): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.embedding({ inputDim: V, outputDim: D, inputLength: L, inputShape: [L] }));
  m.add(tf.layers.globalAveragePooling1d());
  m.add(tf.layers.dense({ units: C }));
  m.setWeights([tf.tensor2d(fill(V * D, 1), [V, D]), tf.tensor2d(fill(D * C, 2), [D, C]), tf.tensor1d(fill(C, 3))]);
  return m;
}

export function convText(V: number, D: number, L: number, C: number): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.embedding({ inputDim: V, outputDim: D, inputLength: L, inputShape: [L] }));
  m.add(tf.layers.conv1d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' }));
  m.add(tf.layers.globalMaxPooling1d());
  m.add(tf.layers.dense({ units: C, activation: 'softmax' }));
  const ws = m.getWeights();
  m.setWeights(ws.map((w, i) => tf.tensor(fill(w.size, 5 + i), w.shape)));
  return m;
}

/** Rows of token ids (each list right-padded with `pad` to L) as a text task over `model`. */
export function textTask(model: tf.LayersModel, V: number, L: number, rows: number[][], opts: { pad?: number; unk?: number; removal?: number; output?: OutputMode } = {}): { task: Task; batch: Batch } {
  const pad = opts.pad ?? 0;
  const unk = opts.unk ?? 1;
  const x = new Float32Array(rows.length * L).fill(pad);
  rows.forEach((r, i) => r.forEach((id, t) => (x[i * L + t] = id)));
  const data: Dataset = {
    source: 'rows',
    featureNames: Array.from({ length: L }, (_, t) => `token ${t}`),
    labelName: 'label',
    classNames: [],
    x,
    labels: new Int32Array(rows.length),
    nRows: rows.length,
    nFeatures: L,
  };
  const space = new TextFeatureSpace({ length: L, vocabSize: V, pad, unk, removal: opts.removal }, x, rows.length);
  const task = makeTask(new TargetModel(model), data, { space, output: opts.output ?? 'raw' });
  return { task, batch: { x, nRows: rows.length, rowIndex: Int32Array.from(rows, (_, i) => i) } };
}
