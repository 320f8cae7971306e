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
import type { Request, RequestBody, Response, ResultMap } from '../../src/worker/protocol';

/** The demo files under public/, as the worker fetches them. */
function demoSession(): Session {
  return new Session(async (path) => {
    const f = join('public', path);
    return existsSync(f) ? new Response(readFileSync(f)) : new Response(null, { status: 404 });
  });
}

/**
 * The worker's Handler and Session without the message queue, with a `call` that runs one request
 * and resolves with its result (rejects with its error); `messages` holds everything it posted.
 */
export function handlerCaller() {
  const session = demoSession();
  const messages: Response[] = [];
  const handler = new Handler(session, (m) => messages.push(m));
  let next = 1;
  async function call<K extends RequestBody['type']>(body: Extract<RequestBody, { type: K }>): Promise<ResultMap[K]> {
    const id = next++;
    await handler.handle({ ...body, id } as never);
    const end = messages.find((m) => m.id === id && (m.type === 'result' || m.type === 'error' || m.type === 'cancelled'));
    if (!end) throw new Error(`no answer to ${body.type}`);
    if (end.type === 'error') throw new Error(`${end.what} ${end.todo}`);
    if (end.type === 'cancelled') throw new Error('cancelled');
    return (end as Extract<Response, { type: 'result' }>).result as ResultMap[K];
  }
  return { session, handler, call, messages };
}

export function inProcessWorker(): WorkerLike & { session: Session; handler: Handler } {
  const session = demoSession();
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
