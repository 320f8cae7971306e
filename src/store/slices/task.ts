/** Task slice: the loaded task (demo or dropped files), its settings, and one task at a time. */
import { STUDIO_CHOICES, canLoadTask, rowsWanted } from '../selectors';
import { DEMOS } from '../../core/data/demos';
import type { StudioState, TaskSlice } from '../types';
import type { TaskSource } from '../../worker/protocol';
import { CLEARED_RESULTS, toProblem, type SliceContext } from './context';

/** Header of a CSV text, for the label picker (the worker's loader names the problem itself). */
export function csvColumns(text: string): string[] {
  const line = text.replace(/^\uFEFF/, '').split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  return line.split(',').map((h) => h.trim().replace(/^"|"$/g, '')).filter((h) => h !== '');
}

export interface LoadOptions {
  /** Load even while a job runs (a backend switch reloads the same task). */
  force?: boolean;
  /** Keep the row count (a job or a restore set it). */
  keepRows?: boolean;
}

export function taskSlice(ctx: SliceContext): TaskSlice & Pick<StudioState, 'setSettings' | 'setImageSettings' | 'loadDemo' | 'loadFiles' | 'loadImages' | 'pickLabel'> & { loadSource(source: TaskSource, opts?: LoadOptions): Promise<boolean> } {
  const { set, get, deps } = ctx;

  async function loadSource(source: TaskSource, opts: LoadOptions = {}): Promise<boolean> {
    const gate = canLoadTask(get());
    if (!gate.ok && !opts.force) {
      set({ taskError: { what: 'Another task cannot be loaded now.', todo: gate.why! } });
      return false;
    }
    // the blur baseline is an image setting: a table gets the studio's baseline instead
    const image = source.kind === 'images' || (source.kind === 'demo' && DEMOS.find((d) => d.id === source.demoId)?.kind === 'image');
    if (!image && get().settings.baseline === 'blur') set({ settings: { ...get().settings, baseline: STUDIO_CHOICES.baseline } });
    try {
      const info = await ctx.withProgress('Loading task', (cb) => deps.client.call({ type: 'loadTask', source, settings: get().settings }, cb));
      if (!info) return false;
      const prev = get().info;
      // (an image task's patch size changes its features, so it is another task too)
      const changed = prev?.modelSha256 !== info.modelSha256 || prev?.dataSha256 !== info.dataSha256 || prev?.image?.patch !== info.image?.patch;
      set({ info, source, taskError: null, labelChoices: null, pendingFiles: null });
      // results belong to the task they were computed on: another task clears them (same files keep them)
      if (changed) set({ ...CLEARED_RESULTS, rows: { start: 0, count: opts.keepRows && get().rows.count > 0 ? Math.min(get().rows.count, info.nRows) : info.nRows } });
      else set({ rows: { start: 0, count: rowsWanted(get()) } });
      return true;
    } catch (e) {
      // The old task and its results stay; the message shows inline.
      const problem = toProblem(e);
      set({ taskError: problem });
      if (source.kind === 'files' && /named like a label/i.test(problem.what)) set({ pendingFiles: source, labelChoices: csvColumns(source.csv.text) });
      return false;
    }
  }

  return {
    source: null,
    settings: { output: 'probability', baseline: STUDIO_CHOICES.baseline, target: 'predicted' },
    info: null,
    taskError: null,
    labelChoices: null,
    pendingFiles: null,
    loadSource,
    setSettings: (s) => set({ settings: { ...get().settings, ...s } }),
    loadDemo: (demoId) => loadSource({ kind: 'demo', demoId }),
    loadFiles: (files) => loadSource(files),
    loadImages: (images) => loadSource(images),
    async setImageSettings(s) {
      const before = get().settings;
      set({ settings: { ...before, ...s } });
      const src = get().source;
      if (!src || !get().info?.image) return true;
      const ok = await loadSource(src, { keepRows: true });
      if (!ok) set({ settings: before }); // the images stay as they were loaded; so do the settings
      return ok;
    },
    async pickLabel(column) {
      const src = get().source;
      const pending = get().pendingFiles ?? (src?.kind === 'files' ? src : null);
      if (!pending) return false;
      return loadSource({ ...pending, label: column });
    },
  };
}
