/**
 * DeepFaith explainer training throughput and batched metric scoring, backend against backend,
 * same settings, same inputs, same run. Used to measure WebGPU on a real GPU against wasm and cpu
 * on the same machine (docs/gpu.md), and runnable anywhere for wasm and cpu:
 *
 *   npx tsx bench/train-throughput.ts --backends wasm,cpu
 *
 * Every backend runs in its own child process (a crash or hang of one backend — a GPU driver, say —
 * costs only that backend's numbers, and no backend warms the others' caches). The parent prints
 * the backends side by side with the ratio to the reference backend (wasm when it ran) and writes
 * everything to --json.
 *
 * Training: `trainExplainer` (src/core/explainer/train.ts) with the explainer's default
 * architecture (d 64, 8 heads, 4 layers, FFN 128, dropout 0.01) on the breast-cancer demo
 * (30 features, its MLP as the target model, `mean` baseline), batch --batch Z pairs per step and
 * k = --subsets L_LC subsets. One epoch of (--warmup + --steps) steps; the first --warmup steps
 * (the epoch's batched Δ targets, shader compilation, first allocations) are left out of the
 * throughput. A backend may stop early
 * (--cpu-steps for cpu, which is slow); losses are compared on the steps all backends ran.
 * The inputs are backend-independent: Z's saliency targets are a fixed JS function of the rows
 * (|standardised value| scaled to [0,1] per row), the L_LC samples are all rows with their labels
 * as targets, and every random draw (shuffles, subsets, dropout masks, initial weights) is seeded
 * JS-side. So the losses of two backends differ only by float rounding, which grows over the steps.
 *
 * Scoring: `scoreExplanations` (src/core/metrics/evaluate.ts), all ten metrics with their defaults,
 * on --score-rows rows × --score-explanations explanations (deterministic JS saliencies), median of
 * --repeat runs after one warm-up run on 2 rows. Throughput = model rows evaluated per second.
 *
 * Options: --backends a,b,c (default wasm,cpu); --steps N (10); --warmup N (2); --cpu-steps N (2);
 * --batch N (256); --subsets N (100); --score-rows N (100); --score-explanations N (8);
 * --repeat N (3); --seed N (0); --tolerance X (2e-3, largest allowed |Δloss| at the last common
 * step); --child-timeout S (150, per backend); --json FILE; --webgpu-module PATH (index.js of the
 * npm package `webgpu`, default $WEBGPU_MODULE or .devcarry/npm/node_modules/webgpu/index.js);
 * --dawn-flags a=b,c=d (passed to the package's create(), e.g. backend=null for a dry run);
 * --wasm-dir DIR (folder of tfjs-backend-wasm's .wasm files, for a bundled build).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend, isBackendRequest } from '../src/core/backend';
import { loadCsvFromPath, loadModelFromPath } from '../src/cli/files';
import { Seeder } from '../src/core/rng';
import { makeTask, sliceBatch, type Task } from '../src/core/task/task';
import type { Dataset } from '../src/core/data/csv';
import { defaults as explainerDefaults, inputStatistics, type ExplainerConfig } from '../src/core/explainer/model';
import { defaults as trainDefaults, trainExplainer, type PairSet, type SampleSet, type TrainConfig } from '../src/core/explainer/train';
import { METRICS } from '../src/core/metrics/registry';
import { scoreExplanations } from '../src/core/metrics/evaluate';

function arg(name: string, fallback: string): string {
  const i = process.argv.lastIndexOf(`--${name}`); // the last one wins, so appended options override
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
const num = (name: string, fallback: number) => Number(arg(name, String(fallback)));

const opts = {
  backends: arg('backends', 'wasm,cpu').split(',').map((s) => s.trim()).filter(Boolean),
  steps: num('steps', 10),
  warmup: num('warmup', 2),
  cpuSteps: num('cpu-steps', 2),
  batch: num('batch', 256),
  subsets: num('subsets', 100),
  scoreRows: num('score-rows', 100),
  scoreExplanations: num('score-explanations', 8),
  repeat: Math.max(1, num('repeat', 3)),
  seed: num('seed', 0),
  tolerance: num('tolerance', 2e-3),
  childTimeout: num('child-timeout', 150),
  json: arg('json', ''),
  webgpuModule: arg('webgpu-module', process.env.WEBGPU_MODULE ?? '.devcarry/npm/node_modules/webgpu/index.js'),
  dawnFlags: arg('dawn-flags', '').split(',').filter(Boolean),
  wasmDir: arg('wasm-dir', process.env.TFJS_WASM_DIR ?? ''),
};

const DEMO = 'public/demos/breast-cancer';

/** What one backend's child process reports. */
interface BackendResult {
  backend: string;
  ok: boolean;
  error?: string;
  info: Record<string, unknown>;
  train?: {
    stepsRun: number;
    warmup: number;
    /** Wall ms of every step (consumer side: includes the loss read-back that syncs the backend). */
    stepMs: number[];
    medianStepMs: number;
    /** Timed steps (after warm-up) per second and Z pairs per second. */
    stepsPerSec: number;
    pairsPerSec: number;
    /** Wall ms of the whole run (Δ targets of the epoch, warm-up steps and timed steps). */
    totalMs: number;
    lossPC: number[];
    lossLC: number[];
  };
  score?: {
    rows: number;
    explanations: number;
    metrics: string[];
    medianMs: number;
    times: number[];
    modelRows: number;
    modelRowsPerSec: number;
    /** Mean over rows of each (explanation, metric), row-major [explanation][metric]. */
    means: number[][];
  };
}

