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
import { BACKENDS, isBackendRequest, type BackendName, type BackendRequest, type StageBackends, type StageChoice, type StageRequests } from './backendNames';

export { BACKENDS, STAGES, isBackendRequest, type BackendName, type BackendRequest, type Stage, type StageBackends, type StageChoice, type StageRequests } from './backendNames';

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
  /** Per-stage backends (initStageBackends): where the target model is scored and where the explainer trains. `chosen` is the training backend. */
  stages?: StageBackends;
  /** What was asked for each stage. */
  stageRequests?: StageRequests;
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

/** Initialise `chosen` and make it the active backend; false when it cannot start here. */
async function activateNew(chosen: BackendName, opts: BackendOptions): Promise<{ ok: boolean; error?: string }> {
  if (chosen === 'wasm') {
    if (!isNode) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    if (opts.wasmPaths && !wasmPathsSet) {
      setWasmPaths(opts.wasmPaths);
      wasmPathsSet = true;
    }
  }
  if (chosen === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
  try {
    const ok = await tf.setBackend(chosen);
    await tf.ready();
    return { ok };
  } catch (e) {
    return { ok: false, error: String(e) };
  }
}

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
  const started = await activateNew(chosen, opts);
  if (started.error) reason += ` (${started.error})`;
  if (!started.ok) {
    if (requested === 'auto' && chosen !== 'cpu') {
      await tf.setBackend('cpu');
      await tf.ready();
      stages = null;
      return { requested, chosen: 'cpu', reason: `${chosen} failed to initialise; fell back to cpu.`, detection };
    }
    throw new UserError(`The ${chosen} backend could not be initialised here.`, `Pick another backend (${BACKENDS.join(', ')}).`);
  }
  stages = null; // one backend for every stage: nothing switches
  return { requested, chosen, reason, detection };
}

// ---------------------------------------------------------------------------------------------
// Per-stage backends: the target model is scored on one backend, the explainer trains on another.

/**
 * Target models below this many FLOPs per row (task/modelFlops.ts) are scored on wasm when the
 * explainer trains on a GPU backend. Measured (docs/gpu.md, one H200): batched metric scoring of the
 * breast-cancer MLP (3,442 FLOPs per row) ran at 0.57× wasm through WebGPU, because upload and
 * read-back dominate such small forwards, while training the explainer ran 7.4× wasm. The
 * threshold is about 30× that MLP, so every bundled tabular MLP (854–3,442) is below it and every
 * bundled CNN or text model (400k–7.9M) above it; sizes in between were not measured.
 */
export const SMALL_MODEL_FLOPS = 100_000;

const USER_CHOICE = 'Chosen by the user.';
const isGpu = (b: BackendName) => b === 'webgpu' || b === 'webgl';
const flopsText = (f: number) => (f >= 1e6 ? `${(f / 1e6).toFixed(1)} M` : f >= 1e3 ? `${Math.round(f / 1e3)} k` : String(Math.round(f)));

/**
 * The backend of each stage (pure). `train`: the user's choice, else what `chooseAuto` picks.
 * `score`: the user's choice, else wasm when training runs on a GPU backend (webgpu, webgl) and the
 * target model is small (< SMALL_MODEL_FLOPS per row), else the training backend. `flopsPerRow`:
 * the target model's FLOPs per row; null when unknown (a graph model), undefined when no model is
 * loaded yet (scoring then starts on wasm, where a model can be loaded and later moved safely).
 */
export function chooseStageBackends(d: BackendDetection, requests: StageRequests, flopsPerRow?: number | null): StageBackends {
  let train: StageChoice;
  if (requests.train !== 'auto') train = { backend: requests.train, reason: USER_CHOICE };
  else {
    const a = chooseAuto(d);
    train = { backend: a.chosen, reason: a.reason };
  }
  if (requests.score !== 'auto') return { score: { backend: requests.score, reason: USER_CHOICE }, train };
  const t = train.backend;
  let score: StageChoice;
  if (!isGpu(t)) score = { backend: t, reason: `Same backend as training: ${t} is not a GPU backend, so scoring elsewhere gains nothing.` };
  else if (flopsPerRow === undefined) score = { backend: 'wasm', reason: `Training runs on ${t}; no model is loaded yet, so models load on wasm and the scoring backend is chosen again from the model's size.` };
  else if (flopsPerRow === null) score = { backend: t, reason: `The model's cost per row is unknown (it is not a layers model), so scoring runs on ${t}, like training.` };
  else if (flopsPerRow < SMALL_MODEL_FLOPS)
    score = {
      backend: 'wasm',
      reason: `Small model (${flopsText(flopsPerRow)} FLOPs per row, under ${flopsText(SMALL_MODEL_FLOPS)}): its forward passes are too small for a GPU, where upload and read-back dominate. Measured on an H200: scoring a small MLP through WebGPU ran at 0.57× wasm, while training the explainer ran 7.4× wasm (docs/gpu.md). So scoring runs on wasm and training on ${t}.`,
    };
  else score = { backend: t, reason: `Model of ${flopsText(flopsPerRow)} FLOPs per row (at least ${flopsText(SMALL_MODEL_FLOPS)}): large enough to run on ${t}, like training.` };
  return { score, train };
}

