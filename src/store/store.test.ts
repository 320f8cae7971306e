/**
 * The studio's store in Node, driving the real worker handler in-process: defaults come from the
 * engine, exported jobs write every setting (baseline and target included) and `deepfaith run`'s
 * runJob gives the same table for them, one task at a time, and saved results are checked before
 * they are restored.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEFAULTS, resolveJob, runJob, PAPER_METHODS, ABLATION_MODES } from '../core/job';
import { nodeJobIO } from '../cli/commands/run';
import { WorkerClient } from '../worker/client';
import { createStudioStore, evaluationTable, reportTable, STUDIO_CHOICES, type StudioStore } from './store';
import { memoryPersistence, type Persistence, type SavedRun } from './persist';
import { inProcessWorker } from '../../tests/helpers/inProcessWorker';
import { useBackend } from '../../tests/helpers/models';
import { GRADIENT_COST } from '../core/estimate';
import { EXTRA_METRICS, METRICS } from '../core/metrics/registry';

const stores: StudioStore[] = [];
async function newStore(persistence: Persistence = memoryPersistence()): Promise<StudioStore> {
  const worker = inProcessWorker();
  const store = createStudioStore({ client: new WorkerClient(worker), persistence, baseUrl: '' });
  stores.push(store);
  await store.getState().initBackend('wasm');
  return store;
}

/** A small, quick job on the iris demo. */
async function smallJob(store: StudioStore, rows = 30): Promise<void> {
  const s = store.getState();
  expect(await s.loadDemo('iris')).toBe(true);
  for (const m of s.methods) s.setMethod(m.id, { enabled: ['saliency', 'occlusion', 'feature-ablation', 'integrated-gradients'].includes(m.id) });
  s.setRows({ count: rows });
  s.setExplainerArch({ dModel: 8, nHeads: 2, nLayers: 1, dFF: 16 });
  s.setTraining({ epochs: 2, lcSubsets: 10, batchSize: 64 });
}

beforeAll(() => useBackend('wasm'));
afterEach(() => {
  for (const s of stores.splice(0)) s.getState().cancel();
  vi.useRealTimers();
});

describe('defaults come from the engine', () => {
  it('supervision, training and methods are the engine\'s; the studio\'s own choices are the mean baseline and all rows', async () => {
    const store = await newStore();
    const s = store.getState();
    expect(s.jobDefaults).toEqual(JSON.parse(JSON.stringify(DEFAULTS)));
    expect([s.delta, s.p]).toEqual([DEFAULTS.supervision.delta, DEFAULTS.supervision.p]);
    expect(s.trainSettings).toEqual({ explainer: DEFAULTS.explainer, training: DEFAULTS.training, mode: DEFAULTS.mode });
    expect(s.methods.filter((m) => s.methodChoice[m.id].enabled).map((m) => m.id).sort()).toEqual([...PAPER_METHODS].sort());
    expect(s.ablationModes).toEqual([...ABLATION_MODES]);
    expect(s.settings).toEqual({ output: DEFAULTS.task.output, target: DEFAULTS.task.target, baseline: STUDIO_CHOICES.baseline });
    expect(STUDIO_CHOICES.rows).toBe('all');
    expect(await s.loadDemo('wine')).toBe(true);
    expect(store.getState().exportJob().task).toEqual({ demo: 'wine', baseline: 'mean', output: 'probability', target: 'predicted', maxRows: 178 });
    // the ten are on; the metrics beyond the ten are offered but off until chosen, then written in the job
    const st = store.getState();
    expect(st.metrics.filter((m) => !m.beyond).map((m) => m.id)).toEqual(METRICS.map((m) => m.id));
    expect(st.metrics.filter((m) => m.beyond).map((m) => [m.id, st.metricChoice[m.id].enabled])).toEqual(EXTRA_METRICS.map((m) => [m.id, false]));
    expect(st.exportJob().metrics).toEqual(METRICS.map((m) => ({ id: m.id })));
    st.setMetric('FID+', { enabled: true });
    st.setMetric('FID+', { params: { score: 'probability' } });
    const job = store.getState().exportJob();
    expect(job.metrics).toEqual([...METRICS.map((m) => ({ id: m.id })), { id: 'FID+', params: { score: 'probability' } }]);
    expect(resolveJob(job).metrics).toEqual(job.metrics);
  });
});

