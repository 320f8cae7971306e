/**
 * L_LC's subset sampling and its normalised variant: antithetic pairs are complements, 'exact'
 * enumerates every subset once, 'independent' keeps the historical draws, and the normalised loss
 * equals the closed form on the min–max normalised output.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { lcSubsetCount, lcTargets, lossLC } from '../src/core/explainer/losses';
import { Seeder } from '../src/core/rng';
import { pearson } from '../src/core/metrics/correlation';
import { additiveTask, randomRows, useBackend } from './helpers/models';

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
});
