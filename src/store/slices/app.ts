/** App slice: backend, the engine's metadata and defaults, progress, seed, notices, the guided walk. */
import { STUDIO_CHOICES } from '../selectors';
import type { AppSlice, StudioState } from '../types';
import { toProblem, type SliceContext } from './context';

export function appSlice(ctx: SliceContext, reloadTask: () => Promise<unknown>): AppSlice & Pick<StudioState, 'setStep' | 'initBackend' | 'cancel' | 'setSeed' | 'setTour' | 'notify'> {
  const { set, get, deps } = ctx;
  let noticeTimer: ReturnType<typeof setTimeout> | null = null;
  return {
    step: 'task',
    backendRequest: 'auto',
    stageRequests: { score: 'auto', train: 'auto' },
    backend: null,
    backendError: null,
    methods: [],
    metrics: [],
    jobDefaults: null,
    paperMethods: [],
    ablationModes: [],
    busy: null,
    seed: 0,
    restoredAt: null,
    notice: null,
    confirm: null,
    tour: null,

    setStep: (step) => set({ step }),

    async initBackend(request, stages) {
      const backendRequest = request ?? get().backendRequest;
      const stageRequests = { ...get().stageRequests, ...(stages ?? {}) };
      set({ backendRequest, stageRequests, backendError: null });
      try {
        const r = await ctx.withProgress('Starting backend', (cb) => deps.client.call({ type: 'init', backend: backendRequest, stages: stageRequests, baseUrl: deps.baseUrl, test: deps.test }, cb));
        if (!r) return;
        const first = get().jobDefaults === null;
        set({ backend: r.backend, methods: r.methods, metrics: r.metrics, jobDefaults: r.jobDefaults, paperMethods: r.paperMethods, ablationModes: r.ablationModes });
        if (first) {
          // every default comes from the engine; the studio's own choices (STUDIO_CHOICES) are written into its jobs
          const d = r.jobDefaults;
          const fresh = (list: { id: string; defaults: Record<string, unknown> }[], on: (id: string) => boolean) => Object.fromEntries(list.map((m) => [m.id, { enabled: on(m.id), params: { ...m.defaults } }]));
          set({
            settings: { output: d.task.output, target: d.task.target, baseline: STUDIO_CHOICES.baseline },
            delta: Number.isNaN(get().delta) ? d.supervision.delta : get().delta,
            p: Number.isNaN(get().p) ? d.supervision.p : get().p,
            trainSettings: get().trainSettings ?? { explainer: { ...d.explainer }, training: { ...d.training, alpha: { ...d.training.alpha } }, mode: d.mode },
            methodChoice: { ...fresh(r.methods as never, (id) => r.paperMethods.includes(id)), ...get().methodChoice },
            metricChoice: { ...fresh(r.metrics as never, (id) => !r.metrics.find((m) => m.id === id)?.beyond), ...get().metricChoice },
          } as Partial<StudioState>);
        } else if (get().source) await reloadTask(); // the model lives in the tfjs engine of the old backend
      } catch (e) {
        set({ backendError: toProblem(e) });
      }
    },

    cancel() {
      const b = get().busy;
      if (b) deps.client.cancel(b.callId);
    },
    setSeed: (seed) => set({ seed }),
    setTour: (tour) => set({ tour }),
    notify(text, ms = text && text.length > 80 ? 12_000 : 4000) {
      if (noticeTimer) clearTimeout(noticeTimer);
      set({ notice: text });
      if (text) noticeTimer = setTimeout(() => set({ notice: null }), ms);
    },
  };
}
