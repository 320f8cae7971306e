import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ATTRIBUTION_METHODS, getMethod } from '../attribution/registry';
import { Seeder } from '../rng';
import { scoreExplanations } from '../metrics/evaluate';
import { METRIC_IDS } from '../metrics/types';
import { TextFeatureSpace } from './textSpace';
import { embeddedView, embedRows, firstEmbedding } from './embedding';
import { TargetModel } from './model';
import { rowFeatureCounts } from './ragged';
import { runPriors } from '../supervision/supervision';
import { bagOfEmbeddings, convText, textTask } from '../../../tests/helpers/textModels';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const V = 12;
const D = 4;
const L = 8;
const ROWS = [
  [3, 4, 5],
  [6, 7, 8, 9, 10, 2],
  [11, 3, 1, 5, 9, 2, 4, 6],
];

describe('TextFeatureSpace', () => {
  const space = new TextFeatureSpace({ length: 6, vocabSize: 10, pad: 0, unk: 1 }, Float32Array.from([5, 6, 7, 0, 0, 0]), 1);
  const x = [5, 6, 7, 8, 0, 0];
  it('counts the real positions of a row (after its last non-pad id)', () => {
    expect(space.rowFeatures(x)).toBe(4);
    expect(space.rowFeatures([0, 0, 0, 0, 0, 0])).toBe(0);
    expect(space.rowFeatures([9, 9, 9, 9, 9, 9])).toBe(6);
    expect(space.maxRowFeatures).toBe(3);
  });
  it('removal writes the pad id at exactly the chosen positions and never at padded ones', () => {
    const out = new Float32Array(12).fill(-1);
    space.writeRemoval(out, 1, x, space.baseline('zero'), [1, 3, 4, 5]);
    expect(Array.from(out)).toEqual([-1, -1, -1, -1, -1, -1, 5, 0, 7, 0, 0, 0]);
    const masked = new Float32Array(6);
    space.writeMasked(masked, 0, x, space.baseline('zero'), [1, 0, 0, 1, 1, 1]);
    expect(Array.from(masked)).toEqual([0, 6, 7, 0, 0, 0]);
  });
  it('insertion starts from the all-pad row and puts back the chosen positions', () => {
    const out = new Float32Array(6).fill(-1);
    space.writeInsertion(out, 0, x, space.baseline('zero'), [2, 5]);
    expect(Array.from(out)).toEqual([0, 0, 7, 0, 0, 0]);
  });
  it('with a mask token, removal writes it at the chosen real positions and padding stays pad', () => {
    const m = new TextFeatureSpace({ length: 6, vocabSize: 10, pad: 0, unk: 1, removal: 9 }, Float32Array.from(x), 1);
    const out = new Float32Array(6);
    m.writeRemoval(out, 0, x, m.baseline('zero'), [0, 2, 5]);
    expect(Array.from(out)).toEqual([9, 6, 9, 8, 0, 0]);
    m.writeInsertion(out, 0, x, m.baseline('zero'), [1]);
    expect(Array.from(out)).toEqual([9, 6, 9, 9, 0, 0]);
  });
  it('has no mean baseline, and its noise draws ordinary tokens only', () => {
    expect(() => space.baseline('mean')).toThrow(/no mean baseline/);
    const rng = new Seeder(1).rng('t', 0);
    const b = space.noiseBaseline(rng);
    expect(Array.from(b).every((id) => id >= 2 && id < 10 && Number.isInteger(id))).toBe(true);
  });
});

