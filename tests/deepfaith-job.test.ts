import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { DEFAULTS, PAPER_PRESET, applyOverrides, reportMarkdown, evaluationSplit, exportPrepared, planTraining, prepareJob, preparedKey, bootstrapRanks, rankTable, resolveJob, runJob, trainAndReport, type JobEvent, type JobInput } from '../src/core/job';
import { nodeJobIO } from '../src/cli/commands/run';
import { main } from '../src/cli/main';
import { loadExplainer } from '../src/core/explainer/model';
import { additiveTask, randomRows, useBackend } from './helpers/models';
import { lcTargets, lossLC } from '../src/core/explainer/losses';
import { lcOptimum, RANK_RESAMPLES, unitRows } from '../src/core/job/report';
import { Seeder } from '../src/core/rng';
import { minMaxNormalize, scoreAll } from '../src/core/supervision/supervision';

const tinyJob: JobInput = {
  task: { demo: 'iris', maxRows: 40 },
  methods: [{ id: 'saliency' }, { id: 'occlusion' }, { id: 'feature-ablation' }],
  metrics: [{ id: 'FC' }, { id: 'DEL' }, { id: 'RP' }],
  supervision: { p: 0.3 },
  explainer: { dModel: 8, nHeads: 2, nLayers: 1, dFF: 16 },
  training: { epochs: 3, lcSubsets: 10, evalEvery: 1 },
  seed: 3,
};

