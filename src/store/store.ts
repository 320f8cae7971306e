/**
 * The studio's state: one vanilla zustand store, created by a factory (fresh per test), with a
 * slice per panel. Actions talk to the compute worker through a WorkerClient and save results
 * through a Persistence. React components read it through thin selectors (src/store/hooks.ts).
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { BackendReport, BackendRequest } from '../core/backend';
import { isUserError } from '../core/errors';
import type { Params } from '../core/attribution/types';
import { DEMOS } from '../core/data/demos';
import { Cancelled, type WorkerClient } from '../worker/client';
import type {
  AttributeResult,
  EvaluateResult,
  MethodMeta,
  MetricMeta,
  TaskInfo,
  TaskSettings,
  TaskSource,
  TrainStep,
} from '../worker/protocol';
import { APP_VERSION, type StudioJob } from './job';
import { superviseSample } from './supervision';
import { minMaxRows } from '../worker/normalise';
import type { Persistence, SavedRun } from './persist';

export const STEPS = ['task', 'explain', 'evaluate', 'supervise', 'train', 'report'] as const;
export type StepId = (typeof STEPS)[number];

export interface Problem {
  what: string;
  todo: string;
}

export interface Busy {
  callId: number;
  label: string;
  stage: string;
  done: number;
  total: number;
  etaMs: number | null;
}

export interface AppSlice {
  step: StepId;
  backendRequest: BackendRequest;
  backend: BackendReport | null;
  backendError: Problem | null;
  methods: MethodMeta[];
  metrics: MetricMeta[];
  busy: Busy | null;
  seed: number;
  restoredAt: string | null;
  tour: number | null;
}

export interface TaskSlice {
  source: TaskSource | null;
  settings: TaskSettings;
  info: TaskInfo | null;
  taskError: Problem | null;
  /** Columns offered when a CSV has no recognisable label column. */
  labelChoices: string[] | null;
  pendingFiles: Extract<TaskSource, { kind: 'files' }> | null;
}

export interface ExplainSlice {
  methodChoice: Record<string, { enabled: boolean; params: Params }>;
  rows: { start: number; count: number };
  attribution: AttributeResult | null;
  explainError: Problem | null;
  /** Index into attribution.rows of the sample shown. */
  sample: number;
  sortBy: 'feature' | 'magnitude';
}

export interface EvaluateSlice {
  metricChoice: Record<string, { enabled: boolean; params: Params }>;
  normalise: boolean;
  evaluation: EvaluateResult | null;
  evaluateError: Problem | null;
}

export interface SuperviseSlice {
  delta: number;
  p: number;
}

export interface TrainSlice {
  trainConfig: StudioJob['train'];
  trainSteps: TrainStep[];
  trainStatus: 'idle' | 'running' | 'paused' | 'done' | 'cancelled' | 'error';
  trainError: Problem | null;
  stepsPerSecond: number;
  trainCallId: number | null;
  watchSaliency: Float32Array | null;
  explainer: { saliency: Float32Array | null; artifacts: unknown } | null;
}

export interface Actions {
  setStep(step: StepId): void;
  initBackend(request?: BackendRequest): Promise<void>;
  setSettings(s: Partial<TaskSettings>): void;
  loadDemo(demoId: string): Promise<boolean>;
  loadFiles(files: Extract<TaskSource, { kind: 'files' }>): Promise<boolean>;
  pickLabel(column: string): Promise<boolean>;
  setMethod(id: string, patch: Partial<{ enabled: boolean; params: Params }>): void;
  setRows(rows: Partial<ExplainSlice['rows']>): void;
  setSample(i: number): void;
  setSort(s: ExplainSlice['sortBy']): void;
  runExplain(): Promise<boolean>;
  setMetric(id: string, patch: Partial<{ enabled: boolean; params: Params }>): void;
  setNormalise(v: boolean): void;
  runEvaluate(): Promise<boolean>;
  setDelta(v: number): void;
  setP(v: number): void;
  setTrainConfig(c: Partial<StudioJob['train']>): void;
  runTrain(): Promise<boolean>;
  pauseTrain(): void;
  resumeTrain(): void;
  cancelTrain(): void;
  cancel(): void;
  setSeed(seed: number): void;
  job(): StudioJob;
  applyJob(job: StudioJob): Promise<void>;
  save(): Promise<void>;
  restore(): Promise<boolean>;
  clearSaved(): Promise<void>;
  setTour(i: number | null): void;
  predict(x: Float32Array, nRows: number): Promise<{ proba: Float32Array; nClasses: number }>;
}