describe('gradients with respect to the embedded tokens', () => {
  it('the model split at its Embedding reproduces the model (bag of embeddings, Conv1D, functional)', async () => {
    const inp = tf.input({ shape: [L] });
    const e = tf.layers.embedding({ inputDim: V, outputDim: D }).apply(inp) as tf.SymbolicTensor;
    const a = tf.layers.globalAveragePooling1d().apply(e) as tf.SymbolicTensor;
    const b = tf.layers.globalMaxPooling1d().apply(e) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 3, activation: 'softmax' }).apply(tf.layers.concatenate().apply([a, b])) as tf.SymbolicTensor;
    const functional = tf.model({ inputs: inp, outputs: out });
    for (const m of [bagOfEmbeddings(V, D, L, 2), convText(V, D, L, 2), functional]) {
      const { task, batch } = textTask(m, V, L, ROWS, { output: 'probability' });
      const view = await embeddedView(task.model, L, 0);
      const direct = await task.model.predict(batch.x, batch.nRows, 'probability');
      const split = await view.model.predict(embedRows(view, batch.x, batch.nRows), batch.nRows, 'probability');
      for (let i = 0; i < direct.length; i++) expect(split[i]).toBeCloseTo(direct[i], 6);
      // nothing was added to the model's graph: each layer keeps its one inbound node (layer.output stays defined)
      for (const l of m.layers) expect(l.inboundNodes.length, l.name).toBe(1);
      m.dispose();
    }
  });

  it('a model whose token-id input is int32 (a Keras export) loads and is fed float32 ids', async () => {
    const inp = tf.input({ shape: [L], dtype: 'int32' });
    const e = tf.layers.embedding({ inputDim: V, outputDim: D }).apply(inp) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 2, activation: 'softmax' }).apply(tf.layers.globalAveragePooling1d().apply(e)) as tf.SymbolicTensor;
    const m = tf.model({ inputs: inp, outputs: out });
    const { task, batch } = textTask(m, V, L, ROWS, { output: 'probability' });
    const p = await task.model.predict(batch.x, batch.nRows, 'probability');
    const y = tf.tidy(() => m.predict(tf.tensor2d(batch.x, [batch.nRows, L], 'int32')) as tf.Tensor);
    const want = (await y.data()) as Float32Array;
    y.dispose();
    for (let i = 0; i < p.length; i++) expect(p[i]).toBeCloseTo(want[i], 6);
    const d = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [L] })] });
    const di = tf.input({ shape: [L], dtype: 'int32' });
    const dm = tf.model({ inputs: di, outputs: d.apply(di) as tf.SymbolicTensor });
    expect(() => new TargetModel(dm)).toThrow(/has dtype int32; float32 feature values are needed/);
    m.dispose();
    d.dispose();
  });

  it('names why a model cannot be split', () => {
    const m = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [L] })] });
    const why = firstEmbedding(new TargetModel(m));
    expect(why).toMatch(/token ids go to Dense .*one Embedding layer only/);
    const { task } = textTask(m, V, L, ROWS);
    expect(getMethod('integrated-gradients')!.applicable(task)).toMatch(/embedded tokens, but its token ids go to Dense/);
    expect(getMethod('occlusion')!.applicable(task)).toBeNull();
    m.dispose();
  });

  it('saliency is Σ_d |∂f/∂e_{t,d}| per token: on a bag of embeddings, |w_c| summed over d, divided by L', async () => {
    const m = bagOfEmbeddings(V, D, L, 2);
    const { task, batch } = textTask(m, V, L, ROWS);
    const W = (await m.layers[2].getWeights()[0].data()) as Float32Array; // [D, 2]
    const target = new Int32Array([0, 1, 0]);
    const s = await getMethod('saliency')!.explain(task, batch, target, { abs: true }, new Seeder(0));
    for (let r = 0; r < ROWS.length; r++)
      for (let t = 0; t < L; t++) {
        let want = 0;
        if (t < ROWS[r].length) for (let d = 0; d < D; d++) want += Math.abs(W[d * 2 + target[r]]) / L;
        expect(s[r * L + t]).toBeCloseTo(want, 6);
      }
    m.dispose();
  });
});

