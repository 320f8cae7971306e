/**
 * Closed forms the attribution methods must meet (METRICS.md, ARCHITECTURE.md habit 5):
 * linear-model identities, completeness of Integrated Gradients and exact Shapley values,
 * Kernel SHAP converging to exact Shapley values, occlusion with window 1 = feature ablation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Seeder } from '../rng';
import type { Task } from '../task/task';
import { additiveTask, batchOf, mlpTask, randomRows, useBackend } from '../../../tests/helpers/models';
import { getMethod } from './registry';
import { gaussLegendre, quadrature } from './common';
import { occlusionWindows } from './occlusion';
import type { TabularFeatureSpace } from '../task/featureSpace';

const seeder = new Seeder(11);

async function explain(task: Task, id: string, x: Float32Array, nRows: number, target: Int32Array, params: Record<string, unknown> = {}): Promise<Float32Array> {
  const m = getMethod(id);
  if (!m) throw new Error(`no method ${id}`);
  return m.explain(task, batchOf(x, nRows), target, { ...m.defaults, ...params }, seeder);
}

beforeAll(() => useBackend('wasm'));

describe('quadrature', () => {
  it('Gauss–Legendre with m nodes integrates polynomials of degree 2m − 1 exactly on [0, 1]', () => {
    for (const m of [1, 2, 5, 16, 64]) {
      const { nodes, weights } = gaussLegendre(m);
      const deg = 2 * m - 1;
      let s = 0;
      for (let k = 0; k < m; k++) s += weights[k] * nodes[k] ** deg;
      expect(s).toBeCloseTo(1 / (deg + 1), 12);
      for (let k = 1; k < m; k++) expect(nodes[k]).toBeGreaterThan(nodes[k - 1]);
    }
  });
  it('trapezoid and riemann-right are the textbook rules', () => {
    const t = quadrature('trapezoid', 4);
    expect(Array.from(t.nodes)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(Array.from(t.weights)).toEqual([0.125, 0.25, 0.25, 0.25, 0.125]);
    const r = quadrature('riemann-right', 4);
    expect(Array.from(r.nodes)).toEqual([0.25, 0.5, 0.75, 1]);
    expect(Array.from(r.weights)).toEqual([0.25, 0.25, 0.25, 0.25]);
  });
});

describe('additive raw model g(x) = w·x + b, zero baseline', () => {
  const w = [1.5, -2, 0.5, 3, -0.25];
  const nRows = 4;
  const x = randomRows(nRows, w.length, 'additive', -2, 2);
  const target = new Int32Array(nRows);
  let task: Task;
  beforeAll(() => {
    task = additiveTask(w, 0.7, x, nRows);
  });
  afterAll(() => task.model.dispose());
  const exact: [string, Record<string, unknown>][] = [
    ['input-x-gradient', {}],
    ['integrated-gradients', {}],
    ['deeplift', {}],
    ['shapley-exact', {}],
    ['feature-ablation', {}],
    ['kernel-shap', { samples: 24 }], // sampled (fewer than the 2^5 − 2 coalitions)
    ['kernel-shap', { samples: 30 }], // every coalition enumerated
    ['occlusion', { window: 1 }],
    ['gradient-shap', { baselines: 'task', samples: 5 }],
    ['lime', { ridge: 0, samples: 64 }],
  ];
  it.each(exact)('%s %j gives w_i · x_i', async (id, params) => {
    const s = await explain(task, id, x, nRows, target, params);
    for (let r = 0; r < nRows; r++) for (let i = 0; i < w.length; i++) expect(s[r * w.length + i]).toBeCloseTo(w[i] * x[r * w.length + i], 4);
  });
  it.each(['trapezoid', 'riemann-right', 'gausslegendre'])('integrated-gradients with the %s rule is exact on it', async (rule) => {
    const s = await explain(task, 'integrated-gradients', x, nRows, target, { rule, steps: 3 });
    for (let r = 0; r < nRows; r++) for (let i = 0; i < w.length; i++) expect(s[r * w.length + i]).toBeCloseTo(w[i] * x[r * w.length + i], 4);
  });
  it('smoothgrad gives w_i (|w_i| with abs): the gradient of a linear model is constant', async () => {
    const s = await explain(task, 'smoothgrad', x, nRows, target);
    const a = await explain(task, 'smoothgrad', x, nRows, target, { abs: true });
    for (let r = 0; r < nRows; r++)
      for (let i = 0; i < w.length; i++) {
        expect(s[r * w.length + i]).toBeCloseTo(w[i], 5);
        expect(a[r * w.length + i]).toBeCloseTo(Math.abs(w[i]), 5);
      }
  });
  it('gradient-shap with uniform baselines tends to w_i (x_i − mid-range_i)', async () => {
    const samples = 4000;
    const s = await explain(task, 'gradient-shap', x, nRows, target, { samples });
    for (let r = 0; r < nRows; r++)
      for (let i = 0; i < w.length; i++) {
        const space = task.space as TabularFeatureSpace;
        const lo = space.mins[i];
        const hi = space.maxs[i];
        const sd = (Math.abs(w[i]) * (hi - lo)) / Math.sqrt(12 * samples); // std of the mean of w_i (x_i − b_i)
        expect(Math.abs(s[r * w.length + i] - w[i] * (x[r * w.length + i] - (lo + hi) / 2))).toBeLessThan(5 * sd);
      }
  });
  it('saliency gives |w_i| (and w_i signed)', async () => {
    const a = await explain(task, 'saliency', x, nRows, target);
    const s = await explain(task, 'saliency', x, nRows, target, { abs: false });
    for (let r = 0; r < nRows; r++)
      for (let i = 0; i < w.length; i++) {
        expect(a[r * w.length + i]).toBeCloseTo(Math.abs(w[i]), 5);
        expect(s[r * w.length + i]).toBeCloseTo(w[i], 5);
      }
  });
});

describe('completeness on a smooth tanh MLP (probability output)', () => {
  const nRows = 6;
  const n = 5;
  const x = randomRows(nRows, n, 'ig', -2, 2);
  let task: Task;
  beforeAll(() => {
    task = mlpTask(n, 3, x, nRows, 3);
  });
  afterAll(() => task.model.dispose());

  async function deltas(target: Int32Array): Promise<Float64Array> {
    const fx = await task.model.predictTarget(x, nRows, target, 'probability');
    const base = new Float32Array(nRows * n); // zero baseline rows
    const f0 = await task.model.predictTarget(base, nRows, target, 'probability');
    return Float64Array.from(fx, (v, r) => v - f0[r]);
  }

  it('integrated-gradients (gausslegendre, 64 steps): Σφ = p(x) − p(x°) within 1e-3', async () => {
    const target = Int32Array.from({ length: nRows }, (_, r) => r % 3);
    const s = await explain(task, 'integrated-gradients', x, nRows, target, { steps: 64, rule: 'gausslegendre' });
    const d = await deltas(target);
    let maxDelta = 0;
    for (let r = 0; r < nRows; r++) {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += s[r * n + i];
      expect(Math.abs(sum - d[r])).toBeLessThan(1e-3);
      maxDelta = Math.max(maxDelta, Math.abs(d[r]));
    }
    expect(maxDelta).toBeGreaterThan(0.05); // the check is not vacuous
  });

  it('smoothgrad with no noise equals signed saliency; random scores lie in [0, 1)', async () => {
    const target = Int32Array.from({ length: nRows }, (_, r) => r % 3);
    const a = await explain(task, 'smoothgrad', x, nRows, target, { noiseLevel: 0, samples: 3 });
    const b = await explain(task, 'saliency', x, nRows, target, { abs: false });
    for (let k = 0; k < a.length; k++) expect(a[k]).toBeCloseTo(b[k], 6);
    const c = await explain(task, 'smoothgrad', x, nRows, target);
    expect(Array.from(c)).not.toEqual(Array.from(a));
    const rnd = await explain(task, 'random', x, nRows, target);
    expect(rnd.every((v) => v >= 0 && v < 1)).toBe(true);
  });

  it('occlusion windows cover every feature, the last clipped at n', () => {
    expect(occlusionWindows(5, 3, 2)).toEqual([[0, 3], [2, 5]]);
    expect(occlusionWindows(5, 2, 2)).toEqual([[0, 2], [2, 4], [4, 5]]);
    expect(occlusionWindows(5, 1, 1)).toEqual([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]]);
    expect(occlusionWindows(3, 4, 1)).toEqual([[0, 3]]);
  });

  it('occlusion with window 1 equals feature-ablation', async () => {
    const target = Int32Array.from({ length: nRows }, (_, r) => (r + 1) % 3);
    const a = await explain(task, 'occlusion', x, nRows, target, { window: 1, stride: 1 });
    const b = await explain(task, 'feature-ablation', x, nRows, target);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(b.some((v) => Math.abs(v) > 1e-3)).toBe(true);
  });

  it('occlusion with a wider window averages the windows that cover a feature', async () => {
    const target = Int32Array.from({ length: nRows }, (_, r) => r % 3);
    const s = await explain(task, 'occlusion', x, nRows, target, { window: 3, stride: 2 });
    // windows over 5 features: [0,3) and [2,5); feature 2 is covered by both
    const fx = await task.model.predictTarget(x, nRows, target, 'probability');
    const removed = (a: number, b: number) => {
      const z = x.slice();
      for (let r = 0; r < nRows; r++) for (let j = a; j < b; j++) z[r * n + j] = 0;
      return task.model.predictTarget(z, nRows, target, 'probability');
    };
    const fa = await removed(0, 3);
    const fb = await removed(2, 5);
    for (let r = 0; r < nRows; r++) {
      const da = fx[r] - fa[r];
      const db = fx[r] - fb[r];
      const want = [da, da, (da + db) / 2, db, db];
      for (let j = 0; j < n; j++) expect(s[r * n + j]).toBeCloseTo(want[j], 6);
    }
  });
});
