/**
 * The studio's state: one vanilla zustand store, created by a factory (fresh per test), with a
 * slice per panel. Actions talk to the compute worker through a WorkerClient and save results
 * through a Persistence. React components read it through thin selectors (src/store/hooks.ts).
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { BackendReport } from '../core/backend';
import type { BackendRequest } from '../core/backendNames';
import type { Job, JobInput } from '../core/job';
import type { TrainMode } from '../core/explainer/train';
import { isUserError } from '../core/errors';
import type { Params } from '../core/attribution/types';
import { DEMOS } from '../core/data/demos';
import { Cancelled, type WorkerClient } from '../worker/client';
import type {
  AblationResult,
  AttributeResult,
  PipelineInput,
  SuperviseResult,
  TraceResult,
  TrainEval,
  TrainSettings,
  EvaluateResult,
  MethodMeta,
  MetricMeta,
  TaskInfo,
  TaskSettings,
  TaskSource,
  TrainStep,
} from '../worker/protocol';
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
  /** Set when re-running Explain cleared a table (rows: the cleared table's row count) until Evaluate runs again. */
  evaluationCleared: { rows: number } | null;
}

export interface SuperviseSlice {
  delta: number;
  p: number;
  /** The engine's supervision (split, dedup, filter, Z counts) for the current δ and p; null before Evaluate. */
  supervision: SuperviseResult | null;
}

export interface TrainSlice {
  /** The job's defaults as the engine reports them (the one place they live); null until the worker starts. */
  jobDefaults: Job | null;
  /** Explainer, training and mode of the job (from jobDefaults, edited in the Train panel). */
  trainSettings: TrainSettings | null;
  trainSteps: TrainStep[];
  /** Held-out evaluations of the trainer (test split). */
  trainEvals: TrainEval[];
  nPairs: number | null;
  trainStatus: 'idle' | 'running' | 'paused' | 'done' | 'cancelled' | 'error';
  trainError: Problem | null;
  stepsPerSecond: number;
  trainCallId: number | null;
  watchSaliency: Float32Array | null;
  explainer: { saliency: Float32Array | null; artifacts: unknown } | null;
  /** Whether the worker holds the trained explainer (false after a reload until it is loaded back). */
  explainerLoaded: boolean;
  /** Rows explained for the supervision set the explainer was trained on (null: not known). */
  trainedRows: number | null;
}

export interface ReportSlice {
  ablation: AblationResult | null;
  ablationError: Problem | null;
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
  /** Explain the current row count, then Evaluate (the one-click re-run of stale results). */
  rerunExplainAndEvaluate(): Promise<boolean>;
  setMetric(id: string, patch: Partial<{ enabled: boolean; params: Params }>): void;
  setNormalise(v: boolean): void;
  runEvaluate(): Promise<boolean>;
  setDelta(v: number): void;
  setP(v: number): void;
  setTraining(c: Partial<TrainSettings['training']>): void;
  setExplainerArch(c: Partial<TrainSettings['explainer']>): void;
  setMode(mode: TrainMode): void;
  refreshSupervision(): Promise<void>;
  runAblations(): Promise<boolean>;
  explainRows(rows: number[]): Promise<Float32Array>;
  runTrain(): Promise<boolean>;
  pauseTrain(): void;
  resumeTrain(): void;
  cancelTrain(): void;
  cancel(): void;
  setSeed(seed: number): void;
  job(): JobInput;
  applyJob(job: JobInput): Promise<void>;
  save(): Promise<void>;
  restore(): Promise<boolean>;
  clearSaved(): Promise<void>;
  setTour(i: number | null): void;
  predict(x: Float32Array, nRows: number): Promise<{ proba: Float32Array; nClasses: number }>;
  trace(row: number, target: number, s: Float32Array, metricId: string, params: Params): Promise<TraceResult>;
}

export type StudioState = AppSlice & TaskSlice & ExplainSlice & EvaluateSlice & SuperviseSlice & TrainSlice & ReportSlice & Actions;
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