describe('closed forms on a bag-of-embeddings model with a linear head', () => {
  // f_c(x) = b_c + (1/L) Σ_t E[x_t]·w_c: additive over positions, so with removal = pad every
  // token's IG and exact Shapley value is (1/L) (E[x_t] − E[pad])·w_c, and 0 at padded positions.
  async function setup(removal?: number) {
    const m = bagOfEmbeddings(V, D, L, 2);
    const { task, batch } = textTask(m, V, L, ROWS, { removal });
    const E = (await m.layers[0].getWeights()[0].data()) as Float32Array; // [V, D]
    const W = (await m.layers[2].getWeights()[0].data()) as Float32Array; // [D, 2]
    const closed = (target: Int32Array, base: number) =>
      ROWS.map((row, r) => Array.from({ length: L }, (_, t) => (t < row.length ? Array.from({ length: D }, (_, d) => (E[row[t] * D + d] - E[base * D + d]) * W[d * 2 + target[r]]).reduce((a, b) => a + b, 0) / L : 0)));
    return { m, task, batch, closed };
  }
  const target = new Int32Array([1, 0, 1]);

  it('Integrated Gradients per token = (1/L)(E[x_t] − E[pad])·w_c (e° = the pad embedding everywhere)', async () => {
    const { m, task, batch, closed } = await setup();
    const s = await getMethod('integrated-gradients')!.explain(task, batch, target, { steps: 7, rule: 'riemann-right' }, new Seeder(0));
    const want = closed(target, 0);
    for (let r = 0; r < ROWS.length; r++) for (let t = 0; t < L; t++) expect(s[r * L + t]).toBeCloseTo(want[r][t], 6);
    const ixg = await getMethod('input-x-gradient')!.explain(task, batch, target, {}, new Seeder(0));
    for (let r = 0; r < ROWS.length; r++) for (let t = 0; t < L; t++) expect(ixg[r * L + t]).toBeCloseTo(want[r][t], 6);
    m.dispose();
  });

  it('exact Shapley values per token equal the same closed form (pad), and use the mask token when one is chosen', async () => {
    const { m, task, batch, closed } = await setup();
    const s = await getMethod('shapley-exact')!.explain(task, batch, target, {}, new Seeder(0));
    const want = closed(target, 0);
    for (let r = 0; r < ROWS.length; r++) for (let t = 0; t < L; t++) expect(s[r * L + t]).toBeCloseTo(want[r][t], 6);
    m.dispose();
    const masked = await setup(7);
    const sm = await getMethod('shapley-exact')!.explain(masked.task, masked.batch, target, {}, new Seeder(0));
    const wantM = masked.closed(target, 7);
    for (let r = 0; r < ROWS.length; r++) for (let t = 0; t < L; t++) expect(sm[r * L + t]).toBeCloseTo(wantM[r][t], 6);
    masked.m.dispose();
  });
});

describe('DeepLIFT on the embedded tokens', () => {
  it('runs on Embedding → Flatten → Dense models and sums to f(x) − f(all pad) over the real tokens', async () => {
    const m = tf.sequential();
    m.add(tf.layers.embedding({ inputDim: V, outputDim: D, inputLength: L, inputShape: [L] }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 5, activation: 'relu' }));
    m.add(tf.layers.dense({ units: 2, activation: 'softmax' }));
    m.setWeights(m.getWeights().map((w, i) => tf.tensor(Float32Array.from({ length: w.size }, (_, j) => Math.sin(3.1 * j + i)), w.shape)));
    const { task, batch } = textTask(m, V, L, ROWS, { output: 'probability' });
    const target = new Int32Array([0, 1, 0]);
    const dl = getMethod('deeplift')!;
    expect(dl.applicable(task)).toBeNull();
    const s = await dl.explain(task, batch, target, {}, new Seeder(0));
    const p = await task.model.predict(batch.x, batch.nRows, 'probability');
    const p0 = await task.model.predict(new Float32Array(L), 1, 'probability');
    for (let r = 0; r < ROWS.length; r++) {
      let sum = 0;
      for (let t = 0; t < L; t++) sum += s[r * L + t];
      expect(sum).toBeCloseTo(p[r * 2 + target[r]] - p0[target[r]], 5);
      for (let t = ROWS[r].length; t < L; t++) expect(s[r * L + t]).toBe(0);
    }
    // a Conv1D model: the reason names the layer
    const c = convText(V, D, L, 2);
    expect(dl.applicable(textTask(c, V, L, ROWS).task)).toMatch(/Conv1D/);
    m.dispose();
    c.dispose();
  });
});

