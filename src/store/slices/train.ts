/**
 * Train slice: the job's explainer, training and mode settings, and the step-by-step training run
 * in the worker (pause / resume / cancel reach it between steps). The run ends with the job's table
 * on the test split (the Report's final table), exactly as `deepfaith run` makes it.
 */
import { Cancelled } from '../../worker/client';
import type { ReportSlice, StudioState, TrainSlice } from '../types';
import { toProblem, type SliceContext } from './context';

type TrainActions = Pick<StudioState, 'setTraining' | 'setExplainerArch' | 'setMode' | 'runTrain' | 'pauseTrain' | 'resumeTrain' | 'cancelTrain'>;

export function trainSlice(ctx: SliceContext): TrainSlice & Pick<ReportSlice, 'report'> & TrainActions {
  const { set, get, deps } = ctx;
  const { client } = deps;
  return {
    trainSettings: null,
    trainSteps: [],
    trainEvals: [],
    nPairs: null,
    trainStatus: 'idle',
    trainError: null,
    stepsPerSecond: 0,
    trainCallId: null,
    watchSaliency: null,
    explainer: null,
    explainerLoaded: false,
    trainedRows: null,
    checkpoint: null,
    report: null,

    setTraining: (c) => set({ trainSettings: { ...get().trainSettings!, training: { ...get().trainSettings!.training, ...c } } }),
    setExplainerArch: (c) => set({ trainSettings: { ...get().trainSettings!, explainer: { ...get().trainSettings!.explainer, ...c } } }),
    setMode(mode) {
      set({ trainSettings: { ...get().trainSettings!, mode } });
      void get().refreshSupervision();
    },

    async runTrain(opts = {}) {
      const s = get();
      if (!s.attribution || !s.info) {
        set({ trainError: { what: 'There are no explanations to learn from yet.', todo: 'Run Explain and Evaluate first.' } });
        return false;
      }
      if (!s.evaluation || !s.trainSettings) {
        set({ trainError: { what: 'The prior explanations have not been scored yet.', todo: 'Run Evaluate first: the supervision set keeps only explanations that pass every metric.' } });
        return false;
      }
      let job;
      try {
        job = s.job();
      } catch (e) {
        set({ trainStatus: 'error', trainError: toProblem(e) });
        return false;
      }
      const resume = opts.resume ? s.checkpoint : null;
      if (opts.resume && (!resume || resume.key !== s.evaluation.key)) {
        set({ trainError: { what: 'There is no interrupted training of these explanations to resume.', todo: 'Start the training.' } });
        return false;
      }
      // a resumed run continues the interrupted one: its steps come after the checkpoint's
      if (resume) job = resume.job;
      const watchRow = s.attribution.rows[s.sample] ?? s.attribution.rows[0];
      set({ trainSteps: resume ? resume.steps : [], trainEvals: resume ? resume.evals : [], trainStatus: 'running', trainError: null, watchSaliency: null, stepsPerSecond: 0 });
      let callId = -1;
      let lastSaved = 0;
      let checkpointFailed = false;
      const handle = client.call(
        { type: 'train', config: { job, watchRow, explainRows: s.attribution.rows, resume: resume?.checkpoint } },
        {
          onProgress: (p) => set({ busy: { callId, label: 'Training', stage: p.stage, done: p.done, total: p.total, etaMs: p.etaMs } }),
          onTrain: (t) => {
            set({ trainSteps: get().trainSteps.concat(t.steps), trainEvals: get().trainEvals.concat(t.evals), stepsPerSecond: t.stepsPerSecond, ...(t.watchSaliency ? { watchSaliency: t.watchSaliency } : {}) });
            if (t.checkpoint) {
              const c = { key: s.evaluation!.key, job, checkpoint: t.checkpoint, steps: get().trainSteps, evals: get().trainEvals, savedAt: new Date().toISOString() };
              set({ checkpoint: c });
              // kept in IndexedDB (on the CPU side) at most every 2 s, so a reload can resume
              if (Date.now() - lastSaved > 2000) {
                lastSaved = Date.now();
                deps.persistence.saveCheckpoint(c).catch((e) => {
                  if (!checkpointFailed) get().notify(`Training checkpoints cannot be kept in this browser (${(e as Error)?.name === 'QuotaExceededError' ? 'storage is full' : ((e as Error)?.message ?? String(e))}): a reload would lose this training.`);
                  checkpointFailed = true;
                });
              }
            }
          },
        },
      );
      callId = handle.id;
      set({ trainCallId: callId, busy: { callId, label: 'Training', stage: 'training', done: 0, total: 0, etaMs: null } });
      try {
        const r = await handle.promise;
        set({
          trainStatus: 'done',
          explainer: { saliency: r.explainerSaliency, artifacts: r.artifacts, key: r.prepared.key },
          explainerLoaded: true,
          nPairs: r.nPairs,
          trainEvals: get().trainEvals.length >= r.evals.length ? get().trainEvals : r.evals,
          trainedRows: s.attribution.rows.length,
          report: r.result,
          frontier: null,
          prepared: r.prepared,
          preparedJob: job,
          checkpoint: null,
        });
        await deps.persistence.clearCheckpoint().catch(() => undefined);
        if (get().busy?.callId === callId) set({ busy: null });
        await get().save();
        return true;
      } catch (e) {
        if (e instanceof Cancelled) {
          set({ trainStatus: 'cancelled', checkpoint: null });
          await deps.persistence.clearCheckpoint().catch(() => undefined);
          get().notify('Training was cancelled; the earlier explainer and report are unchanged.');
        } else {
          set({ trainStatus: 'error', trainError: toProblem(e) });
          const c = get().checkpoint;
          if (c) await deps.persistence.saveCheckpoint(c).catch(() => undefined); // resumable from its last epoch
          if (/WebGPU device was lost/.test(toProblem(e).what)) {
            // the GPU went away: continue on wasm from the last checkpoint, and say so
            if (get().busy?.callId === callId) set({ busy: null });
            set({ trainCallId: null });
            await get().initBackend('wasm', { score: 'auto', train: 'auto' }); // every stage on wasm
            await get().reattachWorker('', true);
            const resumed = c && get().evaluation?.key === c.key;
            get().notify(`The WebGPU device was lost, so the studio switched to the wasm backend${resumed ? ` and resumed the training from step ${c.checkpoint.step}` : ''}.`);
            return resumed ? get().runTrain({ resume: true }) : false;
          }
        }
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
  };
}
