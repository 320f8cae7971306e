/**
 * IROF (↑). 1 − AUC (trapezoid at x = t/T) of Δ⁻_ratio(top_t) = p_c(x \ top_t) / p_c(x) for
 * t = 0..T. The ratio is not clipped, so IROF may go below 0; it is NaN when p_c(x) = 0.
 * Curve: the ratios.
 */
import { trapezoidAuc } from './curves';
import { preservationRatio } from './effects';
import { ordersOf, planCurve, scoreOne, type BatchedMetric, type MetricKernel } from './engine';
import type { StepParams } from './rp';
import type { ParamSchema } from '../params';

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
      const ratio = Float64Array.from(y, (v) => preservationRatio(ctx.pClean, v));
      return { value: 1 - trapezoidAuc(ratio), curve: Float32Array.from(ratio) };
    };
  },
};

export const IROF: BatchedMetric<StepParams> = {
  id: 'IROF',
  label: 'IROF',
  description: '1 − area under p_c(x \\ top_t) / p_c(x) while the top features of π are removed, k at a time.',
  direction: 'higher',
  defaults,
  params,
  info: { kind: 'curve', curve: { mode: 'removal', order: 'descending', stopsAtFlip: false, point: 'ratio', value: 'one-minus-auc' }, canBeNaN: true },
  paper: {},
  hasCurve: true,
  kernel,
  score: (...args) => scoreOne(IROF)(...args),
};
