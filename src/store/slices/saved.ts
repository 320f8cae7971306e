/**
 * Jobs in and out (the job the settings describe, the job written to files and links, a job
 * applied from a link or file) and saved results (save with read-back, restore with checks).
 */
import type { Job, JobInput, PreparedCache } from '../../core/job';
import type { Params } from '../../core/params';
import { exportedJob, paramsDiff } from '../selectors';
import { SAVED_RUN_VERSION, validSavedRun, type SavedRun } from '../persist';
import type { StudioState } from '../types';
import { toProblem, type SliceContext } from './context';
import type { LoadOptions } from './task';

type SavedActions = Pick<StudioState, 'exportJob' | 'applyJob' | 'importPrepared' | 'save' | 'restore' | 'clearSaved' | 'reattachWorker'>;

export function savedSlice(ctx: SliceContext, loadSource: (s: SavedRun['source'], opts?: LoadOptions) => Promise<boolean>): SavedActions {
  const { set, get, deps } = ctx;
  const { client, persistence } = deps;

  /** The studio's settings from a resolved job. */
  function applyResolved(job: Job): void {
    const s = get();
    const methodChoice = Object.fromEntries(s.methods.map((m) => [m.id, { enabled: false, params: { ...m.defaults } }]));
    const list: { id: string; params?: Params }[] = Array.isArray(job.methods) ? job.methods : job.methods === 'all' ? s.methods.filter((m) => m.id !== 'random').map((m) => ({ id: m.id })) : s.paperMethods.map((id) => ({ id }));
    for (const m of list) methodChoice[m.id] = { enabled: true, params: { ...(methodChoice[m.id]?.params ?? {}), ...(m.params ?? {}) } };
    const metricChoice = Object.fromEntries(s.metrics.map((m) => [m.id, { enabled: job.metrics === 'all' && !m.beyond, params: { ...m.defaults } }]));
    if (Array.isArray(job.metrics)) for (const m of job.metrics) metricChoice[m.id] = { enabled: true, params: { ...(metricChoice[m.id]?.params ?? {}), ...((m.params ?? {}) as Params) } };
    const t = job.task;
    set({
      settings: { output: t.output, baseline: t.baseline, target: t.target, ...(t.patch !== undefined ? { patch: t.patch } : {}), ...(t.normalise !== undefined ? { normalise: t.normalise } : {}), ...(t.blurSigma !== undefined ? { blurSigma: t.blurSigma } : {}), ...(t.maskToken !== undefined ? { maskToken: t.maskToken } : {}) },
      rows: { start: 0, count: t.maxRows },
      methodChoice,
      metricChoice,
      delta: job.supervision.delta,
      p: job.supervision.p,
      trainSettings: { explainer: { ...job.explainer }, training: { ...job.training, alpha: { ...job.training.alpha } }, mode: job.mode },
      seed: job.seed,
      priorBudget: job.priorBudget,
    });
  }

  return {
    exportJob: (): JobInput => exportedJob(get()),

    async applyJob(input) {
      let job: Job;
      try {
        job = await client.call({ type: 'resolveJob', job: input }).promise;
      } catch (e) {
        set({ taskError: toProblem(e) });
        return;
      }
      applyResolved(job);
      if (job.task.demo) await loadSource({ kind: 'demo', demoId: job.task.demo }, { keepRows: true });
      else
        set({
          taskError: { what: `The job uses your own files (${[job.task.model, job.task.vocab, job.task.data].filter(Boolean).join(', ')}), which a link cannot carry.`, todo: `Drop the same model and data (${job.task.vocab ? 'the vocab.json and the CSV' : 'CSV or images'}) in the Task panel; the settings from the job are already applied.` },
        });
    },

    async importPrepared(text, name) {
      const bad = (what: string) => set({ taskError: { what: `${name}: ${what}`, todo: 'Choose the file deepfaith merge wrote (docs/scale.md): it holds the job and its priors\' explanations and scores.' } });
      let c: (PreparedCache & { job?: JobInput }) | undefined;
      try {
        c = JSON.parse(text);
      } catch (e) {
        return bad(`it is not JSON (${(e as Error).message}).`), false;
      }
      if (!c || typeof c !== 'object' || c.format !== 'deepfaith-prepared' || !c.job) return bad('it is not a merged prepared-job file (format deepfaith-prepared with its job).'), false;
      let job: Job;
      try {
        job = await client.call({ type: 'resolveJob', job: c.job }).promise;
      } catch (e) {
        set({ taskError: toProblem(e) });
        return false;
      }
      if (job.task.demo) {
        applyResolved(job);
        const src = get().source;
        const same = src?.kind === 'demo' && src.demoId === job.task.demo;
        if (!same && !(await loadSource({ kind: 'demo', demoId: job.task.demo }, { keepRows: true }))) return false;
      } else {
        // the user's own files cannot travel in the file: they must be loaded already
        const src = get().source;
        if (!src || src.kind === 'demo') return bad(`its job uses your own files (${job.task.model}, ${job.task.data}); load that model and data in the Task panel first, then import it again.`), false;
        applyResolved(job);
      }
      try {
        const r = await client.call({ type: 'restore', job: c.job, prepared: c }).promise;
        set({ attribution: r.attribution, evaluation: r.evaluation, prepared: c, preparedJob: c.job, report: null, ablation: null, explainer: null, explainerLoaded: false, trainSteps: [], trainEvals: [], trainStatus: 'idle', evaluationCleared: null, taskError: null });
      } catch (e) {
        set({ taskError: toProblem(e) });
        return false;
      }
      get().notify(`Imported ${name}: ${c.target.length} rows, ${c.ranIds.length} methods scored on ${c.scores.metricIds.length} metrics — Supervise and Train start from them.`);
      await get().refreshSupervision();
      return true;
    },

    async save() {
      const s = get();
      if (!s.source || !s.info || !s.jobDefaults) return;
      const run: SavedRun = {
        version: SAVED_RUN_VERSION,
        savedAt: new Date().toISOString(),
        job: s.job(),
        source: s.source,
        fingerprint: { model: s.info.modelSha256, data: s.info.dataSha256 },
        prepared: s.prepared,
        raw: s.attribution ? s.attribution.explanations.map((e) => e.values) : null,
        trainSteps: s.trainSteps,
        trainEvals: s.trainEvals,
        report: s.report,
        ablation: s.ablation,
        backend: s.backendRequest,
        explainer: s.explainer,
        interrupted: null,
      };
      try {
        await persistence.save(run);
        // read back: a save that did not land (quota, private mode) is reported, never assumed
        const back = await persistence.load();
        if (!validSavedRun(back) || back.savedAt !== run.savedAt) throw new Error('the saved run did not read back');
      } catch (e) {
        get().notify(`Results could not be saved in this browser (${(e as Error)?.name === 'QuotaExceededError' ? 'storage is full' : ((e as Error)?.message ?? String(e))}); the earlier saved results are kept. Download them from the Report panel.`);
      }
    },

    async restore() {
      let raw: unknown;
      try {
        raw = await persistence.load();
      } catch {
        return false;
      }
      if (raw === undefined) return false;
      if (!validSavedRun(raw)) {
        get().notify('Saved results from an older version or damaged storage were ignored.');
        return false;
      }
      const run = raw;
      let job: Job;
      try {
        job = await client.call({ type: 'resolveJob', job: run.job }).promise;
      } catch {
        get().notify('The saved job could not be read; nothing was restored.');
        return false;
      }
      applyResolved(job);
      if (!(await loadSource(run.source, { force: true, keepRows: true }))) return false;
      const info = get().info!;
      if (info.modelSha256 !== run.fingerprint.model || info.dataSha256 !== run.fingerprint.data) {
        set({ taskError: { what: 'The saved results were computed on other files than the ones loaded now, so they were not restored.', todo: 'Run Explain and Evaluate again on this task.' } });
        return false;
      }
      set({ trainStatus: 'idle', restoredAt: run.savedAt });
      if (!run.prepared) return true;
      try {
        const r = await client.call({ type: 'restore', job: run.job, prepared: run.prepared, raw: run.raw ?? undefined, filesChecked: true }).promise;
        const explainKey = r.attribution.key;
        const scoreKey = r.evaluation.key;
        set({
          attribution: r.attribution,
          evaluation: r.evaluation,
          prepared: r.evaluation.prepared, // the engine's (with the fingerprint of the rows, where a run saved before had none)
          preparedJob: run.job,
          trainSteps: run.trainSteps,
          trainEvals: run.trainEvals,
          // a result computed for another job is dropped, never shown beside these scores
          report: run.report && run.explainer?.key === scoreKey ? run.report : null,
          ablation: run.ablation?.key === scoreKey ? run.ablation : null,
          explainer: run.explainer?.key === scoreKey ? run.explainer : null,
          explainerLoaded: false,
          trainedRows: null,
          evaluationCleared: null,
          trainStatus: run.trainSteps.length && run.explainer?.key === scoreKey ? 'done' : 'idle',
        });
        void explainKey;
      } catch (e) {
        set({ taskError: toProblem(e) });
        return false;
      }
      // a training of these scores that did not finish can be resumed from its last epoch
      try {
        const c = await persistence.loadCheckpoint();
        if (c && c.key === get().evaluation?.key) set({ checkpoint: c, trainSteps: c.steps, trainEvals: c.evals, trainStatus: 'error', trainError: { what: `The training was interrupted at step ${c.checkpoint.step} (epoch ${c.checkpoint.epoch} of ${c.checkpoint.config.epochs}).`, todo: 'Resume it from that step, or start again.' } });
      } catch {
        /* no checkpoint store */
      }
      // load the trained explainer back into the worker, so it explains new rows again
      const art = get().explainer?.artifacts as { modelJson: unknown; weights: ArrayBuffer } | undefined;
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

    async reattachWorker(why, quiet = false) {
      const s0 = get();
      if (!quiet) {
        get().notify(`The compute worker stopped (${why}) and a fresh one was started: the task and the results on screen were loaded into it again.`);
        set({ busy: null });
        await get().initBackend(); // reloads the task into the new worker
      }
      const s = get();
      try {
        if (s.prepared && s.preparedJob) {
          const r = await client.call({ type: 'restore', job: s.preparedJob, prepared: s.prepared, raw: s.attribution?.explanations.map((e) => e.values), filesChecked: true }).promise;
          set({ attribution: r.attribution, evaluation: r.evaluation });
        } else if (s.attribution) set({ attribution: null, evaluationCleared: null }); // priors that were never scored are not kept by the engine
        const art = s.explainer?.artifacts as { modelJson: unknown; weights: ArrayBuffer } | undefined;
        if (art?.modelJson && art.weights) {
          await client.call({ type: 'loadExplainer', artifacts: art }).promise;
          set({ explainerLoaded: true });
        }
      } catch (e) {
        set({ taskError: toProblem(e) });
      }
      void s0;
    },

    async clearSaved() {
      await persistence.clear();
      set({ restoredAt: null });
      get().notify('Saved data cleared.');
    },
  };
}

export { paramsDiff };
