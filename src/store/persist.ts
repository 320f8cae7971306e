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
import type { TrainCheckpoint } from '../core/explainer/train';

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
    (r.source.kind === 'demo' || r.source.kind === 'files' || r.source.kind === 'images' || r.source.kind === 'text') &&
    !!r.fingerprint &&
    typeof r.fingerprint.model === 'string' &&
    typeof r.fingerprint.data === 'string' &&
    Array.isArray(r.trainSteps) &&
    Array.isArray(r.trainEvals) &&
    (r.prepared === null || (typeof r.prepared === 'object' && r.prepared.format === 'deepfaith-prepared'))
  );
}

/** The last end-of-epoch checkpoint of a training that has not finished (kept until it finishes). */
export interface SavedCheckpoint {
  /** preparedKey of the job's priors and scores. */
  key: string;
  job: JobInput;
  checkpoint: TrainCheckpoint;
  /** Steps and held-out evaluations up to the checkpoint. */
  steps: TrainStep[];
  evals: TrainEval[];
  savedAt: string;
}

export interface Persistence {
  load(): Promise<unknown>;
  save(run: SavedRun): Promise<void>;
  clear(): Promise<void>;
  loadCheckpoint(): Promise<SavedCheckpoint | undefined>;
  saveCheckpoint(c: SavedCheckpoint): Promise<void>;
  clearCheckpoint(): Promise<void>;
}

const KEY = 'last-run';
const CHECKPOINT_KEY = 'training-checkpoint';

export function idbPersistence(dbName = 'deepfaith-studio', storeName = 'runs'): Persistence {
  let store: UseStore | null = null;
  const s = () => (store ??= createStore(dbName, storeName));
  return {
    load: () => get(KEY, s()),
    save: (run) => set(KEY, run, s()),
    clear: async () => {
      await del(KEY, s());
      await del(CHECKPOINT_KEY, s());
    },
    loadCheckpoint: () => get<SavedCheckpoint>(CHECKPOINT_KEY, s()),
    saveCheckpoint: (c) => set(CHECKPOINT_KEY, c, s()),
    clearCheckpoint: () => del(CHECKPOINT_KEY, s()),
  };
}

/** In-memory persistence for tests and for browsers without IndexedDB. */
export function memoryPersistence(): Persistence & { value?: SavedRun; checkpoint?: SavedCheckpoint } {
  const p: Persistence & { value?: SavedRun; checkpoint?: SavedCheckpoint } = {
    value: undefined,
    load: async () => (p.value === undefined ? undefined : structuredClone(p.value)),
    save: async (run) => {
      p.value = structuredClone(run);
    },
    clear: async () => {
      p.value = undefined;
      p.checkpoint = undefined;
    },
    loadCheckpoint: async () => (p.checkpoint === undefined ? undefined : structuredClone(p.checkpoint)),
    saveCheckpoint: async (c) => {
      p.checkpoint = structuredClone(c);
    },
    clearCheckpoint: async () => {
      p.checkpoint = undefined;
    },
  };
  return p;
}
