/**
 * `npm run bench:suite` — P2 of the performance benchmarks (docs/performance.md): the ten metrics with their defaults, one explanation,
 * on a seeded synthetic MLP as the feature count grows (8 → 49 → 196), the engine before and after
 * unique-input evaluation side by side in one run; plus the gradient path before and after
 * `tf.valueAndGrad`. Two target models: a small MLP n → 64 → 32 → 10, whose forward pass is cheap
 * next to building the perturbed inputs, and a wide one n → 512 → 512 → 10, where the forward pass
 * dominates (as with the image models), so rows not sent show in the time.
 *
 * Per feature count: rows requested (what the metrics lay out), rows sent (what the model
 * evaluates), distinct rows (counted here, independently of the engine, by hashing the values of
 * every row the model receives), wall ms and ms per data row, for
 * - before: `runKernels(..., { memo: false })` — every requested row is sent (the engine as it
 *   was before the memo; the rest of the engine is the current one);
 * - after: the default engine (each distinct input of a row sent once).
 * Both must give the same numbers, to the bit; the bench exits 1 otherwise.
 *
 * Gradient: `TargetModel.gradient` (one valueAndGrad per chunk) against the previous code path
 * (`tf.grad` of Σ f, then a second forward for the values) on the same model and rows; the values
 * and gradients must be equal to the bit.
 *
 * Times are the median of --repeat runs (default 5; the wide model at most 3), before and after
 * alternating. Options: --rows N (default 50), --repeat N, --features 8,49,196, --grad-rows N
 * (default 2000), --models small,wide, --json <file> (default bench/results/metric-suite.json; "-" for none).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/core/backend';
import { makeRng, Seeder } from '../src/core/rng';
import { TargetModel } from '../src/core/task/model';
import { chooseTargets, makeTask, sliceBatch, type Task } from '../src/core/task/task';
import type { Dataset } from '../src/core/data/csv';
import { METRICS } from '../src/core/metrics/registry';
import { runKernels, type BatchedMetric } from '../src/core/metrics/engine';
import type { MetricResult } from '../src/core/metrics/types';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}
const nRows = Number(arg('rows', '50'));
const repeat = Math.max(1, Number(arg('repeat', '5')));
const featureCounts = arg('features', '8,49,196').split(',').map(Number);
const gradRows = Number(arg('grad-rows', '2000'));
const jsonOut = arg('json', 'bench/results/metric-suite.json');
const MODELS: Record<string, number[]> = { small: [64, 32], wide: [512, 512] };
const models = arg('models', 'small,wide').split(',');

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** A seeded MLP n → h1 → h2 → 10 (ReLU, softmax) over standard-normal rows, zero baseline. */
function syntheticTask(n: number, rows: number, hidden = MODELS.small): { task: Task; data: Dataset } {
  const rng = makeRng(`suite-data|${n}`);
  const x = Float32Array.from({ length: rows * n }, () => rng.normal());
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [n], units: hidden[0], activation: 'relu', kernelInitializer: tf.initializers.glorotNormal({ seed: n }) }));
  m.add(tf.layers.dense({ units: hidden[1], activation: 'relu', kernelInitializer: tf.initializers.glorotNormal({ seed: n + 1 }) }));
  m.add(tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotNormal({ seed: n + 2 }) }));
  const data: Dataset = {
    source: `synthetic-${n}`,
    featureNames: Array.from({ length: n }, (_, i) => `f${i}`),
    labelName: 'y',
    classNames: Array.from({ length: 10 }, (_, i) => String(i)),
    x,
    labels: new Int32Array(rows),
    nRows: rows,
    nFeatures: n,
  };
  return { task: makeTask(new TargetModel(m), data, { baseline: 'zero' }), data };
}

/** Count the rows the model receives and the distinct ones among them (by their float32 bits). */
function countRows(task: Task) {
  const orig = task.model.predict;
  const seen = new Set<string>();
  const state = { rows: 0, on: false };
  task.model.predict = async (x, rows, output) => {
    if (state.on) {
      const d = task.inputSize;
      const bits = new Uint32Array(x.buffer, x.byteOffset, rows * d);
      for (let r = 0; r < rows; r++) seen.add(bits.subarray(r * d, (r + 1) * d).join(','));
      state.rows += rows;
    }
    return orig.call(task.model, x, rows, output);
  };
  return {
    start() {
      seen.clear();
      state.rows = 0;
      state.on = true;
    },
    stop() {
      state.on = false;
      return { rows: state.rows, distinct: seen.size };
    },
  };
}

