/** What every slice gets: zustand's set/get, the worker client and persistence, and shared helpers. */
import { isUserError } from '../../core/errors';
import { Cancelled } from '../../worker/client';
import type { Busy, Problem, StoreDeps, StudioState } from '../types';

export type Set = (partial: Partial<StudioState>) => void;
export type Get = () => StudioState;

export interface SliceContext {
  set: Set;
  get: Get;
  deps: StoreDeps;
  /** Runs one worker call with the shared progress bar; returns null when cancelled. */
  withProgress<T>(label: string, start: (cb: { onProgress: (p: Omit<Busy, 'callId' | 'label'>) => void }) => { id: number; promise: Promise<T> }): Promise<T | null>;
}

export function toProblem(e: unknown): Problem {
  if (isUserError(e)) return { what: e.what, todo: e.todo };
  return { what: `Unexpected error: ${(e as Error)?.message ?? String(e)}`, todo: 'Try again; if it keeps happening, reload the page.' };
}

export function makeContext(set: Set, get: Get, deps: StoreDeps): SliceContext {
  return {
    set,
    get,
    deps,
    async withProgress(label, start) {
      let callId = -1;
      const handle = start({ onProgress: (p) => set({ busy: { callId, label, stage: p.stage, done: p.done, total: p.total, etaMs: p.etaMs } }) });
      callId = handle.id;
      set({ busy: { callId, label, stage: label, done: 0, total: 0, etaMs: null } });
      try {
        return await handle.promise;
      } catch (e) {
        if (e instanceof Cancelled) {
          get().notify(`${label} was cancelled; the results on screen are unchanged.`);
          return null;
        }
        throw e;
      } finally {
        if (get().busy?.callId === callId) set({ busy: null });
      }
    },
  };
}

/** Everything computed from a task's explanations, cleared together when they are replaced. */
export const CLEARED_RESULTS: Partial<StudioState> = {
  attribution: null,
  evaluation: null,
  prepared: null,
  preparedJob: null,
  evaluationCleared: null,
  supervision: null,
  ablation: null,
  report: null,
  frontier: null,
  validation: null,
  validationError: null,
  trainSteps: [],
  trainEvals: [],
  explainer: null,
  explainerLoaded: false,
  trainedRows: null,
  watchSaliency: null,
  sample: 0,
  trainStatus: 'idle',
  nPairs: null,
  sentence: null,
  sentenceError: null,
};