export type StudioState = AppSlice & TaskSlice & ExplainSlice & EvaluateSlice & SuperviseSlice & TrainSlice & Actions;
export type StudioStore = StoreApi<StudioState>;

export interface StoreDeps {
  client: WorkerClient;
  persistence: Persistence;
  baseUrl: string;
}

function toProblem(e: unknown): Problem {
  if (isUserError(e)) return { what: e.what, todo: e.todo };
  return { what: `Unexpected error: ${(e as Error)?.message ?? String(e)}`, todo: 'Try again; if it keeps happening, reload the page.' };
}

export const DEFAULT_TRAIN: StudioJob['train'] = { epochs: 20, batchSize: 16, learningRate: 0.003, lossMode: 'full', nSubsets: 32, dModel: 16, nHeads: 2, nLayers: 1 };

export function createStudioStore(deps: StoreDeps): StudioStore {
  const { client, persistence } = deps;

  return createStore<StudioState>()((set, get) => {
    /** Runs one worker call with the shared progress bar; returns null when cancelled. */
    async function withProgress<T>(label: string, start: (cb: { onProgress: (p: Omit<Busy, 'callId' | 'label'>) => void }) => { id: number; promise: Promise<T> }): Promise<T | null> {
      let callId = -1;
      const handle = start({
        onProgress: (p) => set({ busy: { callId, label, stage: p.stage, done: p.done, total: p.total, etaMs: p.etaMs } }),
      });
      callId = handle.id;
      set({ busy: { callId, label, stage: label, done: 0, total: 0, etaMs: null } });
      try {
        return await handle.promise;
      } catch (e) {
        if (e instanceof Cancelled) return null;
        throw e;
      } finally {
        if (get().busy?.callId === callId) set({ busy: null });
      }
    }

    function defaultsFor(list: { id: string; defaults: Params }[], enabled: (id: string) => boolean) {
      return Object.fromEntries(list.map((m) => [m.id, { enabled: enabled(m.id), params: { ...m.defaults } }]));
    }

    async function loadSource(source: TaskSource): Promise<boolean> {
      try {
        const info = await withProgress('Loading task', (cb) => client.call({ type: 'loadTask', source, settings: get().settings }, cb));
        if (!info) return false;
        const changed = get().info?.modelSha256 !== info.modelSha256 || get().info?.dataSha256 !== info.dataSha256;
        set({ info, source, taskError: null, labelChoices: null, pendingFiles: null });
        if (changed) set({ attribution: null, evaluation: null, trainSteps: [], explainer: null, watchSaliency: null, sample: 0, trainStatus: 'idle' });
        const n = info.nRows;
        const { rows } = get();
        if (rows.start + rows.count > n) set({ rows: { start: 0, count: Math.min(rows.count, n) } });
        return true;
      } catch (e) {
        // The old task and its results stay; the message shows inline.
        const problem = toProblem(e);
        set({ taskError: problem });
        if (source.kind === 'files' && /no label column/i.test(problem.what)) set({ pendingFiles: source, labelChoices: csvColumns(source.csv.text) });
        return false;
      }
    }

    return {
      // app
      step: 'task',
      backendRequest: 'auto',
      backend: null,
      backendError: null,
      methods: [],
      metrics: [],
      busy: null,
      seed: 0,
      restoredAt: null,
      tour: null,
      // task
      source: null,
      settings: { output: 'probability', baseline: 'mean', target: 'predicted' },
      info: null,
      taskError: null,
      labelChoices: null,
      pendingFiles: null,
      // explain
      methodChoice: {},
      rows: { start: 0, count: 12 },
      attribution: null,
      explainError: null,
      sample: 0,
      sortBy: 'feature',
      // evaluate
      metricChoice: {},
      normalise: true,
      evaluation: null,
      evaluateError: null,
      // supervise
      delta: 0.9,
      p: 0.15,
      // train
      trainConfig: { ...DEFAULT_TRAIN },
      trainSteps: [],
      trainStatus: 'idle',
      trainError: null,
      stepsPerSecond: 0,
      trainCallId: null,
      watchSaliency: null,
      explainer: null,

      setStep: (step) => set({ step }),

      async initBackend(request) {
        const backendRequest = request ?? get().backendRequest;
        set({ backendRequest, backendError: null });
        try {
          const r = await withProgress('Starting backend', (cb) => client.call({ type: 'init', backend: backendRequest, baseUrl: deps.baseUrl }, cb));
          if (!r) return;
          const first = get().methods.length === 0;
          set({ backend: r.backend, methods: r.methods, metrics: r.metrics });
          if (first) {
            const prevM = get().methodChoice;
            const prevE = get().metricChoice;
            set({
              methodChoice: { ...defaultsFor(r.methods, (id) => PAPER_METHODS.includes(id) || !r.methods.some((m) => PAPER_METHODS.includes(m.id))), ...prevM },
              metricChoice: { ...defaultsFor(r.metrics, () => true), ...prevE },
            });
          }
          // the model lives in the engine of the old backend: load it again on the new one
          const src = get().source;
          if (src && !first) await loadSource(src);
        } catch (e) {
          set({ backendError: toProblem(e) });
        }
      },

      setSettings: (s) => set({ settings: { ...get().settings, ...s } }),

      loadDemo: (demoId) => loadSource({ kind: 'demo', demoId }),
      loadFiles: (files) => loadSource(files),
      async pickLabel(column) {
        const pending = get().pendingFiles;
        if (!pending) return false;
        return loadSource({ ...pending, label: column });
      },

      setMethod(id, patch) {
        const cur = get().methodChoice[id] ?? { enabled: false, params: {} };
        set({ methodChoice: { ...get().methodChoice, [id]: { ...cur, ...patch, params: { ...cur.params, ...(patch.params ?? {}) } } } });
      },
      setRows: (rows) => set({ rows: { ...get().rows, ...rows } }),
      setSample: (i) => set({ sample: i }),
      setSort: (sortBy) => set({ sortBy }),

      async runExplain() {
        const { info, rows, methodChoice, seed } = get();
        if (!info) {
          set({ explainError: { what: 'No task is loaded.', todo: 'Pick a demo or drop a model and a CSV in the Task panel.' } });
          return false;
        }
        const methods = get().methods.filter((m) => methodChoice[m.id]?.enabled).map((m) => ({ id: m.id, params: methodChoice[m.id].params }));
        if (!methods.length) {
          set({ explainError: { what: 'No method is chosen.', todo: 'Tick at least one method.' } });
          return false;
        }
        const start = Math.max(0, Math.min(rows.start, info.nRows - 1));
        const count = Math.max(1, Math.min(rows.count, info.nRows - start));
        const rowList = Array.from({ length: count }, (_, i) => start + i);
        try {
          const r = await withProgress('Explaining', (cb) => client.call({ type: 'attribute', rows: rowList, methods, seed }, cb));
          if (!r) return false;
          set({ attribution: r, explainError: null, evaluation: null, sample: Math.min(get().sample, count - 1) });
          await get().save();
          return true;
        } catch (e) {
          set({ explainError: toProblem(e) });
          return false;
        }
      },

      setMetric(id, patch) {
        const cur = get().metricChoice[id] ?? { enabled: false, params: {} };
        set({ metricChoice: { ...get().metricChoice, [id]: { ...cur, ...patch, params: { ...cur.params, ...(patch.params ?? {}) } } } });
      },
      setNormalise: (normalise) => set({ normalise }),

      async runEvaluate() {
        const { attribution, metricChoice, seed, normalise, explainer } = get();
        if (!attribution) {
          set({ evaluateError: { what: 'There are no explanations to score yet.', todo: 'Run the Explain step first.' } });
          return false;
        }
        const metrics = get().metrics.filter((m) => metricChoice[m.id]?.enabled).map((m) => ({ id: m.id, params: metricChoice[m.id].params }));
        if (!metrics.length) {
          set({ evaluateError: { what: 'No metric is chosen.', todo: 'Tick at least one metric.' } });
          return false;
        }
        const explanations = attribution.explanations.map((e) => ({ methodId: e.methodId, values: e.values }));
        if (explainer?.saliency && explainer.saliency.length === attribution.rows.length * (get().info?.nFeatures ?? -1))
          explanations.push({ methodId: EXPLAINER_ID, values: explainer.saliency });
        try {
          const r = await withProgress('Evaluating', (cb) => client.call({ type: 'evaluate', rows: attribution.rows, target: attribution.target, explanations, metrics, seed, normalise }, cb));
          if (!r) return false;
          set({ evaluation: r, evaluateError: null });
          await get().save();
          return true;
        } catch (e) {
          set({ evaluateError: toProblem(e) });
          return false;
        }
      },

      setDelta: (delta) => set({ delta }),
      setP: (p) => set({ p }),
      setTrainConfig: (c) => set({ trainConfig: { ...get().trainConfig, ...c } }),

      async runTrain() {
        const s = get();
        const sup = supervisionSet(s);
        if (!s.attribution || !s.info) {
          set({ trainError: { what: 'There are no explanations to learn from yet.', todo: 'Run Explain and Evaluate first.' } });
          return false;
        }
        if (!sup) {
          set({ trainError: { what: 'The prior explanations have not been scored yet.', todo: 'Run Evaluate first: the supervision set keeps only explanations that pass every metric.' } });
          return false;
        }
        const n = s.info.nFeatures;
        const watchRow = s.attribution.rows[s.sample] ?? s.attribution.rows[0];
        const tc = s.trainConfig;
        set({ trainSteps: [], trainStatus: 'running', trainError: null, watchSaliency: null, stepsPerSecond: 0 });
        let callId = -1;
        const handle = client.call(
          {
            type: 'train',
            config: {
              rows: sup.trainRows,
              pairs: sup.pairs.map((p) => ({ row: p.row, s: p.s })),
              epochs: tc.epochs,
              batchSize: tc.batchSize,
              learningRate: tc.learningRate,
              seed: s.seed,
              lossMode: tc.lossMode,
              nSubsets: tc.nSubsets,
              dModel: tc.dModel,
              nHeads: tc.nHeads,
              nLayers: tc.nLayers,
              watchRow,
              explainRows: s.attribution.rows,
            },
          },
          {
            onProgress: (p) => set({ busy: { callId, label: 'Training', stage: p.stage, done: p.done, total: p.total, etaMs: p.etaMs } }),
            onTrain: (t) => set({ trainSteps: get().trainSteps.concat(t.steps), stepsPerSecond: t.stepsPerSecond, ...(t.watchSaliency ? { watchSaliency: t.watchSaliency } : {}) }),
          },
        );
        callId = handle.id;
        set({ trainCallId: callId, busy: { callId, label: 'Training', stage: 'training', done: 0, total: 0, etaMs: null } });
        try {
          const r = await handle.promise;
          void n;
          set({ trainStatus: 'done', explainer: { saliency: r.explainerSaliency, artifacts: r.artifacts } });
          if (get().busy?.callId === callId) set({ busy: null });
          // score the explainer with the priors so the final table has its row
          await get().runEvaluate();
          await get().save();
          return true;
        } catch (e) {
          if (e instanceof Cancelled) set({ trainStatus: 'cancelled' });
          else set({ trainStatus: 'error', trainError: toProblem(e) });
          return false;
        } finally {
          if (get().busy?.callId === callId) set({ busy: null });
          set({ trainCallId: null });
        }
      },
      pauseTrain() {
        const id = get().trainCallId;
        if (id !== null) {
          client.pause(id);
          set({ trainStatus: 'paused' });
        }
      },
      resumeTrain() {
        const id = get().trainCallId;
        if (id !== null) {
          client.resume(id);
          set({ trainStatus: 'running' });
        }
      },
      cancelTrain() {
        const id = get().trainCallId;
        if (id !== null) client.cancel(id);
      },

      cancel() {
        const b = get().busy;
        if (b) client.cancel(b.callId);
      },
      setSeed: (seed) => set({ seed }),

      job(): StudioJob {
        const s = get();
        const src = s.source;
        const task: StudioJob['task'] =
          src?.kind === 'files'
            ? { files: { model: src.modelJson.name, data: src.csv.name, label: src.label }, modelSha256: s.info?.modelSha256, dataSha256: s.info?.dataSha256 }
            : { demo: src?.kind === 'demo' ? src.demoId : DEMOS[0].id };
        return {
          app: 'deepfaith-studio',
          version: APP_VERSION,
          task,
          output: s.settings.output,
          baseline: s.settings.baseline,
          target: s.settings.target,
          rows: { ...s.rows },
          methods: s.methods.filter((m) => s.methodChoice[m.id]?.enabled).map((m) => ({ id: m.id, params: { ...s.methodChoice[m.id].params } })),
          metrics: s.metrics.filter((m) => s.metricChoice[m.id]?.enabled).map((m) => ({ id: m.id, params: { ...s.metricChoice[m.id].params } })),
          normalise: s.normalise,
          supervision: { delta: s.delta, p: s.p },
          train: { ...s.trainConfig },
          seed: s.seed,
          backend: s.backendRequest,
        };
      },

      async applyJob(job) {
        const methodChoice = { ...get().methodChoice };
        for (const id of Object.keys(methodChoice)) methodChoice[id] = { ...methodChoice[id], enabled: false };
        for (const m of job.methods) methodChoice[m.id] = { enabled: true, params: { ...(methodChoice[m.id]?.params ?? {}), ...m.params } };
        const metricChoice = { ...get().metricChoice };
        for (const id of Object.keys(metricChoice)) metricChoice[id] = { ...metricChoice[id], enabled: false };
        for (const m of job.metrics) metricChoice[m.id] = { enabled: true, params: { ...(metricChoice[m.id]?.params ?? {}), ...m.params } };
        set({
          settings: { output: job.output, baseline: job.baseline, target: job.target },
          rows: { ...job.rows },
          methodChoice,
          metricChoice,
          normalise: job.normalise,
          delta: job.supervision.delta,
          p: job.supervision.p,
          trainConfig: { ...DEFAULT_TRAIN, ...job.train },
          seed: job.seed,
        });
        if ('demo' in job.task) await get().loadDemo(job.task.demo);
        else set({ taskError: { what: `The link's job uses your own files (${job.task.files.model}, ${job.task.files.data}), which a link cannot carry.`, todo: 'Drop the same model and CSV in the Task panel; the settings from the link are already applied.' } });
      },

      async save() {
        const s = get();
        if (!s.source) return;
        const run: SavedRun = {
          savedAt: new Date().toISOString(),
          job: s.job(),
          source: s.source,
          attribution: s.attribution,
          evaluation: s.evaluation,
          trainSteps: s.trainSteps,
          explainer: s.explainer,
        };
        try {
          await persistence.save(run);
        } catch {
          /* saving is best effort: a full or blocked IndexedDB must not break the run */
        }
      },

      async restore() {
        let run: SavedRun | undefined;
        try {
          run = await persistence.load();
        } catch {
          return false;
        }
        if (!run) return false;
        await get().applyJob(run.job);
        if (run.source.kind === 'files') {
          const ok = await loadSource(run.source);
          if (ok) set({ taskError: null });
        }
        if (!get().info) return false;
        set({
          attribution: run.attribution,
          evaluation: run.evaluation,
          trainSteps: run.trainSteps ?? [],
          explainer: run.explainer,
          trainStatus: run.trainSteps?.length ? 'done' : 'idle',
          restoredAt: run.savedAt,
        });
        return true;
      },

      async clearSaved() {
        await persistence.clear();
        set({ restoredAt: null });
      },

      setTour: (tour) => set({ tour }),

      async predict(x, nRows) {
        return client.call({ type: 'predict', x, nRows }).promise;
      },
    };
  });
}

