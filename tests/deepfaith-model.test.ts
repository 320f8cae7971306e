import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Explainer, gelu, inputStatistics, loadExplainer, type ExplainerConfig } from '../src/core/explainer/model';
import { lcTargets, lossLC, lossPC, pearsonRows } from '../src/core/explainer/losses';
import { Seeder } from '../src/core/rng';
import { additiveTask, randomRows, useBackend } from './helpers/models';

function tinyConfig(n: number, seed = 3, extra: Partial<ExplainerConfig> = {}): ExplainerConfig {
  return { nFeatures: n, dModel: 8, nHeads: 2, nLayers: 2, dFF: 16, dropout: 0.1, seed, inputMean: new Array(n).fill(0), inputStd: new Array(n).fill(1), ...extra };
}

async function read(t: tf.Tensor): Promise<Float32Array> {
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

describe('explainer model', () => {
  beforeAll(() => useBackend('wasm'));

  it('classFrame sign: class 1 rows as the plain explainer gives them, class 0 rows negated; the frame needs every row\'s target', async () => {
    const x = randomRows(6, 5, 'frame');
    const plain = new Explainer(tinyConfig(5, 4));
    const framed = new Explainer(tinyConfig(5, 4, { classFrame: 'sign' }));
    const targets = Int32Array.of(1, 0, 0, 1, 0, 1);
    try {
      expect(plain.needsTargets).toBe(false);
      expect(framed.needsTargets).toBe(true);
      const p = await plain.explain(x, 6);
      const before = tf.memory().numTensors;
      const f = await framed.explain(x, 6, targets, 4); // chunked: the targets follow their rows
      expect(tf.memory().numTensors).toBe(before);
      for (let r = 0; r < 6; r++) for (let i = 0; i < 5; i++) expect(f[r * 5 + i]).toBe(targets[r] === 1 ? p[r * 5 + i] : -p[r * 5 + i]);
      expect(Array.from(await plain.explain(x, 6, targets))).toEqual(Array.from(p)); // no frame: the targets are ignored
      await expect(framed.explain(x, 6)).rejects.toThrow(/classFrame sign needs the target class/);
      expect(() => new Explainer(tinyConfig(5, 4, { classFrame: 'flip' as never }))).toThrow(/classFrame "flip" is not known/);
    } finally {
      plain.dispose();
      framed.dispose();
    }
  });

  it('classFrame classes: K heads centred across the classes, each row its target\'s — on two classes the sign frame with heads w and −w, on three σ(a_t) − mean_c σ(a_c) of three one-head explainers sharing the trunk', async () => {
    const x = randomRows(5, 4, 'classes');
    const targets2 = Int32Array.of(1, 0, 1, 0, 0);
    // two classes, signed head: heads (−w, −b) for class 0 and (w, b) for class 1 give (a₁ − a₀)/2 = a₁ for class 1 and its negative for class 0
    const sign = new Explainer(tinyConfig(4, 5, { classFrame: 'sign', head: 'signed' }));
    const w = await sign.weightValues();
    const hw = w.get('head/w')!; // [8, 1]
    const hb = w.get('head/b')!; // [1]
    const two = new Explainer(
      tinyConfig(4, 5, { classFrame: 'classes', nClasses: 2, head: 'signed' }),
      new Map([...w, ['head/w', Float32Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? -hw[i >> 1] : hw[i >> 1]))], ['head/b', Float32Array.of(-hb[0], hb[0])]]),
    );
    // three classes, sigmoid head, against three plain explainers, one per class head
    const K = 3;
    const three = new Explainer(tinyConfig(4, 6, { classFrame: 'classes', nClasses: K }));
    const w3 = await three.weightValues();
    expect(w3.get('head/w')!.length).toBe(8 * K);
    const plains = Array.from({ length: K }, (_, c) => new Explainer(tinyConfig(4, 6), new Map([...w3, ['head/w', Float32Array.from({ length: 8 }, (_, i) => w3.get('head/w')![i * K + c])], ['head/b', Float32Array.of(w3.get('head/b')![c])]])));
    try {
      const s = await sign.explain(x, 5, targets2);
      const before = tf.memory().numTensors;
      const t = await two.explain(x, 5, targets2, 2); // chunked: the targets follow their rows
      expect(tf.memory().numTensors).toBe(before);
      for (let i = 0; i < 20; i++) expect(t[i]).toBeCloseTo(s[i], 5);
      const perClass = await Promise.all(plains.map((p) => p.explain(x, 5))); // σ(a_c) per class
      const byTarget = await Promise.all(Array.from({ length: K }, (_, c) => three.explain(x, 5, new Int32Array(5).fill(c))));
      for (let r = 0; r < 5; r++)
        for (let i = 0; i < 4; i++) {
          const mean = (perClass[0][r * 4 + i] + perClass[1][r * 4 + i] + perClass[2][r * 4 + i]) / K;
          for (let c = 0; c < K; c++) expect(byTarget[c][r * 4 + i]).toBeCloseTo(perClass[c][r * 4 + i] - mean, 5);
          expect(Math.abs(byTarget[0][r * 4 + i] + byTarget[1][r * 4 + i] + byTarget[2][r * 4 + i])).toBeLessThan(1e-6); // they sum to zero
        }
      const mixed = await three.explain(x, 5, Int32Array.of(2, 0, 1, 1, 2));
      expect(Array.from(mixed.subarray(0, 4))).toEqual(Array.from(byTarget[2].subarray(0, 4)));
      expect(Array.from(mixed.subarray(4, 8))).toEqual(Array.from(byTarget[0].subarray(4, 8)));
      await expect(three.explain(x, 5)).rejects.toThrow(/classFrame classes needs the target class/);
      await expect(three.explain(x, 5, Int32Array.of(0, 1, 3, 0, 0))).rejects.toThrow(/target class 3 of row 2 is not one of the 3 classes/);
      expect(() => new Explainer(tinyConfig(4, 6, { classFrame: 'classes' }))).toThrow(/classFrame "classes" needs the number of classes it explains/);
      expect(() => new Explainer(tinyConfig(4, 6, { classFrame: 'classes', nClasses: 1 }))).toThrow(/nClasses = 1/);
    } finally {
      for (const e of [sign, two, three, ...plains]) e.dispose();
    }
  });

  it('maps [b, n] rows to saliency in [0,1]^n; same seed → same weights, another seed differs', async () => {
    const x = randomRows(6, 5, 'm');
    const a = new Explainer(tinyConfig(5, 1));
    const b = new Explainer(tinyConfig(5, 1));
    const c = new Explainer(tinyConfig(5, 2));
    try {
      const before = tf.memory().numTensors;
      const ya = await a.explain(x, 6);
      expect(tf.memory().numTensors).toBe(before);
      expect(ya.length).toBe(30);
      for (const v of ya) expect(v >= 0 && v <= 1).toBe(true);
      expect(Array.from(await b.explain(x, 6))).toEqual(Array.from(ya));
      expect(Array.from(await c.explain(x, 6))).not.toEqual(Array.from(ya));
      // chunking does not change outputs
      const chunked = await a.explain(x, 6, undefined, 4);
      for (let i = 0; i < 30; i++) expect(chunked[i]).toBeCloseTo(ya[i], 6);
    } finally {
      a.dispose();
      b.dispose();
      c.dispose();
    }
  });

  it('GELU is the tanh approximation ½t(1 + tanh(√(2/π)(t + 0.044715t³))), computed in float64 here, and its gradient matches the derivative of that form', async () => {
    const ts = [-6, -3, -1.5, -0.5, -1e-3, 0, 1e-3, 0.3, 1, 2.5, 8];
    const u = (t: number) => Math.sqrt(2 / Math.PI) * (t + 0.044715 * t ** 3);
    const f = (t: number) => 0.5 * t * (1 + Math.tanh(u(t)));
    const df = (t: number) => 0.5 * (1 + Math.tanh(u(t))) + 0.5 * t * (1 - Math.tanh(u(t)) ** 2) * Math.sqrt(2 / Math.PI) * (1 + 3 * 0.044715 * t * t);
    const x = tf.tensor1d(ts);
    const y = gelu(x);
    const g = tf.grad((v: tf.Tensor) => tf.sum(gelu(v)))(x);
    const [yv, gv] = [await y.data(), await g.data()];
    ts.forEach((t, i) => {
      expect(yv[i]).toBeCloseTo(f(t), 5);
      expect(gv[i]).toBeCloseTo(df(t), 5);
    });
    tf.dispose([x, y, g]);
  });

  it('dropout is seeded: the same seed gives the same mask, another seed another; no seed = no dropout', async () => {
    const e = new Explainer(tinyConfig(4, 5, { dropout: 0.5 }));
    try {
      const x = tf.tensor2d(randomRows(3, 4, 'd'), [3, 4]);
      const s1 = await read(e.apply(x, 'seedA'));
      const s2 = await read(e.apply(x, 'seedA'));
      const s3 = await read(e.apply(x, 'seedB'));
      const clean = await read(e.apply(x));
      x.dispose();
      expect(Array.from(s1)).toEqual(Array.from(s2));
      expect(Array.from(s1)).not.toEqual(Array.from(s3));
      expect(Array.from(s1)).not.toEqual(Array.from(clean));
    } finally {
      e.dispose();
    }
  });

  it('standardises inputs with the stored statistics (std 0 becomes 1)', () => {
    const st = inputStatistics(Float32Array.from([1, 5, 3, 5]), 2, 2);
    expect(st.inputMean).toEqual([2, 5]);
    expect(st.inputStd).toEqual([1, 1]);
    const st2 = inputStatistics(Float32Array.from([0, 0, 4, 0]), 2, 2);
    expect(st2.inputStd[0]).toBe(2);
  });

  it('signed-log input transform: statistics of sign·log1p(x), the same outputs as a standard explainer fed the transformed rows; saved in the config', async () => {
    const x = Float32Array.from([-1000, 2, 50000, 0, 3, -7, 120000, 1]); // 4 rows × 2 features, heavy-tailed
    const g = x.map((v) => Math.sign(v) * Math.log1p(Math.abs(v)));
    const st = inputStatistics(x, 4, 2, 'signed-log');
    const plain = inputStatistics(g, 4, 2);
    expect(st.inputTransform).toBe('signed-log');
    st.inputMean.forEach((m, j) => expect(m).toBeCloseTo(plain.inputMean[j], 6)); // g is float32
    st.inputStd.forEach((v, j) => expect(v).toBeCloseTo(plain.inputStd[j], 6));
    const a = new Explainer(tinyConfig(2, 5, st));
    const b = new Explainer(tinyConfig(2, 5, plain));
    let r: Explainer | undefined;
    try {
      const ya = await a.explain(x, 4);
      const yb = await b.explain(g, 4);
      ya.forEach((v, i) => expect(v).toBeCloseTo(yb[i], 5));
      const { modelJson, weights } = await a.serialize();
      expect(modelJson.config.inputTransform).toBe('signed-log');
      r = loadExplainer(JSON.parse(JSON.stringify(modelJson)), weights.slice(0));
      expect(Array.from(await r.explain(x, 4))).toEqual(Array.from(ya));
      expect(() => new Explainer(tinyConfig(2, 5, { ...st, inputTransform: 'log' as never }))).toThrow(/inputTransform "log"/);
    } finally {
      a.dispose();
      b.dispose();
      r?.dispose();
    }
  });

  it('signed head: the same weights without the sigmoid — σ(signed output) equals the sigmoid head\'s output; negative values occur; saved and reloaded; an unknown head is refused', async () => {
    const x = randomRows(6, 5, 'h', -3, 3);
    const st = inputStatistics(x, 6, 5);
    const sig = new Explainer(tinyConfig(5, 7, st));
    const signed = new Explainer(tinyConfig(5, 7, { ...st, head: 'signed' }));
    let r: Explainer | undefined;
    try {
      // move the weights off their initial values, identically in both (same names, same seeded noise)
      for (const [name, v] of sig.vars) {
        const noise = tf.tidy(() => tf.randomNormal(v.shape, 0, 0.3, 'float32', 11));
        v.assign(tf.tidy(() => tf.add(v, noise)));
        signed.vars.get(name)!.assign(tf.tidy(() => tf.add(signed.vars.get(name)!, noise)));
        noise.dispose();
      }
      const ys = await sig.explain(x, 6);
      const yz = await signed.explain(x, 6);
      yz.forEach((z, i) => expect(1 / (1 + Math.exp(-z))).toBeCloseTo(ys[i], 6));
      expect(Math.min(...yz)).toBeLessThan(0);
      const { modelJson, weights } = await signed.serialize();
      expect(modelJson.config.head).toBe('signed');
      r = loadExplainer(JSON.parse(JSON.stringify(modelJson)), weights.slice(0));
      expect(Array.from(await r.explain(x, 6))).toEqual(Array.from(yz));
      expect(() => new Explainer(tinyConfig(5, 7, { ...st, head: 'tanh' as never }))).toThrow(/head "tanh"/);
    } finally {
      sig.dispose();
      signed.dispose();
      r?.dispose();
    }
  });

  it('saves as model.json + weights.bin and reloads with identical outputs', async () => {
    const x = randomRows(7, 6, 's', -3, 3);
    const cfg = tinyConfig(6, 9, { ...inputStatistics(x, 7, 6) });
    const e = new Explainer(cfg);
    let r: Explainer | undefined;
    try {
      // perturb the weights away from their initial values so the test cannot pass by re-initialising
      for (const v of e.trainableVariables) v.assign(tf.tidy(() => tf.add(v, tf.randomNormal(v.shape, 0, 0.1, 'float32', 4))));
      const { modelJson, weights } = await e.serialize();
      const json = JSON.parse(JSON.stringify(modelJson));
      expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
      r = loadExplainer(json, weights.slice(0));
      const y1 = await e.explain(x, 7);
      const y2 = await r.explain(x, 7);
      expect(Array.from(y2)).toEqual(Array.from(y1));
      expect(() => loadExplainer({ format: 'other' }, weights)).toThrow(/not a DeepFaith explainer/);
    } finally {
      e.dispose();
      r?.dispose();
    }
  });
});