export function createStudioStore(deps: StoreDeps): StudioStore {
  const { client, persistence } = deps;

  let supervisionTicket = 0;
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
        if (changed) set({ attribution: null, evaluation: null, evaluationCleared: null, supervision: null, ablation: null, trainSteps: [], trainEvals: [], explainer: null, explainerLoaded: false, trainedRows: null, watchSaliency: null, sample: 0, trainStatus: 'idle' });
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
      evaluationCleared: null,
      // supervise
      delta: 0.9,
      p: 0.15,
      supervision: null,
      // train
      jobDefaults: null,
      trainSettings: null,
      trainSteps: [],
      trainEvals: [],
      nPairs: null,
      explainerLoaded: false,
      trainedRows: null,
      // report
      ablation: null,
      ablationError: null,
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
          set({ backend: r.backend, methods: r.methods, metrics: r.metrics, jobDefaults: r.jobDefaults });
          if (first) {
            const d = r.jobDefaults;
            if (!get().trainSettings) set({ trainSettings: { explainer: { ...d.explainer }, training: { ...d.training, alpha: { ...d.training.alpha } }, mode: d.mode } });
            if (get().delta === 0.9 && get().p === 0.15) set({ delta: d.supervision.delta, p: d.supervision.p });
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
        const src = get().source;
        const pending = get().pendingFiles ?? (src?.kind === 'files' ? src : null);
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
        const start = 0; // the job's rows: the first maxRows of the data
        const count = Math.max(1, Math.min(rows.count, info.nRows - start));
        const rowList = Array.from({ length: count }, (_, i) => start + i);
        try {
          const r = await withProgress('Explaining', (cb) => client.call({ type: 'attribute', rows: rowList, methods, seed }, cb));
          if (!r) return false;
          // everything scored on the old explanations is cleared, and the Evaluate panel says so
          const prev = get().evaluation;
          set({ attribution: r, explainError: null, evaluation: null, evaluationCleared: prev ? { rows: prev.rows.length } : get().evaluationCleared, supervision: null, ablation: null, sample: Math.min(get().sample, count - 1) });
          // the trained explainer (amortized) explains the new rows, so its row is scored with them
          const ex = get().explainer;
          if (ex && get().explainerLoaded) {
            try {
              set({ explainer: { ...ex, saliency: await get().explainRows(rowList) } });
            } catch {
              set({ explainer: { ...ex, saliency: null } });
            }
          }
          await get().save();
          return true;
        } catch (e) {
          set({ explainError: toProblem(e) });
          return false;
        }
      },

      async rerunExplainAndEvaluate() {
        return (await get().runExplain()) && (await get().runEvaluate());
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
          set({ evaluation: r, evaluateError: null, evaluationCleared: null });
          await get().refreshSupervision();
          await get().save();
          return true;
        } catch (e) {
          set({ evaluateError: toProblem(e) });
          return false;
        }
      },

      setDelta(delta) {
        set({ delta });
        void get().refreshSupervision();
      },
      setP(p) {
        set({ p });
        void get().refreshSupervision();
      },
      setTraining: (c) => set({ trainSettings: { ...get().trainSettings!, training: { ...get().trainSettings!.training, ...c } } }),
      setExplainerArch: (c) => set({ trainSettings: { ...get().trainSettings!, explainer: { ...get().trainSettings!.explainer, ...c } } }),
      setMode(mode) {
        set({ trainSettings: { ...get().trainSettings!, mode } });
        void get().refreshSupervision();
      },

      async refreshSupervision() {
        const input = pipelineInput(get());
        if (!input) {
          set({ supervision: null });
          return;
        }
        const ticket = ++supervisionTicket;
        try {
          const r = await client.call({ type: 'supervise', input, mode: get().trainSettings?.mode ?? 'full' }).promise;
          if (ticket === supervisionTicket) set({ supervision: r });
        } catch {
          if (ticket === supervisionTicket) set({ supervision: null });
        }
      },

      async runTrain() {
        const s = get();
        if (!s.attribution || !s.info) {
          set({ trainError: { what: 'There are no explanations to learn from yet.', todo: 'Run Explain and Evaluate first.' } });
          return false;
        }
        const input = pipelineInput(s);
        if (!input || !s.trainSettings) {
          set({ trainError: { what: 'The prior explanations have not been scored yet.', todo: 'Run Evaluate first: the supervision set keeps only explanations that pass every metric.' } });
          return false;
        }
        const watchRow = s.attribution.rows[s.sample] ?? s.attribution.rows[0];
        set({ trainSteps: [], trainEvals: [], trainStatus: 'running', trainError: null, watchSaliency: null, stepsPerSecond: 0 });
        let callId = -1;
        const handle = client.call(
          { type: 'train', config: { input, settings: s.trainSettings, watchRow, explainRows: s.attribution.rows } },
          {
            onProgress: (p) => set({ busy: { callId, label: 'Training', stage: p.stage, done: p.done, total: p.total, etaMs: p.etaMs } }),
            onTrain: (t) => set({ trainSteps: get().trainSteps.concat(t.steps), trainEvals: get().trainEvals.concat(t.evals), stepsPerSecond: t.stepsPerSecond, ...(t.watchSaliency ? { watchSaliency: t.watchSaliency } : {}) }),
          },
        );
        callId = handle.id;
        set({ trainCallId: callId, busy: { callId, label: 'Training', stage: 'training', done: 0, total: 0, etaMs: null } });
        try {
          const r = await handle.promise;
          set({ trainStatus: 'done', explainer: { saliency: r.explainerSaliency, artifacts: r.artifacts }, explainerLoaded: true, nPairs: r.nPairs, trainEvals: r.evals, trainedRows: s.attribution.rows.length });
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

      async runAblations() {
        const s = get();
        const input = pipelineInput(s);
        if (!input || !s.trainSettings) {
          set({ ablationError: { what: 'There are no scored prior explanations yet.', todo: 'Run Explain and Evaluate first.' } });
          return false;
        }
        try {
          const r = await withProgress('Ablations', (cb) => client.call({ type: 'ablate', input, settings: { explainer: s.trainSettings!.explainer, training: s.trainSettings!.training }, modes: [...ABLATION_MODES] }, cb));
          if (!r) return false;
          set({ ablation: r, ablationError: null });
          await get().save();
          return true;
        } catch (e) {
          set({ ablationError: toProblem(e) });
          return false;
        }
      },

      async explainRows(rows) {
        return (await client.call({ type: 'explainer', rows }).promise).values;
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

      job(): JobInput {
        const s = get();
        const src = s.source;
        const d = s.jobDefaults;
        const task: JobInput['task'] =
          src?.kind === 'files'
            ? { model: src.modelJson.name, data: src.csv.name, label: s.info?.labelName ?? src.label }
            : { demo: src?.kind === 'demo' ? src.demoId : DEMOS[0].id };
        const ts = s.trainSettings ?? (d ? { explainer: d.explainer, training: d.training, mode: d.mode } : null);
        return {
          task: { ...task, baseline: s.settings.baseline, output: s.settings.output, target: s.settings.target, maxRows: s.rows.count },
          methods: s.methods.filter((m) => s.methodChoice[m.id]?.enabled).map((m) => ({ id: m.id, params: { ...s.methodChoice[m.id].params } })),
          metrics: s.metrics.filter((m) => s.metricChoice[m.id]?.enabled).map((m) => ({ id: m.id, params: { ...s.metricChoice[m.id].params } })),
          supervision: { delta: s.delta, p: s.p, testFraction: d?.supervision.testFraction ?? 0.2 },
          ...(ts ? { explainer: { ...ts.explainer }, training: { ...ts.training, alpha: { ...ts.training.alpha } }, mode: ts.mode } : {}),
          seed: s.seed,
        };
      },

      async applyJob(job) {
        const methodChoice = { ...get().methodChoice };
        const methodList = Array.isArray(job.methods) ? job.methods : job.methods === 'all' ? get().methods.filter((m) => m.id !== 'random').map((m) => ({ id: m.id, params: {} })) : PAPER_METHODS.map((id) => ({ id, params: {} }));
        for (const id of Object.keys(methodChoice)) methodChoice[id] = { ...methodChoice[id], enabled: false };
        for (const m of methodList) methodChoice[m.id] = { enabled: true, params: { ...(methodChoice[m.id]?.params ?? {}), ...(m.params ?? {}) } as Params };
        const metricChoice = { ...get().metricChoice };
        if (Array.isArray(job.metrics)) {
          for (const id of Object.keys(metricChoice)) metricChoice[id] = { ...metricChoice[id], enabled: false };
          for (const m of job.metrics) metricChoice[m.id] = { enabled: true, params: { ...(metricChoice[m.id]?.params ?? {}), ...(m.params ?? {}) } as Params };
        }
        const d = get().jobDefaults;
        const cur = get().trainSettings;
        const t = job.task ?? {};
        set({
          settings: { output: t.output ?? get().settings.output, baseline: t.baseline ?? get().settings.baseline, target: t.target ?? get().settings.target },
          rows: { start: 0, count: t.maxRows && t.maxRows > 0 ? t.maxRows : get().rows.count },
          methodChoice,
          metricChoice,
          delta: job.supervision?.delta ?? d?.supervision.delta ?? get().delta,
          p: job.supervision?.p ?? d?.supervision.p ?? get().p,
          trainSettings: cur
            ? {
                explainer: { ...cur.explainer, ...(job.explainer ?? {}) },
                training: { ...cur.training, ...(job.training ?? {}), alpha: { ...cur.training.alpha, ...(job.training?.alpha ?? {}) } },
                mode: job.mode ?? cur.mode,
              }
            : cur,
          seed: job.seed ?? 0,
        });
        if (t.demo) await get().loadDemo(t.demo);
        else set({ taskError: { what: `The job uses your own files (${t.model}, ${t.data}), which a link cannot carry.`, todo: 'Drop the same model and CSV in the Task panel; the settings from the job are already applied.' } });
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
          trainEvals: s.trainEvals,
          explainer: s.explainer,
          ablation: s.ablation,
          backend: s.backendRequest,
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
          trainEvals: run.trainEvals ?? [],
          explainer: run.explainer,
          explainerLoaded: false,
          trainedRows: null,
          evaluationCleared: null,
          ablation: run.ablation ?? null,
          trainStatus: run.trainSteps?.length ? 'done' : 'idle',
          restoredAt: run.savedAt,
        });
        // load the trained explainer back into the worker, so it explains new rows again
        const art = run.explainer?.artifacts as { modelJson: unknown; weights: ArrayBuffer } | undefined;
        if (art?.modelJson && art.weights) {
          try {
            await client.call({ type: 'loadExplainer', artifacts: art }).promise;
            set({ explainerLoaded: true });
          } catch (e) {
            set({ trainError: toProblem(e) });
          }
        }
        await get().refreshSupervision();
        return true;
      },

      async clearSaved() {
        await persistence.clear();
        set({ restoredAt: null });
      },

      setTour: (tour) => set({ tour }),

      async trace(row, target, s, metricId, params) {
        return client.call({ type: 'trace', row, target, s, metricId, params, seed: get().seed }).promise;
      },

      async predict(x, nRows) {
        return client.call({ type: 'predict', x, nRows }).promise;
      },
    };
  });
}

