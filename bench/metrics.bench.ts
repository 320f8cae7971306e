/**
 * `npm run bench:metrics`: the ten faithfulness metrics on 100 samples of a tabular task,
 * the batched engine against a one-perturbation-per-forward loop, same backend, same run.
 *
 * Task: the committed breast-cancer demo (30 features, MLP target model, `mean` baseline) when
 * public/demos/breast-cancer exists, otherwise a seeded in-memory MLP of the same width.
 * Explanation: input × gradient, s = ∇p_c(x) ⊙ (x − x°).
 * The loop path is the same metric code on a TargetModel whose maxBatchRows is 1, so each
 * perturbed input is its own forward pass (tensor in, predict, read back) — as a per-perturbation
 * loop does it. Both paths must give the same numbers; the bench checks it and fails otherwise.
 *
 * Times are the median of --repeat runs of each path (default 3).
 *
 * Options: --rows N (default 100), --seed N (default 0), --repeat N (default 3),
 * --json <file> to also write the table.
 */
import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/core/backend';
import { loadCsvFromPath, loadModelFromPath } from '../src/cli/files';
import { Seeder } from '../src/core/rng';
import { TargetModel } from '../src/core/task/model';
import { chooseTargets, makeTask, sliceBatch, type Task } from '../src/core/task/task';
import { rowBaselines } from '../src/core/task/featureSpace';
import type { Dataset } from '../src/core/data/csv';
import { METRICS } from '../src/core/metrics/registry';
import { scoreExplanations, scoreUnbatched } from '../src/core/metrics/evaluate';
import type { MetricResult } from '../src/core/metrics/types';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

const nSamples = Number(arg('rows', '100'));
const seed = Number(arg('seed', '0'));
const jsonOut = arg('json', '');
const repeat = Math.max(1, Number(arg('repeat', '3')));

/** Median wall time of `repeat` runs of fn, and its last result. */
async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const times: number[] = [];
  let result!: T;
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    result = await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)], result };
}

async function loadTask(): Promise<{ task: Task; data: Dataset; source: string }> {
  const dir = 'public/demos/breast-cancer';
  if (existsSync(`${dir}/model/model.json`) && existsSync(`${dir}/data.csv`)) {
    const data = loadCsvFromPath(`${dir}/data.csv`, { label: 'target' });
    const model = await loadModelFromPath(`${dir}/model/model.json`);
    return { task: makeTask(model, data, { baseline: 'mean' }), data, source: `${dir} (demo MLP, ${data.nFeatures} features, baseline mean)` };
  }
  // fallback: a seeded MLP over 30 standard-normal-ish features
  const nFeatures = 30;
  const nRows = Math.max(nSamples, 200);
  const { makeRng } = await import('../src/core/rng');
  const rng = makeRng('bench-data');
  const x = Float32Array.from({ length: nRows * nFeatures }, () => rng.normal());
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [nFeatures], units: 16, activation: 'relu', kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }) }));
  m.add(tf.layers.dense({ units: 16, activation: 'relu', kernelInitializer: tf.initializers.glorotNormal({ seed: 2 }) }));
  m.add(tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }) }));
  const data: Dataset = {
    source: 'in-memory',
    featureNames: Array.from({ length: nFeatures }, (_, i) => `f${i}`),
    labelName: 'y',
    classNames: ['0', '1'],
    x,
    labels: new Int32Array(nRows),
    nRows,
    nFeatures,
  };
  return { task: makeTask(new TargetModel(m), data, { baseline: 'mean' }), data, source: `in-memory seeded MLP (${nFeatures} features, baseline mean)` };
}

function sameNumbers(a: MetricResult, b: MetricResult): boolean {
  const eq = (u: ArrayLike<number>, v: ArrayLike<number>) => u.length === v.length && Array.from(u).every((x, i) => Object.is(x, v[i]) || Math.abs(x - v[i]) <= 1e-6);
  if (!eq(a.perSample, b.perSample)) return false;
  if (!a.curves !== !b.curves) return false;
  return !a.curves || a.curves.every((c, r) => eq(c, b.curves![r]));
}

