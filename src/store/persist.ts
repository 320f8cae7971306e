/**
 * Saved results: the last run (its job, the task's source and fingerprint, the engine's prepared
 * job, the training history and report, the trained explainer's artifacts) kept in IndexedDB
 * through idb-keyval and restored after a reload. A saved run is checked before it is shown:
 * its shape (`validSavedRun`), its task's fingerprint against the files loaded again, and its
 * prepared job against the job (the worker's `importPrepared` refuses another job's cache).
 */
import { createStore, del, get, set, type UseStore } from 'idb-keyval';
import type { BackendRequest } from '../core/backendNames';
import type { JobInput, JobResult, PreparedCache } from '../core/job';
import type { AblationResult, TaskSource, TrainEval, TrainStep } from '../worker/protocol';

export const SAVED_RUN_VERSION = 2;

export interface SavedRun {
  version: typeof SAVED_RUN_VERSION;
  savedAt: string;
  /** The complete job of the results. */
  job: JobInput;
  source: TaskSource;
  /** SHA-256 of model and data the results were computed on. */
  fingerprint: { model: string; data: string };
  /** The engine's prepared job (priors and stored scores), when Evaluate ran. */
  prepared: PreparedCache | null;
  /** The priors as the methods produced them (the Explain panel shows them signed). */
  raw: Float32Array[] | null;
  trainSteps: TrainStep[];
  trainEvals: TrainEval[];
  report: JobResult | null;
  ablation: AblationResult | null;
  backend?: BackendRequest;
  explainer: { saliency: Float32Array | null; artifacts: unknown; key: string } | null;
  /** A training that was running when the page went away: the step it had reached. */
  interrupted?: { step: number; at: string } | null;
}

/** Whether a value read back from storage has the saved-run shape (older or damaged saves are ignored). */
export function validSavedRun(v: unknown): v is SavedRun {
  if (!v || typeof v !== 'object') return false;
  const r = v as Partial<SavedRun>;
  return (
    r.version === SAVED_RUN_VERSION &&
    typeof r.savedAt === 'string' &&
    !!r.job &&
    typeof r.job === 'object' &&
    !!r.source &&
    (r.source.kind === 'demo' || r.source.kind === 'files') &&
    !!r.fingerprint &&
    typeof r.fingerprint.model === 'string' &&
    typeof r.fingerprint.data === 'string' &&
    Array.isArray(r.trainSteps) &&
    Array.isArray(r.trainEvals) &&
    (r.prepared === null || (typeof r.prepared === 'object' && r.prepared.format === 'deepfaith-prepared'))
  );
}

export interface Persistence {
  load(): Promise<unknown>;
  save(run: SavedRun): Promise<void>;
  clear(): Promise<void>;
}

const KEY = 'last-run';

export function idbPersistence(dbName = 'deepfaith-studio', storeName = 'runs'): Persistence {
  let store: UseStore | null = null;
  const s = () => (store ??= createStore(dbName, storeName));
  return {
    load: () => get(KEY, s()),
    save: (run) => set(KEY, run, s()),
    clear: () => del(KEY, s()),
  };
}

/** In-memory persistence for tests and for browsers without IndexedDB. */
export function memoryPersistence(): Persistence & { value?: SavedRun } {
  const p: Persistence & { value?: SavedRun } = {
    value: undefined,
    load: async () => (p.value === undefined ? undefined : structuredClone(p.value)),
    save: async (run) => {
      p.value = structuredClone(run);
    },
    clear: async () => {
      p.value = undefined;
    },
  };
  return p;
}
