/**
 * The explainer's token input (src/core/explainer/tokens.ts): the patch embedding
 * reads exactly each patch's pixels, all channels, in the space's order (closed form with hand-set
 * weights, edge patches zero-padded, standardisation per input value); the feature space chooses
 * the kind (tabular → scalar, image → patch), the saved config records it and a token-id config is
 * refused by name; a config without tokens is the scalar explainer, number for number; a chunked
 * training step equals the one-pass step; a tiny digits run trains with finite, decreasing L_PC;
 * a 196-patch (28×28, patch 2) explainer trains in chunks; nothing leaks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Explainer, loadExplainer, type ExplainerConfig } from '../src/core/explainer/model';
import { inputWidth, patchGatherIndex, tokenSpecFor, type TokenSpec } from '../src/core/explainer/tokens';
import { runTraining, trainExplainer, type StepEvent } from '../src/core/explainer/train';
import { ImageFeatureSpace, TabularFeatureSpace } from '../src/core/task/featureSpace';
import { planTraining, prepareJob, resolveJob, type PreparedJob } from '../src/core/job';
import { nodeTaskIO } from '../src/cli/files';
import { UserError } from '../src/core/errors';
import { additiveTask, randomRows, useBackend } from './helpers/models';

beforeAll(() => useBackend('wasm'));

function patchConfig(t: Extract<TokenSpec, { kind: 'patch' }>, extra: Partial<ExplainerConfig> = {}): ExplainerConfig {
  const w = t.height * t.width * t.channels;
  const n = Math.ceil(t.height / t.patch) * Math.ceil(t.width / t.patch);
  const P = t.patch * t.patch * t.channels;
  return { nFeatures: n, dModel: P, nHeads: 1, nLayers: 1, dFF: 4, dropout: 0, seed: 1, tokens: t, inputMean: new Array(w).fill(0), inputStd: new Array(w).fill(1), ...extra };
}

describe('patch tokens', () => {
  it('the gather index lists each patch\'s input values in ImageFeatureSpace.patchElements order (edge patches, channels)', () => {
    for (const [H, W, C, p] of [[5, 7, 2, 2], [4, 4, 1, 2], [6, 6, 3, 4], [28, 28, 1, 2]]) {
      const space = new ImageFeatureSpace({ height: H, width: W, channels: C }, new Float32Array(H * W * C), 1, { patch: p });
      const t = tokenSpecFor(space);
      expect(t).toEqual({ kind: 'patch', height: H, width: W, channels: C, patch: p });
      const idx = patchGatherIndex(t as Extract<TokenSpec, { kind: 'patch' }>);
      const P = p * p * C;
      expect(idx.length).toBe(space.nFeatures * P);
      for (let f = 0; f < space.nFeatures; f++) expect(Array.from(idx.subarray(f * P, (f + 1) * P)).filter((v) => v >= 0)).toEqual(Array.from(space.patchElements(f)));
    }
    expect(tokenSpecFor(new TabularFeatureSpace(['a', 'b'], new Float32Array(2), 1))).toEqual({ kind: 'scalar' });
  });

  it('with E = I, b = 0 and no position, token f is exactly patch f\'s pixels (all channels; an edge patch padded with 0)', async () => {
    const t = { kind: 'patch' as const, height: 3, width: 5, channels: 2, patch: 2 }; // 2 × 3 patches, the last row and column narrower
    const cfg = patchConfig(t);
    const P = 8;
    const values = new Map<string, Float32Array>([
      ['embed/patch', Float32Array.from({ length: P * P }, (_, i) => (Math.floor(i / P) === i % P ? 1 : 0))],
      ['embed/patchBias', new Float32Array(P)],
      ['embed/position', new Float32Array(cfg.nFeatures * P)],
    ]);
    const e = new Explainer(cfg, values);
    const x = randomRows(2, 30, 'tok', -1, 1);
    try {
      const emb = tf.tidy(() => e.embed(tf.tensor2d(x, [2, 30])));
      const got = await emb.data();
      emb.dispose();
      // hand layout: patch (gr, gc) covers rows 2gr..2gr+1 and columns 2gc..2gc+1 that exist; slot (dy·2 + dx)·2 + c
      for (let r = 0; r < 2; r++)
        for (let f = 0; f < 6; f++) {
          const gr = Math.floor(f / 3);
          const gc = f % 3;
          for (let dy = 0; dy < 2; dy++)
            for (let dx = 0; dx < 2; dx++)
              for (let c = 0; c < 2; c++) {
                const y = 2 * gr + dy;
                const xx = 2 * gc + dx;
                const want = y < 3 && xx < 5 ? x[r * 30 + (y * 5 + xx) * 2 + c] : 0;
                expect(got[(r * 6 + f) * P + (dy * 2 + dx) * 2 + c]).toBe(want);
              }
        }
    } finally {
      e.dispose();
    }
  });

  it('a linear embedding shared by all patches, plus its bias, plus each patch\'s position, on standardised values', async () => {
    const t = { kind: 'patch' as const, height: 4, width: 4, channels: 1, patch: 2 };
    const E = [
      [1, 0, 2, 0],
      [0, 1, 0, -1],
      [3, 0, 0, 1],
      [0, 0, 1, 1],
    ]; // [P = 4, d = 4]
    const bias = [0.5, -0.5, 0, 1];
    const pos = Float32Array.from({ length: 16 }, (_, i) => i / 10);
    const mean = Array.from({ length: 16 }, (_, i) => i / 20);
    const std = Array.from({ length: 16 }, (_, i) => 1 + (i % 3));
    const cfg = patchConfig(t, { inputMean: mean, inputStd: std });
    const e = new Explainer(cfg, new Map([
      ['embed/patch', Float32Array.from(E.flat())],
      ['embed/patchBias', Float32Array.from(bias)],
      ['embed/position', pos],
    ]));
    const x = randomRows(1, 16, 'tok2', 0, 1);
    try {
      const emb = tf.tidy(() => e.embed(tf.tensor2d(x, [1, 16])));
      const got = await emb.data();
      emb.dispose();
      const space = new ImageFeatureSpace({ height: 4, width: 4, channels: 1 }, x, 1, { patch: 2 });
      for (let f = 0; f < 4; f++) {
        const u = Array.from(space.patchElements(f), (j) => (x[j] - mean[j]) / std[j]);
        for (let k = 0; k < 4; k++) {
          const want = u.reduce((acc, v, j) => acc + v * E[j][k], 0) + bias[k] + pos[f * 4 + k];
          expect(got[f * 4 + k]).toBeCloseTo(want, 5);
        }
      }
    } finally {
      e.dispose();
    }
  });

  it('the config records the token kind through save and load; a token-id spec without its pad id and bad geometry are refused by name', async () => {
    const t = { kind: 'patch' as const, height: 4, width: 4, channels: 1, patch: 2 };
    const e = new Explainer({ ...patchConfig(t), dModel: 8, nHeads: 2 });
    try {
      const { modelJson, weights } = await e.serialize();
      expect(modelJson.config.tokens).toEqual(t);
      const back = loadExplainer(JSON.parse(JSON.stringify(modelJson)), weights);
      const x = randomRows(3, 16, 'tok3', 0, 1);
      expect(Array.from(await back.explain(x, 3))).toEqual(Array.from(await e.explain(x, 3)));
      expect(back.inputWidth).toBe(16);
      back.dispose();
      const bad = { ...modelJson, config: { ...modelJson.config, tokens: { kind: 'token-id', vocabSize: 10 } } };
      // a token-id spec without its pad id (text explainers record it) is refused by name
      expect(() => loadExplainer(bad, weights)).toThrow(/token-id tokens: pad = undefined is not a token id \(0\.\.9\)/);
      expect(() => new Explainer({ ...patchConfig(t), tokens: { ...t, patch: 4 } })).toThrow(/in 4-pixel patches are 1 patches, but nFeatures is 4/);
      expect(() => new Explainer({ ...patchConfig(t), tokens: { ...t, patch: 1 } })).toThrow(UserError);
      expect(() => new Explainer({ ...patchConfig(t), inputMean: [0] })).toThrow(/16 values per row its tokens read/);
    } finally {
      e.dispose();
    }
  });
});

describe('scalar tokens are today\'s explainer', () => {
  it('a config without tokens and one with tokens: scalar give the same numbers, with the same weights', async () => {
    const n = 5;
    const base: ExplainerConfig = { nFeatures: n, dModel: 8, nHeads: 2, nLayers: 2, dFF: 16, dropout: 0.1, seed: 4, inputMean: [0, 1, 0, 2, 0], inputStd: [1, 2, 1, 1, 3] };
    const a = new Explainer(base);
    const b = new Explainer({ ...base, tokens: { kind: 'scalar' } });
    try {
      expect([...a.vars.keys()]).toEqual([...b.vars.keys()]);
      expect([...a.vars.keys()].slice(0, 2)).toEqual(['embed/value', 'embed/position']);
      const x = randomRows(7, n, 'sc');
      expect(Array.from(await b.explain(x, 7))).toEqual(Array.from(await a.explain(x, 7)));
      expect(inputWidth({ kind: 'scalar' }, n)).toBe(n);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('a step in chunks of rows gives the one-pass step\'s weights (gradients summed by each chunk\'s share)', async () => {
    const n = 4;
    const x = randomRows(12, n, 'chunk', -1, 1);
    const task = additiveTask([1, -2, 0.5, 3], 0.1, x, 12);
    try {
      const z = { x: x.slice(0, 10 * n), s: randomRows(10, n, 'chunk-s', 0, 1), nPairs: 10 };
      const samples = { x, nRows: 12, rowIndex: Int32Array.from({ length: 12 }, (_, i) => i), target: new Int32Array(12) };
      const explainer: ExplainerConfig = { nFeatures: n, dModel: 8, nHeads: 2, nLayers: 1, dFF: 8, dropout: 0, seed: 2, inputMean: [0, 0, 0, 0], inputStd: [1, 1, 1, 1] };
      const config = { ...(await import('../src/core/explainer/train')).defaults, epochs: 2, batchSize: 10, lcSubsets: 8, evalEvery: 0 };
      const run = async (rowsPerPass?: number) => {
        const steps: StepEvent[] = [];
        const r = await runTraining(trainExplainer({ task, explainer, config, mode: 'full', seed: 3, z, samples, rowsPerPass }), (e) => e.type === 'step' && steps.push(e));
        const w = await r.explainer.weightValues();
        r.explainer.dispose();
        return { w, steps };
      };
      const before = tf.memory().numTensors;
      const one = await run();
      const chunked = await run(3);
      expect(tf.memory().numTensors).toBe(before);
      one.steps.forEach((s, i) => {
        expect(chunked.steps[i].lossPC).toBeCloseTo(s.lossPC, 5);
        expect(chunked.steps[i].lossLC).toBeCloseTo(s.lossLC, 5);
      });
      for (const [name, v] of one.w) {
        const c = chunked.w.get(name)!;
        for (let i = 0; i < v.length; i++) expect(c[i], name).toBeCloseTo(v[i], 4);
      }
    } finally {
      task.model.dispose();
    }
  });
});

describe('training on images', () => {
  let prep: PreparedJob;
  afterAll(() => prep?.loaded.task.model.dispose());

  it('a tiny digits run (16 patches of 2×2) trains with finite, decreasing L_PC; no tensor leaks', async () => {
    const job = resolveJob({
      task: { demo: 'digits', maxRows: 60, patch: 2 },
      methods: [{ id: 'saliency' }, { id: 'grad-cam' }, { id: 'occlusion', params: { window: 1 } }],
      metrics: [{ id: 'DEL' }, { id: 'INS' }],
      supervision: { p: 0 },
      explainer: { dModel: 16, nHeads: 2, nLayers: 1, dFF: 32, dropout: 0 },
      training: { epochs: 15, batchSize: 32, learningRate: 3e-3, lcSubsets: 16, evalEvery: 0 },
      seed: 1,
    });
    prep = await prepareJob(job, nodeTaskIO());
    const plan = planTraining(prep);
    expect(plan.input.explainer.tokens).toEqual({ kind: 'patch', height: 8, width: 8, channels: 1, patch: 2 });
    expect(plan.input.explainer.inputMean).toHaveLength(64); // per pixel
    expect(plan.input.samples.x.length).toBe(plan.input.samples.nRows * 64);
    const before = tf.memory().numTensors;
    const steps: StepEvent[] = [];
    const trained = await runTraining(trainExplainer(plan.input), (e) => e.type === 'step' && steps.push(e));
    try {
      expect(steps.length).toBeGreaterThan(10);
      for (const s of steps) {
        expect(Number.isFinite(s.lossPC)).toBe(true);
        expect(Number.isFinite(s.lossLC)).toBe(true);
      }
      const epochMean = (e: number) => {
        const of = steps.filter((s) => s.epoch === e);
        return of.reduce((a, s) => a + s.lossPC, 0) / of.length;
      };
      expect(epochMean(14)).toBeLessThan(epochMean(0) - 0.05);
      const out = await trained.explainer.explain(plan.testBatch.x, plan.testBatch.nRows);
      expect(out.length).toBe(plan.testBatch.nRows * 16);
      expect(out.every((v) => v >= 0 && v <= 1)).toBe(true);
      expect((await trained.explainer.serialize()).modelJson.config.tokens?.kind).toBe('patch');
    } finally {
      trained.explainer.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a 196-patch explainer (Fashion-MNIST 28×28, patch 2) trains batched, in chunks of rows', async () => {
    const job = resolveJob({
      task: { demo: 'fashion', maxRows: 12, patch: 2 },
      methods: [{ id: 'saliency' }, { id: 'grad-cam' }],
      metrics: [{ id: 'DEL', params: { stepSize: 14 } }],
      supervision: { p: 0 },
      explainer: { dModel: 16, nHeads: 2, nLayers: 1, dFF: 16, dropout: 0 },
      training: { epochs: 2, batchSize: 8, lcSubsets: 8, evalEvery: 0 },
    });
    const p2 = await prepareJob(job, nodeTaskIO());
    try {
      const plan = planTraining(p2);
      expect(plan.input.explainer.nFeatures).toBe(196);
      const before = tf.memory().numTensors;
      const steps: StepEvent[] = [];
      const trained = await runTraining(trainExplainer({ ...plan.input, rowsPerPass: 3 }), (e) => e.type === 'step' && steps.push(e));
      trained.explainer.dispose();
      expect(steps.length).toBeGreaterThan(1);
      for (const s of steps) expect(Number.isFinite(s.lossPC) && Number.isFinite(s.lossLC)).toBe(true);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      p2.loaded.task.model.dispose();
    }
  });
});