async function loadDemo(): Promise<{ task: Task; data: Dataset }> {
  const data = loadCsvFromPath(`${DEMO}/data.csv`, { label: 'target' });
  const model = await loadModelFromPath(`${DEMO}/model/model.json`);
  return { task: makeTask(model, data, { baseline: 'mean' }), data };
}

/** |standardised value| scaled to [0,1] per row: a fixed, backend-independent saliency. */
function magnitudeSaliency(x: Float32Array, nRows: number, n: number, mean: number[], std: number[], tilt = 0): Float32Array {
  const s = new Float32Array(nRows * n);
  for (let r = 0; r < nRows; r++) {
    let max = 0;
    for (let i = 0; i < n; i++) {
      const v = Math.abs((x[r * n + i] - mean[i]) / std[i]) * (1 + tilt * (((i * 7919 + r) % 13) / 13));
      s[r * n + i] = v;
      if (v > max) max = v;
    }
    if (max > 0) for (let i = 0; i < n; i++) s[r * n + i] /= max;
  }
  return s;
}

async function setUpBackend(name: string): Promise<Record<string, unknown>> {
  if (!isBackendRequest(name) || name === 'auto') throw new Error(`unknown backend ${name}`);
  const info: Record<string, unknown> = {};
  if (name === 'webgpu') {
    // Dawn's Node bindings: navigator.gpu and the GPU* enum globals tfjs-backend-webgpu expects
    const modPath = resolve(opts.webgpuModule);
    if (!existsSync(modPath)) throw new Error(`no webgpu package at ${modPath} (npm install --prefix .devcarry/npm webgpu@0.6.2, or --webgpu-module)`);
    const mod = (await import(pathToFileURL(modPath).href)) as { create(flags: string[]): unknown; globals: Record<string, unknown> };
    Object.assign(globalThis, mod.globals);
    const gpu = mod.create(opts.dawnFlags) as { requestAdapter(o?: object): Promise<any> };
    Object.defineProperty(globalThis, 'navigator', { value: { gpu, userAgent: 'node' }, configurable: true, writable: true });
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new Error(`navigator.gpu.requestAdapter() returned no adapter (Dawn flags: ${opts.dawnFlags.join(',') || 'none'})`);
    const ai = adapter.info ?? {};
    const software = Boolean(adapter.isFallbackAdapter) || /swiftshader|llvmpipe|lavapipe|null-backend/i.test(`${ai.vendor} ${ai.architecture} ${ai.device} ${ai.description}`);
    info.adapter = { vendor: ai.vendor, architecture: ai.architecture, device: ai.device, description: ai.description, isFallbackAdapter: adapter.isFallbackAdapter, software };
    if (software) process.stderr.write(`[webgpu] WARNING: software adapter (${ai.device || ai.description || ai.architecture}), not a GPU\n`);
    info.dawnFlags = opts.dawnFlags;
  }
  let wasmPaths: Record<string, string> | undefined;
  if (name === 'wasm' && opts.wasmDir) {
    const dir = resolve(opts.wasmDir);
    wasmPaths = Object.fromEntries(['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'].map((f) => [f, join(dir, f)]));
  }
  const report = await initBackend(name, { wasmPaths });
  if (tf.getBackend() !== name) throw new Error(`tf.getBackend() is ${tf.getBackend()}, not ${name}`);
  info.chosen = report.chosen;
  if (name === 'wasm') {
    info.wasmSimd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    info.wasmThreads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  }
  return info;
}

