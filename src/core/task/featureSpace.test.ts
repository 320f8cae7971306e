/**
 * Methods and metrics see only the FeatureSpace interface: on a space whose features are groups of
 * two input columns (inputSize 6, nFeatures 3), every method returns [nRows, 3], and on an additive
 * model the closed forms hold per GROUP (a group's attribution is the sum of w_i x_i over its
 * columns; FC = INF = FE = 1 for those attributions).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Seeder } from '../rng';
import { TargetModel } from './model';
import { makeTask, type Task } from './task';
import { TabularFeatureSpace } from './featureSpace';
import { ATTRIBUTION_METHODS, getMethod } from '../attribution/registry';
import { scoreExplanations } from '../metrics/evaluate';
import { METRICS } from '../metrics/registry';
import { GroupedFeatureSpace } from '../../../tests/helpers/groupedSpace';
import { batchOf, datasetOf, linearModel, randomRows, useBackend } from '../../../tests/helpers/models';

const width = 2;
const nGroups = 3;
const d = width * nGroups;
const nRows = 5;
const w = [0.5, -1, 2, 0.25, -0.75, 1.5];
const x = randomRows(nRows, d, 'grouped', -2, 2);
let task: Task;

/** Σ_{i ∈ group g} w_i x_i for every row: the group's exact attribution on g(x) = w·x + b with a zero baseline. */
function groupSums(): Float64Array {
  const out = new Float64Array(nRows * nGroups);
  for (let r = 0; r < nRows; r++) for (let i = 0; i < d; i++) out[r * nGroups + Math.floor(i / width)] += w[i] * x[r * d + i];
  return out;
}

beforeAll(async () => {
  await useBackend('wasm');
  const model = new TargetModel(linearModel([w], [0.3]));
  task = makeTask(model, datasetOf(x, nRows, d, 1), { output: 'raw', baseline: 'zero', space: new GroupedFeatureSpace(width, nGroups, x, nRows) });
});
afterAll(() => task.model.dispose());

describe('tabular feature space', () => {
  it('writers change exactly the chosen features and nothing else', () => {
    const ref = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const space = new TabularFeatureSpace(['a', 'b', 'c'], ref, 3);
    const out = new Float32Array(6);
    const xr = [10, 20, 30];
    const base = space.baseline('mean'); // [4, 5, 6]
    expect(Array.from(base)).toEqual([4, 5, 6]);
    space.writeRemoval(out, 1, xr, base, [2]);
    expect(Array.from(out)).toEqual([0, 0, 0, 10, 20, 6]);
    space.writeInsertion(out, 0, xr, base, [1]);
    expect(Array.from(out.subarray(0, 3))).toEqual([4, 20, 6]);
    space.writeMasked(out, 0, xr, base, [1, 0, 1]);
    expect(Array.from(out.subarray(0, 3))).toEqual([4, 20, 6]);
    expect(Array.from(space.inputRange())).toEqual([6, 6, 6]);
  });
});

describe('methods and metrics on a space with inputSize ≠ nFeatures', () => {
  it('the grouped space writes whole groups', () => {
    const space = task.space;
    const out = new Float32Array(d);
    space.writeRemoval(out, 0, x.subarray(0, d), new Float32Array(d), [1]);
    expect(Array.from(out)).toEqual([x[0], x[1], 0, 0, x[4], x[5]]);
  });

  for (const m of ATTRIBUTION_METHODS)
    it(`${m.id} returns one value per feature (group) per row`, async () => {
      // nothing else may refuse this task: the CNN methods need a conv layer (and guided backprop a ReLU) this linear model lacks
      if (m.applicable(task)) return expect(['shapley-exact', 'guided-backprop', 'grad-cam', 'grad-cam-plus-plus', 'score-cam', 'guided-grad-cam']).toContain(m.id);
      const s = await m.explain(task, batchOf(x, nRows), new Int32Array(nRows), m.defaults, new Seeder(0));
      expect(s.length).toBe(nRows * nGroups);
      expect(s.every(Number.isFinite)).toBe(true);
    });

  const exact = ['integrated-gradients', 'input-x-gradient', 'feature-ablation', 'shapley-exact', 'kernel-shap', 'occlusion'];
  for (const id of exact)
    it(`${id} gives the group sums Σ w_i x_i of an additive model`, async () => {
      const m = getMethod(id)!;
      const params = id === 'occlusion' ? { window: 1, stride: 1 } : {};
      const s = await m.explain(task, batchOf(x, nRows), new Int32Array(nRows), { ...m.defaults, ...params }, new Seeder(0));
      const want = groupSums();
      for (let i = 0; i < want.length; i++) expect(s[i]).toBeCloseTo(want[i], 4);
    });

  it('saliency sums |w_i| over each group', async () => {
    const s = await getMethod('saliency')!.explain(task, batchOf(x, nRows), new Int32Array(nRows), { abs: true }, new Seeder(0));
    for (let r = 0; r < nRows; r++) for (let g = 0; g < nGroups; g++) expect(s[r * nGroups + g]).toBeCloseTo(Math.abs(w[2 * g]) + Math.abs(w[2 * g + 1]), 5);
  });

  it('FC = INF = FE = 1 for the group sums, and every metric gives one value per row', async () => {
    const s = Float32Array.from(groupSums());
    const res = await scoreExplanations(task, batchOf(x, nRows), new Int32Array(nRows), [s], METRICS.map((m) => ({ id: m.id })), new Seeder(0));
    METRICS.forEach((m, j) => {
      expect(res[0][j].perSample.length).toBe(nRows);
      if (['FC', 'INF', 'FE'].includes(m.id)) for (const v of res[0][j].perSample) expect(v).toBeCloseTo(1, 5);
    });
  });
});
