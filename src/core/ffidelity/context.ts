/**
 * Where FFID⁺/FFID⁻ get their surrogate (docs/ffidelity.md "Providing the surrogate"). A metric's
 * `score` sees only a task and a batch, so the surrogate is kept per Task (a WeakMap):
 *
 * 1. `attachSurrogate(task, s)`: a surrogate fine-tuned (or loaded) by the caller — the CLI's
 *    `--surrogate <dir>`; FFID refuses it when its β differs from the metric's β.
 * 2. `attachFinetuneRows(task, rows, labels)`: the rows (and labels) to fine-tune on when FFID first
 *    needs a surrogate — the CLI gives every data row of the file with its labels.
 * 3. Neither: the first FFID call on the task fine-tunes on the rows it scores, with their target
 *    classes as labels (in a job: all of the job's rows and targets, scored first).
 *
 * Fine-tuned surrogates are cached per (task, fine-tuning settings, seed), so FFID⁺ and FFID⁻ with
 * the same settings share one; `releaseFfidelity(task)` disposes every surrogate the cache owns.
 */
import type { Batch, Task } from '../task/task';
import { UserError } from '../errors';
import { disposeSurrogate, fineTune, type FinetuneConfig, type FinetuneEvent, type Surrogate } from './finetune';

interface FfidState {
  given?: Surrogate;
  rows?: { rows: Batch; labels: Int32Array; heldOut?: { rows: Batch; labels: Int32Array } };
  onEvent?: (e: FinetuneEvent) => void;
  cache: Map<string, Promise<Surrogate>>;
  done: Surrogate[];
}

const states = new WeakMap<Task, FfidState>();

function stateOf(task: Task): FfidState {
  let s = states.get(task);
  if (!s) states.set(task, (s = { cache: new Map(), done: [] }));
  return s;
}

/** Use this surrogate for every FFID score on the task (it is disposed by releaseFfidelity when owned). */
export function attachSurrogate(task: Task, surrogate: Surrogate): void {
  const s = stateOf(task);
  if (s.given && s.given !== surrogate) disposeSurrogate(s.given);
  s.given = surrogate;
}

/** Fine-tune on these rows (labels: class index per row) when FFID first needs a surrogate; events go to onEvent. */
export function attachFinetuneRows(task: Task, rows: Batch, labels: Int32Array, opts: { heldOut?: { rows: Batch; labels: Int32Array }; onEvent?: (e: FinetuneEvent) => void } = {}): void {
  if (labels.length !== rows.nRows) throw new Error(`attachFinetuneRows: ${labels.length} labels for ${rows.nRows} rows`);
  const s = stateOf(task);
  s.rows = { rows, labels, heldOut: opts.heldOut };
  s.onEvent = opts.onEvent;
}

/** The surrogates fine-tuned (or attached) for this task so far. */
export function surrogatesOf(task: Task): Surrogate[] {
  const s = states.get(task);
  if (!s) return [];
  return [...(s.given ? [s.given] : []), ...s.done];
}

/**
 * The surrogate for an FFID score with these fine-tuning settings: the attached one (β must match),
 * else a cached or new fine-tuned copy (on the attached rows, else on `fallback`).
 */
export async function surrogateFor(task: Task, config: FinetuneConfig, seed: number, fallback: { rows: Batch; labels: Int32Array }, signal?: AbortSignal): Promise<Surrogate> {
  const s = stateOf(task);
  if (s.given) {
    if (Math.abs(s.given.beta - config.beta) > 1e-12)
      throw new UserError(
        `The F-Fidelity surrogate was fine-tuned with β = ${s.given.beta}, but the metric is asked for β = ${config.beta}: evaluation and fine-tuning must share β.`,
        `Set beta=${s.given.beta} on FFID+/FFID-, or fine-tune a surrogate with β = ${config.beta}.`,
      );
    return s.given;
  }
  const key = JSON.stringify([config.beta, config.epochs, config.learningRate, config.batchSize, config.adamEpsilon, config.maskedDraws, seed]);
  let p = s.cache.get(key);
  if (!p) {
    const src = s.rows ?? fallback;
    p = fineTune({ task, rows: src.rows, labels: src.labels, heldOut: s.rows?.heldOut, config, seed, signal }, s.onEvent).then((sur) => {
      s.done.push(sur);
      return sur;
    });
    p.catch(() => s.cache.delete(key));
    s.cache.set(key, p);
  }
  return p;
}

/** Dispose every surrogate the task's cache owns (and the attached one, when owned). */
export function releaseFfidelity(task: Task): void {
  const s = states.get(task);
  if (!s) return;
  states.delete(task);
  if (s.given) disposeSurrogate(s.given);
  for (const sur of s.done) disposeSurrogate(sur);
}