/** The prior explanations and their stored scores, as the engine's pipeline takes them; null before Evaluate. */
export function pipelineInput(s: Pick<StudioState, 'attribution' | 'evaluation' | 'delta' | 'p' | 'seed' | 'methodChoice' | 'metricChoice' | 'jobDefaults'>): PipelineInput | null {
  const { attribution, evaluation } = s;
  if (!attribution || !evaluation || attribution.rows.length < 2) return null;
  const priors = attribution.explanations.filter((a) => evaluation.scores.some((e) => e.methodId === a.methodId));
  if (!priors.length) return null;
  const scored = priors.map((a) => evaluation.scores.find((e) => e.methodId === a.methodId)!);
  const metricIds = scored[0].metrics.map((m) => m.metricId);
  return {
    rows: attribution.rows,
    explanations: priors.map((a) => ({ methodId: a.methodId, values: a.values, ms: a.ms })),
    scores: { methodIds: priors.map((a) => a.methodId), metricIds, perSample: scored.map((e) => e.metrics.map((m) => m.perSample)) },
    metrics: metricIds.map((id) => ({ id, params: { ...(s.metricChoice[id]?.params ?? {}) } })),
    methodParams: Object.fromEntries(priors.map((a) => [a.methodId, s.methodChoice[a.methodId]?.params ?? {}])),
    delta: s.delta,
    p: s.p,
    testFraction: s.jobDefaults?.supervision.testFraction ?? 0.2,
    seed: s.seed,
  };
}

/** The engine's ablation modes (the paper's Table 4 rows). */
export const ABLATION_MODES = ['full', 'pc-only', 'lc-only', 'dedup-only', 'filter-only'] as const;

export const EXPLAINER_ID = 'deepfaith-explainer';

/** The paper's eight prior methods for tabular data: ticked by default. */
export const PAPER_METHODS = ['integrated-gradients', 'gradient-shap', 'deeplift', 'saliency', 'occlusion', 'feature-ablation', 'lime', 'kernel-shap'];

function csvColumns(text: string): string[] {
  const line = text.replace(/^\uFEFF/, '').split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  return line.split(',').map((h) => h.trim().replace(/^"|"$/g, ''));
}
