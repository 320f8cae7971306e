/**
 * FC — faithfulness correlation (↑). N random subsets I_j of size m per sample, each drawn
 * without replacement within itself from seeder.rng('FC', rowIndex);
 * FC = τ_pearson[(Σ_{i∈I_j} s_i)_j, (Δ(I_j))_j]. The subsets and their Δ do not depend on s:
 * every explanation of a row sees the same subsets, evaluated once.
 */
import { pearson } from './correlation';
import { delta } from './effects';
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
  /** Input index of subset j's perturbation. */
  at: Int32Array;
}

const kernel: MetricKernel<FcParams, FcShared> = {
  prepareRow(ctx, p, req, owner) {
    const n = ctx.nFeatures;
    const m = fcSubsetSize(p, n);
    const N = p.nSubsets;
    const rng = ctx.seeder.rng('FC', ctx.rowIndex);
    const subsets = new Int32Array(N * m); // [N, m]
    const at = new Int32Array(N);
    const draw = new Int32Array(m); // one subset, reused by every draw
    for (let j = 0; j < N; j++) {
      rng.sampleInto(n, m, draw, 0);
      subsets.set(draw, j * m);
      at[j] = req.removal(ctx.x, ctx.x0, draw, owner);
    }
    return { subsets, m, at };
  },
  planRow(ctx, s, _e, p, sh) {
    return (ev) => {
      const N = p.nSubsets;
      const m = sh.m;
      const sums = new Float64Array(N);
      const effects = new Float64Array(N);
      for (let j = 0; j < N; j++) {
        let acc = 0;
        for (let k = j * m; k < (j + 1) * m; k++) acc += s[sh.subsets[k]];
        sums[j] = acc;
        effects[j] = delta(ctx.pClean, ev.p(sh.at[j], ctx.c));
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
