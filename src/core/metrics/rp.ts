/**
 * RP — region perturbation, AOPC (↑). RP = 1/(T+1) · Σ_{t=0..T} Δ(top_t), top_t the first
 * min(t·k, n) features of π = argsort_desc(s), removed cumulatively. Curve: Δ(top_t), t = 0..T.
 */
import { delta } from './effects';
import { ordersOf, planCurve, scoreOne, type BatchedMetric, type MetricKernel } from './engine';
import type { ParamSchema } from '../params';

export interface StepParams {
  [key: string]: number;
  /** k: features per step. */
  stepSize: number;
}

export const defaults: StepParams = { stepSize: 1 };

export const params: ParamSchema<StepParams> = {
  stepSize: { type: 'int', min: 1, max: 'nFeatures', meaning: 'k: features removed (or inserted) per step.' },
};

const kernel: MetricKernel<StepParams, null> = {
  prepareRow: () => null,
  planRow(ctx, s, e, p, _sh, req, owner) {
    const read = planCurve(ctx, req, owner, 'removal', ordersOf(ctx, s, e).desc, p.stepSize, `desc|${e}`);
    return (ev) => {
      const { p: y } = read(ev);
      const curve = Float32Array.from(y, (v) => delta(ctx.pClean, v));
      let acc = 0;
      for (const v of y) acc += delta(ctx.pClean, v);
      return { value: acc / y.length, curve };
    };
  },
};

export const RP: BatchedMetric<StepParams> = {
  id: 'RP',
  label: 'Region perturbation (AOPC)',
  description: 'Mean drop of p_c over the steps t = 0..T of removing the top features of π, k at a time.',
  direction: 'higher',
  defaults,
  params,
  info: { kind: 'curve', curve: { mode: 'removal', order: 'descending', stopsAtFlip: false, point: 'delta', value: 'mean' }, canBeNaN: false },
  paper: {},
  hasCurve: true,
  kernel,
  score: (...args) => scoreOne(RP)(...args),
};
