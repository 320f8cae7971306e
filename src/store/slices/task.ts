/** Task slice: the loaded task (demo or dropped files), its settings, and one task at a time. */
import { STUDIO_CHOICES, canLoadTask, rowsWanted } from '../selectors';
import { DEMOS } from '../../core/data/demos';
import type { SentenceSlice, StudioState, TaskSlice, TextDraft } from '../types';
import type { TaskSource } from '../../worker/protocol';
import { CLEARED_RESULTS, toProblem, type SliceContext } from './context';

/** Header of a CSV text, for the label picker (the worker's loader names the problem itself). */
export function csvColumns(text: string): string[] {
  const line = text.replace(/^\uFEFF/, '').split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  return line.split(',').map((h) => h.trim().replace(/^"|"$/g, '')).filter((h) => h !== '');
}

/**
 * Column names taken as a dropped CSV's text column when it is not chosen, in this order
 * (case-insensitive): the studio's guess; the job names the column (task.text) either way.
 */
export const TEXT_GUESSES = ['text', 'sentence', 'review', 'comment', 'content', 'body', 'message', 'tweet'];

export function guessTextColumn(columns: string[]): string | undefined {
  for (const g of TEXT_GUESSES) {
    const hit = columns.find((c) => c.toLowerCase() === g);
    if (hit) return hit;
  }
  return undefined;
}

/** The header of a CSV given as bytes (decoded leniently: the worker's loader checks the encoding). */
export function csvColumnsOfBytes(data: ArrayBuffer): string[] {
  return csvColumns(new TextDecoder().decode(new Uint8Array(data, 0, Math.min(data.byteLength, 1 << 16))));
}

export interface LoadOptions {
  /** Load even while a job runs (a backend switch reloads the same task). */
  force?: boolean;
  /** Keep the row count (a job or a restore set it). */
  keepRows?: boolean;
}