describe('losses', () => {
  beforeAll(() => useBackend('wasm'));

  it('L_PC on a hand-computed 3-feature example', async () => {
    // φ = [0.1, 0.4, 0.2], s = [1, 0, 0.5]: centred φ = [−2/15, 1/6, −1/30], centred s = [½, −½, 0]
    // Σab = −0.15, Σa² = 0.0466…, Σb² = 0.5 → r = −0.15/√(0.0466…·0.5) = −0.98198
    // Σa² = 7/150 exactly
    const rExact = -0.15 / (Math.sqrt(7 / 150) * Math.sqrt(0.5) + 1e-8);
    expect(rExact).toBeCloseTo(-0.98198, 5);
    const second = [0.2, 0.5, 0.8]; // perfectly correlated with s2
    const s2 = [0, 0.5, 1];
    const l = tf.tidy(() => lossPC(tf.tensor2d([[0.1, 0.4, 0.2], second]), tf.tensor2d([[1, 0, 0.5], s2])));
    const v = (await read(l))[0];
    expect(v).toBeCloseTo(((1 - rExact) + 0) / 2, 5);
  });

  it('L_LC sums φ over the REMOVED subsets: a hand-computed 3-feature example', async () => {
    // φ = [0.9, 0.1, 0.5]; removed subsets {0}, {1,2}, {0,2}; Δ = [0.6, 0.2, 0.9]
    // sums = [0.9, 0.6, 1.4]; Σab = 0.276667, Σa² = 0.326667, Σb² = 0.246667 → r = 0.974651
    const r = 0.83 / 3 / (Math.sqrt(0.98 / 3) * Math.sqrt(0.74 / 3) + 1e-8);
    const l = tf.tidy(() =>
      lossLC(tf.tensor2d([[0.9, 0.1, 0.5]]), tf.tensor3d([[[1, 0, 0], [0, 1, 1], [1, 0, 1]]]), tf.tensor2d([[0.6, 0.2, 0.9]])),
    );
    const v = (await read(l))[0];
    expect(r).toBeCloseTo(0.974651, 5);
    expect(v).toBeCloseTo(0.5 - 0.5 * r, 5);
    // summing the KEPT features instead would flip the sign of the correlation here
    const kept = tf.tidy(() =>
      lossLC(tf.tensor2d([[0.9, 0.1, 0.5]]), tf.tensor3d([[[0, 1, 1], [1, 0, 0], [0, 1, 0]]]), tf.tensor2d([[0.6, 0.2, 0.9]])),
    );
    expect((await read(kept))[0]).toBeGreaterThan(0.9);
  });

  it('a constant side gives correlation 0 and finite gradients', async () => {
    const g = tf.tidy(() => tf.grad((p: tf.Tensor) => lossPC(p as tf.Tensor2D, tf.zeros([1, 3])))(tf.tensor2d([[0.2, 0.3, 0.9]])));
    const gv = await read(g);
    for (const v of gv) expect(Number.isFinite(v)).toBe(true);
    const r = await read(tf.tidy(() => pearsonRows(tf.tensor2d([[1, 2, 3]]), tf.tensor2d([[5, 5, 5]]))));
    expect(r[0]).toBe(0);
  });

  it('gradient of L_PC and L_LC w.r.t. φ matches central finite differences', async () => {
    const phi0 = [0.3, 0.8, 0.1, 0.55, 0.4, 0.2, 0.9, 0.65];
    const masks = tf.tensor3d([[[1, 0, 1, 0], [0, 1, 1, 0], [1, 1, 0, 1], [0, 0, 1, 1], [1, 0, 0, 0]], [[0, 1, 0, 1], [1, 1, 1, 0], [0, 0, 1, 0], [1, 0, 1, 1], [0, 1, 0, 0]]]);
    const delta = tf.tensor2d([[0.3, -0.1, 0.7, 0.2, 0.05], [0.4, 0.6, -0.2, 0.1, 0.3]]);
    const s = tf.tensor2d([[0, 1, 0.2, 0.5], [0.9, 0.1, 0.4, 0]]);
    const f = (p: tf.Tensor) => tf.add(tf.mul(0.3, lossPC(p as tf.Tensor2D, s)), tf.mul(0.7, lossLC(p as tf.Tensor2D, masks, delta))) as tf.Scalar;
    try {
      const g = await read(tf.tidy(() => tf.grad(f)(tf.tensor2d(phi0, [2, 4]))));
      const h = 1e-3;
      for (let i = 0; i < phi0.length; i++) {
        const up = phi0.slice();
        const dn = phi0.slice();
        up[i] += h;
        dn[i] -= h;
        const fu = (await read(tf.tidy(() => f(tf.tensor2d(up, [2, 4])))))[0];
        const fd = (await read(tf.tidy(() => f(tf.tensor2d(dn, [2, 4])))))[0];
        expect(g[i]).toBeCloseTo((fu - fd) / (2 * h), 2);
      }
    } finally {
      masks.dispose();
      delta.dispose();
      s.dispose();
    }
  });

  it('gradient through a tiny explainer matches finite differences on sampled weights', async () => {
    await useBackend('cpu');
    const n = 3;
    const e = new Explainer(tinyConfig(n, 11, { dModel: 4, nHeads: 2, nLayers: 1, dFF: 4, dropout: 0 }));
    const x = tf.tensor2d(randomRows(4, n, 'fd'), [4, n]);
    const s = tf.tensor2d([[1, 0, 0.5], [0, 1, 0.2], [0.3, 0.3, 1], [1, 0.8, 0]]);
    const masks = tf.tensor3d(Array.from({ length: 4 }, (_, r) => [[1, 0, 0], [0, 1, 1], [1, 0, 1], [r % 2, 1, 0]]));
    const delta = tf.tensor2d([[0.6, 0.2, 0.9, 0.1], [0.1, 0.5, 0.3, 0.2], [0.7, 0.1, 0.2, 0.4], [0.3, 0.3, 0.8, 0.5]]);
    const f = () => {
      const phi = e.apply(x);
      return tf.add(tf.mul(0.5, lossPC(phi, s)), tf.mul(0.5, lossLC(phi, masks, delta))) as tf.Scalar;
    };
    try {
      const { grads, value } = tf.variableGrads(f, e.trainableVariables);
      value.dispose();
      const checks: [string, number][] = [['embed/value', 2], ['layer0/attn/wq', 5], ['layer0/ffn/w1', 3], ['head/w', 1], ['final_ln/gamma', 0]];
      for (const [name, idx] of checks) {
        const v = e.vars.get(name)!;
        const g = (await grads[v.name].data())[idx];
        const orig = (await v.data()) as Float32Array;
        const h = 5e-3;
        const at = async (delta0: number) => {
          const w = orig.slice();
          w[idx] += delta0;
          v.assign(tf.tensor(w, v.shape));
          return (await read(tf.tidy(f)))[0];
        };
        const fdGrad = ((await at(h)) - (await at(-h))) / (2 * h);
        v.assign(tf.tensor(orig, v.shape));
        expect(Math.abs(g - fdGrad)).toBeLessThan(2e-3 + 0.05 * Math.abs(fdGrad));
      }
      tf.dispose(grads);
    } finally {
      e.dispose();
      tf.dispose([x, s, masks, delta]);
      await useBackend('wasm');
    }
  });

  it('Δ of the L_LC subsets: one batched call, equal to the closed form Σ_{i∈I} w_i x_i for an additive raw model', async () => {
    const w = [2, -1, 0.5, 3];
    const x = randomRows(5, 4, 'lc');
    const task = additiveTask(w, 0.3, x, 5);
    try {
      const seeder = new Seeder(1);
      const passes = task.model.forwardPasses;
      const t = await lcTargets(task, x, 5, Int32Array.from([10, 11, 12, 13, 14]), new Int32Array(5), 8, seeder, 'unit');
      expect(task.model.forwardPasses - passes).toBe(1);
      expect(task.model.rowsEvaluated).toBe(5 * 9);
      let nonEmpty = 0;
      for (let r = 0; r < 5; r++)
        for (let j = 0; j < 8; j++) {
          let expected = 0;
          for (let i = 0; i < 4; i++) if (t.masks[(r * 8 + j) * 4 + i]) expected += w[i] * x[r * 4 + i];
          expect(t.delta[r * 8 + j]).toBeCloseTo(expected, 4);
          nonEmpty += t.masks.subarray((r * 8 + j) * 4, (r * 8 + j + 1) * 4).some((v) => v === 1) ? 1 : 0;
        }
      expect(nonEmpty).toBeGreaterThan(20);
      // draws depend on the global row index only, not on the batch
      const one = await lcTargets(task, x.subarray(8, 12), 1, Int32Array.from([12]), new Int32Array(1), 8, seeder, 'unit');
      expect(Array.from(one.masks)).toEqual(Array.from(t.masks.subarray(2 * 8 * 4, 3 * 8 * 4)));
    } finally {
      task.model.dispose();
    }
  });
});
