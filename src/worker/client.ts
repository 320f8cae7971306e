/**
 * Main-thread side of the worker protocol: `call` sends a request and resolves with its typed
 * result; progress and training messages go to the callbacks; `cancel` aborts a call.
 */
import { UserError } from '../core/errors';
import type { Request, RequestBody, Response, ResultMap, TrainEval, TrainStep } from './protocol';

export interface CallHandle<T> {
  id: number;
  promise: Promise<T>;
}

export interface CallCallbacks {
  onProgress?: (p: { stage: string; done: number; total: number; etaMs: number | null }) => void;
  onTrain?: (t: { steps: TrainStep[]; evals: TrainEval[]; stepsPerSecond: number; watchSaliency?: Float32Array }) => void;
}

export class Cancelled extends Error {
  constructor() {
    super('Cancelled.');
    this.name = 'Cancelled';
  }
}

export interface WorkerLike {
  postMessage(msg: unknown): void;
  onmessage: ((ev: MessageEvent) => void) | null;
  terminate?(): void;
}

export class WorkerClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void; cb: CallCallbacks }>();

  constructor(private readonly worker: WorkerLike) {
    worker.onmessage = (ev: MessageEvent<Response>) => this.receive(ev.data);
  }

  private receive(msg: Response): void {
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
    this.worker.terminate?.();
  }
}
