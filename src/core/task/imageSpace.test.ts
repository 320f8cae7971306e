/**
 * The image patch feature space: geometry (default and edge patches), writers that change exactly
 * the chosen patches (every channel) and nothing else, aggregation that preserves totals, the
 * baselines (zero, mean, blur per row, noise), and — through a model whose input is an image
 * [H, W, C] — every registered method returning [nRows, nPatches] finite values, the additive-model
 * closed forms per patch (FC = INF = FE = 1) and a small CNN running through TargetModel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Seeder, makeRng } from '../rng';
import { TargetModel } from './model';
import { makeTask, type Task } from './task';
import { DEFAULT_MAX_PATCHES, ImageFeatureSpace, checkPatchSize, defaultPatchSize, gaussianBlur, gaussianKernel, rowBaseline, TabularFeatureSpace } from './featureSpace';
import { ATTRIBUTION_METHODS, getMethod } from '../attribution/registry';
import { scoreExplanations } from '../metrics/evaluate';
import { METRICS } from '../metrics/registry';
import { batchOf, datasetOf, randomRows, useBackend } from '../../../tests/helpers/models';

const H = 4;
const W = 4;
const C = 2;
const d = H * W * C;
const nRows = 4;
const x = randomRows(nRows, d, 'image-space', 0, 1);
const w = Array.from(randomRows(1, d, 'image-weights', -1, 1));

/** An image model g(x) = w·flatten(x) + b with input [H, W, C] (Flatten → Dense, linear). */
function additiveImageModel(): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.flatten({ inputShape: [H, W, C] }));
  m.add(tf.layers.dense({ units: 1, activation: 'linear' }));
  const kernel = tf.tensor2d(w, [d, 1]);
  const bias = tf.tensor1d([0.3]);
  m.layers[1].setWeights([kernel, bias]);
  kernel.dispose();
  bias.dispose();
  return m;
}

let task: Task;
let space: ImageFeatureSpace;

/** Σ over patch p of w_i x_i, per row: the exact patch attribution of the additive model with a zero baseline. */
function patchSums(): Float64Array {
  const n = space.nFeatures;
  const out = new Float64Array(nRows * n);
  for (let r = 0; r < nRows; r++) for (let i = 0; i < d; i++) out[r * n + space.patchOf[i]] += w[i] * x[r * d + i];
  return out;
}

beforeAll(async () => {
  await useBackend('wasm');
  space = new ImageFeatureSpace({ height: H, width: W, channels: C }, x, nRows, { patch: 2 });
  const model = new TargetModel(additiveImageModel());
  task = makeTask(model, datasetOf(x, nRows, d, 1), { output: 'raw', baseline: 'zero', space });
});
afterAll(() => task.model.dispose());

describe('patch geometry', () => {
  it('default patch sizes give at most 64 patches, dividing the image where a side does', () => {
    expect(defaultPatchSize(8, 8)).toBe(1);
    expect(defaultPatchSize(28, 28)).toBe(4);
    expect(defaultPatchSize(32, 32)).toBe(4);
    expect(defaultPatchSize(224, 224)).toBe(28);
    expect(defaultPatchSize(29, 31)).toBe(4); // no common divisor fits: edge patches
    for (const [h, wd] of [[8, 8], [28, 28], [32, 32], [224, 224], [29, 31], [5, 7]]) {
      const p = defaultPatchSize(h, wd);
      const n = Math.ceil(h / p) * Math.ceil(wd / p);
      expect(n).toBeLessThanOrEqual(DEFAULT_MAX_PATCHES);
      expect(n).toBeGreaterThanOrEqual(Math.min(16, h * wd));
    }
  });

  it('a patch that does not divide the image gives narrower edge patches, named patch r,c', () => {
    const s = new ImageFeatureSpace({ height: 5, width: 7, channels: 1 }, new Float32Array(35), 1, { patch: 3 });
    expect([s.gridRows, s.gridCols, s.nFeatures]).toEqual([2, 3, 6]);
    expect(s.featureNames).toEqual(['patch 0,0', 'patch 0,1', 'patch 0,2', 'patch 1,0', 'patch 1,1', 'patch 1,2']);
    const sizes = Array.from({ length: 6 }, (_, f) => s.patchElements(f).length);
    expect(sizes).toEqual([9, 9, 3, 6, 6, 2]); // rows 3+2, columns 3+3+1
    // every pixel belongs to exactly one patch, the one its position says
    for (let y = 0; y < 5; y++) for (let c = 0; c < 7; c++) expect(s.patchOf[y * 7 + c]).toBe(Math.floor(y / 3) * 3 + Math.floor(c / 3));
  });

  it('refuses patch sizes that are not whole pixels or leave a single patch', () => {
    expect(() => checkPatchSize(0, 8, 8)).toThrow(/not a whole number/);
    expect(() => checkPatchSize(1.5, 8, 8)).toThrow(/not a whole number/);
    expect(() => checkPatchSize(8, 8, 8)).toThrow(/one patch/);
    expect(() => new ImageFeatureSpace({ height: 8, width: 8, channels: 1 }, new Float32Array(64), 1, { patch: 9 })).toThrow(/one patch/);
  });
});

