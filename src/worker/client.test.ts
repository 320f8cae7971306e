/** The client's heartbeat: a silent worker is replaced after deadAfterMs; a stalled page does not count against the worker. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkerClient, WorkerDied, type WorkerLike } from './client';

/** A worker that answers pings only while `alive`. */
function fakeWorker(state: { alive: boolean; made: number }): () => WorkerLike {
  return () => {
    state.made++;
    const w: WorkerLike = {
      onmessage: null,
      postMessage(msg: unknown) {
        const m = msg as { type: string; id: number };
        if (m.type === 'ping' && state.alive) queueMicrotask(() => w.onmessage?.({ data: { type: 'pong', id: 0 } } as MessageEvent));
      },
      terminate() {},
    };
    return w;
  };
}

describe('worker heartbeat', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('a worker that stops answering is replaced once its silence passes deadAfterMs, and its pending call rejects with WorkerDied', async () => {
    const state = { alive: true, made: 0 };
    const client = new WorkerClient(fakeWorker(state), { pingMs: 1000, deadAfterMs: 4000 });
    const why: string[] = [];
    client.onRestart((w) => why.push(w));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(client.restarts).toBe(0);
    state.alive = false;
    const pending = client.call({ type: 'ping' } as never).promise.catch((e) => e);
    await vi.advanceTimersByTimeAsync(4000);
    expect(client.restarts).toBe(0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(client.restarts).toBe(1);
    expect(why[0]).toMatch(/^no answer for 5 s$/);
    expect(await pending).toBeInstanceOf(WorkerDied);
    expect(state.made).toBe(2);
    client.terminate();
  });

  it('a page stalled for 10 s (its timer runs late) does not make a live worker look dead; a dead one is still found after a stall', async () => {
    const state = { alive: true, made: 0 };
    const client = new WorkerClient(fakeWorker(state), { pingMs: 1000, deadAfterMs: 4000 });
    await vi.advanceTimersByTimeAsync(3000);
    // the main thread is busy for 10 s: the clock moves, no timer runs, the worker's answers wait
    vi.setSystemTime(Date.now() + 10_000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(client.restarts).toBe(0);
    await vi.advanceTimersByTimeAsync(3000);
    expect(client.restarts).toBe(0);
    state.alive = false;
    vi.setSystemTime(Date.now() + 10_000);
    await vi.advanceTimersByTimeAsync(6000);
    expect(client.restarts).toBe(1);
    client.terminate();
  });
});