/** The stages' backends when they differ (the process then rests on `score`); null = one backend for all. */
let stages: { score: BackendName; train: BackendName } | null = null;

/** Where scoring and training run when they differ; null when one backend does everything (nothing switches). */
export function splitStages(): { score: BackendName; train: BackendName } | null {
  return stages;
}

/**
 * Initialise the backends of both stages and make the score backend active (models load and are
 * scored there; training switches to its own backend and back, see core/explainer/train.ts).
 * A backend that cannot start is an error when the user chose it; an automatic choice that cannot
 * start falls back to the other stage's backend, then to cpu.
 */
export async function initStageBackends(requests: StageRequests, opts: BackendOptions = {}, flopsPerRow?: number | null): Promise<BackendReport> {
  for (const r of [requests.score, requests.train])
    if (!isBackendRequest(r)) throw new UserError(`Unknown backend "${r}".`, `Choose one of: ${BACKENDS.join(', ')}.`);
  const detection = await detectBackends();
  const choice = chooseStageBackends(detection, requests, flopsPerRow);
  const start = async (stage: 'score' | 'train', fallback: BackendName[]): Promise<void> => {
    const c = choice[stage];
    const r = await activateNew(c.backend, opts);
    if (r.ok) return;
    if (requests[stage] !== 'auto') throw new UserError(`The ${c.backend} backend (${stage === 'score' ? 'scoring' : 'training'}) could not be initialised here${r.error ? ` (${r.error})` : ''}.`, `Pick another backend for ${stage === 'score' ? 'scoring' : 'training'} (${BACKENDS.join(', ')}).`);
    for (const f of fallback)
      if (f !== c.backend && (await activateNew(f, opts)).ok) {
        choice[stage] = { backend: f, reason: `${c.backend} failed to initialise; fell back to ${f}.` };
        return;
      }
    throw new UserError(`No backend could be initialised for ${stage === 'score' ? 'scoring' : 'training'}.`, `Pick another backend (${BACKENDS.join(', ')}).`);
  };
  await start('train', ['cpu']);
  await start('score', [choice.train.backend, 'cpu']);
  stages = choice.score.backend === choice.train.backend ? null : { score: choice.score.backend, train: choice.train.backend };
  return { requested: requests.train, chosen: choice.train.backend, reason: choice.train.reason, detection, stages: choice, stageRequests: { ...requests } };
}

/**
 * Re-decide the score stage for a model's size, when it depends on it (score 'auto', training on a
 * GPU backend), and make that backend active. Call it with `undefined` before a model loads (models
 * load on wasm, from where tfjs may later move them safely; a model loaded on WebGPU could not be
 * moved off it) and with the loaded model's FLOPs per row (null: unknown) right after.
 */
export async function restageForModel(report: BackendReport, flopsPerRow?: number | null): Promise<BackendReport> {
  if (!report.stages || !report.stageRequests || report.stageRequests.score !== 'auto') return report;
  const train = report.stages.train;
  const score = chooseStageBackends(report.detection, { score: 'auto', train: train.backend }, flopsPerRow).score;
  await activateBackend(score.backend);
  stages = score.backend === train.backend ? null : { score: score.backend, train: train.backend };
  return { ...report, stages: { score, train } };
}

/**
 * Make an initialised backend active. Moving between backends is only safe because no tensor is
 * ever used on a backend other than its own: tfjs moves a tensor lazily with the source backend's
 * readSync, which on WebGPU here returns zeros. Cheap when it is already active.
 */
export async function activateBackend(name: BackendName): Promise<void> {
  if (tf.getBackend() === name) return;
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} could not be activated`);
}

/** Run `fn` with `name` active, then make the previous backend active again. Cross results as plain arrays (read with `await data()`). */
export async function withBackend<T>(name: BackendName, fn: () => Promise<T>): Promise<T> {
  const previous = tf.getBackend() as BackendName;
  if (previous === name) return fn();
  await activateBackend(name);
  try {
    return await fn();
  } finally {
    await activateBackend(previous);
  }
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
