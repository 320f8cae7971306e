/**
 * FE — faithfulness estimate (↑), per sample. Chunks G_t of k consecutive features of
 * π = argsort_desc(s) (t = 0..T−1, T = ⌈n/k⌉), each removed alone (not cumulatively);
 * FE = τ_pearson[(Σ_{i∈G_t} s_i)_t, (Δ(G_t))_t].
 */
import { pearson } from './correlation';
import { chunk, nSteps } from './curves';
import { delta, sumOver } from './effects';
import { ordersOf, scoreOne, type BatchedMetric, type MetricKernel } from './engine';
import type { ParamSchema } from '../params';

export interface FeParams {
  [key: string]: number;
  /** k: features per chunk. */
  stepSize: number;
}

export const defaults: FeParams = { stepSize: 1 };

export const params: ParamSchema<FeParams> = {
  stepSize: { type: 'int', min: 1, max: 'nFeatures', meaning: 'k: features per chunk of π, each chunk removed alone.' },
};

const kernel: MetricKernel<FeParams, null> = {
  prepareRow: () => null,
  planRow(ctx, s, e, p, _sh, req, owner) {
    const k = p.stepSize;
    const T = nSteps(ctx.nFeatures, k);
    const order = ordersOf(ctx, s, e).desc;
    const at = new Int32Array(T);
    const sums = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      const g = chunk(order, t, k);
      sums[t] = sumOver(s, g);
      at[t] = req.removal(ctx.x, ctx.x0, g, owner);
    }
    return (ev) => {
      const effects = new Float64Array(T);
      for (let t = 0; t < T; t++) effects[t] = delta(ctx.pClean, ev.p(at[t], ctx.c));
      return { value: pearson(sums, effects) };
    };
  },
};

export const FE: BatchedMetric<FeParams> = {
  id: 'FE',
  label: 'Faithfulness estimate',
  description: 'Pearson correlation between the saliency of each chunk of k features (in order of π) and the drop in p_c when that chunk alone is removed.',
  direction: 'higher',
  defaults,
  params,
  info: { kind: 'correlation', correlation: 'pearson', perturbation: 'chunk', canBeNaN: false },
  paper: {},
  hasCurve: false,
  kernel,
  score: (...args) => scoreOne(FE)(...args),
};