describe('jobs the studio writes', () => {
  it('write the baseline, target and rows explicitly and only the settings that differ from the engine\'s defaults', async () => {
    const store = await newStore();
    await smallJob(store);
    store.getState().setSettings({ target: 'label' });
    const out = store.getState().exportJob();
    expect(out.task).toEqual({ demo: 'iris', baseline: 'mean', output: 'probability', target: 'label', maxRows: 30 });
    expect(out.methods).toEqual([{ id: 'saliency' }, { id: 'integrated-gradients' }, { id: 'occlusion' }, { id: 'feature-ablation' }]);
    expect(out.explainer).toEqual({ dModel: 8, nHeads: 2, nLayers: 1, dFF: 16 });
    expect(out.training).toEqual({ epochs: 2, lcSubsets: 10, batchSize: 64 });
    expect(out.supervision).toBeUndefined();
    expect(resolveJob(out)).toEqual(resolveJob(store.getState().job()));
  });

  it('explain → evaluate → train in the studio gives the table runJob gives for the exported job, and the label targets', async () => {
    const store = await newStore();
    await smallJob(store);
    store.getState().setSettings({ target: 'label' });
    expect(await store.getState().runExplain()).toBe(true);
    const s1 = store.getState();
    expect(Array.from(s1.attribution!.target)).toEqual(Array.from(s1.info!.labels.slice(0, 30)));
    expect(await s1.runEvaluate()).toBe(true);
    expect(store.getState().supervision).not.toBeNull();
    expect(await store.getState().runTrain()).toBe(true);
    const report = store.getState().report!;
    const cli = await runJob(store.getState().exportJob(), nodeJobIO(process.cwd()));
    cli.explainer.dispose();
    const a = reportTable(report);
    const b = reportTable(cli.result);
    expect(a.rows.map((r) => [r.method, r.scores, r.ranks])).toEqual(b.rows.map((r) => [r.method, r.scores, r.ranks]));
    // the Evaluate table ranks with the engine's ranking
    const t = evaluationTable(store.getState().evaluation!, store.getState().metrics);
    expect(t.rows.map((r) => r.method)).toEqual(['saliency', 'integrated-gradients', 'occlusion', 'feature-ablation']);
  });

  it('the signed head and synthetic L_LC rows: written to the exported job, the same table as runJob, and the watched row shown as it is scored (min–max normalised)', async () => {
    const store = await newStore();
    await smallJob(store);
    store.getState().setExplainerArch({ head: 'signed' });
    store.getState().setTraining({ lcAugment: 1, lcJitter: 0.3 });
    expect(store.getState().exportJob().explainer).toEqual({ dModel: 8, nHeads: 2, nLayers: 1, dFF: 16, head: 'signed' });
    expect(store.getState().exportJob().training).toMatchObject({ lcAugment: 1, lcJitter: 0.3 });
    expect(await store.getState().runExplain()).toBe(true);
    expect(await store.getState().runEvaluate()).toBe(true);
    expect(await store.getState().runTrain()).toBe(true);
    const watched = Array.from(store.getState().watchSaliency!);
    expect([Math.min(...watched), Math.max(...watched)]).toEqual([0, 1]);
    // and so are the explainer's rows the other panels draw
    const sal = store.getState().explainer!.saliency!;
    const n = store.getState().info!.nFeatures;
    expect(sal.length).toBe(30 * n);
    for (let r = 0; r < 30; r++) {
      const row = Array.from(sal.subarray(r * n, (r + 1) * n));
      expect([Math.min(...row), Math.max(...row)]).toEqual([0, 1]);
    }
    const cli = await runJob(store.getState().exportJob(), nodeJobIO(process.cwd()));
    cli.explainer.dispose();
    expect(reportTable(store.getState().report!).rows.map((r) => [r.method, r.scores])).toEqual(reportTable(cli.result).rows.map((r) => [r.method, r.scores]));
  });
});

describe('long work asks first', () => {
  it('an Explain estimated at more than a minute waits for a yes; the estimate counts the model rows', async () => {
    const store = await newStore();
    await smallJob(store, 30);
    expect(store.getState().info!.msPerModelRow).toBeGreaterThan(0);
    store.setState({ info: { ...store.getState().info!, msPerModelRow: 1 } }); // as if the model took 1 ms a row: under 5 s, no question
    expect(await store.getState().runExplain()).toBe(true);
    store.setState({ info: { ...store.getState().info!, msPerModelRow: 20 }, attribution: null }); // 20 ms a row: over a minute
    expect(await store.getState().runExplain()).toBe(false);
    // saliency g + IG g·50 (g = rows per gradient row) + occlusion (3 windows + 1) + feature ablation (4 + 1) rows per explained row
    const perRow = GRADIENT_COST + 50 * GRADIENT_COST + 4 + 5;
    expect(store.getState().confirm).toEqual({ step: 'explain', rows: 30 * perRow, ms: 20 * 30 * perRow });
    expect(store.getState().attribution).toBeNull();
    expect(await store.getState().runExplain({ confirmed: true })).toBe(true);
    expect(store.getState().confirm).toBeNull();
    expect(store.getState().attribution!.rows.length).toBe(30);
  });
});

describe('one task at a time', () => {
  it('loading another task while a job runs is refused with the reason; the results stay', async () => {
    const store = await newStore();
    await smallJob(store);
    const explaining = store.getState().runExplain();
    await vi.waitUntil(() => store.getState().busy !== null);
    expect(await store.getState().loadDemo('wine')).toBe(false);
    expect(store.getState().taskError?.todo).toMatch(/Explaining is running on the current task/);
    expect(await explaining).toBe(true);
    expect(store.getState().info!.sourceLabel).toMatch(/Iris/);
    expect(store.getState().attribution!.rows.length).toBe(30);
  });

  it('loading another task clears the results of the old one', async () => {
    const store = await newStore();
    await smallJob(store);
    await store.getState().runExplain();
    expect(await store.getState().loadDemo('wine')).toBe(true);
    expect(store.getState().attribution).toBeNull();
    expect(store.getState().evaluation).toBeNull();
  });
});

