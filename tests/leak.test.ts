/**
 * Tensor leak test of the engine's whole loop, through the core functions on the iris demo:
 * 100 rounds of (attribute 3 methods on 4 rows → all ten metrics on those explanations → two
 * training steps of a tiny explainer with a held-out evaluation → explain with it), each round
 * on other rows. The number of live tensors (and their bytes) after round 2 must equal the number
 * after round 100: the first rounds may create lasting state (the backend's kernels, tfjs'
 * cached scalars), any later growth is a leak.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from './helpers/models';
import { loadTask, targetsFor, type LoadedTask } from '../src/core/task/load';
import { nodeTaskIO } from '../src/cli/files';
import { sliceBatch } from '../src/core/task/task';
import { getMethod, resolveMethodParams } from '../src/core/attribution/registry';
import { METRICS } from '../src/core/metrics/registry';
import { scoreExplanations, type MetricRequest } from '../src/core/metrics/evaluate';
import { minMaxNormalize } from '../src/core/supervision/supervision';
import { runTraining, trainExplainer, defaults as trainDefaults } from '../src/core/explainer/train';
import { inputStatistics } from '../src/core/explainer/model';
import { Seeder } from '../src/core/rng';

const ROUNDS = 100;
const ROWS = 4;
const METHODS: [string, Record<string, number | string | boolean>][] = [
  ['saliency', {}],
  ['integrated-gradients', { steps: 8 }],
  ['feature-ablation', {}],
];
/** All ten metrics, with the sampled ones kept small. */
const METRIC_REQUESTS: MetricRequest[] = METRICS.map((m) => ({
  id: m.id,
  params: m.id === 'FC' || m.id === 'INF' ? { nSubsets: 8 } : m.id === 'MC' ? { nBaselines: 2 } : {},
}));

let loaded: LoadedTask;

beforeAll(async () => {
  await useBackend('wasm');
  loaded = await loadTask({ demo: 'iris', baseline: 'zero', output: 'probability', maxRows: 0 }, nodeTaskIO());
});
afterAll(() => loaded?.task.model.dispose());

/** One round on rows [a, a + ROWS). */
async function round(i: number): Promise<void> {
  const { task, data } = loaded;
  const n = task.nFeatures;
  const a = (i * ROWS) % (data.nRows - ROWS);
  const batch = sliceBatch(data, a, a + ROWS);
  const target = await targetsFor(loaded, 'predicted', batch);
  const seeder = new Seeder(i);
  const explanations: Float32Array[] = [];
  for (const [id, params] of METHODS) {
    const method = getMethod(id)!;
    explanations.push(await method.explain(task, batch, target, resolveMethodParams(method, params, n), seeder)); // [ROWS, n]
  }
  const scores = await scoreExplanations(task, batch, target, explanations, METRIC_REQUESTS, seeder);
  expect(scores).toHaveLength(METHODS.length);
  expect(scores[0]).toHaveLength(10);

  // Z: every (row, method) pair, normalised; 12 pairs in batches of 6 = two steps in one epoch
  const nPairs = ROWS * METHODS.length;
  const zx = new Float32Array(nPairs * n); // [nPairs, n]
  const zs = new Float32Array(nPairs * n); // [nPairs, n]
  explanations.forEach((e, k) => {
    zx.set(batch.x, k * ROWS * n);
    zs.set(minMaxNormalize(e, ROWS, n), k * ROWS * n);
  });
  const samples = { x: batch.x, nRows: ROWS, rowIndex: batch.rowIndex, target };
  let steps = 0;
  const result = await runTraining(
    trainExplainer({
      task,
      explainer: { nFeatures: n, dModel: 8, nHeads: 2, nLayers: 1, dFF: 8, dropout: 0.1, seed: i, ...inputStatistics(batch.x, ROWS, n) },
      config: { ...trainDefaults, epochs: 1, batchSize: nPairs / 2, lcSubsets: 4, evalEvery: 1 },
      mode: 'full',
      seed: i,
      z: { x: zx, s: zs, nPairs },
      samples,
      heldOut: { z: { x: zx, s: zs, nPairs }, samples },
    }),
    (e) => void (e.type === 'step' && steps++),
  );
  try {
    expect(steps).toBe(2);
    const phi = await result.explainer.explain(batch.x, ROWS); // [ROWS, n]
    expect(phi.every(Number.isFinite)).toBe(true);
  } finally {
    result.explainer.dispose();
  }
}

describe('no tensor leak over 100 rounds of attribute → ten metrics → two training steps → explain', () => {
  it('live tensors after round 100 equal those after round 2', async () => {
    await round(0);
    await round(1);
    const after2 = tf.memory();
    for (let i = 2; i < ROUNDS; i++) await round(i);
    const after100 = tf.memory();
    expect(after100.numTensors).toBe(after2.numTensors);
    expect(after100.numBytes).toBe(after2.numBytes);
  });
});
