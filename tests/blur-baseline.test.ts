/**
 * The blur baseline as a task setting: a metric's removal with blur writes exactly
 * the blurred pixels of the chosen patches (and nothing else); the methods, L_LC and the metric
 * engine read each row's own blur — on an additive image model the attributions are the patch sums
 * of w·(x − blur(x)) and L_LC's Δ are the sums over the removed patches; DEL's curve is p at those
 * inputs; tables refuse blur (makeTask, loadTask, the CLI, a job) with a message; task.blurSigma
 * resolves, round-trips through jobDiff and reaches the space.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Seeder } from '../src/core/rng';
import { TargetModel } from '../src/core/task/model';
import { makeTask, type Task } from '../src/core/task/task';
import { ImageFeatureSpace, gaussianBlur, rowBaselines } from '../src/core/task/featureSpace';
import { getMethod } from '../src/core/attribution/registry';
import { scoreExplanations } from '../src/core/metrics/evaluate';
import { lcTargets } from '../src/core/explainer/losses';
import { trapezoidAuc } from '../src/core/metrics/curves';
import { DEFAULTS, resolveJob } from '../src/core/job/schema';
import { jobDiff } from '../src/core/job/diff';
import { loadTask, taskRows } from '../src/core/task/load';
import { nodeTaskIO } from '../src/cli/files';
import { main } from '../src/cli/main';
import { UserError } from '../src/core/errors';
import { batchOf, datasetOf, randomRows, useBackend } from './helpers/models';

const H = 4;
const W = 4;
const C = 2;
const d = H * W * C;
const nRows = 3;
const x = randomRows(nRows, d, 'blur-x', 0, 1);
const w = Array.from(randomRows(1, d, 'blur-w', -1, 1));
const SIGMA = 0.8;
let task: Task;
let space: ImageFeatureSpace;

/** g(x) = w·flatten(x) + 0.3 over [H, W, C] (Flatten → Dense, linear; raw output). */
function additiveImageModel(): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.flatten({ inputShape: [H, W, C] }));
  m.add(tf.layers.dense({ units: 1, activation: 'linear' }));
  tf.tidy(() => m.layers[1].setWeights([tf.tensor2d(w, [d, 1]), tf.tensor1d([0.3])]));
  return m;
}

const rowOf = (r: number) => x.subarray(r * d, (r + 1) * d);
const blurOf = (r: number) => gaussianBlur(rowOf(r), H, W, C, SIGMA);

beforeAll(async () => {
  await useBackend('wasm');
  space = new ImageFeatureSpace({ height: H, width: W, channels: C }, x, nRows, { patch: 2, blurSigma: SIGMA });
  task = makeTask(new TargetModel(additiveImageModel()), datasetOf(x, nRows, d, 1), { output: 'raw', baseline: 'blur', space });
});
afterAll(() => task.model.dispose());

/** Σ over patch p of w_i (x_i − blur(x)_i), per row: the exact patch attribution against each row's blur. */
function blurPatchSums(): Float64Array {
  const n = space.nFeatures;
  const out = new Float64Array(nRows * n);
  for (let r = 0; r < nRows; r++) {
    const b = blurOf(r);
    for (let i = 0; i < d; i++) out[r * n + space.patchOf[i]] += w[i] * (x[r * d + i] - b[i]);
  }
  return out;
}

