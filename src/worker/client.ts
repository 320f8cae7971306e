/**
 * Main-thread side of the worker protocol: `call` sends a request and resolves with its typed
 * result; progress and training messages go to the callbacks; `cancel` aborts a call.
 *
 * Made from a worker factory, the client also watches the worker: a ping every second (answered
 * even during long jobs, because every engine loop yields to the worker's event loop), and a
 * worker that errors or has not answered for `deadAfterMs` is reported and replaced by a fresh
 * one: pending calls reject with WorkerDied and `onRestart` listeners rebuild its state.
 */
import { UserError } from '../core/errors';
import type { Request, RequestBody, Response, ResultMap, TrainEval, TrainStep } from './protocol';
import type { TrainCheckpoint } from '../core/explainer/train';

export interface CallHandle<T> {
  id: number;
  promise: Promise<T>;
}

export interface CallCallbacks {
  onProgress?: (p: { stage: string; done: number; total: number; etaMs: number | null }) => void;
  onTrain?: (t: { steps: TrainStep[]; evals: TrainEval[]; stepsPerSecond: number; watchSaliency?: Float32Array; checkpoint?: TrainCheckpoint }) => void;
}

export class Cancelled extends Error {
  constructor() {
    super('Cancelled.');
    this.name = 'Cancelled';
  }
}

/** The worker ended (crashed, was killed, or stopped answering) while the call was pending. */
export class WorkerDied extends UserError {
  constructor(why: string) {
    super(`The compute worker stopped (${why}), so the running step was lost.`, 'A fresh worker was started and your earlier results were kept: run the step again.');
    this.name = 'UserError';
  }
}

export interface WorkerLike {
  postMessage(msg: unknown): void;
  onmessage: ((ev: MessageEvent) => void) | null;
  onerror?: ((ev: ErrorEvent) => void) | null;
  terminate?(): void;
}

export interface WatchOptions {
  /** Ping interval (ms). */
  pingMs?: number;
  /** A worker that has not answered for this long is declared dead (ms). */
  deadAfterMs?: number;
}

export class WorkerClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void; cb: CallCallbacks }>();
  private worker: WorkerLike;
  private readonly factory: (() => WorkerLike) | null;
  private lastAnswer = Date.now();
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly restartListeners: ((why: string) => void)[] = [];
  /** How many times the worker was replaced. */
  restarts = 0;

  constructor(worker: WorkerLike | (() => WorkerLike), private readonly watch: WatchOptions = {}) {
    this.factory = typeof worker === 'function' ? worker : null;
    this.worker = this.attach(typeof worker === 'function' ? worker() : worker);
    if (this.factory) this.startWatching();
  }

  private attach(w: WorkerLike): WorkerLike {
    w.onmessage = (ev: MessageEvent<Response>) => this.receive(ev.data);
    w.onerror = (ev: ErrorEvent) => {
      ev.preventDefault?.();
      this.replace(`it failed: ${ev.message || 'an error'}`);
    };
    this.lastAnswer = Date.now();
    return w;
  }

  private startWatching(): void {
    const pingMs = this.watch.pingMs ?? 1000;
    const deadAfter = this.watch.deadAfterMs ?? 4000;
    let lastTick = Date.now();
    this.timer = setInterval(() => {
      // time the page itself was stalled (this timer ran late) is not the worker's silence: its
      // answers wait in the page's queue behind this callback, so that time is not counted
      const now = Date.now();
      const late = now - lastTick - pingMs;
      if (late > pingMs) this.lastAnswer = Math.min(now, this.lastAnswer + late);
      lastTick = now;
      if (now - this.lastAnswer > deadAfter) this.replace(`no answer for ${Math.round((now - this.lastAnswer) / 1000)} s`);
      else this.worker.postMessage({ type: 'ping', id: 0 } as Request);
    }, pingMs);
  }

  /** Replace a dead worker: reject what was pending, start a fresh one, tell the listeners. */
  private replace(why: string): void {
    if (!this.factory) return;
    try {
      this.worker.terminate?.();
    } catch {
      /* already gone */
    }
    const pending = [...this.pending.values()];
    this.pending.clear();
    this.restarts++;
    this.worker = this.attach(this.factory());
    for (const p of pending) p.reject(new WorkerDied(why));
    for (const l of this.restartListeners) l(why);
  }

  /** Called with the reason each time a dead worker was replaced. */
  onRestart(listener: (why: string) => void): void {
    this.restartListeners.push(listener);
  }

  private receive(msg: Response): void {
    this.lastAnswer = Date.now();
    if (msg.type === 'pong') return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    switch (msg.type) {
      case 'progress':
        p.cb.onProgress?.(msg);
        return;
      case 'train':
        p.cb.onTrain?.(msg);
        return;
      case 'result':
        this.pending.delete(msg.id);
        p.resolve(msg.result);
        return;
      case 'error':
        this.pending.delete(msg.id);
        p.reject(new UserError(msg.what, msg.todo));
        return;
      case 'cancelled':
        this.pending.delete(msg.id);
        p.reject(new Cancelled());
        return;
    }
  }

  call<K extends RequestBody['type']>(body: Extract<RequestBody, { type: K }>, cb: CallCallbacks = {}): CallHandle<ResultMap[K]> {
    const id = this.nextId++;
    const promise = new Promise<ResultMap[K]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, cb });
    });
    this.worker.postMessage({ ...body, id } as Request);
    return { id, promise };
  }

  cancel(target: number): void {
    this.call({ type: 'cancel', target });
  }
  pause(target: number): void {
    this.call({ type: 'pause', target });
  }
  resume(target: number): void {
    this.call({ type: 'resume', target });
  }

  terminate(): void {
    if (this.timer) clearInterval(this.timer);
    this.worker.terminate?.();
  }
}
