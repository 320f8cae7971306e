/**
 * The explainer's text tokens ('token-id'): its own embedding of token ids plus position, the
 * lookup's gradient (scatter-add, for the wasm backend) equal to tf.gather's, padding given no mass,
 * the config checks, save/load, and training on a text task through the job pipeline.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Explainer, embedLookup, loadExplainer, type ExplainerConfig } from './model';
import { tokenSpecFor, validateTokens } from './tokens';
import { TextFeatureSpace } from '../task/textSpace';
import { useBackend } from '../../../tests/helpers/models';

const L = 5;
const V = 7;
const config = (over: Partial<ExplainerConfig> = {}): ExplainerConfig => ({
  nFeatures: L,
  dModel: 8,
  nHeads: 2,
  nLayers: 1,
  dFF: 16,
  dropout: 0,
  seed: 3,
  tokens: { kind: 'token-id', vocabSize: V, pad: 0 },
  inputMean: new Array(L).fill(0),
  inputStd: new Array(L).fill(1),
  ...over,
});

beforeAll(async () => {
  await useBackend('cpu');
});
afterAll(async () => {
  await useBackend('wasm');
});

describe('token-id tokens', () => {
  it('the text space asks for them', () => {
    const space = new TextFeatureSpace({ length: L, vocabSize: V, pad: 0, unk: 1 }, new Float32Array(L).fill(2), 1);
    expect(tokenSpecFor(space)).toEqual({ kind: 'token-id', vocabSize: V, pad: 0 });
    expect(() => validateTokens({ kind: 'token-id', vocabSize: 1, pad: 0 }, L)).toThrow(/vocabSize = 1 is not an integer ≥ 2/);
    expect(() => validateTokens({ kind: 'token-id', vocabSize: V, pad: V }, L)).toThrow(/pad = 7 is not a token id \(0..6\)/);
  });

  it('the lookup equals tf.gather and its gradient (scatter-add over repeated ids) equals tf.gather\'s', async () => {
    const table = tf.tensor2d(Float32Array.from({ length: V * 3 }, (_, i) => Math.sin(i)), [V, 3]);
    const ids = tf.tensor2d([3, 1, 3, 0, 6, 3], [2, 3], 'int32');
    const weight = tf.tensor3d(Float32Array.from({ length: 18 }, (_, i) => Math.cos(i)), [2, 3, 3]);
    const f = (lookup: (t: tf.Tensor2D) => tf.Tensor) => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(lookup(t as tf.Tensor2D), weight)))(table);
    const mine = f((t) => embedLookup(t, ids));
    const ref = f((t) => tf.reshape(tf.gather(t, tf.reshape(ids, [6])), [2, 3, 3]));
    expect(Array.from(await mine.data()).map((v) => +v.toFixed(6))).toEqual(Array.from(await ref.data()).map((v) => +v.toFixed(6)));
    const v1 = embedLookup(table, ids);
    expect(Array.from(await v1.data())).toEqual(Array.from(await tf.gather(table, tf.reshape(ids, [6])).data()));
    tf.dispose([table, ids, weight, mine, ref, v1]);
  });

  it('gives padding exactly 0 and saves and loads', async () => {
    const ex = new Explainer(config());
    const x = Float32Array.from([2, 3, 4, 0, 0, 6, 5, 1, 2, 0]);
    const s = await ex.explain(x, 2);
    expect(s[3]).toBe(0);
    expect(s[4]).toBe(0);
    expect(s[9]).toBe(0);
    for (const i of [0, 1, 2, 5, 6, 7, 8]) expect(s[i]).toBeGreaterThan(0);
    // the tokens are the ids: the same id at the same position gives the same token, another id another
    const { modelJson, weights } = await ex.serialize();
    const back = loadExplainer(JSON.parse(JSON.stringify(modelJson)), weights);
    expect(Array.from(await back.explain(x, 2))).toEqual(Array.from(s));
    expect(back.config.tokens).toEqual({ kind: 'token-id', vocabSize: V, pad: 0 });
    ex.dispose();
    back.dispose();
  });

  it('trains on wasm (the lookup has a gradient there) without leaving tensors', async () => {
    await useBackend('wasm');
    const ex = new Explainer(config());
    const before = tf.memory().numTensors;
    const x = tf.tensor2d([2, 3, 4, 0, 0, 6, 5, 1, 2, 0], [2, L]);
    const target = tf.tensor2d([1, 0, 0.5, 0, 0, 0.2, 0.9, 0, 1, 0], [2, L]);
    const opt = tf.train.adam(0.05);
    const losses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const l = opt.minimize(() => tf.mean(tf.square(tf.sub(ex.apply(x as tf.Tensor2D), target))) as tf.Scalar, true, ex.trainableVariables)!;
      losses.push((await l.data())[0]);
      l.dispose();
    }
    expect(losses[29]).toBeLessThan(losses[0] / 4);
    opt.dispose();
    tf.dispose([x, target]);
    expect(tf.memory().numTensors).toBe(before); // the optimizer (and its moments) disposed
    ex.dispose();
    await useBackend('cpu');
  });
});
