/**
 * The studio's compute worker in-process: the real Handler and Session (demo files served from
 * public/), its real request queue, behind a Worker-like object a WorkerClient can talk to.
 * Messages are delivered asynchronously, as a real worker's are.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Handler, requestQueue } from '../../src/worker/handler';
import { Session } from '../../src/worker/session';
import type { WorkerLike } from '../../src/worker/client';
import type { Request } from '../../src/worker/protocol';

export function inProcessWorker(): WorkerLike & { session: Session; handler: Handler } {
  const session = new Session(async (path) => {
    const f = join('public', path);
    return existsSync(f) ? new Response(readFileSync(f)) : new Response(null, { status: 404 });
  });
  const worker: WorkerLike & { session: Session; handler: Handler } = {
    onmessage: null,
    postMessage(msg: unknown) {
      setTimeout(() => enqueue(structuredClone(msg) as Request), 0);
    },
    terminate() {
      session.dispose();
    },
    session,
    handler: null as unknown as Handler,
  };
  const handler = new Handler(session, (msg) => {
    const copy = structuredClone(msg);
    setTimeout(() => worker.onmessage?.({ data: copy } as MessageEvent), 0);
  });
  worker.handler = handler;
  const enqueue = requestQueue(handler);
  return worker;
}