describe('writers and aggregation', () => {
  it('aggregate sums every pixel and channel of a patch: patch totals add up to the row total', () => {
    const s = new ImageFeatureSpace({ height: 7, width: 5, channels: 3 }, new Float32Array(105), 1, { patch: 3 }); // edge patches
    const vals = randomRows(3, 105, 'agg', -2, 2);
    const agg = s.aggregate(vals, 3);
    expect(agg.length).toBe(3 * s.nFeatures);
    for (let r = 0; r < 3; r++) {
      let total = 0;
      let patches = 0;
      for (let i = 0; i < 105; i++) total += vals[r * 105 + i];
      for (let f = 0; f < s.nFeatures; f++) patches += agg[r * s.nFeatures + f];
      expect(patches).toBeCloseTo(total, 4);
      for (let f = 0; f < s.nFeatures; f++) {
        let want = 0;
        for (const e of s.patchElements(f)) want += vals[r * 105 + e];
        expect(agg[r * s.nFeatures + f]).toBeCloseTo(want, 5);
      }
    }
  });

  it('removal, insertion and masks change exactly the chosen patches, all channels, and nothing else', () => {
    const s = new ImageFeatureSpace({ height: 5, width: 6, channels: 3 }, new Float32Array(90), 1, { patch: 2 }); // 3×3 grid
    const xr = Float32Array.from({ length: 90 }, (_, i) => 1000 + i);
    const base = Float32Array.from({ length: 90 }, (_, i) => -i - 1);
    const out = new Float32Array(3 * 90).fill(NaN);
    const chosen = [0, 4, 8]; // corner, centre, the (1-pixel-high) bottom-right edge patch
    s.writeRemoval(out, 0, xr, base, chosen);
    s.writeInsertion(out, 1, xr, base, chosen);
    const mask = new Float32Array(s.nFeatures);
    for (const f of chosen) mask[f] = 1;
    s.writeMasked(out, 2, xr, base, mask);
    const inChosen = (i: number) => chosen.includes(s.patchOf[i]);
    for (let i = 0; i < 90; i++) {
      expect(out[i]).toBe(inChosen(i) ? base[i] : xr[i]);
      expect(out[90 + i]).toBe(inChosen(i) ? xr[i] : base[i]);
      expect(out[180 + i]).toBe(inChosen(i) ? base[i] : xr[i]);
    }
    // all three channels of a chosen pixel, e.g. pixel (0, 1) of patch 0
    for (let c = 0; c < 3; c++) expect(out[(0 * 6 + 1) * 3 + c]).toBe(base[(0 * 6 + 1) * 3 + c]);
    expect(chosen.reduce((a, f) => a + s.patchElements(f).length, 0)).toBe(12 + 12 + 6);
  });
});