async function main() {
  const backend = await initBackend('wasm');
  const { task, data, source } = await loadTask();
  const loopModel = new TargetModel(task.model.model, { maxBatchRows: 1 });
  const loopTask: Task = { ...task, model: loopModel };
  try {
    const batch = sliceBatch(data, 0, Math.min(nSamples, data.nRows));
    const target = await chooseTargets(task, batch, 'predicted');
    // input × gradient against the baseline: s = ∇p_c(x) ⊙ (x − x°), [nRows, n]
    const { grad } = await task.model.gradient(batch.x, batch.nRows, target, task.output);
    const x0 = rowBaselines(task.space, task.baseline)(batch.x.subarray(0, task.inputSize)); // one x° for every row (mean)
    const n = task.nFeatures;
    const s = Float32Array.from(grad, (g, i) => g * (batch.x[i] - x0[i % n]));
    const seeder = new Seeder(seed);

    // warm-up (first-call costs of the backend)
    await scoreExplanations(task, sliceBatch(data, 0, 2), target.slice(0, 2), [s.slice(0, 2 * n)], METRICS.map((m) => ({ id: m.id })), seeder);

    const fastResults: MetricResult[] = [];
    const rows: { id: string; inputs: number; batchedMs: number; loopMs: number; ratio: number; same: boolean; mean: number }[] = [];
    for (const metric of METRICS) {
      const { ms: batchedMs, result: fast } = await timed(() => metric.score(task, batch, s, target, metric.defaults, seeder));
      const { ms: loopMs, result: slow } = await timed(() => metric.score(loopTask, batch, s, target, metric.defaults, seeder));
      fastResults.push(fast);
      const finite = Array.from(fast.perSample).filter(Number.isFinite);
      rows.push({
        id: metric.id,
        inputs: fast.modelCalls,
        batchedMs,
        loopMs,
        ratio: loopMs / batchedMs,
        same: sameNumbers(fast, slow) && fast.modelCalls === slow.modelCalls,
        mean: finite.reduce((a, v) => a + v, 0) / finite.length,
      });
    }
    // all ten at once through scoreExplanations (shared clean pass and curves)
    const ids = METRICS.map((m) => ({ id: m.id }));
    const { ms: sharedMs, result: sharedRes } = await timed(() => scoreExplanations(task, batch, target, [s], ids, seeder));
    const sharedInputs = sharedRes[0].reduce((a, r) => a + r.modelCalls, 0);
    // the DeepFaith supervision shape: 8 explanations × 10 metrics per row, shared vs one by one
    const eight = Array.from({ length: 8 }, (_, e) => Float32Array.from(s, (v, i) => v + 0.01 * e * ((i * 7919) % 13)));
    const { ms: eightSharedMs } = await timed(() => scoreExplanations(task, batch, target, eight, ids, seeder));
    const { ms: eightOneByOneMs } = await timed(() => scoreUnbatched(task, batch, target, eight, ids, seeder));
    const sharedSame = sharedRes[0].every((r, i) => sameNumbers(r, fastResults[i]));

    const totalBatched = rows.reduce((a, r) => a + r.batchedMs, 0);
    const totalLoop = rows.reduce((a, r) => a + r.loopMs, 0);
    const totalInputs = rows.reduce((a, r) => a + r.inputs, 0);
    const fmt = (v: number, d = 1) => v.toFixed(d).padStart(9);
    console.log(`task: ${source}; ${batch.nRows} samples; backend ${backend.chosen}; seed ${seed}; median of ${repeat}`);
    console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, tfjs ${tf.version.tfjs}`);
    console.log('');
    console.log('metric   inputs  batched ms    loop ms    ratio  same numbers   mean');
    for (const r of rows) console.log(`${r.id.padEnd(6)} ${String(r.inputs).padStart(8)} ${fmt(r.batchedMs)}  ${fmt(r.loopMs)} ${fmt(r.ratio)}×  ${r.same ? 'yes' : 'NO '}        ${r.mean.toFixed(4)}`);
    console.log(`${'all'.padEnd(6)} ${String(totalInputs).padStart(8)} ${fmt(totalBatched)}  ${fmt(totalLoop)} ${fmt(totalLoop / totalBatched)}×`);
    console.log(`shared ${String(sharedInputs).padStart(8)} ${fmt(sharedMs)}  ${fmt(totalLoop)} ${fmt(totalLoop / sharedMs)}×  (all ten in one scoreExplanations call)`);
    console.log(`8 explanations × 10 metrics: shared ${eightSharedMs.toFixed(1)} ms, one by one (batched per metric) ${eightOneByOneMs.toFixed(1)} ms, ratio ${(eightOneByOneMs / eightSharedMs).toFixed(1)}×`);
    if (jsonOut)
      writeFileSync(jsonOut, JSON.stringify({ source, samples: batch.nRows, backend: backend.chosen, seed, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, rows, totalBatched, totalLoop, sharedMs, sharedInputs, eightSharedMs, eightOneByOneMs }, null, 2));
    const bad = rows.filter((r) => !r.same).map((r) => r.id);
    if (bad.length || !sharedSame) {
      console.error(`The loop and the batched engine disagree on: ${bad.join(', ')}`);
      process.exitCode = 1;
    }
  } finally {
    task.model.dispose();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