function sameBits(a: MetricResult[][], b: MetricResult[][]): boolean {
  const eq = (u: ArrayLike<number>, v: ArrayLike<number>) => u.length === v.length && Array.from(u).every((x, i) => Object.is(x, v[i]));
  return a.every((row, e) => row.every((r, u) => eq(r.perSample, b[e][u].perSample) && (r.curves ?? []).every((c, k) => eq(c, b[e][u].curves![k]))));
}

interface SuiteRow {
  model: string;
  features: number;
  rows: number;
  requested: number;
  before: { sent: number; distinct: number; ms: number; msPerRow: number };
  after: { sent: number; distinct: number; ms: number; msPerRow: number };
  sentRatio: number;
  speedup: number;
  same: boolean;
}

async function suite(model: string, n: number): Promise<SuiteRow> {
  const { task, data } = syntheticTask(n, nRows, MODELS[model]);
  const reps = model === 'wide' ? Math.min(repeat, 3) : repeat;
  try {
    const batch = sliceBatch(data, 0, nRows);
    const target = await chooseTargets(task, batch, 'predicted');
    const s = makeRng(`suite-s|${n}`);
    const expl = Float32Array.from({ length: nRows * n }, () => s.normal()); // [nRows, n]
    const units = METRICS.map((m) => ({ metric: m as BatchedMetric<any>, params: { ...m.defaults } }));
    const run = (memo: boolean) => runKernels(task, batch, target, [expl], units, new Seeder(0), undefined, undefined, { memo });
    const counter = countRows(task);
    // warm-up, and the counts (one counted run each)
    const measure = async (memo: boolean) => {
      counter.start();
      const res = await run(memo);
      const c = counter.stop();
      const sent = res.flat().reduce((a, r) => a + r.modelCalls, 0);
      if (sent !== c.rows) throw new Error(`modelCalls ${sent} ≠ rows the model received ${c.rows}`);
      return { res, ...c, requested: res.flat().reduce((a, r) => a + (r.rowsRequested ?? 0), 0) };
    };
    const before = await measure(false);
    const after = await measure(true);
    const times = { before: [] as number[], after: [] as number[] };
    for (let i = 0; i < reps; i++)
      for (const memo of [false, true]) {
        const t0 = performance.now();
        await run(memo);
        times[memo ? 'after' : 'before'].push(performance.now() - t0);
      }
    const msB = median(times.before);
    const msA = median(times.after);
    return {
      model: `${model} (n → ${MODELS[model].join(' → ')} → 10)`,
      features: n,
      rows: nRows,
      requested: after.requested,
      before: { sent: before.rows, distinct: before.distinct, ms: msB, msPerRow: msB / nRows },
      after: { sent: after.rows, distinct: after.distinct, ms: msA, msPerRow: msA / nRows },
      sentRatio: after.rows / after.distinct,
      speedup: msB / msA,
      same: sameBits(before.res, after.res) && before.requested === after.requested,
    };
  } finally {
    task.model.dispose();
  }
}

/** The gradient as TargetModel.gradient computed it before: tf.grad of Σ f, then f again for the values. */
async function gradientBefore(model: tf.LayersModel, x: Float32Array, rows: number, n: number, target: Int32Array, c: number) {
  const [g, v] = tf.tidy(() => {
    const xs = tf.tensor2d(x, [rows, n]);
    const maskData = new Float32Array(rows * c);
    for (let r = 0; r < rows; r++) maskData[r * c + target[r]] = 1;
    const mask = tf.tensor2d(maskData, [rows, c]);
    const f = (inp: tf.Tensor) => tf.sum(tf.mul(model.apply(inp) as tf.Tensor, mask), 1);
    const gr = tf.grad((inp: tf.Tensor) => tf.sum(f(inp)) as tf.Scalar)(xs);
    return [gr, f(xs)];
  });
  try {
    return { grad: (await g.data()) as Float32Array, value: (await v.data()) as Float32Array };
  } finally {
    g.dispose();
    v.dispose();
  }
}