describe('job', () => {
  beforeAll(() => useBackend('wasm'));

  it('resolveJob merges DEFAULTS and rejects unknown fields with a message', () => {
    const j = resolveJob({ task: { demo: 'wine' } });
    expect(j.supervision).toEqual({ delta: 0.9, p: 0.15, testFraction: 0.2 });
    expect(j.training.alpha).toEqual({ epsilon: 1e-5, window: 5, C: 10, every: 'epoch' });
    expect(j.methods).toBe('paper');
    expect(j.mode).toBe(DEFAULTS.mode);
    expect(() => resolveJob({ task: { demo: 'wine' }, training: { epoch: 3 } as never })).toThrow(/Job section training has no parameter "epoch"\. Its parameters: epochs \(an integer from 0 to 100000, default 60\)/);
    expect(() => resolveJob({ task: { demo: 'wine' }, methods: [{ id: 'no-such-method' }] })).toThrow(/methods\[0\]: "no-such-method" is not an attribution method/);
    expect(() => resolveJob({ task: { demo: 'nope' } })).toThrow(/not a demo/);
    expect(() => resolveJob({})).toThrow(/names no task/);
    expect(() => resolveJob({ task: { demo: 'iris' }, mode: 'x' as never })).toThrow(/mode "x"/);
  });

  it('a misspelled or out-of-range parameter is refused before anything runs, naming the unit, the key and the allowed values', () => {
    const base = { task: { demo: 'iris' } };
    expect(() => resolveJob({ ...base, metrics: [{ id: 'FC', params: { nSubset: 5 } }] })).toThrow(/Metric FC has no parameter "nSubset"\. Its parameters: nSubsets \(an integer from 2 to 100000, default 100\)/);
    expect(() => resolveJob({ ...base, methods: [{ id: 'integrated-gradients', params: { step: 4 } }] })).toThrow(/Method integrated-gradients has no parameter "step"/);
    expect(() => resolveJob({ ...base, metrics: [{ id: 'FC', params: { nSubsets: 1e9 } }] })).toThrow(/"nSubsets" is 1000000000, but it must be an integer from 2 to 100000/);
    expect(() => resolveJob({ ...base, training: { epochs: -1 } })).toThrow(/"epochs" is -1/);
    expect(() => resolveJob({ ...base, training: { epochs: '3' as never } })).toThrow(/"epochs" is "3", but it must be an integer/);
    expect(() => resolveJob({ ...base, explainer: { dModel: 8, nHeads: 3 } })).toThrow(/dModel = 8 is not a multiple of explainer\.nHeads = 3/);
    expect(() => resolveJob({ task: { demo: 'iris', maxRows: -5 } })).toThrow(/"maxRows" is -5/);
    expect(() => resolveJob({ ...base, metrics: [] })).toThrow(/"metrics" is an empty list/);
    expect(() => resolveJob({ task: { demo: 'iris', model: 'm.json', data: 'd.csv' } })).toThrow(/names both the demo "iris" and files/);
    expect(() => resolveJob({ ...base, training: { learningRate: 'fast' as never } })).toThrow(/"learningRate" is "fast"/);
  });

  it('overrides of a job (a tuning variant, an option) are checked like the job\'s own fields: refused when misspelt or out of range, merged field by field otherwise', async () => {
    const job = resolveJob({ task: { demo: 'iris' }, training: { epochs: 7, alpha: { C: 3 } } });
    expect(() => applyOverrides(job, { training: { epoch: 2 } as never })).toThrow(/Job section training has no parameter "epoch"/);
    expect(() => applyOverrides(job, { training: { patience: -1 } })).toThrow(/"patience" is -1/);
    expect(() => applyOverrides(job, { training: { alpha: { every: 'batch' } as never } })).toThrow(/"every" is "batch"/);
    expect(() => applyOverrides(job, { explainer: { dModel: 8, nHeads: 3 } })).toThrow(/dModel = 8 is not a multiple of explainer\.nHeads = 3/);
    expect(() => applyOverrides(job, { supervision: { p: 2 } })).toThrow(/"p" is 2/);
    expect(() => applyOverrides(job, { explainer: 'wide' as never })).toThrow(/Job field "explainer" must be an object/);
    const o = applyOverrides(job, { training: { patience: 3, batchSize: undefined, alpha: { window: 5 } }, explainer: { nLayers: 2 } });
    expect(o.training).toEqual({ ...job.training, patience: 3, alpha: { ...job.training.alpha, window: 5 } });
    expect(o.training.alpha.C).toBe(3);
    expect(o.explainer).toEqual({ ...job.explainer, nLayers: 2 });
    expect(o.supervision).toEqual(job.supervision);
    expect({ ...o, training: job.training, explainer: job.explainer }).toEqual(job);
    // the engine refuses them when a training is planned, before any training step
    const prep = await prepareJob(resolveJob(tinyJob), nodeJobIO(process.cwd()));
    try {
      expect(() => planTraining(prep, { training: { lcSubset: 50 } as never })).toThrow(/Job section training has no parameter "lcSubset"/);
      const before = tf.memory().numTensors;
      await expect(trainAndReport(prep, { explainer: { dropout: 2 } })).rejects.toThrow(/"dropout" is 2/);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      prep.loaded.task.model.dispose();
    }
  });

  it('target "label" on a file whose labels are 1 and 2 explains classes 1 and 2, in a job as in deepfaith attribute', async () => {
    const job = resolveJob({ task: { model: 'public/demos/iris/model/model.json', data: 'tests/fixtures/iris-classes-1-2.csv', label: 'target', target: 'label' }, methods: [{ id: 'saliency' }], metrics: [{ id: 'DEL' }] });
    const prep = await prepareJob(job, nodeJobIO(process.cwd()));
    prep.loaded.task.model.dispose();
    const labels = readFileSync('tests/fixtures/iris-classes-1-2.csv', 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',').pop()));
    expect(Array.from(prep.target)).toEqual(labels);
    expect(new Set(labels)).toEqual(new Set([1, 2]));
    const dir = mkdtempSync(join(tmpdir(), 'df-label-'));
    expect(await main(['attribute', '--model', 'public/demos/iris/model/model.json', '--data', 'tests/fixtures/iris-classes-1-2.csv', '--label', 'target', '--target', 'label', '--method', 'saliency', '--out', join(dir, 'a.json')])).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'a.json'), 'utf8')).target).toEqual(labels);
  });

  it('task.maxRows reads only the rows the job needs: a bad cell after them is never reached', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'df-rows-'));
    const lines = readFileSync('public/demos/iris/data.csv', 'utf8').trim().split('\n');
    const bad = [...lines, ...lines.slice(1), ...lines.slice(1)];
    bad[250] = bad[250].replace(/^[^,]+/, 'oops');
    writeFileSync(join(dir, 'iris-bad-tail.csv'), bad.join('\n') + '\n');
    const job = resolveJob({ task: { model: resolve('public/demos/iris/model/model.json'), data: join(dir, 'iris-bad-tail.csv'), label: 'target', maxRows: 100 }, methods: [{ id: 'saliency' }], metrics: [{ id: 'DEL' }] });
    const prep = await prepareJob(job, nodeJobIO(dir));
    prep.loaded.task.model.dispose();
    expect(prep.loaded.data.nRows).toBe(100);
    // the same file with every row is refused at the bad cell
    await expect(prepareJob({ ...job, task: { ...job.task, maxRows: 0 } }, nodeJobIO(dir))).rejects.toThrow(/row 249 \(line 251\), column "sepal length \(cm\)": "oops" is not a number/);
  });

  it('priorBudget "paper" runs the priors at the paper\'s Table 6 budgets unless the job gives a parameter; it is part of the cache key', async () => {
    const job = resolveJob({ task: { demo: 'iris', maxRows: 20 }, methods: [{ id: 'kernel-shap' }, { id: 'lime', params: { samples: 40 } }, { id: 'saliency' }], metrics: [{ id: 'DEL' }], priorBudget: 'paper' });
    const prep = await prepareJob(job, nodeJobIO(process.cwd()));
    prep.loaded.task.model.dispose();
    expect(prep.priors.map((p) => [p.id, p.params])).toEqual([
      ['kernel-shap', { samples: 100 }],
      ['lime', { samples: 40, kernelWidth: 0.25, ridge: 0.01 }],
      ['saliency', { abs: true }],
    ]);
    expect(preparedKey(job)).not.toBe(preparedKey({ ...job, priorBudget: 'default' }));
    expect(() => resolveJob({ task: { demo: 'iris' }, priorBudget: 'tiny' as never })).toThrow(/priorBudget "tiny" is not known/);
  });

  it('a fit is scored at unit scale: where Δ varies by 1e-6 the exact optimum w_i x_i has L_LC 0 at unit scale, while at its own scale the Pearson\'s 1e-8 nearly halves it', async () => {
    const W = [2e-6, -1e-6, 0.5e-6, 1.5e-6];
    const nR = 3;
    const x = Float32Array.from([1, 1, 1, 1, 0.5, -2, 1, 1, -1, 0.25, -2, 2]);
    const task = additiveTask(W, 0.2, x, nR);
    try {
      const lc = await lcTargets(task, x, nR, Int32Array.from([0, 1, 2]), new Int32Array(nR), 16, new Seeder(2), 'u', 'exact');
      const exact = Float32Array.from({ length: nR * W.length }, (_, j) => W[j % W.length] * x[j]);
      const lcOf = async (phi: Float32Array) => {
        const t = tf.tidy(() => lossLC(tf.tensor2d(phi, [nR, W.length]), tf.tensor3d(lc.masks, [nR, lc.k, W.length]), tf.tensor2d(lc.delta, [nR, lc.k])));
        const v = (await t.data())[0];
        t.dispose();
        return v;
      };
      const unit = unitRows(exact, nR, W.length);
      // each row divided by its largest |value|
      for (let r = 0; r < nR; r++) {
        const m = Math.max(...Array.from(exact.subarray(r * W.length, (r + 1) * W.length), Math.abs));
        for (let i = 0; i < W.length; i++) expect(unit[r * W.length + i]).toBeCloseTo(exact[r * W.length + i] / m, 6);
      }
      expect(await lcOf(unit)).toBeCloseTo(0, 3);
      expect(await lcOf(exact)).toBeGreaterThan(0.2);
      expect(Array.from(unitRows(new Float32Array(4), 1, 4))).toEqual([0, 0, 0, 0]);
    } finally {
      task.model.dispose();
    }
  });

  it('the L_LC optimum is the least-squares attribution: on an additive model with a zero baseline it is w_i x_i exactly', async () => {
    const W = [2, -1, 0.5, 1.5];
    const nR = 4;
    const x = randomRows(nR, W.length, 'lc-opt');
    const task = additiveTask(W, 0.2, x, nR);
    try {
      const lc = await lcTargets(task, x, nR, Int32Array.from([0, 1, 2, 3]), new Int32Array(nR), 30, new Seeder(2), 'u');
      const beta = await lcOptimum(lc, nR, W.length);
      for (let r = 0; r < nR; r++) for (let i = 0; i < W.length; i++) expect(beta[r * W.length + i]).toBeCloseTo(W[i] * x[r * W.length + i], 4);
    } finally {
      task.model.dispose();
    }
  });

  it('the non-negative L_LC optimum: with all 2^n subsets (orthogonal centred indicators) it is max(0, w_i x_i) exactly', async () => {
    const W = [2, -1, 0.5, -1.5];
    const nR = 3;
    const x = Float32Array.from([1, 1, 1, 1, 0.5, -2, 1, 1, -1, 0.25, -2, 2]);
    const task = additiveTask(W, 0.2, x, nR);
    try {
      const lc = await lcTargets(task, x, nR, Int32Array.from([0, 1, 2]), new Int32Array(nR), 16, new Seeder(2), 'u', 'exact');
      expect(lc.k).toBe(16);
      const nn = await lcOptimum(lc, nR, W.length, { nonNegative: true });
      const free = await lcOptimum(lc, nR, W.length);
      for (let r = 0; r < nR; r++)
        for (let i = 0; i < W.length; i++) {
          expect(free[r * W.length + i]).toBeCloseTo(W[i] * x[r * W.length + i], 4);
          expect(nn[r * W.length + i]).toBeCloseTo(Math.max(0, W[i] * x[r * W.length + i]), 4);
        }
    } finally {
      task.model.dispose();
    }
  });

  it('the L_LC ceilings: the out-of-sample and non-negative fits are recomputed by hand from fresh subsets, and the reachable row is scored like every explanation', async () => {
    const prep = await prepareJob(resolveJob(tinyJob), nodeJobIO(process.cwd()));
    const { result, explainer } = await trainAndReport(prep, { training: { epochs: 1 } });
    try {
      const c = result.ceilings!.lossLC;
      const k = tinyJob.training!.lcSubsets!;
      expect(c.fitSubsets).toBe(Math.max(10 * k, 4 * (prep.loaded.task.nFeatures + 1)));
      const n = prep.loaded.task.nFeatures;
      const pos = result.split.testRows.map((r) => Array.from(prep.loaded.batch.rowIndex).indexOf(r));
      const x = Float32Array.from(pos.flatMap((p) => Array.from(prep.loaded.batch.x.subarray(p * n, (p + 1) * n))));
      const rowIndex = Int32Array.from(result.split.testRows);
      const target = Int32Array.from(pos, (p) => prep.target[p]);
      const nT = pos.length;
      const seedOf = () => new Seeder(result.training.seed);
      const held = await lcTargets(prep.loaded.task, x, nT, rowIndex, target, k, seedOf(), 'deepfaith-lc-heldout');
      const fit = await lcTargets(prep.loaded.task, x, nT, rowIndex, target, c.fitSubsets!, seedOf(), 'deepfaith-lc-fit');
      const lcOf = async (phi: Float32Array, on = held) => {
        const t = tf.tidy(() => lossLC(tf.tensor2d(phi, [nT, n]), tf.tensor3d(on.masks, [nT, on.k, n]), tf.tensor2d(on.delta, [nT, on.k])));
        const v = (await t.data())[0];
        t.dispose();
        return v;
      };
      const reachable = await lcOptimum(fit, nT, n, { nonNegative: true });
      const fitOf = (phi: Float32Array, on = held) => lcOf(unitRows(phi, nT, n), on);
      expect(c.fitScale).toBe('unit');
      const raw = await explainer.explain(x, nT);
      expect(c.explainer).toBeCloseTo(await lcOf(raw), 6);
      // the same comparison on the fit subsets, the optimum fitted to them
      expect(c.onFit!.explainer).toBeCloseTo(await lcOf(raw, fit), 6);
      expect(c.onFit!.optimum).toBeCloseTo(await fitOf(await lcOptimum(fit, nT, n), fit), 6);
      const onFitPct = (100 * (c.onFit!.explainer - c.onFit!.optimum)) / c.onFit!.optimum;
      expect(reportMarkdown(result)).toContain(`On the ${c.fitSubsets} fresh subsets, the optimum fitted to them: explainer ${c.onFit!.explainer.toFixed(4)}, optimum ${c.onFit!.optimum.toFixed(4)} (${Math.abs(onFitPct).toFixed(1)} % ${onFitPct < 0 ? 'below' : 'above'};`);
      expect(c.optimum).toBeCloseTo(await fitOf(await lcOptimum(held, nT, n)), 6);
      expect(c.outOfSample).toBeCloseTo(await fitOf(await lcOptimum(fit, nT, n)), 6);
      expect(c.nonNegative).toBeCloseTo(await fitOf(await lcOptimum(held, nT, n, { nonNegative: true })), 6);
      expect(c.reachable).toBeCloseTo(await fitOf(reachable), 6);
      for (const v of reachable) expect(v).toBeGreaterThanOrEqual(0);
      const row = result.table.find((r) => r.diagnostic === 'lc-reachable')!;
      const scored = await scoreAll(prep.loaded.task, { x, nRows: nT, rowIndex }, target, [minMaxNormalize(reachable, nT, n)], prep.metrics, new Seeder(prep.job.seed));
      result.metrics.forEach((m, i) => expect(row.scores[m.id]).toBeCloseTo(scored.perSample[0][i].reduce((a, b) => a + b, 0) / nT, 6));
      expect(reportMarkdown(result)).toContain(`reachable ${c.reachable!.toFixed(4)}`);
      expect(reportMarkdown(result)).not.toContain('signed head');
      // a signed head is measured against the same fits; its ceiling is the out-of-sample optimum
      const signed = await trainAndReport(prep, { training: { epochs: 1 }, explainer: { head: 'signed' } });
      signed.explainer.dispose();
      const s = signed.result.ceilings!.lossLC;
      expect([s.optimum, s.outOfSample, s.reachable]).toEqual([c.optimum, c.outOfSample, c.reachable]);
      const pct = (100 * (s.explainer - s.outOfSample!)) / s.outOfSample!;
      expect(reportMarkdown(signed.result)).toContain(`out-of-sample optimum ${s.outOfSample!.toFixed(4)} (explainer ${Math.abs(pct).toFixed(1)} % ${pct < 0 ? 'below' : 'above'}: the ceiling of this explainer's signed head)`);
      expect(s.onFit!.optimum).toBe(c.onFit!.optimum);
    } finally {
      explainer.dispose();
      prep.loaded.task.model.dispose();
    }
  });

  it('with early stopping the explainer fits the training rows minus validation rows carved from them; the test rows are never seen', async () => {
    const { result, explainer } = await runJob({ ...tinyJob, training: { ...tinyJob.training, patience: 2, epochs: 4 } }, nodeJobIO(process.cwd()));
    explainer.dispose();
    expect(result.split.trainRows.length).toBe(32 - Math.round(0.2 * 32));
    for (const r of result.split.trainRows) expect(result.split.testRows).not.toContain(r);
    expect(result.split.testRows.length).toBe(8);
  });

  it('the cost–faithfulness frontier: every budgeted prior at four budgets, ranked as if added to the table, with the break-even rows', async () => {
    const { result, explainer } = await runJob({ ...tinyJob, methods: [{ id: 'kernel-shap' }, { id: 'integrated-gradients' }, { id: 'saliency' }], training: { ...tinyJob.training, epochs: 2 } }, nodeJobIO(process.cwd()), undefined, undefined, { frontier: true });
    explainer.dispose();
    const f = result.frontier!;
    expect(f.points.map((p) => `${p.method} ${p.budget}`)).toEqual(['kernel-shap 16', 'kernel-shap 64', 'kernel-shap 256', 'kernel-shap 1024', 'integrated-gradients 5', 'integrated-gradients 20', 'integrated-gradients 50', 'integrated-gradients 200']);
    const table = result.table.filter((r) => !r.diagnostic);
    for (const p of f.points) {
      const { meanRank } = rankTable([...table, { scores: p.scores }], result.metrics);
      expect(p.meanRank).toBe(meanRank[meanRank.length - 1]);
      // slower only by 10 % of the explainer's ms per row and 1 ms over the 8 timed test rows or more
      const faster = p.msPerRow - f.explainer.msPerRow >= Math.max(0.1 * f.explainer.msPerRow, 1 / 8);
      if (p.meanRank <= f.explainer.meanRank && faster) expect(p.breakEvenRows).toBe(Math.ceil(f.explainer.buildMs / (p.msPerRow - f.explainer.msPerRow)));
      else expect(p.breakEvenRows).toBeNull();
    }
    expect(f.explainer.timedRows).toBe(8);
    expect(f.explainer.noiseMsPerRow).toBe(Math.max(0.1 * f.explainer.msPerRow, 1 / 8));
    const alternatives = f.points.filter((p) => p.meanRank <= f.explainer.meanRank).sort((a, b) => a.msPerRow - b.msPerRow);
    if (!alternatives.length) expect(f.verdict).toEqual({ kind: 'no-alternative' });
    else if (alternatives[0].breakEvenRows === null) expect(f.verdict.kind).toBe('never');
    else expect(f.verdict).toEqual({ kind: 'after', rows: alternatives[0].breakEvenRows, against: `${alternatives[0].method} (${alternatives[0].param} ${alternatives[0].budget})` });
    // Kernel SHAP with 1,024 samples enumerates all 14 coalitions of 4 features, as with 16: the same scores
    expect(f.points[3].scores).toEqual(f.points[0].scores);
    expect(reportMarkdown(result)).toMatch(/## When does the explainer pay off\?/);
  });

  it('the train-vs-test gap: the explainer ranked with the priors\' stored scores on as many of its training rows as test rows', async () => {
    const prep = await prepareJob(resolveJob(tinyJob), nodeJobIO(process.cwd()));
    const { result, explainer } = await trainAndReport(prep, { training: { epochs: 2 } });
    try {
      const gap = result.ceilings!.rankGap!;
      const nTest = result.split.testRows.length;
      expect(gap.rows).toBe(Math.min(nTest, result.split.trainRows.length));
      expect(gap.test).toBe(result.table.find((r) => r.isExplainer)!.meanRank);
      // by hand: the first gap.rows training rows, explained, normalised, scored with the job's seed, ranked with the stored prior scores
      const n = prep.loaded.task.nFeatures;
      const pos = result.split.trainRows.slice(0, gap.rows).map((r) => Array.from(prep.loaded.batch.rowIndex).indexOf(r));
      const x = Float32Array.from(pos.flatMap((p) => Array.from(prep.loaded.batch.x.subarray(p * n, (p + 1) * n))));
      const batch = { x, nRows: pos.length, rowIndex: Int32Array.from(pos, (p) => prep.loaded.batch.rowIndex[p]) };
      const ours = minMaxNormalize(await explainer.explain(x, pos.length), pos.length, n);
      const scored = await scoreAll(prep.loaded.task, batch, Int32Array.from(pos, (p) => prep.target[p]), [ours], prep.metrics, new Seeder(prep.job.seed));
      const mean = (a: Float32Array, at: number[]) => at.reduce((acc, i) => acc + a[i], 0) / at.length;
      const rows = [
        { scores: Object.fromEntries(result.metrics.map((m, i) => [m.id, mean(scored.perSample[0][i], pos.map((_, k) => k))])) },
        ...prep.ranIds.map((_, j) => ({ scores: Object.fromEntries(result.metrics.map((m, i) => [m.id, mean(prep.scores.perSample[j][i], pos)])) })),
      ];
      expect(gap.train).toBeCloseTo(rankTable(rows, result.metrics).meanRank[0], 10);
      expect(reportMarkdown(result)).toContain(`Train-vs-test gap: the explainer's mean rank is ${gap.train.toFixed(2)} on ${gap.rows} of its own training rows`);
    } finally {
      explainer.dispose();
    }
  });

  it('the rank bootstrap: the test rows resampled with the job\'s seed, the explainer\'s and the priors\' per-row scores ranked each time', async () => {
    const prep = await prepareJob(resolveJob(tinyJob), nodeJobIO(process.cwd()));
    const { result, explainer } = await trainAndReport(prep, { training: { epochs: 2 } });
    try {
      const b = result.rankBootstrap!;
      const ranked = result.table.filter((r) => !r.diagnostic);
      expect(b.resamples).toBe(RANK_RESAMPLES);
      expect(b.rows.map((r) => r.method)).toEqual(ranked.map((r) => r.method));
      // by hand: the test rows explained, normalised and scored with the job's seed; the priors' stored per-row scores at the test rows
      const n = prep.loaded.task.nFeatures;
      const pos = result.split.testRows.map((r) => Array.from(prep.loaded.batch.rowIndex).indexOf(r));
      const x = Float32Array.from(pos.flatMap((p) => Array.from(prep.loaded.batch.x.subarray(p * n, (p + 1) * n))));
      const batch = { x, nRows: pos.length, rowIndex: Int32Array.from(pos, (p) => prep.loaded.batch.rowIndex[p]) };
      const ours = minMaxNormalize(await explainer.explain(x, pos.length), pos.length, n);
      const scored = await scoreAll(prep.loaded.task, batch, Int32Array.from(pos, (p) => prep.target[p]), [ours], prep.metrics, new Seeder(prep.job.seed));
      const perSample = [scored.perSample[0], ...prep.ranIds.map((_, j) => prep.scores.perSample[j].map((v) => Float32Array.from(pos, (p) => v[p])))];
      const expected = await bootstrapRanks(perSample, result.metrics, new Seeder(prep.job.seed).rng('rank-bootstrap', 0), RANK_RESAMPLES);
      expect(b.rows.map(({ method: _, ...rest }) => rest)).toEqual(expected);
      const ex = b.rows[0];
      expect(reportMarkdown(result)).toContain(`the explainer ${ex.lo.toFixed(2)}–${ex.hi.toFixed(2)}, first alone in ${(100 * ex.pBest).toFixed(1)} % of them`);
    } finally {
      explainer.dispose();
    }
  });

  it('explainer.classFrame "sign": each Z pair carries its row\'s target class and the report explains every test row for its own class; a three-class job is refused when its task loads, before any model call', async () => {
    const job = resolveJob({ ...tinyJob, task: { demo: 'breast-cancer', maxRows: 40 }, explainer: { ...tinyJob.explainer, classFrame: 'sign', head: 'signed' }, mode: 'full' });
    const prep = await prepareJob(job, nodeJobIO(process.cwd()));
    const plan = planTraining(prep);
    const posOf = new Map(Array.from(prep.loaded.batch.rowIndex, (r, p) => [r, p] as [number, number]));
    expect(plan.zTrain.nPairs).toBeGreaterThan(0);
    expect(new Set(Array.from(plan.testTarget)).size).toBe(2); // both classes among the test rows
    expect(Array.from(plan.input.z.target!)).toEqual(Array.from(plan.zTrain.pairRow, (r) => prep.target[posOf.get(r)!]));
    expect(Array.from(plan.input.heldOut!.z.target!)).toEqual(Array.from(plan.zTest.pairRow, (r) => prep.target[posOf.get(r)!]));
    const { result, explainer } = await trainAndReport(prep, { training: { epochs: 2 } });
    try {
      // the explainer row is the trained explainer on the test rows for their own classes, min–max normalised and scored
      const n = prep.loaded.task.nFeatures;
      const t = plan.testTarget;
      const ours = minMaxNormalize(await explainer.explain(plan.testBatch.x, plan.testBatch.nRows, t), plan.testBatch.nRows, n);
      const scored = await scoreAll(prep.loaded.task, plan.testBatch, t, [ours], prep.metrics, new Seeder(prep.job.seed));
      const row = result.table.find((r) => r.isExplainer)!;
      result.metrics.forEach((m, i) => expect(row.scores[m.id]).toBeCloseTo(scored.perSample[0][i].reduce((a, b) => a + b, 0) / plan.testBatch.nRows, 10));
      const flipped = minMaxNormalize(await explainer.explain(plan.testBatch.x, plan.testBatch.nRows, t.map((c) => 1 - c)), plan.testBatch.nRows, n);
      expect(Array.from(flipped)).not.toEqual(Array.from(ours));
    } finally {
      explainer.dispose();
      prep.loaded.task.model.dispose();
    }
    const stages = new Set<string>();
    const refused = prepareJob(resolveJob({ ...tinyJob, explainer: { ...tinyJob.explainer, classFrame: 'sign' } }), nodeJobIO(process.cwd()), (e) => stages.add(e.stage));
    await expect(refused).rejects.toThrow(/class frame "sign".*this task has 3 classes/);
    expect([...stages]).toEqual(['load']); // refused while loading: no prior ran
  });

  it('explainer.classFrame "classes" on a three-class job: the explainer explains each of the task\'s classes (nClasses saved), the report scores each test row for its own class, and the three classes\' explanations sum to zero', async () => {
    const job = resolveJob({ ...tinyJob, task: { demo: 'iris' }, explainer: { ...tinyJob.explainer, classFrame: 'classes', head: 'signed' }, mode: 'full' }); // all 150 rows: every class among the test rows
    const prep = await prepareJob(job, nodeJobIO(process.cwd()));
    const plan = planTraining(prep);
    // an override of the prepared job is checked against the task when the training is planned, before Z is built
    expect(() => planTraining(prep, { explainer: { classFrame: 'sign' } })).toThrow(/class frame "sign".*this task has 3 classes/);
    expect(prep.loaded.task.nClasses).toBe(3);
    expect(plan.input.explainer.nClasses).toBe(3);
    expect(new Set(Array.from(plan.testTarget)).size).toBe(3);
    const posOf = new Map(Array.from(prep.loaded.batch.rowIndex, (r, p) => [r, p] as [number, number]));
    expect(Array.from(plan.input.z.target!)).toEqual(Array.from(plan.zTrain.pairRow, (r) => prep.target[posOf.get(r)!]));
    const { result, explainer } = await trainAndReport(prep, { training: { epochs: 2 } });
    try {
      expect(explainer.config.nClasses).toBe(3);
      const n = prep.loaded.task.nFeatures;
      const rows = plan.testBatch.nRows;
      const t = plan.testTarget;
      const ours = minMaxNormalize(await explainer.explain(plan.testBatch.x, rows, t), rows, n);
      const scored = await scoreAll(prep.loaded.task, plan.testBatch, t, [ours], prep.metrics, new Seeder(prep.job.seed));
      const row = result.table.find((r) => r.isExplainer)!;
      result.metrics.forEach((m, i) => expect(row.scores[m.id]).toBeCloseTo(scored.perSample[0][i].reduce((a, b) => a + b, 0) / rows, 10));
      const per = await Promise.all([0, 1, 2].map((c) => explainer.explain(plan.testBatch.x, rows, new Int32Array(rows).fill(c))));
      for (let k = 0; k < rows * n; k++) expect(Math.abs(per[0][k] + per[1][k] + per[2][k])).toBeLessThan(1e-5);
      expect(Array.from(per[0])).not.toEqual(Array.from(per[1]));
    } finally {
      explainer.dispose();
      prep.loaded.task.model.dispose();
    }
  });

  it('preset "paper" starts from the paper\'s tabular settings (Tables 12–14); the job\'s own fields win', () => {
    const j = resolveJob({ task: { demo: 'wine' }, preset: 'paper', supervision: { delta: 0.93 } });
    expect(j.preset).toBe('paper');
    expect(j.supervision).toEqual({ delta: 0.93, p: 0.15, testFraction: 0.2 });
    expect(j.explainer).toEqual({ dModel: 64, nHeads: 8, nLayers: 4, dFF: 128, dropout: 0.01, inputTransform: 'standard', head: 'sigmoid', classFrame: 'none' });
    expect(j.training).toMatchObject({ epochs: 20, learningRate: 1e-5, weightDecay: 1e-5, lcSubsets: 100, alpha: { epsilon: 1e-5, window: 5, C: 10 } });
    expect(j.metrics).toEqual(PAPER_PRESET.metrics());
    expect((j.metrics as { id: string; params?: object }[]).find((m) => m.id === 'FC')!.params).toEqual({ nSubsets: 30, subsetSize: 1 });
    expect(resolveJob({ task: { demo: 'wine' } }).preset).toBeUndefined();
    expect(() => resolveJob({ task: { demo: 'wine' }, preset: 'nope' as never })).toThrow(/preset "nope"/);
  });

  it('ranks per metric with ties sharing the mean rank, direction-aware, NaN last', () => {
    const rows = [{ scores: { A: 0.5, B: 0.1 } }, { scores: { A: 0.9, B: 0.1 } }, { scores: { A: 0.5, B: NaN } }];
    const { ranks, meanRank } = rankTable(rows, [
      { id: 'A', direction: 'higher' },
      { id: 'B', direction: 'lower' },
    ]);
    expect(ranks.map((r) => r.A)).toEqual([2.5, 1, 2.5]);
    expect(ranks.map((r) => r.B)).toEqual([1.5, 1.5, 3]);
    expect(meanRank).toEqual([2, 1.25, 2.75]);
  });

  it('runJob runs the whole pipeline with progress events and a ranked table; no tensor leak', async () => {
    const before = tf.memory().numTensors;
    const events: JobEvent[] = [];
    const { result, explainer } = await runJob(tinyJob, nodeJobIO(process.cwd()), (e) => events.push(e));
    explainer.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const stages = new Set(events.map((e) => e.stage));
    for (const s of ['load', 'priors', 'score-priors', 'supervision', 'train', 'explain', 'score-explainer', 'report']) expect(stages.has(s as never)).toBe(true);
    for (const e of events) expect(e.done).toBeLessThanOrEqual(e.total);
    expect(result.split.trainRows.length + result.split.testRows.length).toBe(40);
    expect(result.split.testRows.length).toBe(8);
    expect(result.split.trainRows.filter((r) => result.split.testRows.includes(r))).toEqual([]);
    expect(result.table.map((r) => r.method)).toEqual(['deepfaith', 'saliency', 'occlusion', 'feature-ablation', 'lc-optimum', 'lc-reachable', 'z-mean']);
    const ranked = result.table.filter((r) => !r.diagnostic);
    // ranks of each metric are a permutation-with-ties of 1..4; the diagnostic rows are not ranked
    for (const m of ['FC', 'DEL', 'RP']) expect(ranked.reduce((a, r) => a + r.ranks[m], 0)).toBeCloseTo(10, 12);
    for (const r of ranked) expect(r.meanRank).toBeCloseTo((r.ranks.FC + r.ranks.DEL + r.ranks.RP) / 3, 12);
    for (const r of result.table.filter((x) => x.diagnostic)) {
      expect(r.meanRank).toBeNaN();
      expect(Object.keys(r.scores).sort()).toEqual(['DEL', 'FC', 'RP']);
    }
    expect(result.ceilings!.lossLC.optimum).toBeLessThan(result.ceilings!.lossLC.explainer);
    expect(Object.keys(result.ceilings!.agreement)).toEqual(['saliency', 'occlusion', 'feature-ablation', 'z-mean']);
    expect(result.supervision.record.length).toBe(32);
    expect(result.supervision.counts.total).toBe(32 * 3);
    const steps = result.training.steps;
    expect(steps.length).toBeGreaterThanOrEqual(3);
    expect(result.training.evals.length).toBe(3);
    // same job, same numbers
    const again = await runJob(tinyJob, nodeJobIO(process.cwd()));
    again.explainer.dispose();
    expect(again.result.table.map((r) => r.scores)).toEqual(result.table.map((r) => r.scores));
  });

  it('CLI: an explainer with classFrame "sign" is saved with it, and explain gives each row its target class\'s explanation (class 0: the negative of class 1\'s)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'df-frame-'));
    const jobPath = join(dir, 'job.json');
    writeFileSync(jobPath, JSON.stringify({ ...tinyJob, task: { demo: 'breast-cancer', maxRows: 40 }, explainer: { ...tinyJob.explainer, classFrame: 'sign' } }));
    const out = join(dir, 'out');
    expect(await main(['run', jobPath, '--out', out])).toBe(0);
    const modelJson = JSON.parse(readFileSync(join(out, 'explainer', 'model.json'), 'utf8'));
    expect(modelJson.config.classFrame).toBe('sign');
    const ef = join(dir, 'e.json');
    expect(await main(['explain', '--explainer', join(out, 'explainer'), '--demo', 'breast-cancer', '--rows', '0:40', '--out', ef])).toBe(0);
    const file = JSON.parse(readFileSync(ef, 'utf8'));
    expect(new Set(file.target).size).toBe(2);
    // the same weights without the frame give class 1's explanation of every row
    const bin = readFileSync(join(out, 'explainer', 'weights.bin'));
    const plain = loadExplainer({ ...modelJson, config: { ...modelJson.config, classFrame: 'none' } }, bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
    try {
      const n = plain.config.nFeatures;
      const rows = readFileSync(resolve('public/demos/breast-cancer/data.csv'), 'utf8').trim().split(/\r?\n/).slice(1, 41).map((l) => l.split(',').slice(0, n).map(Number));
      const y = await plain.explain(Float32Array.from(rows.flat()), 40);
      for (let r = 0; r < 40; r++) for (let i = 0; i < n; i++) expect(file.values[r][i]).toBeCloseTo((file.target[r] === 1 ? 1 : -1) * y[r * n + i], 6);
    } finally {
      plain.dispose();
    }
  });

  it('CLI: run writes results.json, report.md and a loadable explainer; explain writes the attribute format', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'df-job-'));
    const jobPath = join(dir, 'job.json');
    writeFileSync(jobPath, JSON.stringify(tinyJob));
    const out = join(dir, 'out');
    expect(await main(['run', jobPath, '--out', out])).toBe(0);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.table[0].method).toBe('deepfaith');
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/\| \*\*DeepFaith\*\* \|/);
    // the cost model: the iris MLP's forward counted layer by layer, the explainer against it
    expect(results.cost.breakEvenForwards).toBeCloseTo(results.cost.explainerFlops / results.cost.targetFlops, 10);
    expect(results.cost.priors.map((p: { id: string; forwardsPerRow: number }) => [p.id, p.forwardsPerRow])).toEqual([['saliency', 2], ['occlusion', 4], ['feature-ablation', 5]]);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain(`so the explainer costs as much as ${results.cost.breakEvenForwards.toFixed(1)} target forwards per row`);
    expect(existsSync(join(out, 'explainer', 'weights.bin'))).toBe(true);
    const data = resolve('public/demos/iris/data.csv');
    const ef = join(dir, 'e.json');
    expect(await main(['explain', '--explainer', join(out, 'explainer'), '--data', data, '--label', 'target', '--rows', '5:9', '--out', ef])).toBe(0);
    const file = JSON.parse(readFileSync(ef, 'utf8'));
    expect(file.method).toBe('deepfaith');
    expect(file.rows).toEqual([5, 9]);
    expect(file.target.length).toBe(4);
    expect(file.values.length).toBe(4);
    // values equal the reloaded explainer's outputs on those rows
    const bin = readFileSync(join(out, 'explainer', 'weights.bin'));
    const ex = loadExplainer(JSON.parse(readFileSync(join(out, 'explainer', 'model.json'), 'utf8')), bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
    try {
      const rows = readFileSync(data, 'utf8').trim().split(/\r?\n/).slice(1 + 5, 1 + 9).map((l) => l.split(',').slice(0, 4).map(Number));
      const y = await ex.explain(Float32Array.from(rows.flat()), 4);
      for (let r = 0; r < 4; r++) for (let i = 0; i < 4; i++) expect(file.values[r][i]).toBeCloseTo(y[r * 4 + i], 6);
    } finally {
      ex.dispose();
    }
    expect(await main(['explain', '--explainer', join(dir, 'nothing'), '--data', data, '--label', 'target', '--out', ef])).toBe(2);
    expect(results.frontier).toBeUndefined();
    // --frontier adds the cost–faithfulness frontier of the job's budgeted priors (here LIME's samples) to both files
    const job2 = join(dir, 'job2.json');
    writeFileSync(job2, JSON.stringify({ ...tinyJob, methods: [...(tinyJob.methods as { id: string }[]), { id: 'lime' }] }));
    const out2 = join(dir, 'out2');
    expect(await main(['run', job2, '--out', out2, '--frontier'])).toBe(0);
    const withFrontier = JSON.parse(readFileSync(join(out2, 'results.json'), 'utf8'));
    expect(withFrontier.frontier.points.map((p: { method: string; budget: number }) => `${p.method} ${p.budget}`)).toEqual(['lime 25', 'lime 100', 'lime 500', 'lime 2000']);
    expect(readFileSync(join(out2, 'report.md'), 'utf8')).toMatch(/## When does the explainer pay off\?/);
  });

  it('validation rows are carved from the training rows (never the test rows); cached priors give the same table', async () => {
    const job = resolveJob(tinyJob);
    const io = nodeJobIO(process.cwd());
    const prep = await prepareJob(job, io);
    const cache = JSON.parse(JSON.stringify(exportPrepared(prep)));
    const again = await prepareJob(job, io, undefined, undefined, cache);
    try {
      const v = evaluationSplit(prep, 'validation');
      expect(v.train.length + v.test.length).toBe(prep.split.train.length);
      for (const p of [...v.train, ...v.test]) expect(prep.split.train).toContain(p);
      expect(v.test.length).toBe(Math.round(0.2 * prep.split.train.length));
      expect(evaluationSplit(prep, 'test')).toEqual(prep.split);
      const a = await trainAndReport(prep, { evaluateOn: 'validation', training: { epochs: 2 } });
      a.explainer.dispose();
      expect(a.result.split.evaluatedOn).toBe('validation');
      expect(a.result.split.testRows).toEqual(v.test.map((p) => prep.loaded.batch.rowIndex[p]));
      expect(a.result.training.steps[a.result.training.steps.length - 1].epoch).toBe(1);
      const b = await trainAndReport(again, { evaluateOn: 'validation', training: { epochs: 2 } });
      b.explainer.dispose();
      expect(b.result.table).toEqual(a.result.table.map((r) => ({ ...r, msPerSample: b.result.table.find((q) => q.method === r.method)!.msPerSample })));
      await expect(prepareJob({ ...job, seed: 4 }, io, undefined, undefined, cache)).rejects.toThrow(/another job/);
      // a cache of another model (its fingerprint) names the model, not the rows
      const otherModel = { ...cache, fingerprint: { ...cache.fingerprint, model: 'f'.repeat(64) } };
      await expect(prepareJob(job, io, undefined, undefined, otherModel)).rejects.toThrow(/^The cached priors were computed with another model than the one loaded now \(model SHA-256 ffffffffffff… ≠ [0-9a-f]{12}…\)\. Compute the priors again/);
    } finally {
      prep.loaded.task.model.dispose();
      again.loaded.task.model.dispose();
    }
  });
});
