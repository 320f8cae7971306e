/**
 * INF — infidelity as a correlation (↑). N random subsets per sample, each feature included
 * independently with probability ½ (draws from seeder.rng('INF', rowIndex), subset by subset,
 * feature by feature: feature i is in I_j when uniform() < ½);
 * INF = τ_pearson[(Σ_{i∈I_j} s_i)_j, (Δ(I_j))_j]. Subsets and Δ are shared by all explanations.
 */
import { pearson } from './correlation';
import { delta } from './effects';
import { scoreOne, type BatchedMetric, type MetricKernel } from './engine';
import type { ParamSchema } from '../params';

export interface InfParams {
  [key: string]: number;
  /** N: number of random subsets per sample. */
  nSubsets: number;
}

export const defaults: InfParams = { nSubsets: 100 };

export const params: ParamSchema<InfParams> = {
  nSubsets: { type: 'int', min: 2, max: 100000, meaning: 'N: random masks per sample (each feature removed with probability ½).' },
};

interface InfShared {
  /** [N, n] 1 = feature removed in subset j. */
  masks: Uint8Array;
  /** Input index of subset j's perturbation. */
  at: Int32Array;
}

const kernel: MetricKernel<InfParams, InfShared> = {
  prepareRow(ctx, p, req, owner) {
    const n = ctx.nFeatures;
    const N = p.nSubsets;
    const rng = ctx.seeder.rng('INF', ctx.rowIndex);
    const masks = new Uint8Array(N * n); // [N, n]
    const at = new Int32Array(N);
    const mask = new Uint8Array(n); // one mask, reused by every draw
    for (let j = 0; j < N; j++) {
      for (let i = 0; i < n; i++) mask[i] = rng.uniform() < 0.5 ? 1 : 0;
      masks.set(mask, j * n);
      at[j] = req.masked(ctx.x, ctx.x0, mask, owner);
    }
    return { masks, at };
  },
  planRow(ctx, s, _e, p, sh) {
    return (ev) => {
      const n = ctx.nFeatures;
      const N = p.nSubsets;
      const sums = new Float64Array(N);
      const effects = new Float64Array(N);
      for (let j = 0; j < N; j++) {
        let acc = 0;
        for (let i = 0; i < n; i++) if (sh.masks[j * n + i]) acc += s[i];
        sums[j] = acc;
        effects[j] = delta(ctx.pClean, ev.p(sh.at[j], ctx.c));
      }
      return { value: pearson(sums, effects) };
    };
  },
};

export const INF: BatchedMetric<InfParams> = {
  id: 'INF',
  label: 'Infidelity (as correlation)',
  description: 'Pearson correlation between the saliency sum of N random subsets (each feature in with probability ½) and the drop in p_c when they are removed.',
  direction: 'higher',
  defaults,
  params,
  info: { kind: 'correlation', correlation: 'pearson', perturbation: 'random mask', canBeNaN: false },
  paper: { nSubsets: 30 },
  hasCurve: false,
  kernel,
  score: (...args) => scoreOne(INF)(...args),
};
