/// <reference lib="webworker" />
/**
 * The compute worker: runs the engine off the main thread. The wasm binaries are bundled by
 * Vite (`?url`), so nothing is fetched from a CDN; demos are fetched from the page's own origin.
 */
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs';
import { Handler, requestQueue } from './handler';
import type { Request, Response } from './protocol';
import { Session } from './session';
import { decodeWithCanvas } from './imageFiles';

declare const self: DedicatedWorkerGlobalScope;

let baseUrl = self.location.origin + '/';
const session = new Session(
  (path) => fetch(new URL(path, baseUrl)),
  { wasmPaths: { 'tfjs-backend-wasm.wasm': wasmPlain, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd } },
  decodeWithCanvas, // dropped PNG/JPEG files are decoded here, off the main thread
);

function transferables(msg: Response): Transferable[] {
  // Results are copied (structured clone); they are small next to the work that made them.
  void msg;
  return [];
}

const handler = new Handler(session, (msg) => self.postMessage(msg, transferables(msg)));

const enqueue = requestQueue(handler);
let testHooks = false;
self.onmessage = (ev: MessageEvent<Request>) => {
  const req = ev.data;
  if (req.type === 'init') {
    baseUrl = req.baseUrl;
    testHooks = !!req.test;
  }
  if (req.type === 'testHook') {
    // browser-test hooks, answered only for a page opened with ?test
    if (!testHooks) return;
    self.postMessage({ type: 'result', id: req.id, result: { ok: true } } satisfies Response);
    if (req.hook === 'crash') self.close(); // a worker that stops answering: the page's heartbeat must notice
    else ((tf.findBackend('webgpu') ?? tf.backend()) as unknown as { device?: { destroy(): void } }).device?.destroy(); // the GPU device, whichever stage uses it
    return;
  }
  enqueue(req);
};
