/**
 * One engine: the studio's worker (its real request handler, run in-process with the demo files
 * served from public/) and `runJob` (what `deepfaith run` calls) give the same table for the same
 * job, cell by cell — with settings that the studio used to get wrong (an explainer input transform,
 * the mean baseline, a label target).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { vi } from 'vitest';
import { main } from '../src/cli/main';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { exportPrepared, prepareJob, resolveJob, runJob, type JobInput, type JobResult } from '../src/core/job';
import { nodeJobIO } from '../src/cli/commands/run';
import { useBackend } from './helpers/models';
import { handlerCaller } from './helpers/inProcessWorker';


const job: JobInput = {
  task: { demo: 'iris', baseline: 'mean', target: 'label', maxRows: 60 },
  methods: [{ id: 'saliency' }, { id: 'integrated-gradients', params: { steps: 16 } }, { id: 'occlusion' }, { id: 'feature-ablation' }, { id: 'kernel-shap', params: { samples: 64 } }],
  metrics: 'all',
  supervision: { p: 0.3 },
  explainer: { dModel: 8, nHeads: 2, nLayers: 1, dFF: 16, inputTransform: 'signed-log', head: 'signed' },
  training: { epochs: 4, lcSubsets: 10, evalEvery: 2, batchSize: 64, lcAugment: 2, lcJitter: 0.2 }, // synthetic L_LC rows, explained for their source rows' labels
  seed: 5,
};

describe('the studio worker and runJob give the same table for one job', () => {
  const w = handlerCaller();
  beforeAll(async () => {
    await useBackend('wasm');
    await w.call({ type: 'init', backend: 'wasm', baseUrl: '' });
  });
  afterAll(() => w.session.dispose());

  /** The same job through the studio's handler (the demo loaded, explained, evaluated, trained) and through runJob. */
  async function bothWays(j: JobInput, demoId: string, settings: { output: 'probability'; baseline: 'zero' | 'mean'; target: 'predicted' | 'label' }) {
    await w.call({ type: 'loadTask', source: { kind: 'demo', demoId }, settings });
    const attribution = await w.call({ type: 'attribute', job: j });
    const evaluation = await w.call({ type: 'evaluate', job: j });
    const trained = await w.call({ type: 'train', config: { job: j, watchRow: 0, explainRows: attribution.rows } });
    const cli = await runJob(j, nodeJobIO(process.cwd()));
    return { attribution, evaluation, trained, cli };
  }

  /** Step losses and α, the methods, every table cell (score and rank) and the rank bootstrap: equal. */
  function expectSameRun(studio: JobResult, cli: JobResult): void {
    expect(studio.training.steps.map((s) => [s.lossPC, s.lossLC, s.alpha])).toEqual(cli.training.steps.map((s) => [s.lossPC, s.lossLC, s.alpha]));
    expect(studio.table.map((r) => r.method)).toEqual(cli.table.map((r) => r.method));
    for (let i = 0; i < studio.table.length; i++)
      for (const m of studio.metrics) {
        expect(studio.table[i].scores[m.id], `${studio.table[i].method} ${m.id}`).toBe(cli.table[i].scores[m.id]);
        expect(studio.table[i].ranks[m.id]).toBe(cli.table[i].ranks[m.id]);
      }
    expect(studio.rankBootstrap).toEqual(cli.rankBootstrap);
  }

  it('explain → evaluate → train through the handler equals runJob, cell by cell; no tensor leak', async () => {
    const before = tf.memory().numTensors;
    const { attribution, evaluation, trained, cli } = await bothWays(job, 'iris', { output: 'probability', baseline: 'zero', target: 'predicted' });
    expect(attribution.rows.length).toBe(60);
    expect(evaluation.scores.map((s) => s.methodId)).toEqual(['saliency', 'integrated-gradients', 'occlusion', 'feature-ablation', 'kernel-shap']);
    const studio = trained.result;
    cli.explainer.dispose();

    expect(studio.split).toEqual(cli.result.split);
    expect(studio.supervision.counts).toEqual(cli.result.supervision.counts);
    expectSameRun(studio, cli.result);
    // the targets are the labels, and the explainer kept the job's input transform and head
    expect(Array.from(attribution.target)).toEqual(Array.from(readFileSync('public/demos/iris/data.csv', 'utf8').trim().split('\n').slice(1, 61), (l) => Number(l.split(',').pop())));
    expect((trained.artifacts.modelJson as { config: { inputTransform: string; head: string } }).config).toMatchObject({ inputTransform: 'signed-log', head: 'signed' });
    // the prepared state the studio saves restores the same scores
    const restored = await w.call({ type: 'restore', job, prepared: trained.prepared });
    expect(restored.evaluation.scores.map((s) => s.metrics.map((m) => m.mean))).toEqual(evaluation.scores.map((s) => s.metrics.map((m) => m.mean)));
    // the engine's cache carries the fingerprint of the job's rows, the same as the CLI's
    const cliPrep = await prepareJob(resolveJob(job), nodeJobIO(process.cwd()), undefined, undefined, trained.prepared); // refused if the fingerprints differed
    try {
      expect(exportPrepared(cliPrep).fingerprint).toEqual(trained.prepared.fingerprint);
    } finally {
      cliPrep.loaded.task.model.dispose();
    }
    // a run saved before caches had a fingerprint: refused unless the store has checked the task's files itself
    const { fingerprint: _f, ...unmarked } = trained.prepared;
    await expect(w.call({ type: 'restore', job, prepared: unmarked })).rejects.toThrow(/do not record which model and data files/);
    const old = await w.call({ type: 'restore', job, prepared: unmarked, filesChecked: true });
    expect(old.evaluation.prepared.fingerprint).toEqual(trained.prepared.fingerprint);
    w.session.dispose();
    await w.call({ type: 'explainer', rows: [0] }).catch(() => undefined);
    w.handler['trainer']?.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('with early stopping (the studio checkpoints every epoch, early stopping\'s state included) the handler stops where runJob stops, with the same table', async () => {
    const early: JobInput = { ...job, training: { ...job.training, epochs: 60, patience: 2, evalEvery: 0, learningRate: 0.05 } };
    const { trained, cli } = await bothWays(early, 'iris', { output: 'probability', baseline: 'zero', target: 'predicted' });
    try {
      // both stopped before the last epoch, after the same steps
      const stepsPerEpoch = cli.result.training.steps.filter((st) => st.epoch === 0).length;
      expect(cli.result.training.steps.length).toBeLessThan(60 * stepsPerEpoch);
      expectSameRun(trained.result, cli.result);
    } finally {
      cli.explainer.dispose();
    }
  });

  it('a class-frame explainer (two classes) trains to the same table through the handler and runJob; the studio explains each row for its job target', async () => {
    const bc: JobInput = {
      task: { demo: 'breast-cancer', maxRows: 60 },
      methods: [{ id: 'saliency' }, { id: 'occlusion' }, { id: 'feature-ablation' }],
      metrics: [{ id: 'FC' }, { id: 'DEL' }, { id: 'RP' }],
      supervision: { p: 0.3 },
      explainer: { dModel: 8, nHeads: 2, nLayers: 1, dFF: 16, classFrame: 'sign' },
      training: { epochs: 3, lcSubsets: 10, evalEvery: 1 },
      seed: 2,
    };
    const { attribution, trained, cli } = await bothWays(bc, 'breast-cancer', { output: 'probability', baseline: 'zero', target: 'predicted' });
    expect(new Set(Array.from(attribution.target)).size).toBe(2);
    try {
      expectSameRun(trained.result, cli.result);
      // the studio's explainer saliency: the engine's explainer on the rows for the job's targets, min–max normalised
      const n = 30;
      const x = Float32Array.from(readFileSync('public/demos/breast-cancer/data.csv', 'utf8').trim().split('\n').slice(1, 61).flatMap((l) => l.split(',').slice(0, n).map(Number)));
      const raw = await cli.explainer.explain(x, 60, attribution.target);
      for (let r = 0; r < 60; r++) {
        const row = raw.subarray(r * n, (r + 1) * n);
        const lo = Math.min(...row);
        const hi = Math.max(...row);
        for (let i = 0; i < n; i++) expect(trained.explainerSaliency[r * n + i]).toBeCloseTo((row[i] - lo) / (hi - lo), 5);
      }
      // a row outside the job's 60: explained for the class the job's rule (predicted) gives it
      const x100 = Float32Array.from(readFileSync('public/demos/breast-cancer/data.csv', 'utf8').trim().split('\n')[101].split(',').slice(0, n).map(Number));
      const { proba } = await w.session.predict(x100, 1);
      const c100 = proba[1] > proba[0] ? 1 : 0;
      const shown = (await w.call({ type: 'explainer', rows: [100] })).values;
      const raw100 = await cli.explainer.explain(x100, 1, [c100]);
      const lo = Math.min(...raw100);
      const hi = Math.max(...raw100);
      for (let i = 0; i < n; i++) expect(shown[i]).toBeCloseTo((raw100[i] - lo) / (hi - lo), 5);
    } finally {
      cli.explainer.dispose();
    }
  });

  it('a classes-frame explainer (three classes) trains to the same table through the handler and runJob, and saves the task\'s number of classes', async () => {
    const framed: JobInput = { ...job, task: { ...job.task, maxRows: 150 }, methods: [{ id: 'saliency' }, { id: 'occlusion' }], metrics: [{ id: 'FC' }, { id: 'DEL' }], explainer: { ...job.explainer, classFrame: 'classes' }, training: { ...job.training, epochs: 2 } };
    const { attribution, trained, cli } = await bothWays(framed, 'iris', { output: 'probability', baseline: 'mean', target: 'label' });
    expect(new Set(Array.from(attribution.target)).size).toBe(3);
    try {
      expectSameRun(trained.result, cli.result);
      expect((trained.artifacts.modelJson as { config: { nClasses: number } }).config.nClasses).toBe(3);
      expect(cli.explainer.config.nClasses).toBe(3);
    } finally {
      cli.explainer.dispose();
    }
  });

  it('metric validation (F-Fidelity included) in the studio equals deepfaith validate on the same normalised explanation, metric by metric', async () => {
    const small: JobInput = { ...job, task: { ...job.task, maxRows: 60 }, metrics: [{ id: 'FE' }, { id: 'DEL' }, { id: 'RP' }, { id: 'INF' }] };
    await w.call({ type: 'loadTask', source: { kind: 'demo', demoId: 'iris' }, settings: { output: 'probability', baseline: 'zero', target: 'predicted' } });
    const attribution = await w.call({ type: 'attribute', job: small });
    const studio = await w.call({ type: 'validate', job: small, methodId: 'occlusion', fidelity: true });
    const e = attribution.explanations.find((x) => x.methodId === 'occlusion')!;
    const n = e.normalised.length / attribution.rows.length;
    expect(attribution.rows).toEqual(Array.from({ length: 60 }, (_, i) => i));
    const dir = mkdtempSync(join(tmpdir(), 'deepfaith-validate-'));
    try {
      const file = join(dir, 'occlusion.json');
      const values = attribution.rows.map((_, r) => Array.from(e.normalised.subarray(r * n, (r + 1) * n)));
      writeFileSync(file, JSON.stringify({ method: 'occlusion', rows: [0, 60], target: Array.from(attribution.target), values, baseline: 'mean', output: 'probability' }));
      const out = join(dir, 'validation.json');
      const quiet = [vi.spyOn(console, 'log').mockImplementation(() => undefined), vi.spyOn(console, 'error').mockImplementation(() => undefined)];
      let code: number;
      try {
        code = await main(['validate', '--demo', 'iris', '--max-rows', '60', '--explanations', file, '--metrics', 'FE,DEL,RP,INF,FFID+,FFID-', '--set', 'FFID+.beta=0.25', '--set', 'FFID-.beta=0.25', '--seed', '5', '--out', out]);
      } finally {
        quiet.forEach((q) => q.mockRestore());
      }
      expect(code).toBe(0);
      const cli = JSON.parse(readFileSync(out, 'utf8')).validation;
      expect(studio.metrics.map((m) => m.id)).toEqual(['FE', 'DEL', 'RP', 'INF', 'FFID+', 'FFID-']);
      // iris has 4 features: the studio raises F-Fidelity's beta from 0.1 to 0.25, the smallest that removes a feature
      expect(studio.metrics[4].params.beta).toBe(0.25);
      expect(new Set(studio.metrics[4].values.flat()).size).toBeGreaterThan(1);
      for (let i = 0; i < studio.metrics.length; i++) {
        expect(studio.metrics[i].values, studio.metrics[i].id).toEqual(cli.metrics[i].values);
        expect(studio.metrics[i].trust, studio.metrics[i].id).toEqual(cli.metrics[i].trust);
        expect(studio.metrics[i].macro.perSeed).toEqual(cli.metrics[i].macro.perSeed);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a job for another task, and scores from other settings', async () => {
    await w.call({ type: 'loadTask', source: { kind: 'demo', demoId: 'iris' }, settings: { output: 'probability', baseline: 'zero', target: 'predicted' } });
    await expect(w.call({ type: 'attribute', job: { ...job, task: { demo: 'wine' } } })).rejects.toThrow(/for another task \(wine\) than the one loaded \(iris\)/);
    await w.call({ type: 'attribute', job });
    await expect(w.call({ type: 'evaluate', job: { ...job, seed: 6 } })).rejects.toThrow(/from other settings/);
    await expect(w.call({ type: 'train', config: { job, watchRow: 0, explainRows: [0] } })).rejects.toThrow(/not been scored yet/);
  });
});
