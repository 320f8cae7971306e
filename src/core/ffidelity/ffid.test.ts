/**
 * F-Fidelity counts and curves with closed forms: on g(x) = Σ_{i∈I} x_i with rows of ones, zero
 * baseline and `output: raw`, the probability-score point at size s is exactly the number of
 * informative features removed, so every pinned count is checked draw by draw.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Seeder, makeRng } from '../rng';
import { isUserError } from '../errors';
import { trapezoidAuc } from '../metrics/curves';
import { scoreExplanations } from '../metrics/evaluate';
import { METRICS, EXTRA_METRICS, getMetric } from '../metrics/registry';
import { jobMetrics, resolveJob, checkJobForTask } from '../job/schema';
import { makeTask } from '../task/task';
import { loadModelFromFiles, TargetModel } from '../task/model';
import { batchOf, datasetOf, linearModel, mlpTask, randomRows, useBackend } from '../../../tests/helpers/models';
import { rankingExplanation, selfSurrogate, subsetSumTask } from '../../../tests/helpers/ffidelity';
import { drawRemoval, minusCount, plusCount, removalCap } from './sampler';
import { FFID_MINUS, FFID_PLUS, FID_MINUS, FID_PLUS, RFID_MINUS, RFID_PLUS, fidelityScores, gridSizes, type FidelityPlan } from './ffid';
import { releaseFfidelity } from './context';
import type { ExtraMetric } from './types';
import { AD_INS } from './internal';

beforeAll(() => useBackend('wasm'));

const ALL = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('sampler: the pinned counts', () => {
  it('K = ⌊β·n⌋ with decimal products counted exactly (0.1·30 = 3, 0.1·13 → 1, 0.29·100 = 29)', () => {
    expect(removalCap(30, 0.1)).toBe(3);
    expect(removalCap(13, 0.1)).toBe(1);
    expect(removalCap(100, 0.29)).toBe(29);
    expect(removalCap(4, 0.1)).toBe(0);
    expect(minusCount(30, 24, 0.5, 30)).toBe(3); // ⌈0.5 · 6⌉ = 3, not 4
  });

  it('m⁺ = min(⌊α⁺s⌋, K), m⁻ = min(⌈α⁻(n−s)⌉, K): the table for n = 30, β = 0.1, α = ½', () => {
    const K = removalCap(30, 0.1);
    for (let s = 1; s < 30; s++) {
      expect(plusCount(s, 0.5, K)).toBe(Math.min(Math.floor(s / 2), 3));
      expect(minusCount(30, s, 0.5, K)).toBe(Math.min(Math.ceil((30 - s) / 2), 3));
    }
    // non-integer β·n: the cap is ⌊1.3⌋ = 1 on the minus side too (METRICS.md's ⌈min(·, 1.3)⌉ would give 2)
    expect(minusCount(13, 3, 0.5, removalCap(13, 0.1))).toBe(1);
  });

  it('never more than β·n on either side, never more than the pool (n = 2..60, many β and α)', () => {
    const bad: string[] = [];
    let checked = 0;
    for (let n = 2; n <= 60; n++)
      for (const beta of [0.05, 0.1, 0.15, 0.2, 0.33, 0.5, 1])
        for (const alpha of [0.1, 0.3, 0.5, 0.7, 1]) {
          const K = removalCap(n, beta);
          if (K > beta * n + 1e-9) bad.push(`K ${n} ${beta}`);
          for (let s = 1; s < n; s++) {
            const p = plusCount(s, alpha, K);
            const m = minusCount(n, s, alpha, K);
            if (p > Math.min(K, s) || m > Math.min(K, n - s) || p !== Math.min(Math.floor(alpha * s + 1e-9), K) || m !== Math.min(Math.ceil(alpha * (n - s) - 1e-9), K)) bad.push(`${n} ${beta} ${alpha} ${s}`);
            checked++;
          }
        }
    expect(checked).toBe(35 * 1770);
    expect(bad).toEqual([]);
  });

  it('drawRemoval gives exactly `count` distinct positions of the pool', () => {
    const rng = makeRng('draws');
    const out = new Int32Array(20);
    for (let pool = 1; pool <= 20; pool++)
      for (let count = 0; count <= pool; count++) {
        drawRemoval(rng, pool, count, out);
        const got = Array.from(out.subarray(0, count));
        expect(new Set(got).size).toBe(count);
        expect(got.every((v) => v >= 0 && v < pool)).toBe(true);
      }
    expect(() => drawRemoval(rng, 3, 4, out)).toThrow(RangeError);
  });

  it('sizes s = ⌊ρn + ½⌋ clipped to [1, n−1]', () => {
    expect(Array.from(gridSizes(20, '5%'))).toEqual(ALL(19).map((i) => i + 1));
    expect(Array.from(gridSizes(13, '5%'))).toEqual([1, 1, 2, 3, 3, 4, 5, 5, 6, 7, 7, 8, 8, 9, 10, 10, 11, 12, 12]);
    expect(Array.from(gridSizes(4, '5%')).every((s) => s >= 1 && s <= 3)).toBe(true);
    expect(gridSizes(100, '1%').length).toBe(99);
  });
});

describe('F-Fidelity curves: each point = the features removed (g = Σ x, rows of ones)', () => {
  const n = 30;
  const nRows = 3;
  const s = rankingExplanation(n, nRows, [5, 2, 9]);
  const draws = 7;

  it('FFID+ and FFID− remove exactly the pinned count on every draw, capped at ⌊β·n⌋ on both sides', async () => {
    for (const beta of [0.1, 0.2, 0.25]) {
      const task = selfSurrogate(subsetSumTask(n, ALL(n), nRows), beta);
      try {
        const K = removalCap(n, beta);
        const sizes = gridSizes(n, '5%');
        for (const [metric, count] of [
          [FFID_PLUS, (sz: number) => plusCount(sz, 0.5, K)],
          [FFID_MINUS, (sz: number) => minusCount(n, sz, 0.5, K)],
        ] as const) {
          const res = await metric.score(task, batchOf(new Float32Array(nRows * n).fill(1), nRows), s, new Int32Array(nRows), { ...metric.defaults, score: 'probability', draws, beta }, new Seeder(1));
          const expected = Float32Array.from(sizes, count);
          for (let r = 0; r < nRows; r++) {
            expect(Array.from(res.curves![r])).toEqual(Array.from(expected));
            expect(res.perSample[r]).toBeCloseTo(trapezoidAuc(expected), 6);
            expect(Math.max(...res.curves![r])).toBeLessThanOrEqual(beta * n);
          }
          const sent = Array.from(sizes).reduce((a, sz) => a + (count(sz) > 0 ? draws : 0), 0);
          expect(res.modelCalls).toBe(nRows + nRows * sent);
        }
      } finally {
        releaseFfidelity(task);
        task.model.dispose();
      }
    }
  });

  it('RFID± (no cap) remove ⌊α⁺s⌋ / ⌈α⁻(n−s)⌉; FID± remove the whole top-s / everything else', async () => {
    const task = subsetSumTask(n, ALL(n), nRows);
    try {
      const sizes = Array.from(gridSizes(n, '5%'));
      const b = batchOf(new Float32Array(nRows * n).fill(1), nRows);
      const cases = [
        [RFID_PLUS, { alpha: 0.3 }, (sz: number) => Math.floor(0.3 * sz + 1e-9)],
        [RFID_MINUS, { alpha: 0.5 }, (sz: number) => Math.ceil((n - sz) / 2)],
        [FID_PLUS, {}, (sz: number) => sz],
        [FID_MINUS, {}, (sz: number) => n - sz],
      ] as const;
      for (const [metric, extra, count] of cases) {
        const res = await (metric as ExtraMetric<any>).score(task, b, s, new Int32Array(nRows), { ...metric.defaults, score: 'probability', ...extra }, new Seeder(2));
        expect(Array.from(res.curves![0])).toEqual(sizes.map(count));
      }
    } finally {
      task.model.dispose();
    }
  });

  it('on a model that reads only a known subset I (|I| = 8 of 40), FFID+ peaks exactly at s = |I|, and FID+ first reaches its maximum there', async () => {
    const nn = 40;
    const I = [3, 7, 11, 15, 19, 23, 27, 31];
    const rows = 4;
    const task = selfSurrogate(subsetSumTask(nn, I, rows), 0.1); // K = 4
    try {
      const expl = rankingExplanation(nn, rows, I);
      const b = batchOf(new Float32Array(rows * nn).fill(1), rows);
      const sizes = Array.from(gridSizes(nn, '5%'));
      const at = sizes.indexOf(8); // ρ = 20%
      const res = await FFID_PLUS.score(task, b, expl, new Int32Array(rows), { ...FFID_PLUS.defaults, score: 'probability' }, new Seeder(3));
      for (let r = 0; r < rows; r++) {
        const c = Array.from(res.curves![r]);
        expect(c[at]).toBe(4); // all of min(⌊8/2⌋, 4) = 4 removed features are informative
        c.forEach((v, j) => j !== at && expect(v).toBeLessThan(4));
        expect(c.indexOf(Math.max(...c))).toBe(at);
      }
      const fid = await FID_PLUS.score(task, b, expl, new Int32Array(rows), { ...FID_PLUS.defaults, score: 'probability' }, new Seeder(3));
      const c = Array.from(fid.curves![0]);
      expect(c).toEqual(sizes.map((sz) => Math.min(sz, 8)));
      expect(c.indexOf(8)).toBe(at);
    } finally {
      releaseFfidelity(task);
      task.model.dispose();
    }
  });

  it('accuracy score: 1(c = f(x)) − mean 1(c = f(χ)); a class that needs all of I flips when any of I is removed', async () => {
    const nn = 10;
    const I = [0, 1, 2];
    const rows = 2;
    // logits [0, Σ_I x − 2.5]: class 1 iff all three informative features are present (rows of ones)
    const w = [new Array(nn).fill(0), Array.from({ length: nn }, (_, i) => (I.includes(i) ? 1 : 0))];
    const x = new Float32Array(rows * nn).fill(1);
    const task = makeTask(new TargetModel(linearModel(w, [0, -2.5])), datasetOf(x, rows, nn, 2));
    try {
      const expl = rankingExplanation(nn, rows, I);
      const target = Int32Array.from([1, 1]);
      const fid = await FID_PLUS.score(task, batchOf(x, rows), expl, target, FID_PLUS.defaults, new Seeder(0));
      expect(Array.from(fid.curves![0])).toEqual(new Array(19).fill(1));
      const fidm = await FID_MINUS.score(task, batchOf(x, rows), expl, target, FID_MINUS.defaults, new Seeder(0));
      // keeping only the top-s: s < 3 drops an informative feature (drop 1), s ≥ 3 keeps them all (0)
      expect(Array.from(fidm.curves![0])).toEqual(Array.from(gridSizes(nn, '5%'), (sz) => (sz < 3 ? 1 : 0)));
    } finally {
      task.model.dispose();
    }
  });
});

describe('F-Fidelity: determinism, batching, registration', () => {
  it('numbers do not depend on grouping, on the other explanations scored along or on the rows slice', async () => {
    const nn = 12;
    const rows = 6;
    const x = randomRows(rows, nn, 'ffid-inv');
    const task = mlpTask(nn, 3, x, rows, 5);
    try {
      const a = randomRows(rows, nn, 'ffid-a');
      const b2 = randomRows(rows, nn, 'ffid-b');
      const target = new Int32Array(rows);
      const plan: FidelityPlan = { unitId: 'RFID+', side: '+', removal: 'random', alpha: 0.5, cap: nn, draws: 9, score: 'probability', grid: '5%' };
      const big = await fidelityScores(task.model, task, batchOf(x, rows), target, [a, b2], plan, new Seeder(4));
      const small = await fidelityScores(task.model, task, batchOf(x, rows), target, [a, b2], plan, new Seeder(4), undefined, undefined, 1);
      const alone = await fidelityScores(task.model, task, batchOf(x, rows), target, [b2], plan, new Seeder(4));
      expect(Array.from(small[1].perSample)).toEqual(Array.from(big[1].perSample));
      expect(Array.from(alone[0].perSample)).toEqual(Array.from(big[1].perSample));
      const slice = await fidelityScores(task.model, task, batchOf(x.slice(2 * nn), rows - 2, 2), target.slice(2), [b2.slice(2 * nn)], plan, new Seeder(4));
      expect(Array.from(slice[0].perSample)).toEqual(Array.from(big[1].perSample.slice(2)));
      const live = Array.from(gridSizes(nn, '5%')).filter((sz) => Math.floor(sz / 2) > 0).length; // s = 1 (ρ = 5%, 10%) removes ⌊½⌋ = 0
      expect(live).toBe(17);
      expect(big[0].modelCalls + big[1].modelCalls).toBe(rows + 2 * rows * live * 9);
    } finally {
      task.model.dispose();
    }
  });

  it('registered beside the ten: getMetric, scoreExplanations and jobs take the ids; METRICS and metrics "all" stay the ten', async () => {
    expect(METRICS.length).toBe(10);
    expect(EXTRA_METRICS.map((m) => m.id)).toEqual(['FFID+', 'FFID-', 'RFID+', 'RFID-', 'FID+', 'FID-', 'AD-INS', 'AD-DEL']);
    expect(getMetric('FFID+')?.direction).toBe('higher');
    expect(getMetric('FFID-')?.direction).toBe('lower');
    const job = resolveJob({ task: { demo: 'iris' }, metrics: [{ id: 'FFID+', params: { beta: 0.5 } }, { id: 'FID-' }, { id: 'DEL' }] });
    expect(jobMetrics(job).map((m) => m.id)).toEqual(['FFID+', 'FID-', 'DEL']);
    expect(jobMetrics(resolveJob({ task: { demo: 'iris' } })).length).toBe(10);
    expect(() => resolveJob({ task: { demo: 'iris' }, metrics: [{ id: 'FFID+', params: { beta: 2 } }] })).toThrow(/beta/);
    expect(() => checkJobForTask(job, 4)).not.toThrow();

    const nn = 10;
    const rows = 3;
    const task = selfSurrogate(subsetSumTask(nn, ALL(nn), rows), 0.2);
    try {
      const expl = rankingExplanation(nn, rows, [1]);
      const res = await scoreExplanations(task, batchOf(new Float32Array(rows * nn).fill(1), rows), new Int32Array(rows), [expl], [{ id: 'FFID+', params: { score: 'probability', beta: 0.2 } }, { id: 'RP' }], new Seeder(0));
      expect(Array.from(res[0][0].curves![0])).toEqual(Array.from(gridSizes(nn, '5%'), (sz) => plusCount(sz, 0.5, 2)));
    } finally {
      releaseFfidelity(task);
      task.model.dispose();
    }
  });

  it('no tensor left behind: FFID± fine-tuning on the fly (cached per task, shared by both sides), AD-INS, then releaseFfidelity', async () => {
    const nn = 10;
    const rows = 5;
    const x = randomRows(rows, nn, 'leak-x');
    const task = mlpTask(nn, 2, x, rows, 4);
    const expl = randomRows(rows, nn, 'leak-s');
    const p = { beta: 0.2, draws: 3, finetuneEpochs: 1 };
    try {
      await FFID_PLUS.score(task, batchOf(x, rows), expl, new Int32Array(rows), { ...FFID_PLUS.defaults, ...p }, new Seeder(0)); // warm-up
      releaseFfidelity(task);
      const before = tf.memory().numTensors;
      await FFID_PLUS.score(task, batchOf(x, rows), expl, new Int32Array(rows), { ...FFID_PLUS.defaults, ...p }, new Seeder(0));
      const afterOne = tf.memory().numTensors;
      await FFID_MINUS.score(task, batchOf(x, rows), expl, new Int32Array(rows), { ...FFID_MINUS.defaults, ...p }, new Seeder(0));
      expect(tf.memory().numTensors).toBe(afterOne); // FFID- reused FFID+'s surrogate
      expect(afterOne).toBeGreaterThan(before); // the cached surrogate's weights
      await AD_INS.score(task, batchOf(x, rows), expl, new Int32Array(rows), AD_INS.defaults, new Seeder(0));
      releaseFfidelity(task);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      releaseFfidelity(task);
      task.model.dispose();
    }
  });

  it('refusals: β·n < 1, a surrogate fine-tuned with another β, a GraphModel (FID± still run on it)', async () => {
    const task = selfSurrogate(subsetSumTask(4, [0, 1, 2, 3], 2), 0.1);
    const b = batchOf(new Float32Array(8).fill(1), 2);
    const expl = rankingExplanation(4, 2, [0]);
    try {
      const e1 = await FFID_PLUS.score(task, b, expl, new Int32Array(2), FFID_PLUS.defaults, new Seeder(0)).catch((e) => e);
      expect(isUserError(e1) && /β·n⌋ = 0/.test(e1.message)).toBe(true);
      const e2 = await FFID_MINUS.score(task, b, expl, new Int32Array(2), { ...FFID_MINUS.defaults, beta: 0.5 }, new Seeder(0)).catch((e) => e);
      expect(isUserError(e2) && /β = 0\.1/.test(e2.message)).toBe(true);
    } finally {
      releaseFfidelity(task);
      task.model.dispose();
    }
    const dir = join(__dirname, '../../../tests/fixtures/models/graph-mlp');
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    const w = readFileSync(join(dir, 'weights.bin'));
    const gm = await loadModelFromFiles(json, new Map([['weights.bin', w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength) as ArrayBuffer]]), 'graph-mlp');
    const x = randomRows(3, gm.nFeatures, 'graph-ffid');
    const gt = makeTask(gm, datasetOf(x, 3, gm.nFeatures, gm.nClasses('probability')));
    try {
      const e3 = await FFID_PLUS.score(gt, batchOf(x, 3), randomRows(3, gm.nFeatures, 'g-s'), new Int32Array(3), { ...FFID_PLUS.defaults, beta: 1 }, new Seeder(0)).catch((e) => e);
      expect(isUserError(e3) && /GraphModel/.test(e3.message)).toBe(true);
      const ok = await FID_PLUS.score(gt, batchOf(x, 3), randomRows(3, gm.nFeatures, 'g-s'), new Int32Array(3), FID_PLUS.defaults, new Seeder(0));
      expect(ok.perSample.length).toBe(3);
    } finally {
      gm.dispose();
    }
  });
});