describe('the blur baseline through the metric engine', () => {
  it('DEL removes exactly the chosen patches, writing the row\'s blurred pixels there and its own pixels elsewhere', async () => {
    const seen: Float32Array[] = [];
    const predict = task.model.predict.bind(task.model);
    task.model.predict = async (xs, rows, output) => {
      for (let i = 0; i < rows; i++) seen.push(xs.slice(i * d, (i + 1) * d));
      return predict(xs, rows, output);
    };
    try {
      const s = Float32Array.from([0.4, 0.3, 0.2, 0.1]); // π = [0, 1, 2, 3]
      const res = await scoreExplanations(task, batchOf(rowOf(1).slice(), 1, 1), Int32Array.from([0]), [s], [{ id: 'DEL' }], new Seeder(0));
      const xr = rowOf(1);
      const b = blurOf(1);
      const want = [0, 1, 2, 3, 4].map((t) => {
        const v = Float32Array.from(xr);
        for (let i = 0; i < d; i++) if (space.patchOf[i] < t) v[i] = b[i];
        return v;
      });
      // every input the model saw is one of x \ top_t, and each of them was seen
      for (const input of seen) expect(want.some((v) => v.every((a, i) => a === input[i]))).toBe(true);
      for (const v of want) expect(seen.some((input) => v.every((a, i) => a === input[i]))).toBe(true);
      // the removed patches really changed (the blur is not the image), the kept ones did not
      expect(want[4].some((v, i) => v !== xr[i])).toBe(true);
      const p = want.map((v) => 0.3 + v.reduce((acc, vi, i) => acc + w[i] * vi, 0));
      expect(res[0][0].perSample[0]).toBeCloseTo(trapezoidAuc(p), 5);
    } finally {
      delete (task.model as { predict?: unknown }).predict;
    }
  });

  it('FC = INF = FE = 1 for the patch sums of w·(x − blur(x)) (the additive closed form with each row\'s x°)', async () => {
    const s = Float32Array.from(blurPatchSums());
    const res = await scoreExplanations(task, batchOf(x, nRows), new Int32Array(nRows), [s], [{ id: 'FC' }, { id: 'INF' }, { id: 'FE' }], new Seeder(0));
    for (let j = 0; j < 3; j++) for (const v of res[0][j].perSample) expect(v).toBeCloseTo(1, 5);
  });
});

describe('the blur baseline in the methods and L_LC', () => {
  for (const id of ['integrated-gradients', 'feature-ablation', 'kernel-shap', 'shapley-exact', 'deeplift', 'occlusion', 'gradient-shap', 'lime'])
    it(`${id} gives the patch sums of w·(x − blur(x))`, async () => {
      const m = getMethod(id)!;
      const params = id === 'occlusion' ? { window: 1, stride: 1 } : id === 'gradient-shap' ? { baselines: 'task', samples: 4 } : id === 'lime' ? { ridge: 0, samples: 400 } : {};
      expect(m.applicable(task)).toBeNull();
      const s = await m.explain(task, batchOf(x, nRows), new Int32Array(nRows), { ...m.defaults, ...params }, new Seeder(0));
      const want = blurPatchSums();
      for (let i = 0; i < want.length; i++) expect(s[i]).toBeCloseTo(want[i], 4);
    });

  it('L_LC\'s Δ(I) = Σ over the removed patches of w·(x − blur(x))', async () => {
    const lc = await lcTargets(task, x, nRows, Int32Array.from([0, 1, 2]), new Int32Array(nRows), 8, new Seeder(0), 'blur-lc');
    const sums = blurPatchSums();
    const n = space.nFeatures;
    let nonEmpty = 0;
    for (let r = 0; r < nRows; r++)
      for (let j = 0; j < lc.k; j++) {
        let want = 0;
        for (let f = 0; f < n; f++) if (lc.masks[(r * lc.k + j) * n + f]) want += sums[r * n + f];
        if (want !== 0) nonEmpty++;
        expect(lc.delta[r * lc.k + j]).toBeCloseTo(want, 5);
      }
    expect(nonEmpty).toBeGreaterThan(10);
  });

  it('rowBaselines: zero and mean give one vector for every row (the task-wide one); blur each row\'s own blur', () => {
    const zero = rowBaselines(space, 'zero');
    expect(zero(rowOf(0))).toBe(zero(rowOf(1)));
    expect(Array.from(rowBaselines(space, 'mean')(rowOf(2)))).toEqual(Array.from(space.means));
    expect(Array.from(rowBaselines(space, 'blur')(rowOf(2)))).toEqual(Array.from(blurOf(2)));
  });
});