/** One backend, in this process. */
async function runChild(name: string, save: (r: BackendResult) => void): Promise<BackendResult> {
  const res: BackendResult = { backend: name, ok: false, info: {} };
  try {
    res.info = await setUpBackend(name);
    const { task, data } = await loadDemo();
    const n = task.nFeatures;
    const stats = inputStatistics(data.x, data.nRows, n);

    // ---- batched metric scoring (first: quick, and kept if training is cut off) ----
    const rows = Math.min(opts.scoreRows, data.nRows);
    const batch = sliceBatch(data, 0, rows);
    const target = data.labels.slice(0, rows);
    const explanations = Array.from({ length: opts.scoreExplanations }, (_, e) => magnitudeSaliency(batch.x, rows, n, stats.inputMean, stats.inputStd, 0.25 * e));
    const ids = METRICS.map((m) => ({ id: m.id }));
    const seeder = new Seeder(opts.seed);
    await scoreExplanations(task, sliceBatch(data, 0, 2), target.slice(0, 2), explanations.map((s) => s.slice(0, 2 * n)), ids, seeder); // warm-up
    const times: number[] = [];
    let out: Awaited<ReturnType<typeof scoreExplanations>> = [];
    for (let i = 0; i < opts.repeat; i++) {
      const s0 = performance.now();
      out = await scoreExplanations(task, batch, target, explanations, ids, seeder);
      times.push(performance.now() - s0);
      process.stderr.write(`[${name}] scoring run ${i + 1}/${opts.repeat} ${times[i].toFixed(0)} ms\n`);
    }
    const modelRows = out.reduce((a, row) => a + row.reduce((b, r) => b + r.modelCalls, 0), 0);
    const med = median(times);
    res.score = {
      rows,
      explanations: explanations.length,
      metrics: METRICS.map((m) => m.id),
      medianMs: med,
      times,
      modelRows,
      modelRowsPerSec: (1000 * modelRows) / med,
      means: out.map((row) => row.map((r) => meanFinite(r.perSample))),
    };
    save({ ...res, error: 'stopped before training (partial result)' });

    // ---- training ----
    const totalSteps = opts.warmup + opts.steps;
    const stepsHere = name === 'cpu' ? Math.min(totalSteps, Math.max(1, opts.cpuSteps)) : totalSteps;
    const nPairs = totalSteps * opts.batch; // one epoch of totalSteps steps, the same on every backend
    const zx = new Float32Array(nPairs * n);
    const jitter = new Seeder(opts.seed).rng('bench-z-jitter', 0);
    for (let p = 0; p < nPairs; p++) {
      const r = p % data.nRows;
      for (let i = 0; i < n; i++) zx[p * n + i] = data.x[r * n + i] + 0.05 * stats.inputStd[i] * jitter.normal();
    }
    const z: PairSet = { x: zx, s: magnitudeSaliency(zx, nPairs, n, stats.inputMean, stats.inputStd), nPairs };
    const samples: SampleSet = { x: data.x, nRows: data.nRows, rowIndex: Int32Array.from({ length: data.nRows }, (_, i) => i), target: data.labels };
    const explainer: ExplainerConfig = { nFeatures: n, ...explainerDefaults, seed: opts.seed, ...stats };
    const config: TrainConfig = { ...trainDefaults, epochs: 1, batchSize: opts.batch, lcSubsets: opts.subsets, evalEvery: 0 };
    const gen = trainExplainer({ task, explainer, config, mode: 'full', seed: opts.seed, z, samples });
    const stepMs: number[] = [];
    const lossPC: number[] = [];
    const lossLC: number[] = [];
    const t0 = performance.now();
    let last = t0;
    const summarise = () => {
      const timed = stepMs.length > opts.warmup ? stepMs.slice(opts.warmup) : stepMs.slice(-1);
      const timedMs = timed.reduce((a, b) => a + b, 0);
      res.train = {
        stepsRun: stepMs.length,
        warmup: stepMs.length > opts.warmup ? opts.warmup : stepMs.length - 1,
        stepMs,
        medianStepMs: median(timed),
        stepsPerSec: (1000 * timed.length) / timedMs,
        pairsPerSec: (1000 * timed.length * opts.batch) / timedMs,
        totalMs: performance.now() - t0,
        lossPC,
        lossLC,
      };
    };
    try {
      while (stepMs.length < stepsHere) {
        const r = await gen.next();
        if (r.done) {
          r.value.explainer.dispose();
          break;
        }
        if (r.value.type !== 'step') continue;
        const now = performance.now();
        stepMs.push(now - last);
        last = now;
        lossPC.push(r.value.lossPC);
        lossLC.push(r.value.lossLC);
        process.stderr.write(`[${name}] step ${stepMs.length}/${stepsHere} ${(now - t0).toFixed(0)} ms  L_PC ${r.value.lossPC.toFixed(6)}  L_LC ${r.value.lossLC.toFixed(6)}\n`);
        summarise();
        save({ ...res, error: `stopped after ${stepMs.length} of ${stepsHere} training steps (partial result)` }); // what a killed child leaves
      }
    } finally {
      await gen.return(undefined as never); // disposes the explainer and optimizer when stopped early
    }
    summarise();
    res.info.tensorsAfterTraining = tf.memory().numTensors;
    task.model.dispose();
    res.ok = true;
  } catch (e) {
    res.error = e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e);
  }
  return res;
}

