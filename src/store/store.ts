/**
 * The studio's state: one vanilla zustand store, created by a factory (fresh per test), composed
 * of one slice per panel (slices/*.ts). Actions talk to the compute worker through a WorkerClient
 * and save results through a Persistence; pure selectors live in selectors.ts. React components
 * read it through thin selector hooks (hooks.ts). Node tests: src/store/store.test.ts.
 */
import { createStore } from 'zustand/vanilla';
import type { StoreDeps, StudioState, StudioStore } from './types';
import { makeContext } from './slices/context';
import { appSlice } from './slices/app';
import { taskSlice } from './slices/task';
import { pipelineSlice } from './slices/pipeline';
import { trainSlice } from './slices/train';
import { savedSlice } from './slices/saved';

export * from './types';
export { STUDIO_CHOICES, buildJob, exportedJob, evaluationTable, reportTable, rowsWanted, canLoadTask } from './selectors';

export function createStudioStore(deps: StoreDeps): StudioStore {
  const store = createStore<StudioState>()((set, get) => {
    const ctx = makeContext(set, get, deps);
    const task = taskSlice(ctx);
    const { loadSource, ...taskState } = task;
    return {
      ...appSlice(ctx, () => (get().source ? loadSource(get().source!, { force: true, keepRows: true }) : Promise.resolve(false))),
      ...taskState,
      ...pipelineSlice(ctx),
      ...trainSlice(ctx),
      ...savedSlice(ctx, loadSource),
    };
  });
  // a worker that crashed or hung was replaced by the client: load the state back into the new one
  deps.client.onRestart((why) => void store.getState().reattachWorker(why));
  return store;
}
