/**
 * The wasm Conv2D filter gradient (convGradient.ts) equals tfjs's own Conv2DBackpropFilter on the
 * cpu backend, for strides 1 and 2 and 'same', 'valid' and explicit padding; with it installed a
 * small CNN's weights train on wasm (they did not: "Kernel 'Conv2DBackpropFilter' not registered").
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ensureConvFilterGradient } from './convGradient';
import { randomRows, useBackend } from '../../../tests/helpers/models';

type Case = { shape: [number, number, number, number]; filter: [number, number, number, number]; strides: number | [number, number]; pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]] };
const CASES: Case[] = [
  { shape: [2, 6, 5, 2], filter: [3, 3, 2, 4], strides: 1, pad: 'same' },
  { shape: [2, 7, 6, 1], filter: [3, 2, 1, 3], strides: 2, pad: 'same' },
  { shape: [3, 8, 8, 2], filter: [3, 3, 2, 2], strides: [2, 1], pad: 'valid' },
  { shape: [1, 7, 7, 3], filter: [2, 2, 3, 2], strides: 3, pad: 'valid' },
  { shape: [2, 5, 5, 1], filter: [3, 3, 1, 2], strides: 2, pad: [[0, 0], [1, 0], [2, 1], [0, 0]] },
];

/** d/dW of Σ conv2d(x, W) ⊙ r, on the current backend. */
async function filterGrad(c: Case, i: number): Promise<Float32Array> {
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const x = tf.tensor4d(randomRows(1, size(c.shape), `x${i}`), c.shape);
  const w = tf.tensor4d(randomRows(1, size(c.filter), `w${i}`), c.filter);
  const y = tf.conv2d(x, w, c.strides, c.pad);
  const r = tf.tensor(randomRows(1, y.size, `r${i}`), y.shape);
  const g = tf.grad((ww: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, ww as tf.Tensor4D, c.strides, c.pad), r)))(w);
  const out = (await g.data()) as Float32Array;
  tf.dispose([x, w, y, r, g]);
  return out;
}

describe('Conv2D filter gradient on wasm', () => {
  afterAll(() => useBackend('wasm'));

  it('equals the cpu backend\'s Conv2DBackpropFilter for every stride and padding; no tensor left', async () => {
    await useBackend('cpu');
    const reference = [];
    for (let i = 0; i < CASES.length; i++) reference.push(await filterGrad(CASES[i], i));
    await useBackend('wasm');
    ensureConvFilterGradient();
    const before = tf.memory().numTensors;
    for (let i = 0; i < CASES.length; i++) {
      const got = await filterGrad(CASES[i], i);
      expect(got.length).toBe(reference[i].length);
      for (let k = 0; k < got.length; k++) expect(got[k], `case ${i} [${k}]`).toBeCloseTo(reference[i][k], 4);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a CNN LayersModel trains on wasm: one Adam step changes every conv kernel', async () => {
    await useBackend('wasm');
    ensureConvFilterGradient();
    const m = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }), tf.layers.flatten(), tf.layers.dense({ units: 2, activation: 'softmax' })] });
    const opt = tf.train.adam(0.01);
    try {
      const k0 = (await m.layers[0].getWeights()[0].data()).slice();
      const x = tf.tensor4d(randomRows(4, 36, 'cnn'), [4, 6, 6, 1]);
      const y = tf.oneHot(tf.tensor1d([0, 1, 1, 0], 'int32'), 2);
      const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, m.apply(x) as tf.Tensor) as tf.Scalar, true)!;
      expect(Number.isFinite((await loss.data())[0])).toBe(true);
      const k1 = await m.layers[0].getWeights()[0].data();
      // Adam's first step moves every weight with a non-zero gradient by about the learning rate
      let moved = 0;
      for (let i = 0; i < k0.length; i++) if (Math.abs(k1[i] - k0[i]) > 1e-3) moved++;
      expect(moved).toBeGreaterThan(k0.length / 2);
      tf.dispose([x, y, loss]);
    } finally {
      opt.dispose();
      m.dispose();
    }
  });
});
