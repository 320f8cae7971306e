/**
 * MC — monotonicity correlation (↑). Chunks G_t of k features of argsort_asc(s), each removed
 * alone with K noise baselines b_1..b_K (each feature uniform in its reference min–max range;
 * drawn from seeder.rng('MC', rowIndex), shared by every explanation of the row);
 * v_t = mean_k (p_c(x \_k G_t) − p_c(x))² / p_c(x)² and MC = τ_spearman[(Σ_{i∈G_t} s_i)_t, (v_t)_t].
 * When p_c(x) = 0 the division is skipped (a common positive factor does not change Spearman).
 */
import { spearman } from './correlation';
import { chunk, nSteps } from './curves';
import { sumOver } from './effects';
import { ordersOf, scoreOne, type BatchedMetric, type MetricKernel } from './engine';
import type { ParamSchema } from '../params';

export interface McParams {
  [key: string]: number;
  /** k: features per chunk. */
  stepSize: number;
  /** K: noise baselines per chunk. */
  nBaselines: number;
}

export const defaults: McParams = { stepSize: 1, nBaselines: 10 };

export const params: ParamSchema<McParams> = {
  stepSize: { type: 'int', min: 1, max: 'nFeatures', meaning: 'k: features per chunk of argsort_asc(s).' },
  nBaselines: { type: 'int', min: 1, max: 1000, meaning: 'K: noise baselines per chunk.' },
};

const kernel: MetricKernel<McParams, Float32Array[]> = {
  prepareRow(ctx, p) {
    const rng = ctx.seeder.rng('MC', ctx.rowIndex);
    return Array.from({ length: p.nBaselines }, () => ctx.task.space.noiseBaseline(rng)); // K × [n]
  },
  planRow(ctx, s, e, p, baselines, req, owner) {
    const k = p.stepSize;
    const K = p.nBaselines;
    const T = nSteps(ctx.nFeatures, k);
    const order = ordersOf(ctx, s, e).asc;
    const at = new Int32Array(T * K); // [T, K] input indices
    const sums = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      const g = chunk(order, t, k);
      sums[t] = sumOver(s, g);
      for (let b = 0; b < K; b++) at[t * K + b] = req.removal(ctx.x, baselines[b], g, owner);
    }
    return (ev) => {
      const p0 = ctx.pClean;
      const scale = p0 === 0 ? 1 : p0 * p0;
      const v = new Float64Array(T);
      for (let t = 0; t < T; t++) {
        let acc = 0;
        for (let b = 0; b < K; b++) acc += (ev.p(at[t * K + b], ctx.c) - p0) ** 2;
        v[t] = acc / K / scale;
      }
      return { value: spearman(sums, v) };
    };
  },
};

export const MC: BatchedMetric<McParams> = {
  id: 'MC',
  label: 'Monotonicity correlation',
  description: 'Spearman correlation between the saliency of each chunk (ascending order of s) and the mean squared change of p_c when it is replaced by K noise baselines.',
  direction: 'higher',
  defaults,
  params,
  info: { kind: 'correlation', correlation: 'spearman', perturbation: 'chunk with a noise baseline', groupParam: 'nBaselines', baseline: 'noise', canBeNaN: false },
  paper: {},
  hasCurve: false,
  kernel,
  score: (...args) => scoreOne(MC)(...args),
};