describe('padded positions are not features', () => {
  it('no method gives them attribution mass; every row is explained as it would be alone', async () => {
    const m = convText(V, D, L, 2);
    const { task, batch } = textTask(m, V, L, ROWS, { output: 'probability' });
    const target = new Int32Array([0, 1, 1]);
    for (const method of ATTRIBUTION_METHODS) {
      if (method.applicable(task)) continue;
      const params = { ...method.defaults, ...(method.id === 'kernel-shap' ? { samples: 64 } : {}), ...(method.id === 'lime' ? { samples: 64 } : {}) };
      const s = await method.explain(task, batch, target, params, new Seeder(3));
      for (let r = 0; r < ROWS.length; r++) for (let t = ROWS[r].length; t < L; t++) expect(s[r * L + t], `${method.id} row ${r} position ${t}`).toBe(0);
      // the last row alone gives the same numbers (grouping by length changes nothing)
      const alone = await method.explain(task, { x: batch.x.slice(2 * L), nRows: 1, rowIndex: Int32Array.of(2) }, target.slice(2), params, new Seeder(3));
      for (let t = 0; t < L; t++) expect(alone[t], `${method.id} alone, position ${t}`).toBeCloseTo(s[2 * L + t], 5);
    }
    m.dispose();
  });

  it('sentences of one and two tokens: every method and metric runs (a metric may be undefined, NaN)', async () => {
    const m = convText(V, D, L, 2);
    const { task, batch } = textTask(m, V, L, [[5], [4, 7]], { output: 'probability' });
    const target = new Int32Array([0, 1]);
    for (const method of ATTRIBUTION_METHODS) {
      if (method.applicable(task)) continue;
      const s = await method.explain(task, batch, target, method.defaults, new Seeder(1));
      expect(s.length).toBe(2 * L);
      expect(Array.from(s).every(Number.isFinite), method.id).toBe(true);
      expect(Array.from(s.subarray(1, L)).every((v) => v === 0)).toBe(true);
      const res = await scoreExplanations(task, batch, target, [s], METRIC_IDS.map((id) => ({ id })), new Seeder(2));
      res[0].forEach((r, j) => expect(r.perSample.length, METRIC_IDS[j]).toBe(2));
    }
    m.dispose();
  });

  it('what an explanation holds at padded positions changes no score of any metric', async () => {
    const m = convText(V, D, L, 2);
    const { task, batch } = textTask(m, V, L, ROWS, { output: 'probability' });
    const target = new Int32Array([0, 1, 1]);
    const s = await getMethod('occlusion')!.explain(task, batch, target, { window: 1, stride: 1 }, new Seeder(0));
    const noisy = s.slice();
    for (let r = 0; r < ROWS.length; r++) for (let t = ROWS[r].length; t < L; t++) noisy[r * L + t] = (t % 2 ? 1 : -1) * (10 + t);
    const metrics = METRIC_IDS.map((id) => ({ id }));
    const [a, b] = await scoreExplanations(task, batch, target, [s, noisy], metrics, new Seeder(5));
    METRIC_IDS.forEach((id, j) => {
      for (let r = 0; r < ROWS.length; r++) {
        const x = a[j].perSample[r];
        const y = b[j].perSample[r];
        if (Number.isNaN(x)) expect(y, `${id} row ${r}`).toBeNaN();
        else expect(y, `${id} row ${r}`).toBe(x);
      }
      // a curve has one point per step over the row's own tokens (k = 1: T + 1 points)
      if (a[j].curves && id === 'DEL') ROWS.forEach((row, r) => expect(a[j].curves![r].length).toBe(row.length + 1));
    });
    m.dispose();
  });

  it('supervision normalises each row over its real tokens only (padding stays 0)', async () => {
    const m = bagOfEmbeddings(V, D, L, 2);
    const { task, batch } = textTask(m, V, L, ROWS);
    const counts = rowFeatureCounts(task, batch)!;
    expect(Array.from(counts)).toEqual([3, 6, 8]);
    const run = await runPriors(task, batch, new Int32Array(3), [{ id: 'feature-ablation' }], new Seeder(0));
    const z = run.explanations[0];
    for (let r = 0; r < ROWS.length; r++) {
      const real = Array.from(z.subarray(r * L, r * L + counts[r]));
      expect(Math.min(...real)).toBe(0);
      expect(Math.max(...real)).toBe(1);
      for (let t = counts[r]; t < L; t++) expect(z[r * L + t]).toBe(0);
    }
    m.dispose();
  });

  it('leaves no tensor behind (split model, gradients, metrics)', async () => {
    const m = convText(V, D, L, 2);
    const { task, batch } = textTask(m, V, L, ROWS, { output: 'probability' });
    const target = new Int32Array([0, 1, 1]);
    await getMethod('integrated-gradients')!.explain(task, batch, target, { steps: 4, rule: 'gausslegendre' }, new Seeder(0)); // builds and caches the split
    const before = tf.memory().numTensors;
    const s = await getMethod('integrated-gradients')!.explain(task, batch, target, { steps: 4, rule: 'gausslegendre' }, new Seeder(0));
    await getMethod('smoothgrad')!.explain(task, batch, target, { samples: 3, noiseLevel: 0.1, abs: false }, new Seeder(0));
    await scoreExplanations(task, batch, target, [s], [{ id: 'DEL' }, { id: 'MC' }], new Seeder(0));
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });
});
