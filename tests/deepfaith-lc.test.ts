/**
 * L_LC's subset sampling and its normalised variant: antithetic pairs are complements, 'exact'
 * enumerates every subset once, 'independent' keeps the historical draws, 'shapley' draws pairs from
 * the Shapley kernel, and the normalised loss equals the closed form on the min–max normalised
 * output. What the sampling makes L_LC's optimum: the Banzhaf values (independent draws) or the
 * Shapley values up to one constant per row (Shapley-kernel pairs), both computed here in closed
 * form from the model's Δ over all 2ⁿ subsets.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { lcSubsetCount, lcTargets, lossLC } from '../src/core/explainer/losses';
import { Seeder } from '../src/core/rng';
import { pearson } from '../src/core/metrics/correlation';
import { additiveTask, logisticTask, randomRows, useBackend } from './helpers/models';
import { fitSampling, lcOptimum } from '../src/core/job/report';

const W = [2, -1, 0.5, 1.5];
const n = W.length;
const nRows = 3;
const x = randomRows(nRows, n, 'lc');

describe('L_LC subsets', () => {
  beforeAll(() => useBackend('wasm'));

  it('antithetic: every odd subset is the complement of the one before; exact: all 2^n subsets, the same for every row', async () => {
    const task = additiveTask(W, 0.3, x, nRows);
    try {
      const rows = Int32Array.from([0, 1, 2]);
      const target = new Int32Array(nRows);
      const anti = await lcTargets(task, x, nRows, rows, target, 7, new Seeder(1), 'u', 'antithetic');
      expect(anti.k).toBe(8);
      for (let r = 0; r < nRows; r++)
        for (let j = 1; j < 8; j += 2)
          for (let i = 0; i < n; i++) expect(anti.masks[(r * 8 + j) * n + i]).toBe(1 - anti.masks[(r * 8 + j - 1) * n + i]);
      const exact = await lcTargets(task, x, nRows, rows, target, 7, new Seeder(1), 'u', 'exact');
      expect(exact.k).toBe(16);
      for (let r = 0; r < nRows; r++) {
        const seen = new Set<string>();
        for (let j = 0; j < 16; j++) seen.add(Array.from(exact.masks.subarray((r * 16 + j) * n, (r * 16 + j + 1) * n)).join(''));
        expect(seen.size).toBe(16);
        // additive raw model with a zero baseline: Δ(I) = Σ_{i∈I} w_i x_i exactly
        for (let j = 0; j < 16; j++) {
          let d = 0;
          for (let i = 0; i < n; i++) if ((j >> i) & 1) d += W[i] * x[r * n + i];
          expect(exact.delta[r * 16 + j]).toBeCloseTo(d, 5);
        }
      }
      const indep = await lcTargets(task, x, nRows, rows, target, 7, new Seeder(1), 'u');
      const indep2 = await lcTargets(task, x, nRows, rows, target, 7, new Seeder(1), 'u', 'independent');
      expect(Array.from(indep.masks)).toEqual(Array.from(indep2.masks));
      expect(() => lcSubsetCount('exact', 100, 13)).toThrow(/2\^13 subsets per sample; it is offered up to 12 features/);
    } finally {
      task.model.dispose();
    }
  });

  it('the normalised L_LC scores the subset sums of the min–max normalised output', async () => {
    const phi = [0.2, 0.9, 0.4, 0.6];
    // subsets of different sizes: normalising (an affine map per row) changes the sums by an offset ∝ |I|
    const masks = [[1, 0, 0, 1], [0, 1, 1, 1], [1, 0, 0, 0]];
    const delta = [0.3, -0.1, 0.5];
    const lo = Math.min(...phi);
    const hi = Math.max(...phi);
    const norm = phi.map((v) => (v - lo) / (hi - lo));
    const sums = (p: number[]) => masks.map((m) => m.reduce((a, z, i) => a + z * p[i], 0));
    const want = (p: number[]) => 0.5 - 0.5 * pearson(sums(p), delta);
    const [raw, nrm] = tf.tidy(() => {
      const P = tf.tensor2d([phi]);
      const M = tf.tensor3d([masks]);
      const D = tf.tensor2d([delta]);
      return [lossLC(P, M, D).dataSync()[0], lossLC(P, M, D, true).dataSync()[0]];
    });
    expect(raw).toBeCloseTo(want(phi), 5);
    expect(nrm).toBeCloseTo(want(norm), 5);
    expect(Math.abs(raw - nrm)).toBeGreaterThan(1e-5); // the two losses differ (beyond float32 noise)
  });

  it('shapley: complementary pairs whose sizes follow the Shapley kernel (P(s) ∝ 1/(s(n−s)), s = 1..n−1)', async () => {
    const task = additiveTask(W, 0.3, x, nRows);
    try {
      const rows = Int32Array.from([0, 1, 2]);
      const target = new Int32Array(nRows);
      const k = 3001;
      const sh = await lcTargets(task, x, nRows, rows, target, k, new Seeder(2), 'u', 'shapley');
      expect(sh.k).toBe(3002);
      expect(lcSubsetCount('shapley', 5, 4)).toBe(6);
      expect(() => lcSubsetCount('shapley', 100, 1)).toThrow(/Shapley kernel need at least 2 features; this task has 1/);
      // the report's fresh fit subsets aim where the training's L_LC does: the Shapley kernel for 'shapley', uniform otherwise
      expect(['independent', 'antithetic', 'exact', 'shapley'].map((m) => fitSampling(m as 'independent'))).toEqual(['independent', 'independent', 'independent', 'shapley']);
      const count = [0, 0, 0, 0, 0];
      for (let r = 0; r < nRows; r++)
        for (let j = 0; j < sh.k; j++) {
          const m = sh.masks.subarray((r * sh.k + j) * n, (r * sh.k + j + 1) * n);
          const size = m.reduce((a, v) => a + v, 0);
          count[size]++;
          if (j % 2 === 1) for (let i = 0; i < n; i++) expect(m[i]).toBe(1 - sh.masks[(r * sh.k + j - 1) * n + i]);
        }
      expect(count[0] + count[4]).toBe(0); // never the empty or the full subset
      // n = 4: sizes 1, 2, 3 with probabilities ∝ 1/3, 1/4, 1/3, i.e. 4/11, 3/11, 4/11 (pairs keep the symmetry exactly)
      const draws = nRows * sh.k;
      expect(count[1]).toBe(count[3]);
      const p2 = 3 / 11;
      const sd = Math.sqrt((p2 * (1 - p2)) / (draws / 2)); // half the draws are independent
      expect(Math.abs(count[2] / draws - p2)).toBeLessThan(4 * sd);
    } finally {
      task.model.dispose();
    }
  });

  it("the L_LC optimum is the Banzhaf value with uniform subsets (all 2ⁿ, or drawn) and the Shapley value (+ a constant per row) with Shapley-kernel subsets", async () => {
    // a steep logistic model: close to a threshold of w·x, far from additive, so Banzhaf and Shapley values differ
    const xw = randomRows(nRows, n, 'lc-logistic');
    const task = logisticTask(W.map((v) => 4 * v), 0.5, xw, nRows);
    try {
      const rows = Int32Array.from([0, 1, 2]);
      const target = new Int32Array(nRows).fill(1);
      // closed forms from Δ over all 2ⁿ subsets (exact: subset j removes feature i when bit i of j is set)
      const all = await lcTargets(task, xw, nRows, rows, target, 1, new Seeder(1), 'u', 'exact');
      const K = 2 ** n;
      const centred = (v: number[]) => {
        const m = v.reduce((a, b) => a + b, 0) / v.length;
        return v.map((t) => t - m);
      };
      const fact = (m: number): number => (m <= 1 ? 1 : m * fact(m - 1));
      const want = { banzhaf: [] as number[][], shapley: [] as number[][] };
      for (let r = 0; r < nRows; r++) {
        const delta = (mask: number) => all.delta[r * K + mask];
        const banzhaf: number[] = [];
        const shapley: number[] = [];
        for (let i = 0; i < n; i++) {
          let b = 0;
          let s = 0;
          for (let mask = 0; mask < K; mask++) {
            if ((mask >> i) & 1) continue; // I without i; removing i as well changes Δ by the marginal contribution of i to the kept set N \ I
            const marginal = delta(mask | (1 << i)) - delta(mask);
            b += marginal / (K / 2);
            const kept = n - 1 - [...Array(n).keys()].filter((j) => (mask >> j) & 1).length; // |S|, S = N \ I \ {i}
            s += ((fact(kept) * fact(n - kept - 1)) / fact(n)) * marginal;
          }
          banzhaf.push(b);
          shapley.push(s);
        }
        want.banzhaf.push(centred(banzhaf));
        want.shapley.push(centred(shapley));
      }
      const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((row, r) => row.map((v, i) => Math.abs(v - b[r][i]))));
      const scale = Math.max(...want.shapley.flat().map(Math.abs));
      // the test can tell the two apart
      expect(maxDiff(want.banzhaf, want.shapley)).toBeGreaterThan(0.05 * scale);
      const fitted = async (lc: { k: number; masks: Float32Array; delta: Float32Array }) => {
        const phi = await lcOptimum(lc, nRows, n);
        return Array.from({ length: nRows }, (_, r) => centred(Array.from(phi.subarray(r * n, (r + 1) * n))));
      };
      // over all 2ⁿ subsets, equally weighted, the fit is the Banzhaf value exactly (float32 Δ)
      expect(maxDiff(await fitted(all), want.banzhaf)).toBeLessThan(1e-4 * scale);
      // drawn subsets converge to it (antithetic: uniform draws and their complements) …
      const anti = await fitted(await lcTargets(task, xw, nRows, rows, target, 20000, new Seeder(4), 'u', 'antithetic'));
      // … and Shapley-kernel pairs to the Shapley value, not the Banzhaf value
      const kernel = await fitted(await lcTargets(task, xw, nRows, rows, target, 20000, new Seeder(4), 'u', 'shapley'));
      expect(maxDiff(anti, want.banzhaf)).toBeLessThan(0.01 * scale);
      expect(maxDiff(kernel, want.shapley)).toBeLessThan(0.01 * scale);
      expect(maxDiff(kernel, want.banzhaf)).toBeGreaterThan(0.05 * scale);
    } finally {
      task.model.dispose();
    }
  });
});
