/**
 * `deepfaith run` on image tasks end to end: a tiny digits job (patch tokens, CNN priors
 * with the CAM methods) writes results.json, report.md and an explainer whose config records patch
 * tokens; `deepfaith explain` explains image rows with it; the studio's worker trains the same job
 * through the engine and gives runJob's table cell by cell; the committed jobs/digits.json and
 * jobs/fashion.json resolve and pass the task checks (every method applies, layer names valid).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/main';
import { checkJobForTask, jobMethodRequests, loadJobTask, resolveJob, runJob, type JobInput } from '../src/core/job';
import { getMethod } from '../src/core/attribution/registry';
import { nodeJobIO } from '../src/cli/commands/run';
import { nodeTaskIO } from '../src/cli/files';
import { ACTIVATION_VALUES_PER_PASS, DEFAULT_MAX_BATCH_ROWS } from '../src/core/task/model';
import { mlpTask, randomRows, useBackend } from './helpers/models';
import { handlerCaller } from './helpers/inProcessWorker';

const tiny: JobInput = {
  task: { demo: 'digits', patch: 2, maxRows: 40 },
  methods: [{ id: 'saliency' }, { id: 'grad-cam' }, { id: 'score-cam' }, { id: 'occlusion', params: { window: 1 } }],
  metrics: [{ id: 'DEL' }, { id: 'INS' }, { id: 'FC', params: { nSubsets: 20 } }, { id: 'RP' }],
  supervision: { p: 0.1 },
  explainer: { dModel: 16, nHeads: 2, nLayers: 1, dFF: 32 },
  training: { epochs: 3, batchSize: 64, lcSubsets: 12, evalEvery: 0 },
  seed: 2,
};

let dir: string;
beforeAll(async () => {
  await useBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'deepfaith-image-run-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const quietly = async (argv: string[]) => {
  const spies = [vi.spyOn(console, 'log').mockImplementation(() => undefined), vi.spyOn(console, 'error').mockImplementation(() => undefined)];
  try {
    return await main(argv);
  } finally {
    spies.forEach((s) => s.mockRestore());
  }
};

describe('deepfaith run on a tiny digits job', () => {
  it('writes the report and a patch-token explainer; deepfaith explain reads it', async () => {
    const jobPath = join(dir, 'digits.json');
    writeFileSync(jobPath, JSON.stringify(tiny));
    const out = join(dir, 'out');
    expect(await quietly(['run', jobPath, '--out', out])).toBe(0);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.task.nFeatures).toBe(16);
    expect(results.task.featureNames[5]).toBe('patch 1,1');
    expect(results.priors.map((p: { id: string; ran: boolean }) => [p.id, p.ran])).toEqual([['saliency', true], ['grad-cam', true], ['score-cam', true], ['occlusion', true]]);
    const methods = results.table.filter((r: { diagnostic?: string }) => !r.diagnostic).map((r: { method: string }) => r.method);
    expect(methods).toEqual(['deepfaith', 'saliency', 'grad-cam', 'score-cam', 'occlusion']);
    for (const row of results.table) for (const m of ['DEL', 'INS', 'FC', 'RP']) expect(typeof row.scores[m], `${row.method} ${m}`).toBe('number');
    expect(results.training.steps.length).toBeGreaterThan(0);
    expect(results.training.steps.every((s: { lossPC: number | null; lossLC: number }) => Number.isFinite(s.lossLC))).toBe(true);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/DeepFaith report: digits[\s\S]*40 rows × 16 features[\s\S]*grad-cam/);
    const model = JSON.parse(readFileSync(join(out, 'explainer', 'model.json'), 'utf8'));
    expect(model.config.tokens).toEqual({ kind: 'patch', height: 8, width: 8, channels: 1, patch: 2 });
    expect(model.config.inputMean).toHaveLength(64);
    expect(model.trainedFor).toMatchObject({ demo: 'digits', patch: 2 });

    const ef = join(dir, 'explained.json');
    expect(await quietly(['explain', '--explainer', join(out, 'explainer'), '--demo', 'digits', '--rows', '0:3', '--out', ef])).toBe(0);
    const explained = JSON.parse(readFileSync(ef, 'utf8'));
    expect(explained.values).toHaveLength(3);
    for (const row of explained.values) {
      expect(row).toHaveLength(16);
      expect(row.every((v: number) => v >= 0 && v <= 1)).toBe(true);
    }
    expect(explained.featureNames[15]).toBe('patch 3,3');
    // another patch size than the explainer's is refused by name
    expect(await quietly(['explain', '--explainer', join(out, 'explainer'), '--demo', 'digits', '--patch', '4', '--rows', '0:3', '--out', join(dir, 'bad.json')])).toBe(2);
    expect(existsSync(join(dir, 'bad.json'))).toBe(false);
  });
});


describe('the studio worker trains on an image task through the engine', () => {
  it('explain → evaluate → train through the handler equals runJob on the digits job, cell by cell', async () => {
    const w = handlerCaller();
    try {
      await w.call({ type: 'init', backend: 'wasm', baseUrl: '' });
      await w.call({ type: 'loadTask', source: { kind: 'demo', demoId: 'digits' }, settings: { output: 'probability', baseline: 'zero', target: 'predicted', patch: 2 } });
      const attribution = await w.call({ type: 'attribute', job: tiny });
      expect(attribution.rows.length).toBe(40);
      await w.call({ type: 'evaluate', job: tiny });
      const trained = await w.call({ type: 'train', config: { job: tiny, watchRow: 0, explainRows: [0, 1] } });
      const studio = trained.result;
      expect(trained.explainerSaliency.length).toBe(2 * 16);
      expect((trained.artifacts.modelJson as { config: { tokens: { kind: string } } }).config.tokens.kind).toBe('patch');
      const cli = await runJob(tiny, nodeJobIO(process.cwd()));
      cli.explainer.dispose();
      expect(studio.split).toEqual(cli.result.split);
      expect(studio.supervision.counts).toEqual(cli.result.supervision.counts);
      expect(studio.training.steps.map((s) => [s.lossPC, s.lossLC])).toEqual(cli.result.training.steps.map((s) => [s.lossPC, s.lossLC]));
      expect(studio.table.map((r) => r.method)).toEqual(cli.result.table.map((r) => r.method));
      for (let i = 0; i < studio.table.length; i++)
        for (const m of studio.metrics) expect(studio.table[i].scores[m.id], `${studio.table[i].method} ${m.id}`).toBe(cli.result.table[i].scores[m.id]);
    } finally {
      w.session.dispose();
      (w.handler as unknown as { trainer?: { dispose(): void } }).trainer?.dispose();
    }
  });
});

describe('the committed image jobs', () => {
  for (const file of ['jobs/digits.json', 'jobs/fashion.json'])
    it(`${file} resolves, and every method applies to the task with valid parameters`, async () => {
      const job = resolveJob(JSON.parse(readFileSync(file, 'utf8')));
      const loaded = await loadJobTask(job, nodeTaskIO());
      try {
        expect(loaded.task.space.kind).toBe('image');
        checkJobForTask(job, loaded.task.nFeatures, loaded.task);
        for (const m of jobMethodRequests(job, 'image')) expect(getMethod(m.id)!.applicable(loaded.task), m.id).toBeNull();
        // rows per forward pass: the largest layer output (digits conv2: 8·8·32; fashion conv1: 28·28·32 values per row) times the rows stays within the budget
        const widest = file.includes('digits') ? 8 * 8 * 32 : 28 * 28 * 32;
        expect(loaded.task.model.maxBatchRows).toBe(Math.min(DEFAULT_MAX_BATCH_ROWS, Math.floor(ACTIVATION_VALUES_PER_PASS / widest)));
        expect(loaded.task.model.maxBatchRows).toBe(file.includes('digits') ? 8192 : 668);
      } finally {
        loaded.task.model.dispose();
      }
    });
});

describe('rows per forward pass', () => {
  it('a tabular MLP keeps 8192 rows per pass', () => {
    const task = mlpTask(6, 3, randomRows(4, 6, 'mbr'), 4);
    try {
      expect(task.model.maxBatchRows).toBe(8192);
    } finally {
      task.model.dispose();
    }
  });
});