function median(v: number[]): number {
  if (!v.length) return NaN;
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
function meanFinite(v: ArrayLike<number>): number {
  const f = Array.from(v).filter(Number.isFinite);
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : NaN;
}

/** Parent: one child process per backend, then the side-by-side table. */
async function runParent(): Promise<void> {
  for (const b of opts.backends) if (!isBackendRequest(b) || b === 'auto') throw new Error(`unknown backend "${b}" (webgpu, webgl, wasm, cpu)`);
  const dir = mkdtempSync(join(os.tmpdir(), 'df-bench-'));
  const results: BackendResult[] = [];
  const passOn = process.argv.slice(2);
  for (const b of opts.backends) {
    const out = join(dir, `${b}.json`);
    const t0 = performance.now();
    const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1], ...passOn, '--child', b, '--child-json', out], {
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: opts.childTimeout * 1000,
      killSignal: 'SIGKILL',
    });
    let r: BackendResult;
    if (existsSync(out)) {
      r = JSON.parse(readFileSync(out, 'utf8')) as BackendResult;
      if (child.status !== 0) {
        r.ok = false;
        r.error = `${r.error ?? ''} (child ${child.signal === 'SIGKILL' ? `killed after --child-timeout ${opts.childTimeout} s` : `exited with ${child.status ?? child.signal}`})`.trim();
      }
    } else
      r = {
        backend: b,
        ok: false,
        info: {},
        error: child.error ? String(child.error) : `child exited with ${child.status ?? child.signal} and wrote no result${child.signal === 'SIGKILL' ? ` (killed after --child-timeout ${opts.childTimeout} s)` : ''}`,
      };
    r.info.childWallMs = performance.now() - t0;
    results.push(r);
  }
  report(results);
}

