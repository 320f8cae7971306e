/**
 * FC — faithfulness correlation (↑). N random subsets I_j of size m per sample, each drawn
 * without replacement within itself from seeder.rng('FC', rowIndex);
 * FC = τ_pearson[(Σ_{i∈I_j} s_i)_j, (Δ(I_j))_j]. The subsets and their Δ do not depend on s:
 * every explanation of a row sees the same subsets, evaluated once.
 */
import { pearson } from './correlation';
import { delta, sumOver } from './effects';
import { scoreOne, type BatchedMetric, type MetricKernel } from './engine';
import type { ParamSchema } from '../params';

export interface FcParams {
  [key: string]: number;
  /** N: number of random subsets per sample. */
  nSubsets: number;
  /** m: features per subset; 0 = max(1, ⌊n/16 + ½⌋). */
  subsetSize: number;
}

export const defaults: FcParams = { nSubsets: 100, subsetSize: 0 };

export const params: ParamSchema<FcParams> = {
  nSubsets: { type: 'int', min: 2, max: 100000, meaning: 'N: random subsets per sample.' },
  subsetSize: { type: 'int', min: 0, max: 'nFeatures', meaning: 'm: features per subset.', note: '0 = max(1, ⌊n/16 + ½⌋).' },
};

/** m for n features: the param, or max(1, ⌊n/16 + ½⌋) when it is 0. */
export function fcSubsetSize(params: FcParams, n: number): number {
  return params.subsetSize > 0 ? params.subsetSize : Math.max(1, Math.floor(n / 16 + 0.5));
}

interface FcShared {
  /** [N, m] subset indices. */
  subsets: Int32Array;
  m: number;
  /** First input of the row's N perturbations. */
  start: number;
}

const kernel: MetricKernel<FcParams, FcShared> = {
  prepareRow(ctx, p, req, owner) {
    const n = ctx.nFeatures;
    const m = fcSubsetSize(p, n);
    const N = p.nSubsets;
    const rng = ctx.seeder.rng('FC', ctx.rowIndex);
    const subsets = new Int32Array(N * m); // [N, m]
    for (let j = 0; j < N; j++) subsets.set(rng.sampleWithoutReplacement(n, m), j * m);
    const start = req.reserve(N, owner);
    for (let j = 0; j < N; j++) req.writeRemoval(start + j, ctx.x, ctx.x0, subsets.subarray(j * m, (j + 1) * m));
    return { subsets, m, start };
  },
  planRow(ctx, s, _e, p, sh) {
    return (ev) => {
      const N = p.nSubsets;
      const sums = new Float64Array(N);
      const effects = new Float64Array(N);
      for (let j = 0; j < N; j++) {
        sums[j] = sumOver(s, sh.subsets.subarray(j * sh.m, (j + 1) * sh.m));
        effects[j] = delta(ctx.pClean, ev.p(sh.start + j, ctx.c));
      }
      return { value: pearson(sums, effects) };
    };
  },
};

export const FC: BatchedMetric<FcParams> = {
  id: 'FC',
  label: 'Faithfulness correlation',
  description: 'Pearson correlation between the saliency sum of N random feature subsets and the drop in p_c when they are removed.',
  direction: 'higher',
  defaults,
  params,
  info: { kind: 'correlation', correlation: 'pearson', perturbation: 'random subset', canBeNaN: false },
  paper: { nSubsets: 30, subsetSize: 1 },
  hasCurve: false,
  kernel,
  score: (...args) => scoreOne(FC)(...args),
};