describe('tables refuse blur; task.blurSigma', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'deepfaith-blur-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('makeTask on a table refuses blur, saying it is for images and what to use', () => {
    const m = tf.sequential();
    m.add(tf.layers.dense({ inputShape: [3], units: 2 }));
    const model = new TargetModel(m);
    try {
      const make = () => makeTask(model, datasetOf(randomRows(2, 3, 't'), 2, 3), { baseline: 'blur' });
      expect(make).toThrow(UserError);
      expect(make).toThrow(/blur baseline .* applies to image tasks; this task's features are tabular/);
    } finally {
      model.dispose();
    }
  });

  it('loadTask, the CLI and a job on a CSV refuse blur and --blur-sigma before the model is loaded', async () => {
    await expect(loadTask({ demo: 'iris', baseline: 'blur', output: 'probability', maxRows: 0 }, nodeTaskIO())).rejects.toThrow(/is a table; the blur baseline .* applies to image tasks only/);
    await expect(loadTask({ demo: 'iris', baseline: 'zero', output: 'probability', maxRows: 0, blurSigma: 1 }, nodeTaskIO())).rejects.toThrow(/a blur σ applies to image tasks only/);
    expect(await main(['attribute', '--demo', 'iris', '--baseline', 'blur', '--method', 'saliency', '--out', join(dir, 'a.json')])).toBe(2);
    expect(await main(['attribute', '--demo', 'digits', '--blur-sigma', '-1', '--method', 'saliency', '--out', join(dir, 'b.json')])).toBe(2);
    expect(() => resolveJob({ task: { demo: 'digits', blurSigma: -1 } })).toThrow(/blurSigma/);
  });

  it('task.blurSigma resolves, is written back by jobDiff and reaches the image space; absent = patch / 2', async () => {
    const job = resolveJob({ task: { demo: 'digits', baseline: 'blur', blurSigma: 1.5, patch: 2 } });
    expect(job.task.baseline).toBe('blur');
    expect(job.task.blurSigma).toBe(1.5);
    const written = jobDiff(job, DEFAULTS);
    expect(written.task).toMatchObject({ baseline: 'blur', blurSigma: 1.5, patch: 2 });
    expect(resolveJob(written)).toEqual(job);
    expect(jobDiff(resolveJob({ task: { demo: 'digits' } }), DEFAULTS).task).not.toHaveProperty('blurSigma');
    const loaded = await loadTask(job.task, nodeTaskIO());
    try {
      const sp = loaded.task.space as ImageFeatureSpace;
      expect(sp.blurSigma).toBe(1.5);
      expect(loaded.task.baseline).toBe('blur');
      const fewer = taskRows(loaded, 10);
      expect((fewer.task.space as ImageFeatureSpace).blurSigma).toBe(1.5);
      const other = taskRows(loaded, 10, { patch: 4 });
      expect((other.task.space as ImageFeatureSpace).blurSigma).toBe(2); // a new patch without σ: its default
      const d2 = loaded.task.inputSize;
      const x0 = rowBaselines(sp, 'blur')(loaded.batch.x.subarray(0, d2));
      expect(Array.from(x0)).toEqual(Array.from(gaussianBlur(loaded.batch.x.subarray(0, d2), 8, 8, 1, 1.5)));
    } finally {
      loaded.task.model.dispose();
    }
    const d = resolveJob({ task: { demo: 'digits', baseline: 'blur' } });
    const l2 = await loadTask(d.task, nodeTaskIO());
    try {
      expect((l2.task.space as ImageFeatureSpace).blurSigma).toBe(0.5); // patch 1 on 8×8 → σ = 0.5
    } finally {
      l2.task.model.dispose();
    }
  });

  it('the CLI explains an image demo with --baseline blur --blur-sigma', async () => {
    const out = join(dir, 'ig.json');
    expect(await main(['attribute', '--demo', 'digits', '--rows', '0:2', '--patch', '2', '--baseline', 'blur', '--blur-sigma', '1', '--method', 'integrated-gradients', '--out', out])).toBe(0);
  });
});
