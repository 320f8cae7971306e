/**
 * Registry-wide contract (ARCHITECTURE.md habit 6), for every attribution method with its defaults
 * (and a few other parameter sets):
 * shape [nRows, nFeatures], finite values, the same numbers under the same seed, the same numbers
 * when the rows are explained in one batch or in two batches with their global row indices, no
 * leaked tensors, progress counted in rows, cancellation honoured, and seeded randomness actually
 * used by the random methods.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Seeder } from '../rng';
import type { Batch, Task } from '../task/task';
import { reluMlpTask, randomRows, useBackend } from '../../../tests/helpers/models';
import { ATTRIBUTION_METHODS, getMethod, resolveMethodParams } from './registry';

const ORDER = [
  'saliency',
  'input-x-gradient',
  'integrated-gradients',
  'smoothgrad',
  'gradient-shap',
  'occlusion',
  'feature-ablation',
  'lime',
  'kernel-shap',
  'shapley-exact',
  'deeplift',
  'guided-backprop',
  'grad-cam',
  'grad-cam-plus-plus',
  'score-cam',
  'guided-grad-cam',
  'random',
];
/** Methods that need a convolutional image model: their contract runs on a CNN in cam.test.ts. */
const CNN_ONLY = ['grad-cam', 'grad-cam-plus-plus', 'score-cam', 'guided-grad-cam'];
/** Every method with its defaults, plus parameter sets that take another code path. */
const CASES: [string, Record<string, unknown>][] = [
  ...ORDER.filter((id) => !CNN_ONLY.includes(id)).map((id) => [id, {}] as [string, Record<string, unknown>]),
  ['kernel-shap', { samples: 16 }], // sampled: fewer than the 2^5 − 2 = 30 coalitions it would enumerate
  ['integrated-gradients', { rule: 'trapezoid', steps: 8 }],
  ['gradient-shap', { baselines: 'task', noiseLevel: 0.1 }],
  ['smoothgrad', { abs: true }],
];
/** Cases whose numbers come from seeded draws. */
const randomised = (id: string, overrides: Record<string, unknown>) =>
  ['smoothgrad', 'gradient-shap', 'lime', 'random'].includes(id) || (id === 'kernel-shap' && overrides.samples === 16);

const n = 5;
const nRows = 6;
const firstRow = 40; // global index of the first row: a slice of a larger file
const x = randomRows(nRows, n, 'contract', -2, 2);
let task: Task;

beforeAll(async () => {
  await useBackend('wasm');
  task = reluMlpTask(n, 3, x, nRows, 13);
});
afterAll(() => task.model.dispose());

function batchRows(a: number, b: number): Batch {
  return { x: x.slice(a * n, b * n), nRows: b - a, rowIndex: Int32Array.from({ length: b - a }, (_, i) => firstRow + a + i) };
}

const target = Int32Array.from({ length: nRows }, (_, r) => r % 3);

it('the registry lists the methods in the documented order, each with its defaults and a description', () => {
  expect(ATTRIBUTION_METHODS.map((m) => m.id)).toEqual(ORDER);
  for (const m of ATTRIBUTION_METHODS) {
    expect(m.id).toMatch(/^[a-z]+(-[a-z]+)*$/);
    expect(getMethod(m.id)).toBe(m);
    expect(m.label.length).toBeGreaterThan(0);
    expect(m.description.length).toBeGreaterThan(10);
    expect(typeof m.defaults).toBe('object');
  }
  expect(getMethod('no-such-method')).toBeUndefined();
});