export function taskSlice(
  ctx: SliceContext,
): TaskSlice & SentenceSlice & Pick<StudioState, 'setSettings' | 'setImageSettings' | 'setTextSettings' | 'loadDemo' | 'loadFiles' | 'loadImages' | 'loadText' | 'pickLabel' | 'explainSentence'> & { loadSource(source: TaskSource, opts?: LoadOptions): Promise<boolean> } {
  const { set, get, deps } = ctx;

  async function loadSource(source: TaskSource, opts: LoadOptions = {}): Promise<boolean> {
    const gate = canLoadTask(get());
    if (!gate.ok && !opts.force) {
      set({ taskError: { what: 'Another task cannot be loaded now.', todo: gate.why! } });
      return false;
    }
    // the blur baseline is an image setting: a table gets the studio's baseline instead; a text task
    // removes tokens (the zero baseline: pad or the mask token), and a table after it gets the studio's
    // baseline back; a mask token belongs to text tasks only
    const kind = source.kind === 'demo' ? DEMOS.find((d) => d.id === source.demoId)?.kind : source.kind;
    const image = kind === 'images' || kind === 'image';
    const text = kind === 'text';
    let settings = get().settings;
    if (text && settings.baseline !== 'zero') settings = { ...settings, baseline: 'zero' };
    if (!text && (settings.baseline === 'blur' ? !image : get().info?.text && settings.baseline === 'zero')) settings = { ...settings, baseline: STUDIO_CHOICES.baseline };
    if (!text && settings.maskToken !== undefined) settings = withoutMask(settings);
    try {
      const info = await ctx.withProgress('Loading task', (cb) => deps.client.call({ type: 'loadTask', source, settings }, cb));
      if (!info) return false;
      const prev = get().info;
      // (an image task's patch size changes its features, so it is another task too)
      const changed = prev?.modelSha256 !== info.modelSha256 || prev?.dataSha256 !== info.dataSha256 || prev?.image?.patch !== info.image?.patch;
      set({ info, source, settings, taskError: null, labelChoices: null, pendingFiles: null, pendingText: null, textChoices: null, ...(info.backend ? { backend: info.backend } : {}) });
      // results belong to the task they were computed on: another task clears them (same files keep them)
      if (changed) set({ ...CLEARED_RESULTS, rows: { start: 0, count: opts.keepRows && get().rows.count > 0 ? Math.min(get().rows.count, info.nRows) : info.nRows } });
      else set({ rows: { start: 0, count: rowsWanted(get()) } });
      return true;
    } catch (e) {
      // The old task and its results stay; the message shows inline.
      const problem = toProblem(e);
      set({ taskError: problem });
      if (source.kind === 'files' && /named like a label/i.test(problem.what)) set({ pendingFiles: source, labelChoices: csvColumns(source.csv.text) });
      if (source.kind === 'text' && /named like a label/i.test(problem.what)) set({ pendingText: source, labelChoices: csvColumnsOfBytes(source.csv.data) });
      return false;
    }
  }

  /** A new task picked by the user starts without the last text task's mask token. */
  const fresh = () => {
    if (get().settings.maskToken !== undefined) set({ settings: withoutMask(get().settings) });
  };

  return {
    source: null,
    settings: { output: 'probability', baseline: STUDIO_CHOICES.baseline, target: 'predicted' },
    info: null,
    taskError: null,
    labelChoices: null,
    pendingFiles: null,
    pendingText: null,
    textChoices: null,
    sentence: null,
    sentenceError: null,
    loadSource,
    setSettings: (s) => set({ settings: { ...get().settings, ...s } }),
    loadDemo: (demoId) => (fresh(), loadSource({ kind: 'demo', demoId })),
    loadFiles: (files) => (fresh(), loadSource(files)),
    loadImages: (images) => (fresh(), loadSource(images)),
    async loadText(draft: TextDraft) {
      // (a mask token set by a job link for these files is kept: the engine refuses it when the vocabulary lacks it)
      const text = draft.text ?? guessTextColumn(csvColumnsOfBytes(draft.csv.data));
      if (text === undefined) {
        const columns = csvColumnsOfBytes(draft.csv.data);
        set({
          pendingText: draft,
          textChoices: columns,
          labelChoices: null,
          taskError: { what: `${draft.csv.name} has no column named like a text (${TEXT_GUESSES.join(', ')}).`, todo: `Choose the column that holds the texts: one of ${columns.join(', ')}.` },
        });
        return false;
      }
      return loadSource({ ...draft, text });
    },
    async setTextSettings(s) {
      const src = get().source;
      const pending = get().pendingText;
      // a text or label column for dropped files that wait for one
      if (pending && (s.text !== undefined || s.label !== undefined)) {
        const text = s.text ?? pending.text;
        const draft = { ...pending, ...(s.label !== undefined ? { label: s.label } : {}), ...(text !== undefined ? { text } : {}) };
        return text === undefined ? (set({ pendingText: draft }), false) : loadSource({ ...draft, text });
      }
      const before = get().settings;
      if (!src || !get().info?.text) {
        // no text task to read again: the setting waits for the next text task
        if (s.maskToken === undefined) return false;
        set({ settings: s.maskToken === null || s.maskToken === '' ? withoutMask(before) : { ...before, maskToken: s.maskToken } });
        return true;
      }
      if (s.maskToken !== undefined) set({ settings: s.maskToken === null || s.maskToken === '' ? withoutMask(before) : { ...before, maskToken: s.maskToken } });
      const next = src.kind === 'text' ? { ...src, ...(s.text !== undefined ? { text: s.text } : {}), ...(s.label !== undefined ? { label: s.label } : {}) } : src;
      const ok = await loadSource(next, { keepRows: true });
      if (!ok) set({ settings: before }); // the texts stay as they were loaded; so do the settings
      return ok;
    },
    async explainSentence(text, target) {
      const s = get();
      if (!s.info?.text) {
        set({ sentenceError: { what: 'A typed sentence can be explained on text tasks only.', todo: 'Load a text task first (the sentiment demo, or a text model with its vocab.json and a CSV).' } });
        return false;
      }
      if (!s.methods.some((m) => s.methodChoice[m.id]?.enabled)) {
        set({ sentenceError: { what: 'No method is chosen.', todo: 'Tick at least one method.' } });
        return false;
      }
      try {
        const job = s.job();
        const r = await ctx.withProgress('Explaining the sentence', (cb) => deps.client.call({ type: 'explainSentence', job, text, ...(target !== undefined ? { target } : {}) }, cb));
        if (!r) return false;
        set({ sentence: r, sentenceError: null });
        return true;
      } catch (e) {
        // the last sentence's explanations stay; the message shows inline
        set({ sentenceError: toProblem(e) });
        return false;
      }
    },
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
      if (get().pendingText || src?.kind === 'text') return get().setTextSettings({ label: column });
      const pending = get().pendingFiles ?? (src?.kind === 'files' ? src : null);
      if (!pending) return false;
      return loadSource({ ...pending, label: column });
    },
  };
}

function withoutMask<T extends { maskToken?: string }>(settings: T): T {
  const { maskToken: _, ...rest } = settings;
  return rest as T;
}
