import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { StoreContext } from './store/hooks';
import { jobFromHash } from './store/job';
import { isBackendRequest, type BackendRequest } from './core/backendNames';
import { idbPersistence } from './store/persist';
import { createStudioStore } from './store/store';
import { App } from './ui/App';
import { ErrorBoundary } from './ui/components/common';
import { WorkerClient } from './worker/client';
import './ui/styles.css';

const testMode = new URLSearchParams(location.search).has('test');
// a factory, so that a worker that crashes or hangs is replaced (WorkerClient's heartbeat)
const client = new WorkerClient(() => new Worker(new URL('./worker/compute.worker.ts', import.meta.url), { type: 'module' }));
const store = createStudioStore({ client, persistence: idbPersistence(), baseUrl: new URL(import.meta.env.BASE_URL, location.href).href, test: testMode });
// the store is reachable from the page only for the browser tests (…?test in the address)
if (testMode) Object.assign(window, { __studio: store, __studioClient: client });

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ErrorBoundary area="studio">
      <StoreContext.Provider value={store}>
        <App />
      </StoreContext.Provider>
    </ErrorBoundary>
  </StrictMode>,
);

async function start() {
  const query = new URLSearchParams(location.search);
  // ?backend= sets the studio's backend; ?scoreBackend= / ?trainBackend= one stage each (core/backend.ts)
  const stage = (k: string) => (query.get(k) && isBackendRequest(query.get(k)!) ? (query.get(k) as BackendRequest) : undefined);
  await store.getState().initBackend(query.get('backend') as never ?? undefined, { ...(stage('scoreBackend') ? { score: stage('scoreBackend') } : {}), ...(stage('trainBackend') ? { train: stage('trainBackend') } : {}) });
  let job = null;
  try {
    job = jobFromHash(location.hash);
  } catch (e) {
    store.setState({ taskError: { what: (e as Error).message, todo: 'Ask for the link again, or start from a demo.' } });
  }
  if (job) {
    if (job.backend && job.backend !== store.getState().backendRequest) await store.getState().initBackend(job.backend);
    await store.getState().applyJob(job.job);
    return;
  }
  await store.getState().restore();
}
void start();
