import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { quantile } from 'd3-array';
import { cosine, dedup } from '../src/core/supervision/dedup';
import { filterSample } from '../src/core/supervision/filter';
import { buildSupervision, minMaxNormalize, runPriors, scoreAll, splitSamples, supervisionOptionsFor, type StoredScores } from '../src/core/supervision/supervision';
import { Seeder } from '../src/core/rng';
import { batchOf, mlpTask, randomRows, useBackend } from './helpers/models';
import { chooseTargets } from '../src/core/task/task';

const F = (v: number[]) => Float32Array.from(v);

describe('normalisation, dedup, filter (pure)', () => {
  it('min–max normalises per sample; a constant row becomes zeros', () => {
    const out = minMaxNormalize(F([2, 4, 3, 5, 5, 5]), 2, 3);
    expect(Array.from(out)).toEqual([0, 1, 0.5, 0, 0, 0]);
  });

  it('cosine with an all-zero vector is 0', () => {
    expect(cosine([0, 0, 0], [1, 2, 3])).toBe(0);
    expect(cosine([1, 0], [1, 1])).toBeCloseTo(Math.SQRT1_2, 12);
  });

  it('dedup keeps greedily in method order and names the kept explanation it resembles', () => {
    // one sample, n = 3: e1 ≈ e0 (cos 0.9939), e2 orthogonal, e3 all zero
    const e = [F([1, 0, 0]), F([0.9, 0.1, 0]), F([0, 1, 0]), F([0, 0, 0])];
    const fates = dedup(e, 1, 3, 0.9)[0];
    expect(fates[0]).toEqual({ kept: true });
    expect(fates[1].kept).toBe(false);
    if (!fates[1].kept) {
      expect(fates[1].similarTo).toBe(0);
      expect(fates[1].cosine).toBeCloseTo(0.9 / Math.sqrt(0.82), 6);
    }
    expect(fates[2]).toEqual({ kept: true });
    expect(fates[3]).toEqual({ kept: true });
    // a higher δ keeps all
    expect(dedup(e, 1, 3, 0.995)[0].every((f) => f.kept)).toBe(true);
  });

  it('greedy dedup is not transitive: a~b, b~c, a≁c keeps a and c', () => {
    const a = F([1, 0, 0]);
    const b = F([1, 1, 0]); // cos(a,b) = 0.707
    const c = F([0, 1, 0]); // cos(b,c) = 0.707, cos(a,c) = 0
    const fates = dedup([a, b, c], 1, 3, 0.7)[0];
    expect(fates.map((f) => f.kept)).toEqual([true, false, true]);
  });

  it('filter uses numpy-linear p-quantiles, (1−p) for ↓ metrics, and NaN fails', () => {
    // metric 0 (↑): values 1,2,3,4 → q(0.25) = 1.75; metric 1 (↓): 0.1,0.4,0.2,0.3 → q(0.75) = 0.325
    const scores = [
      [1, 0.1],
      [2, 0.4],
      [3, 0.2],
      [4, 0.3],
      [NaN, 0.0],
    ];
    const f = filterSample(scores, [true, true, true, true, true], ['higher', 'lower'], 0.25);
    expect(f.thresholds[0]).toBeCloseTo(1.75, 12);
    expect(quantile([0.0, 0.1, 0.2, 0.3, 0.4], 0.75)).toBeCloseTo(0.3, 12);
    expect(f.thresholds[1]).toBeCloseTo(0.3, 12); // the NaN row's other score still counts
    expect(f.failures[0]).toEqual([{ metric: 0, value: 1, threshold: f.thresholds[0] }]);
    expect(f.failures[1]).toEqual([{ metric: 1, value: 0.4, threshold: f.thresholds[1] }]);
    expect(f.failures[2]).toEqual([]);
    expect(f.failures[3]).toEqual([]);
    expect(f.failures[4]!.map((x) => x.metric)).toEqual([0]);
    // non-candidates take no part in the thresholds
    const g = filterSample(scores.slice(0, 4), [false, true, true, true], ['higher', 'lower'], 0.25);
    expect(g.failures[0]).toBeNull();
    expect(g.thresholds[0]).toBeCloseTo(2.5, 12);
  });

  it('builds Z with a per-sample record and counts; δ and p change without re-scoring', () => {
    // 3 rows, n = 3, 3 methods; metric FC (↑) and DEL (↓)
    const x = F([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const e0 = F([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    const e1 = F([0.95, 0.05, 0, 0, 0, 1, 1, 0, 0]); // row 0 ≈ e0
    const e2 = F([0, 0, 1, 1, 0, 0, 0, 1, 0]);
    const scores: StoredScores = {
      metricIds: ['FC', 'DEL'],
      directions: ['higher', 'lower'],
      perSample: [
        [F([0.9, 0.1, 0.5]), F([0.1, 0.9, 0.5])],
        [F([0.8, 0.5, 0.5]), F([0.2, 0.5, 0.5])],
        [F([0.1, 0.9, 0.5]), F([0.9, 0.1, 0.5])],
      ],
      modelCalls: [],
    };
    const input = { x, n: 3, rowIndex: Int32Array.from([10, 11, 12]), use: [0, 1, 2], methodIds: ['a', 'b', 'c'], explanations: [e0, e1, e2], scores };
    const z = buildSupervision(input, { delta: 0.9, p: 0.5, dedup: true, filter: true });
    // row 0: b similar to a; a vs c: a passes both (FC 0.9 ≥ 0.5, DEL 0.1 ≤ 0.5), c fails both
    expect(z.record[0].fates[0]).toEqual({ method: 'a', fate: 'kept' });
    expect(z.record[0].fates[1]).toMatchObject({ method: 'b', fate: 'similar', similarTo: 'a' });
    expect(z.record[0].fates[2]).toMatchObject({ method: 'c', fate: 'filtered' });
    // row 1: all distinct; FC [0.1,0.5,0.9] median 0.5 → a fails FC; DEL [0.9,0.5,0.1] median 0.5 → a fails DEL
    expect(z.record[1].fates.map((f) => f.fate)).toEqual(['filtered', 'kept', 'kept']);
    // row 2: all ties → everything passes
    expect(z.record[2].nKept).toBe(3);
    expect(z.counts).toEqual({ samples: 3, total: 9, afterDedup: 8, afterFilter: 6, samplesWithoutSurvivor: 0 });
    expect(z.nPairs).toBe(6);
    expect(Array.from(z.pairRow)).toEqual([10, 11, 11, 12, 12, 12]);
    expect(Array.from(z.x.subarray(0, 3))).toEqual([1, 2, 3]);
    expect(Array.from(z.s.subarray(0, 3))).toEqual([1, 0, 0]);
    expect(Array.from(z.s.subarray(3, 6))).toEqual([0, 0, 1]); // row 1, method b
    // ablation options and a strict p: a sample with no survivor is counted
    const noFilter = buildSupervision(input, supervisionOptionsFor('dedup-only', 0.9, 0.5));
    expect(noFilter.nPairs).toBe(8);
    const noDedup = buildSupervision(input, supervisionOptionsFor('filter-only', 0.9, 0.5));
    expect(noDedup.counts.afterDedup).toBe(9);
    // p = 1 asks for the best score on every metric at once: on a row where FC prefers a and DEL prefers c, nothing survives
    const conflicting: StoredScores = { ...scores, perSample: [[F([0.9, 0, 0]), F([0.5, 0, 0])], [F([0.5, 0, 0]), F([0.5, 0, 0])], [F([0.1, 0, 0]), F([0.1, 0, 0])]] };
    const only = buildSupervision({ ...input, scores: conflicting, use: [0] }, { delta: 0.9, p: 1, dedup: false, filter: true });
    expect(only.counts.samplesWithoutSurvivor).toBe(1);
    expect(only.nPairs).toBe(0);
  });

  it('the split is 80/20, disjoint, and independent of row order and slicing', () => {
    const seeder = new Seeder(4);
    const rows = Int32Array.from({ length: 50 }, (_, i) => i + 100);
    const { train, test } = splitSamples(rows, 0.2, seeder);
    expect(test.length).toBe(10);
    expect(train.length).toBe(40);
    expect(new Set([...train, ...test]).size).toBe(50);
    const testRows = new Set(test.map((p) => rows[p]));
    const reversed = Int32Array.from(rows).reverse();
    const r2 = splitSamples(reversed, 0.2, seeder);
    expect(new Set(r2.test.map((p) => reversed[p]))).toEqual(testRows);
    expect(new Set(splitSamples(rows, 0.2, new Seeder(5)).test.map((p) => rows[p]))).not.toEqual(testRows);
  });
});

describe('priors through the registries', () => {
  beforeAll(() => useBackend('wasm'));

  it('runs the requested methods, records skipped ones with a reason, normalises, and scores all on every metric', async () => {
    const x = randomRows(6, 4, 'sup');
    const task = mlpTask(4, 3, x, 6);
    try {
      const batch = batchOf(x, 6);
      const target = await chooseTargets(task, batch, 'predicted');
      const seeder = new Seeder(0);
      const before = tf.memory().numTensors;
      const priors = await runPriors(task, batch, target, [{ id: 'saliency' }, { id: 'no-such-method' }, { id: 'occlusion' }], seeder);
      expect(priors.ranIds).toEqual(['saliency', 'occlusion']);
      const skipped = priors.methods.find((m) => m.id === 'no-such-method')!;
      expect(skipped.ran).toBe(false);
      expect(skipped.reason).toMatch(/not a registered/);
      for (const e of priors.explanations) {
        for (let r = 0; r < 6; r++) {
          const row = Array.from(e.subarray(r * 4, r * 4 + 4));
          expect(Math.min(...row)).toBe(0);
          expect(Math.max(...row) === 1 || Math.max(...row) === 0).toBe(true);
        }
      }
      const scores = await scoreAll(task, batch, target, priors.explanations, [{ id: 'FC' }, { id: 'DEL' }], seeder);
      expect(scores.directions).toEqual(['higher', 'lower']);
      expect(scores.perSample.length).toBe(2);
      expect(scores.perSample[0][1].length).toBe(6);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      task.model.dispose();
    }
  });
});
