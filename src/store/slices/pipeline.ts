/**
 * Explain, Evaluate, Supervise and the ablations: each sends the job the settings describe to the
 * worker, which runs the engine's step on its prepared job (src/worker/session.ts). Results carry
 * the job's key; a result whose key is not the current job's is shown as stale, never mixed in.
 */
import { ASK_ABOVE_MS, buildJob, workEstimate } from '../selectors';
import type { EvaluateSlice, ExplainSlice, ReportSlice, StudioState, SuperviseSlice, ValidateSlice } from '../types';
import { toProblem, type SliceContext } from './context';

type PipelineActions = Pick<
  StudioState,
  'setMethod' | 'setRows' | 'setPriorBudget' | 'setSample' | 'setSort' | 'runExplain' | 'rerunExplainAndEvaluate' | 'setMetric' | 'runEvaluate' | 'dismissConfirm' | 'setDelta' | 'setP' | 'refreshSupervision' | 'runAblations' | 'runFrontier' | 'runValidate' | 'explainRows' | 'job' | 'trace' | 'predict' | 'pixelMap' | 'figureScores'
>;

export function pipelineSlice(ctx: SliceContext): ExplainSlice & EvaluateSlice & ValidateSlice & SuperviseSlice & Omit<ReportSlice, 'report'> & PipelineActions {
  const { set, get, deps } = ctx;
  const { client } = deps;
  let supervisionTicket = 0;
  return {
    // explain
    methodChoice: {},
    rows: { start: 0, count: 0 }, // 0 = all rows of the task (STUDIO_CHOICES)
    priorBudget: 'default',
    attribution: null,
    explainError: null,
    sample: 0,
    sortBy: 'feature',
    // evaluate
    metricChoice: {},
    evaluation: null,
    prepared: null,
    preparedJob: null,
    evaluateError: null,
    evaluationCleared: null,
    // supervise
    delta: NaN,
    p: NaN,
    supervision: null,
    // report (ablations; the final table comes with training)
    ablation: null,
    ablationError: null,
    frontier: null,
    validation: null,
    validationError: null,

    job: () => buildJob(get()),

    setMethod(id, patch) {
      const cur = get().methodChoice[id] ?? { enabled: false, params: {} };
      set({ methodChoice: { ...get().methodChoice, [id]: { ...cur, ...patch, params: { ...cur.params, ...(patch.params ?? {}) } } } });
    },
    setRows: (rows) => set({ rows: { ...get().rows, ...rows } }),
    setPriorBudget: (priorBudget) => set({ priorBudget }),
    setSample: (i) => set({ sample: i }),
    setSort: (sortBy) => set({ sortBy }),

    dismissConfirm: () => set({ confirm: null }),

    async runExplain(opts = {}) {
      const s = get();
      if (!s.info) {
        set({ explainError: { what: 'No task is loaded.', todo: 'Pick a demo or drop a model and a CSV in the Task panel.' } });
        return false;
      }
      if (!s.methods.some((m) => s.methodChoice[m.id]?.enabled)) {
        set({ explainError: { what: 'No method is chosen.', todo: 'Tick at least one method.' } });
        return false;
      }
      const est = workEstimate(s, 'explain');
      if (!opts.confirmed && est && est.ms > ASK_ABOVE_MS) {
        set({ confirm: { step: 'explain', rows: est.rows, ms: est.ms } });
        return false;
      }
      set({ confirm: null });
      try {
        const job = s.job();
        const r = await ctx.withProgress('Explaining', (cb) => client.call({ type: 'attribute', job }, cb));
        if (!r) return false;
        // everything scored on the old explanations is cleared, and the Evaluate panel says so
        const prev = get().evaluation;
        set({ attribution: r, explainError: null, evaluation: null, prepared: null, preparedJob: null, evaluationCleared: prev ? { rows: prev.rows.length } : get().evaluationCleared, supervision: null, ablation: null, report: null, sample: Math.min(get().sample, r.rows.length - 1) });
        // the trained explainer (amortized) explains the new rows for the Explain panel
        const ex = get().explainer;
        if (ex && get().explainerLoaded) {
          try {
            set({ explainer: { ...ex, saliency: await get().explainRows(r.rows) } });
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

    async runEvaluate(opts = {}) {
      const s = get();
      if (!s.attribution) {
        set({ evaluateError: { what: 'There are no explanations to score yet.', todo: 'Run the Explain step first.' } });
        return false;
      }
      if (!s.metrics.some((m) => s.metricChoice[m.id]?.enabled)) {
        set({ evaluateError: { what: 'No metric is chosen.', todo: 'Tick at least one metric.' } });
        return false;
      }
      const est = workEstimate(s, 'evaluate');
      if (!opts.confirmed && est && est.ms > ASK_ABOVE_MS) {
        set({ confirm: { step: 'evaluate', rows: est.rows, ms: est.ms } });
        return false;
      }
      set({ confirm: null });
      try {
        const job = s.job();
        const r = await ctx.withProgress('Evaluating', (cb) => client.call({ type: 'evaluate', job }, cb));
        if (!r) return false;
        set({ evaluation: r, prepared: r.prepared, preparedJob: job, evaluateError: null, evaluationCleared: null });
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

    async refreshSupervision() {
      if (!get().evaluation) {
        set({ supervision: null });
        return;
      }
      const ticket = ++supervisionTicket;
      try {
        const r = await client.call({ type: 'supervise', job: get().job() }).promise;
        if (ticket === supervisionTicket) set({ supervision: r });
      } catch {
        if (ticket === supervisionTicket) set({ supervision: null });
      }
    },

    async runAblations() {
      const s = get();
      if (!s.evaluation || !s.trainSettings) {
        set({ ablationError: { what: 'There are no scored prior explanations yet.', todo: 'Run Explain and Evaluate first.' } });
        return false;
      }
      try {
        const r = await ctx.withProgress('Ablations', (cb) => client.call({ type: 'ablate', job: s.job(), modes: [...s.ablationModes] }, cb));
        if (!r) return false;
        set({ ablation: r, ablationError: null });
        await get().save();
        return true;
      } catch (e) {
        set({ ablationError: toProblem(e) });
        return false;
      }
    },

    async runFrontier() {
      const s = get();
      if (!s.report) {
        set({ ablationError: { what: 'There is no trained explainer to compare.', todo: 'Train the explainer first (step 5).' } });
        return false;
      }
      try {
        const r = await ctx.withProgress('Frontier', (cb) => client.call({ type: 'frontier', job: s.preparedJob ?? s.job() }, cb));
        if (!r) return false;
        set({ frontier: r, ablationError: null });
        return true;
      } catch (e) {
        set({ ablationError: toProblem(e) });
        return false;
      }
    },

    async runValidate(methodId, fidelity) {
      const s = get();
      if (!s.attribution) {
        set({ validationError: { what: 'There are no explanations to degrade yet.', todo: 'Run the Explain step first.' } });
        return false;
      }
      try {
        const job = s.job();
        const r = await ctx.withProgress('Validating metrics', (cb) => client.call({ type: 'validate', job, methodId, fidelity }, cb));
        if (!r) return false;
        set({ validation: { ...r, methodId, key: s.attribution.key }, validationError: null });
        return true;
      } catch (e) {
        set({ validationError: toProblem(e) });
        return false;
      }
    },

    async explainRows(rows) {
      return (await client.call({ type: 'explainer', rows }).promise).values;
    },
    async trace(row, target, s, metricId, params) {
      return client.call({ type: 'trace', row, target, s, metricId, params, seed: get().seed }).promise;
    },
    async predict(x, nRows) {
      return client.call({ type: 'predict', x, nRows }).promise;
    },
    // image views: the job of the explanations (scores) on screen, so an answer always belongs to them
    async pixelMap(methodId, rows) {
      return client.call({ type: 'pixelMap', job: get().preparedJob ?? get().job(), methodId, rows }).promise;
    },
    async figureScores(rows, columns) {
      return client.call({ type: 'figureScores', job: get().preparedJob ?? get().job(), rows, columns }).promise;
    },
  };
}
