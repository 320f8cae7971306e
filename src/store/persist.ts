/**
 * Saved results: the last run (job, task source, explanations, scores, training history and the
 * trained explainer's artifacts) kept in IndexedDB through idb-keyval, restored after a reload.
 */
import { createStore, del, get, set, type UseStore } from 'idb-keyval';
import type { BackendRequest } from '../core/backendNames';
import type { JobInput } from '../core/job';
import type { AblationResult, AttributeResult, EvaluateResult, TaskSource, TrainEval, TrainStep } from '../worker/protocol';

export interface SavedRun {
  savedAt: string;
  job: JobInput;
  source: TaskSource;
  attribution: AttributeResult | null;
  evaluation: EvaluateResult | null;
  trainSteps: TrainStep[];
  trainEvals?: TrainEval[];
  ablation?: AblationResult | null;
  backend?: BackendRequest;
  explainer: { saliency: Float32Array | null; artifacts: unknown } | null;
}

export interface Persistence {
  load(): Promise<SavedRun | undefined>;
  save(run: SavedRun): Promise<void>;
  clear(): Promise<void>;
}

const KEY = 'last-run';

export function idbPersistence(dbName = 'deepfaith-studio', storeName = 'runs'): Persistence {
  let store: UseStore | null = null;
  const s = () => (store ??= createStore(dbName, storeName));
  return {
    load: () => get<SavedRun>(KEY, s()),
    save: (run) => set(KEY, run, s()),
    clear: () => del(KEY, s()),
  };
}

/** In-memory persistence for tests and for browsers without IndexedDB. */
export function memoryPersistence(): Persistence & { value?: SavedRun } {
  const p: Persistence & { value?: SavedRun } = {
    value: undefined,
    load: async () => p.value,
    save: async (run) => {
      p.value = structuredClone(run);
    },
    clear: async () => {
      p.value = undefined;
    },
  };
  return p;
}
