/**
 * Choosing and initialising a tfjs backend. The only module that knows backend names.
 *
 * `auto` picks webgpu on a hardware adapter, otherwise webgl on a hardware renderer, otherwise
 * wasm (a software WebGPU/WebGL — SwiftShader — is slower than wasm SIMD on the same CPU), and
 * in Node always wasm. The report says what was detected and why auto chose what it chose.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { UserError } from './errors';
import { BACKENDS, isBackendRequest, type BackendName, type BackendRequest } from './backendNames';

export { BACKENDS, isBackendRequest, type BackendName, type BackendRequest } from './backendNames';

export interface BackendDetection {
  webgpu: { available: boolean; fallback?: boolean; architecture?: string; vendor?: string; error?: string };
  webgl: { available: boolean; renderer?: string; software?: boolean };
  isNode: boolean;
}

export interface BackendReport {
  requested: BackendRequest;
  chosen: BackendName;
  reason: string;
  detection: BackendDetection;
}

export interface BackendOptions {
  /** Browser builds pass the bundled wasm binaries' URLs (nothing is fetched from a CDN). */
  wasmPaths?: Record<string, string>;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined' && typeof self === 'undefined';


export async function detectBackends(): Promise<BackendDetection> {
  const d: BackendDetection = { webgpu: { available: false }, webgl: { available: false }, isNode };
  if (isNode) return d;
  const gpu = (globalThis.navigator as unknown as { gpu?: { requestAdapter(): Promise<any> } } | undefined)?.gpu;
  if (gpu) {
    try {
      const adapter = await gpu.requestAdapter();
      if (adapter) {
        const info = adapter.info ?? {};
        const architecture: string = info.architecture ?? '';
        d.webgpu = {
          available: true,
          fallback: Boolean(adapter.isFallbackAdapter || info.isFallbackAdapter) || /swiftshader/i.test(architecture) || /swiftshader/i.test(info.description ?? ''),
          architecture,
          vendor: info.vendor ?? '',
        };
      } else d.webgpu = { available: false, error: 'navigator.gpu.requestAdapter() returned no adapter' };
    } catch (e) {
      d.webgpu = { available: false, error: String(e) };
    }
  }
  try {
    const canvas = new OffscreenCanvas(1, 1);
    const gl = canvas.getContext('webgl2') as WebGL2RenderingContext | null;
    if (gl) {
      const ext = gl.getExtension('WEBGL_debug_renderer_info');
      const renderer = String(ext ? gl.getParameter(ext.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
      d.webgl = { available: true, renderer, software: /swiftshader|llvmpipe|software/i.test(renderer) };
    }
  } catch {
    /* no WebGL here */
  }
  return d;
}

export function chooseAuto(d: BackendDetection): { chosen: BackendName; reason: string } {
  if (d.isNode) return { chosen: 'wasm', reason: 'Node: wasm is the fastest backend that installs offline.' };
  if (d.webgpu.available && !d.webgpu.fallback)
    return { chosen: 'webgpu', reason: `WebGPU hardware adapter found (${d.webgpu.vendor || 'unknown vendor'} ${d.webgpu.architecture || ''}).`.replace(' )', ')') };
  if (d.webgl.available && !d.webgl.software)
    return { chosen: 'webgl', reason: `No hardware WebGPU adapter${d.webgpu.available ? ' (only a software fallback)' : ''}; WebGL runs on ${d.webgl.renderer}.` };
  return {
    chosen: 'wasm',
    reason: d.webgpu.available
      ? `WebGPU is only a software fallback adapter (${d.webgpu.architecture || 'fallback'}) and WebGL is software too: wasm SIMD is faster on this CPU.`
      : 'No hardware WebGPU or WebGL: wasm SIMD is the fastest CPU backend.',
  };
}

let wasmPathsSet = false;

export async function initBackend(requested: BackendRequest = 'auto', opts: BackendOptions = {}): Promise<BackendReport> {
  if (!isBackendRequest(requested))
    throw new UserError(`Unknown backend "${requested}".`, `Choose one of: ${BACKENDS.join(', ')}.`);
  const detection = await detectBackends();
  let chosen: BackendName;
  let reason: string;
  if (requested === 'auto') ({ chosen, reason } = chooseAuto(detection));
  else {
    chosen = requested;
    reason = 'Chosen by the user.';
  }
  if (chosen === 'wasm') {
    if (!isNode) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    if (opts.wasmPaths && !wasmPathsSet) {
      setWasmPaths(opts.wasmPaths);
      wasmPathsSet = true;
    }
  }
  if (chosen === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
  let ok = false;
  try {
    ok = await tf.setBackend(chosen);
    await tf.ready();
  } catch (e) {
    ok = false;
    reason += ` (${String(e)})`;
  }
  if (!ok) {
    if (requested === 'auto' && chosen !== 'cpu') {
      await tf.setBackend('cpu');
      await tf.ready();
      return { requested, chosen: 'cpu', reason: `${chosen} failed to initialise; fell back to cpu.`, detection };
    }
    throw new UserError(`The ${chosen} backend could not be initialised here.`, `Pick another backend (${BACKENDS.join(', ')}).`);
  }
  return { requested, chosen, reason, detection };
}

/**
 * Compile, without blocking, every GPU kernel `run` needs, before running it for real. On WebGPU
 * tfjs creates each new kernel's pipeline synchronously the first time it runs; on a slow or
 * software GPU (SwiftShader) the first training step of a 196-patch explainer then holds the
 * thread for many seconds, and a worker that holds its thread cannot answer the page's heartbeat.
 * Here tfjs's parallel compilation records `run`'s kernels without computing anything
 * (`WEBGPU_ENGINE_COMPILE_ONLY`) and their pipelines are created asynchronously while the event
 * loop stays free. `run`'s outputs are disposed; on every other backend this does nothing.
 */
export async function compileAhead(run: () => unknown): Promise<void> {
  if (tf.getBackend() !== 'webgpu') return;
  tf.env().set('WEBGPU_ENGINE_COMPILE_ONLY', true);
  try {
    tf.tidy(() => {
      run();
    });
  } finally {
    tf.env().set('WEBGPU_ENGINE_COMPILE_ONLY', false);
  }
  await (tf.backend() as unknown as { checkCompileCompletionAsync(): Promise<void> }).checkCompileCompletionAsync();
}
