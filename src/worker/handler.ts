/**
 * Request dispatch for the compute worker: turns protocol requests into Session calls, streams
 * progress (counts and a time-left estimate) and honours cancel. Independent of the Worker
 * global so that Node tests can drive it with a plain `post` function.
 */
import { isUserError, UserError } from '../core/errors';
import type { Request, Response, ResultOf } from './protocol';
import { ABLATION_MODES, PAPER_METHODS, Session, metricMetas, methodMetas } from './session';
import { Trainer } from './trainer';
import { traceMetric } from './trace';
import { DEFAULTS, resolveJob } from '../core/job';

export type Post = (msg: Response, transfer?: Transferable[]) => void;

/**
 * Progress reporter with a time-left estimate, throttled to ~10 messages a second. The estimate is
 * steady: the work rate is smoothed (exponential moving average) and no estimate is given before
 * a second of work, so the ETA shown does not jump with every batch.
 */
export function progressReporter(id: number, post: Post, now: () => number = () => performance.now()) {
  let start = -1;
  let stageName = '';
  let last = -Infinity;
  let rate: number | null = null; // units of work per ms, smoothed
  return (stage: string, done: number, total: number) => {
    const t = now();
    if (stage.split(':')[0] !== stageName.split(':')[0] || start < 0) {
      start = t;
      rate = null;
    }
    stageName = stage;
    if (done < total && t - last < 100) return;
    last = t;
    const elapsed = t - start;
    if (elapsed > 0 && done > 0) rate = rate === null ? done / elapsed : 0.8 * rate + 0.2 * (done / elapsed);
    const etaMs = done >= total ? 0 : elapsed >= 1000 && rate ? (total - done) / rate : null;
    post({ type: 'progress', id, stage, done, total, etaMs });
  };
}

export class Handler {
  private readonly aborts = new Map<number, AbortController>();
  private trainer: Trainer | null = null;

  constructor(
    readonly session: Session,
    private readonly post: Post,
  ) {}

  async handle(req: Request): Promise<void> {
    const { id } = req;
    if (req.type === 'cancel') {
      this.aborts.get(req.target)?.abort();
      this.post({ type: 'result', id, result: { ok: this.aborts.has(req.target) } });
      return;
    }
    if (req.type === 'ping') {
      this.post({ type: 'pong', id });
      return;
    }
    if (req.type === 'pause' || req.type === 'resume') {
      const ok = !!this.trainer && this.trainer.requestId === req.target;
      if (ok) this.trainer![req.type]();
      this.post({ type: 'result', id, result: { ok } });
      return;
    }
    const abort = new AbortController();
    this.aborts.set(id, abort);
    const progress = progressReporter(id, this.post);
    try {
      let result: ResultOf;
      switch (req.type) {
        case 'init': {
          const backend = await this.session.init(req.backend, req.stages);
          result = { backend, methods: methodMetas(), metrics: metricMetas(), jobDefaults: DEFAULTS, ablationModes: [...ABLATION_MODES], paperMethods: [...PAPER_METHODS] };
          break;
        }
        case 'loadTask':
          result = await this.session.loadTask(req.source, req.settings, progress);
          this.trainer?.dispose();
          this.trainer = null;
          break;
        case 'attribute':
          result = await this.session.attribute(req.job, progress, abort.signal);
          break;
        case 'evaluate':
          result = await this.session.evaluate(req.job, progress, abort.signal);
          break;
        case 'validate':
          result = await this.session.validate(req.job, req.methodId, req.fidelity, progress, abort.signal);
          break;
        case 'frontier':
          result = await this.session.frontier(req.job, progress, abort.signal);
          break;
        case 'resolveJob':
          result = resolveJob(req.job);
          break;
        case 'restore':
          result = await this.session.restore(req.job, req.prepared, req.raw, req.filesChecked);
          break;
        case 'predict':
          result = await this.session.predict(req.x, req.nRows);
          break;
        case 'train': {
          this.trainer?.dispose();
          this.trainer = new Trainer(this.session, id, req.config, this.post);
          result = await this.trainer.run(abort.signal, progress);
          break;
        }
        case 'explainer': {
          if (!this.trainer) throw new UserError('No explainer has been trained in this session.', 'Train one in the Train panel first.');
          result = { values: await this.trainer.explain(req.rows) };
          break;
        }
        case 'loadExplainer': {
          const restored = Trainer.restore(this.session, req.artifacts, this.post);
          this.trainer?.dispose();
          this.trainer = restored;
          result = { loaded: true };
          break;
        }
        case 'supervise':
          result = this.session.supervise(req.job);
          break;
        case 'ablate':
          result = await this.session.ablate(req.job, req.modes, progress, abort.signal);
          break;
        case 'trace':
          result = await traceMetric(this.session, req.row, req.target, req.s, req.metricId, req.params, req.seed);
          break;
        case 'pixelMap':
          result = await this.session.pixelMap(req.job, req.methodId, req.rows, abort.signal);
          break;
        case 'figureScores':
          result = await this.session.figureScores(req.job, req.rows, req.columns, abort.signal);
          break;
        case 'explainSentence': {
          const trainer = this.trainer;
          result = await this.session.explainSentence(req.job, req.text, req.target, trainer?.hasExplainer() ? (x, c) => trainer.explainInputs(x, 1, Int32Array.of(c)) : undefined, abort.signal, progress);
          break;
        }
        default:
          throw new Error(`unknown request ${(req as { type: string }).type}`);
      }
      this.post({ type: 'result', id, result });
    } catch (e) {
      // cancelled only when the page asked: an AbortError from elsewhere (a lost GPU device) is a failure
      if (abort.signal.aborted) this.post({ type: 'cancelled', id });
      else if (isUserError(e)) this.post({ type: 'error', id, what: e.what, todo: e.todo });
      else this.post({ type: 'error', id, what: `Something failed inside the engine: ${(e as Error)?.message ?? String(e)}`, todo: 'Try again; if it keeps failing, switch the backend to wasm and report the steps.' });
    } finally {
      this.aborts.delete(id);
    }
  }
}

/**
 * The worker's message loop: requests other than cancel/pause/resume run one after another (a task
 * load and an evaluation never interleave); control messages are handled at once, and reach a
 * running job because every long engine loop yields to the event loop (core/yield.ts).
 */
export function requestQueue(handler: Handler): (req: Request) => void {
  let queue: Promise<void> = Promise.resolve();
  return (req) => {
    if (req.type === 'cancel' || req.type === 'pause' || req.type === 'resume' || req.type === 'ping') {
      void handler.handle(req);
      return;
    }
    queue = queue.then(() => handler.handle(req));
  };
}