function report(results: BackendResult[]): void {
  const ref = results.find((r) => r.backend === 'wasm' && r.ok) ?? results.find((r) => r.ok);
  const f = (v: number | undefined, d = 1) => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(d));
  const lines: string[] = [];
  const log = (s = '') => {
    lines.push(s);
    console.log(s);
  };
  log('');
  log(`DeepFaith explainer training and metric scoring, backend against backend (${DEMO})`);
  log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, tfjs ${tf.version.tfjs}`);
  log(`training: d ${explainerDefaults.dModel}, ${explainerDefaults.nHeads} heads, ${explainerDefaults.nLayers} layers, FFN ${explainerDefaults.dFF}, dropout ${explainerDefaults.dropout}; batch ${opts.batch} pairs, k ${opts.subsets}; ${opts.warmup} warm-up + ${opts.steps} timed steps (cpu: ${opts.cpuSteps} steps in all)`);
  log(`scoring: ${opts.scoreRows} rows × ${opts.scoreExplanations} explanations × ${METRICS.length} metrics, median of ${opts.repeat}`);
  for (const r of results) if (r.info.adapter) log(`${r.backend} adapter: ${JSON.stringify(r.info.adapter)}`);
  log('');
  log(`backend  steps (timed)  median step ms  steps/s  pairs/s   × ${ref?.backend ?? 'ref'}   scoring ms  model rows/s   × ${ref?.backend ?? 'ref'}`);
  for (const r of results) {
    const t = r.train;
    const s = r.score;
    if (!r.ok && !t && !s) {
      log(`${r.backend.padEnd(7)}  FAILED: ${(r.error ?? '').split('\n')[0]}`);
      continue;
    }
    const rt = ref?.train && t ? t.stepsPerSec / ref.train.stepsPerSec : NaN;
    const rs = ref?.score && s ? ref.score.medianMs / s.medianMs : NaN;
    log(
      `${r.backend.padEnd(7)} ${`${t?.stepsRun ?? 0} (${t ? t.stepsRun - t.warmup : 0})`.padStart(14)} ${f(t?.medianStepMs).padStart(15)} ${f(t?.stepsPerSec, 2).padStart(8)} ${f(t?.pairsPerSec, 0).padStart(8)} ${(f(rt, 2) + '×').padStart(8)} ${f(s?.medianMs).padStart(12)} ${f(s?.modelRowsPerSec, 0).padStart(13)} ${(f(rs, 2) + '×').padStart(8)}${r.ok ? '' : `  INCOMPLETE: ${(r.error ?? '').split('\n')[0]}`}`,
    );
  }
  // losses on the steps every backend that trained ran (a killed child's finished steps count)
  const ok = results.filter((r) => r.train && r.train.stepsRun > 0);
  const common = ok.length ? Math.min(...ok.map((r) => r.train!.stepsRun)) : 0;
  const lossCheck: { step: number; maxAbsDiff: number; pass: boolean }[] = [];
  if (common > 0) {
    log('');
    log(`losses (L_PC / L_LC) after step: ${ok.map((r) => r.backend).join(' | ')}`);
    const show = [...new Set([1, common, ...ok.map((r) => r.train!.stepsRun)])].sort((a, b) => a - b);
    for (const st of show) {
      const have = ok.filter((r) => r.train!.stepsRun >= st);
      const cells = ok.map((r) => (r.train!.stepsRun >= st ? `${r.train!.lossPC[st - 1].toFixed(6)} / ${r.train!.lossLC[st - 1].toFixed(6)}` : '—'));
      let maxAbsDiff = 0;
      for (const a of have)
        for (const b of have)
          maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a.train!.lossPC[st - 1] - b.train!.lossPC[st - 1]), Math.abs(a.train!.lossLC[st - 1] - b.train!.lossLC[st - 1]));
      if (!have.every((r) => Number.isFinite(r.train!.lossPC[st - 1]) && Number.isFinite(r.train!.lossLC[st - 1]))) maxAbsDiff = NaN;
      const pass = have.length < 2 || maxAbsDiff <= opts.tolerance;
      lossCheck.push({ step: st, maxAbsDiff, pass });
      log(`  step ${String(st).padStart(3)}: ${cells.join(' | ')}   max |Δ| ${have.length < 2 ? '—' : maxAbsDiff.toExponential(2)} ${have.length < 2 ? '' : pass ? `≤ ${opts.tolerance} ok` : `> ${opts.tolerance} DISAGREE`}`);
    }
  }
  // metric means against the reference backend
  const scoreCheck: { backend: string; maxAbsDiff: number }[] = [];
  if (ref?.score)
    for (const r of results.filter((x) => x.ok && x.score && x !== ref)) {
      let m = 0;
      r.score!.means.forEach((row, e) => row.forEach((v, j) => (m = Math.max(m, Number.isNaN(v) && Number.isNaN(ref.score!.means[e][j]) ? 0 : Math.abs(v - ref.score!.means[e][j])))));
      scoreCheck.push({ backend: r.backend, maxAbsDiff: m });
      log(`metric means, ${r.backend} against ${ref.backend}: max |Δ| over ${r.score!.means.length}×${r.score!.metrics.length} (explanation, metric) means = ${m.toExponential(2)}`);
    }
  const failed = results.filter((r) => !r.ok);
  for (const r of failed) log(`\n${r.backend} error:\n${r.error}`);
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ options: opts, machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, tfjs: tf.version.tfjs }, results, lossCheck, scoreCheck, table: lines }, null, 2));
  if (failed.length || lossCheck.some((c) => !c.pass)) process.exitCode = 1;
}

async function main(): Promise<void> {
  const child = arg('child', '');
  if (child) {
    const file = arg('child-json', `${child}.json`);
    const r = await runChild(child, (partial) => writeFileSync(file, JSON.stringify(partial)));
    writeFileSync(file, JSON.stringify(r));
    if (!r.ok) process.stderr.write(`[${child}] ${r.error}\n`);
    process.exit(r.ok ? 0 : 1); // Dawn's handles would keep the process alive
  }
  await runParent();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