async function gradientBench(n: number) {
  const { task, data } = syntheticTask(n, gradRows);
  try {
    const target = await chooseTargets(task, sliceBatch(data, 0, gradRows), 'predicted');
    const model = task.model.model as tf.LayersModel;
    const c = task.nClasses;
    const old = await gradientBefore(model, data.x, gradRows, n, target, c);
    const now = await task.model.gradient(data.x, gradRows, target, 'probability');
    const same = Array.from(old.grad).every((v, i) => Object.is(v, now.grad[i])) && Array.from(old.value).every((v, i) => Object.is(v, now.value[i]));
    const times = { before: [] as number[], after: [] as number[] };
    for (let i = 0; i < repeat; i++) {
      let t0 = performance.now();
      await gradientBefore(model, data.x, gradRows, n, target, c);
      times.before.push(performance.now() - t0);
      t0 = performance.now();
      await task.model.gradient(data.x, gradRows, target, 'probability');
      times.after.push(performance.now() - t0);
    }
    const before = median(times.before);
    const after = median(times.after);
    return { features: n, rows: gradRows, beforeMs: before, afterMs: after, speedup: before / after, same };
  } finally {
    task.model.dispose();
  }
}

async function main() {
  const backend = await initBackend('wasm');
  const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'cpu', memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, tfjs: tf.version.tfjs, backend: backend.chosen, loadavg: os.loadavg().map((v) => +v.toFixed(2)) };
  console.log(`machine: ${machine.cpus} × ${machine.cpu}, ${machine.memGiB} GiB, Node ${machine.node}, tfjs ${machine.tfjs} ${machine.backend}; load ${machine.loadavg.join(' ')}`);
  console.log(`ten metrics, defaults, ${nRows} rows, one explanation; synthetic MLPs; median of ${repeat} (wide: ${Math.min(repeat, 3)})`);
  const rows: SuiteRow[] = [];
  for (const model of models) {
    console.log(`\n${model}: n → ${MODELS[model].join(' → ')} → 10`);
    console.log('features  requested  sent before  sent after  distinct  sent/distinct   ms before  ms after  ms/row before  ms/row after  speed-up  same');
    for (const n of featureCounts) {
    const r = await suite(model, n);
    rows.push(r);
    console.log(
      `${String(n).padStart(8)} ${String(r.requested).padStart(10)} ${String(r.before.sent).padStart(12)} ${String(r.after.sent).padStart(11)} ${String(r.after.distinct).padStart(9)} ${r.sentRatio.toFixed(3).padStart(14)} ${r.before.ms.toFixed(1).padStart(11)} ${r.after.ms.toFixed(1).padStart(9)} ${r.before.msPerRow.toFixed(3).padStart(14)} ${r.after.msPerRow.toFixed(3).padStart(13)} ${(r.speedup.toFixed(2) + '×').padStart(9)}  ${r.same ? 'yes' : 'NO'}`,
    );
    }
  }
  console.log(`\ngradient of p_c w.r.t. the input, ${gradRows} rows, small MLP: tf.grad + second forward (before) vs tf.valueAndGrad (after)`);
  const grads = [];
  for (const n of featureCounts) {
    const g = await gradientBench(n);
    grads.push(g);
    console.log(`${String(n).padStart(8)} features: before ${g.beforeMs.toFixed(1)} ms, after ${g.afterMs.toFixed(1)} ms, ${g.speedup.toFixed(2)}×, same numbers ${g.same ? 'yes' : 'NO'}`);
  }
  if (jsonOut !== '-') {
    mkdirSync(dirname(jsonOut), { recursive: true });
    writeFileSync(jsonOut, JSON.stringify({ bench: 'P2 metric suite', date: new Date().toISOString(), machine, rows: nRows, repeat, suite: rows, gradient: grads }, null, 2) + '\n');
    console.log(`\nwrote ${jsonOut}`);
  }
  if (rows.some((r) => !r.same) || grads.some((g) => !g.same)) {
    console.error('before and after disagree (see "same")');
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