/** Per-sample supervision over the scored rows, for the current δ and p; null before Evaluate. */
export function supervisionSet(s: Pick<StudioState, 'attribution' | 'evaluation' | 'metrics' | 'delta' | 'p' | 'info' | 'methods'>) {
  const { attribution, evaluation, info } = s;
  if (!attribution || !evaluation || !info) return null;
  const n = info.nFeatures;
  const priors = evaluation.scores.filter((e) => e.methodId !== EXPLAINER_ID && attribution.explanations.some((a) => a.methodId === e.methodId));
  if (!priors.length) return null;
  const metricIds = priors[0].metrics.map((m) => m.metricId);
  const metrics = metricIds.map((id) => ({ id, direction: (s.metrics.find((m) => m.id === id)?.direction ?? 'higher') as 'higher' | 'lower' }));
  const labels = priors.map((p) => s.methods.find((m) => m.id === p.methodId)?.label ?? p.methodId);
  const normalised = priors.map((p) => {
    const v = attribution.explanations.find((a) => a.methodId === p.methodId)!.values;
    return minMaxRows(v, attribution.rows.length, n);
  });
  const nRows = attribution.rows.length;
  // 80/20 split of the samples: the last fifth of the explained rows is held out
  const nTrain = nRows > 1 ? Math.max(1, Math.round(nRows * 0.8)) : nRows;
  const perSample = attribution.rows.map((row, r) => {
    const ex = normalised.map((v) => v.subarray(r * n, (r + 1) * n));
    const scores = priors.map((p) => p.metrics.map((m) => m.perSample[r]));
    return { row, ex, scores, result: superviseSample(ex, scores, metrics, labels, s.delta, s.p) };
  });
  const pairs: { row: number; s: Float32Array; methodId: string }[] = [];
  perSample.slice(0, nTrain).forEach((ps) => ps.result.passed.forEach((ok, i) => ok && pairs.push({ row: ps.row, s: Float32Array.from(ps.ex[i]), methodId: priors[i].methodId })));
  const total = nRows * priors.length;
  const afterDedup = perSample.reduce((a, ps) => a + ps.result.keptByDedup.filter(Boolean).length, 0);
  const afterFilter = perSample.reduce((a, ps) => a + ps.result.passed.filter(Boolean).length, 0);
  const emptySamples = perSample.filter((ps) => !ps.result.passed.some(Boolean)).length;
  return { perSample, labels, methodIds: priors.map((p) => p.methodId), metrics, pairs, trainRows: attribution.rows.slice(0, nTrain), testRows: attribution.rows.slice(nTrain), total, afterDedup, afterFilter, emptySamples };
}

export const EXPLAINER_ID = 'deepfaith-explainer';

/** The paper's eight prior methods for tabular data: ticked by default. */
export const PAPER_METHODS = ['integrated-gradients', 'gradient-shap', 'deeplift', 'saliency', 'occlusion', 'feature-ablation', 'lime', 'kernel-shap'];

function csvColumns(text: string): string[] {
  const line = text.replace(/^\uFEFF/, '').split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  return line.split(',').map((h) => h.trim().replace(/^"|"$/g, ''));
}
