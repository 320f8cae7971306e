/**
 * Long loops give the event loop a turn. In a Web Worker on the wasm backend, `await t.data()`
 * resolves as a microtask, so a loop of awaits never lets the worker read its message queue: a
 * cancel or pause sent by the page would wait until the whole job ends. Every long loop of the
 * engine (method row chunks, metric groups, priors, training steps) calls `checkpoint(signal)`
 * between units of work: at most every YIELD_EVERY_MS it awaits a real macrotask (setImmediate in
 * Node, a MessageChannel round trip in browsers), then throws CancelledError if the job was cancelled.
 */
import { throwIfCancelled } from './errors';

/** Longest stretch of work between two turns of the event loop (the house rule is 100 ms). */
export const YIELD_EVERY_MS = 40;

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

let lastTurn = now();

/** Resolves after one macrotask: messages queued for this thread are delivered first. */
export function nextTurn(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => void };
  if (typeof g.setImmediate === 'function') return new Promise((resolve) => g.setImmediate!(resolve));
  if (typeof MessageChannel !== 'undefined')
    return new Promise((resolve) => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => {
        ch.port1.close();
        resolve();
      };
      ch.port2.postMessage(null);
    });
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Yield to the event loop when YIELD_EVERY_MS have passed since the last turn, then honour a
 * cancellation. Cheap enough to call after every batch.
 */
export async function checkpoint(signal?: AbortSignal): Promise<void> {
  throwIfCancelled(signal);
  if (now() - lastTurn >= YIELD_EVERY_MS) {
    await nextTurn();
    lastTurn = now();
  }
  throwIfCancelled(signal);
}

/** Yield now (e.g. before a long synchronous stretch), then honour a cancellation. */
export async function yieldNow(signal?: AbortSignal): Promise<void> {
  await nextTurn();
  lastTurn = now();
  throwIfCancelled(signal);
}