describe('saved results', () => {
  it('restore gives the same scores and report; results for other files are refused', async () => {
    const persistence = memoryPersistence();
    const store = await newStore(persistence);
    await smallJob(store, 20);
    await store.getState().runExplain();
    await store.getState().runEvaluate();
    await store.getState().runTrain();
    const before = store.getState();

    const again = await newStore(persistence);
    expect(await again.getState().restore()).toBe(true);
    const after = again.getState();
    expect(after.evaluation!.scores.map((e) => e.metrics.map((m) => Array.from(m.perSample)))).toEqual(before.evaluation!.scores.map((e) => e.metrics.map((m) => Array.from(m.perSample))));
    expect(after.report!.table).toEqual(before.report!.table);
    expect(after.attribution!.explanations.map((e) => Array.from(e.values))).toEqual(before.attribution!.explanations.map((e) => Array.from(e.values)));
    expect(after.explainerLoaded).toBe(true);

    // the same save with another data fingerprint is not shown
    persistence.value = { ...(persistence.value as SavedRun), fingerprint: { model: before.info!.modelSha256, data: 'f'.repeat(64) } };
    const third = await newStore(persistence);
    expect(await third.getState().restore()).toBe(false);
    expect(third.getState().taskError?.what).toMatch(/computed on other files/);
    expect(third.getState().evaluation).toBeNull();
  });

  it('a training interrupted after an epoch resumes from its checkpoint after a reload and ends with the uninterrupted run\'s table', async () => {
    const persistence = memoryPersistence();
    const a = await newStore(persistence);
    await smallJob(a, 30);
    a.getState().setTraining({ epochs: 6, batchSize: 16 });
    await a.getState().runExplain();
    await a.getState().runEvaluate();
    const running = a.getState().runTrain();
    await vi.waitUntil(() => (persistence.checkpoint?.checkpoint.epoch ?? 0) >= 1, { timeout: 30_000, interval: 5 });
    const snapshot = structuredClone(persistence.checkpoint!); // what IndexedDB held when the page went away
    expect(await running).toBe(true);
    const uninterrupted = a.getState().report!;
    expect(persistence.checkpoint).toBeUndefined(); // a finished training clears its checkpoint

    persistence.checkpoint = snapshot;
    const b = await newStore(persistence);
    expect(await b.getState().restore()).toBe(true);
    expect(b.getState().checkpoint?.checkpoint.step).toBe(snapshot.checkpoint.step);
    expect(b.getState().trainError?.what).toMatch(new RegExp(`interrupted at step ${snapshot.checkpoint.step} \\(epoch ${snapshot.checkpoint.epoch} of 6\\)`));
    expect(await b.getState().runTrain({ resume: true })).toBe(true);
    const resumed = b.getState().report!;
    // the priors' rows are identical; the explainer's agree to float32 rounding (tfjs recomputes Adam's β-powers on restore)
    expect(resumed.table.map((r) => r.method)).toEqual(uninterrupted.table.map((r) => r.method));
    for (let i = 0; i < resumed.table.length; i++)
      for (const [m, v] of Object.entries(uninterrupted.table[i].scores)) {
        if (uninterrupted.table[i].isExplainer) expect(resumed.table[i].scores[m]).toBeCloseTo(v, 5);
        else expect(resumed.table[i].scores[m]).toBe(v);
      }
    expect(b.getState().trainSteps.map((t) => t.step)).toEqual(a.getState().trainSteps.map((t) => t.step));
  });

  it('a save that fails (storage full) is reported and the earlier save is kept', async () => {
    const good = memoryPersistence();
    const store = await newStore(good);
    await smallJob(store, 10);
    await store.getState().runExplain();
    const kept = good.value!.savedAt;
    const full: Persistence = { ...memoryPersistence(), load: good.load, clear: good.clear, save: async () => { throw Object.assign(new Error('quota'), { name: 'QuotaExceededError' }); } };
    const store2 = await newStore(full);
    await smallJob(store2, 10);
    await store2.getState().runExplain();
    expect(store2.getState().notice).toMatch(/could not be saved in this browser \(storage is full\); the earlier saved results are kept/);
    expect(good.value!.savedAt).toBe(kept);
  });

  it('damaged or older saves are ignored with a notice; one-off notices fade', async () => {
    const persistence = memoryPersistence();
    (persistence as { value?: unknown }).value = { savedAt: 'x', job: {} };
    const store = await newStore(persistence);
    expect(await store.getState().restore()).toBe(false);
    expect(store.getState().notice).toMatch(/ignored/);
    vi.useFakeTimers();
    store.getState().notify('Saved data cleared.');
    expect(store.getState().notice).toBe('Saved data cleared.');
    vi.advanceTimersByTime(5000);
    expect(store.getState().notice).toBeNull();
  });
});