describe.each(CASES)('%s %j', (id, overrides) => {
  const method = getMethod(id)!;
  const params = () => ({ ...method.defaults, ...overrides });

  it('is applicable to a Sequential ReLU MLP', () => {
    expect(method.applicable(task)).toBeNull();
  });

  it('shape, finite values, determinism, batching independence and no tensor leak', async () => {
    const before = tf.memory().numTensors;
    const progress: [number, number][] = [];
    const a = await method.explain(task, batchRows(0, nRows), target, params(), new Seeder(3), (d, t) => progress.push([d, t]));
    const again = await method.explain(task, batchRows(0, nRows), target, params(), new Seeder(3));
    const first = await method.explain(task, batchRows(0, 2), target.slice(0, 2), params(), new Seeder(3));
    const rest = await method.explain(task, batchRows(2, nRows), target.slice(2), params(), new Seeder(3));
    expect(tf.memory().numTensors).toBe(before);

    expect(a).toBeInstanceOf(Float32Array);
    expect(a.length).toBe(nRows * n);
    expect(a.every(Number.isFinite)).toBe(true);
    expect(a.some((v) => v !== 0)).toBe(true);
    expect(Array.from(again)).toEqual(Array.from(a));
    const split = new Float32Array(nRows * n);
    split.set(first, 0);
    split.set(rest, 2 * n);
    for (let k = 0; k < a.length; k++) expect(split[k]).toBeCloseTo(a[k], 5);

    expect(progress.length).toBeGreaterThan(0);
    expect(progress[progress.length - 1]).toEqual([nRows, nRows]);
  });

  it('honours an aborted signal', async () => {
    const controller = new AbortController();
    controller.abort();
    const before = tf.memory().numTensors;
    await expect(method.explain(task, batchRows(0, nRows), target, params(), new Seeder(3), undefined, controller.signal)).rejects.toThrow();
    expect(tf.memory().numTensors).toBe(before);
  });

  if (randomised(id, overrides)) {
    it('draws from the seeder: another seed or another global row index changes the numbers', async () => {
      const a = await method.explain(task, batchRows(0, 2), target.slice(0, 2), params(), new Seeder(3));
      const b = await method.explain(task, batchRows(0, 2), target.slice(0, 2), params(), new Seeder(4));
      expect(Array.from(b)).not.toEqual(Array.from(a));
      const moved: Batch = { ...batchRows(0, 2), rowIndex: Int32Array.from([7, 8]) };
      const c = await method.explain(task, moved, target.slice(0, 2), params(), new Seeder(3));
      expect(Array.from(c)).not.toEqual(Array.from(a));
    });
  }
});

describe('resolveMethodParams', () => {
  it('merges overrides over the defaults and rejects unknown keys and wrong types', () => {
    const ig = getMethod('integrated-gradients')!;
    expect(resolveMethodParams(ig, { steps: 8 })).toEqual({ steps: 8, rule: 'gausslegendre' });
    expect(resolveMethodParams(ig)).toEqual(ig.defaults);
    expect(() => resolveMethodParams(ig, { step: 8 })).toThrow(/Method integrated-gradients has no parameter "step"\..*steps \(an integer from 1 to 10000, default 50\)/);
    expect(() => resolveMethodParams(ig, { steps: 'many' })).toThrow(/"steps" is "many", but it must be an integer from 1 to 10000/);
    expect(() => resolveMethodParams(ig, { steps: '4' })).toThrow(/"steps" is "4", but it must be an integer/);
    expect(() => resolveMethodParams(getMethod('random')!, { x: 1 })).toThrow(/Method random has no parameters/);
  });
  it('each method rejects an out-of-range value with a message naming the parameter', async () => {
    const bad: [string, Record<string, unknown>, RegExp][] = [
      ['integrated-gradients', { steps: 0 }, /"steps"/],
      ['integrated-gradients', { rule: 'simpson' }, /"rule".*gausslegendre, trapezoid, riemann-right/],
      ['occlusion', { window: 0 }, /"window"/],
      ['lime', { kernelWidth: 0 }, /"kernelWidth"/],
      ['smoothgrad', { noiseLevel: -1 }, /"noiseLevel"/],
      ['gradient-shap', { baselines: 'gaussian' }, /"baselines"/],
      ['kernel-shap', { samples: 1 }, /"samples"/],
    ];
    for (const [id, p, re] of bad) {
      const m = getMethod(id)!;
      await expect(m.explain(task, batchRows(0, 1), target.slice(0, 1), { ...m.defaults, ...p }, new Seeder(0))).rejects.toThrow(re);
    }
  });
});
