/**
 * IROF (↑). 1 − AUC (trapezoid at x = t/T) of Δ⁻_ratio(top_t) = p_c(x \ top_t) / p_c(x) for
 * t = 0..T. The ratio is not clipped, so IROF may go below 0; it is NaN when p_c(x) = 0.
 * Curve: the ratios.
 */
import { argsortDesc, trapezoidAuc } from './curves';
import { preservationRatio } from './effects';
import { checkInt, planCurve, scoreOne, type BatchedMetric, type MetricKernel } from './engine';
import type { StepParams } from './rp';

export const defaults: StepParams = { stepSize: 1 };

const kernel: MetricKernel<StepParams, null> = {
  validate(p, n) {
    checkInt('IROF', 'stepSize', p.stepSize, 1, n);
  },
  prepareRow: () => null,
  planRow(ctx, s, e, p, _sh, req, owner) {
    const read = planCurve(ctx, req, owner, 'removal', argsortDesc(s), p.stepSize, `desc|${e}`);
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
  paper: {},
  hasCurve: true,
  kernel,
  score: (...args) => scoreOne(IROF)(...args),
};