describe('baselines', () => {
  it('zero, mean per pixel and channel, noise within each value\'s reference range', () => {
    const ref = randomRows(5, 18, 'ref', 0, 1);
    const s = new ImageFeatureSpace({ height: 3, width: 3, channels: 2 }, ref, 5, { patch: 2 });
    expect(Array.from(s.baseline('zero'))).toEqual(new Array(18).fill(0));
    const mean = s.baseline('mean');
    for (let j = 0; j < 18; j++) {
      let m = 0;
      for (let r = 0; r < 5; r++) m += ref[r * 18 + j];
      expect(mean[j]).toBeCloseTo(m / 5, 6);
    }
    const noise = s.noiseBaseline(makeRng('noise'));
    for (let j = 0; j < 18; j++) {
      expect(noise[j]).toBeGreaterThanOrEqual(s.mins[j]);
      expect(noise[j]).toBeLessThanOrEqual(s.maxs[j]);
    }
  });

  it('blur is the Gaussian blur of the row itself (σ default patch/2), given per row only', () => {
    const s = new ImageFeatureSpace({ height: 6, width: 6, channels: 1 }, new Float32Array(36), 1, { patch: 2 });
    expect(s.blurSigma).toBe(1);
    expect(() => s.baseline('blur' as 'zero')).toThrow(/per row|each row/);
    // a constant image stays constant; an impulse becomes the normalised kernel's outer product
    const flat = new Float32Array(36).fill(0.7);
    for (const v of s.baselineFor(flat, 'blur')) expect(v).toBeCloseTo(0.7, 6);
    const k = gaussianKernel(0.8);
    expect(k.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const impulse = new Float32Array(11 * 11);
    impulse[5 * 11 + 5] = 1;
    const blurred = gaussianBlur(impulse, 11, 11, 1, 0.8);
    const r = (k.length - 1) / 2;
    for (let y = 0; y < 11; y++)
      for (let xx = 0; xx < 11; xx++) {
        const dy = y - 5;
        const dx = xx - 5;
        const want = Math.abs(dy) <= r && Math.abs(dx) <= r ? k[dy + r] * k[dx + r] : 0;
        expect(blurred[y * 11 + xx]).toBeCloseTo(want, 6);
      }
    expect(Array.from(gaussianBlur(impulse, 11, 11, 1, 0))).toEqual(Array.from(impulse));
    // rowBaseline: the row's blur on an image space, the task-wide vector elsewhere; blur refused on tables
    expect(Array.from(rowBaseline(s, flat, 'zero'))).toEqual(new Array(36).fill(0));
    const tab = new TabularFeatureSpace(['a', 'b'], Float32Array.of(1, 2, 3, 4), 2);
    expect(Array.from(rowBaseline(tab, [9, 9], 'mean'))).toEqual([2, 3]);
    expect(() => rowBaseline(tab, [9, 9], 'blur')).toThrow(/image tasks/);
  });
});

describe('methods and metrics over an image input [H, W, C]', () => {
  it('TargetModel reads the image input shape; flat rows are reshaped for predict and gradient', async () => {
    expect(task.model.inputShape).toEqual([H, W, C]);
    expect(task.model.inputSize).toBe(d);
    expect(task.model.nFeatures).toBe(d);
    const y = await task.model.predict(x, nRows, 'raw');
    for (let r = 0; r < nRows; r++) {
      let want = 0.3;
      for (let i = 0; i < d; i++) want += w[i] * x[r * d + i];
      expect(y[r]).toBeCloseTo(want, 4);
    }
    const g = await task.model.gradient(x, nRows, new Int32Array(nRows), 'raw');
    expect(g.grad.length).toBe(nRows * d);
    for (let r = 0; r < nRows; r++) for (let i = 0; i < d; i++) expect(g.grad[r * d + i]).toBeCloseTo(w[i], 5);
  });

  for (const m of ATTRIBUTION_METHODS)
    it(`${m.id} returns one value per patch per row, all finite`, async () => {
      const refusal = m.applicable(task);
      // the additive image model is Flatten → Dense, linear: no conv layer (CAM methods) and no ReLU (guided backprop)
      if (refusal) return expect(['shapley-exact', 'guided-backprop', 'grad-cam', 'grad-cam-plus-plus', 'score-cam', 'guided-grad-cam']).toContain(m.id);
      const s = await m.explain(task, batchOf(x, nRows), new Int32Array(nRows), m.defaults, new Seeder(0));
      expect(s.length).toBe(nRows * space.nFeatures);
      expect(s.every(Number.isFinite)).toBe(true);
    });

  const exact = ['integrated-gradients', 'input-x-gradient', 'feature-ablation', 'kernel-shap', 'shapley-exact'];
  for (const id of exact)
    it(`${id} gives the patch sums Σ w_i x_i of the additive image model`, async () => {
      const m = getMethod(id)!;
      const s = await m.explain(task, batchOf(x, nRows), new Int32Array(nRows), m.defaults, new Seeder(0));
      const want = patchSums();
      for (let i = 0; i < want.length; i++) expect(s[i]).toBeCloseTo(want[i], 4);
    });

  it('FC = INF = FE = 1 for the patch sums, and every metric gives one value per row', async () => {
    const s = Float32Array.from(patchSums());
    const res = await scoreExplanations(task, batchOf(x, nRows), new Int32Array(nRows), [s], METRICS.map((m) => ({ id: m.id })), new Seeder(0));
    METRICS.forEach((m, j) => {
      expect(res[0][j].perSample.length).toBe(nRows);
      if (['FC', 'INF', 'FE'].includes(m.id)) for (const v of res[0][j].perSample) expect(v).toBeCloseTo(1, 5);
    });
  });

  it('a small CNN (conv → ReLU → pool → GAP → softmax) runs through predict, gradients and a method', async () => {
    const cnn = tf.sequential();
    cnn.add(tf.layers.conv2d({ inputShape: [H, W, C], filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
    cnn.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    cnn.add(tf.layers.globalAveragePooling2d({}));
    cnn.add(tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }));
    const model = await TargetModel.create(cnn);
    try {
      const t = makeTask(model, datasetOf(x, nRows, d, 3), { space });
      const p = await model.predict(x, nRows, 'probability');
      for (let r = 0; r < nRows; r++) expect(p[3 * r] + p[3 * r + 1] + p[3 * r + 2]).toBeCloseTo(1, 5);
      const g = await model.gradient(x, nRows, new Int32Array(nRows), 'probability');
      expect(g.grad.length).toBe(nRows * d);
      expect(g.grad.some((v) => v !== 0)).toBe(true);
      const s = await getMethod('integrated-gradients')!.explain(t, batchOf(x, nRows), new Int32Array(nRows), getMethod('integrated-gradients')!.defaults, new Seeder(0));
      expect(s.length).toBe(nRows * space.nFeatures);
      expect(getMethod('deeplift')!.applicable(t)).toMatch(/Conv2D/);
    } finally {
      model.dispose();
    }
  });
});
