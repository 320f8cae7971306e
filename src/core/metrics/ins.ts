/**
 * INS — insertion (↑). AUC (trapezoid at x = t/T) of p_c(x° ∪ top_t) for t = 0..T: start from the
 * all-baseline input and put back the top features of π, k at a time. Curve: p_c(x° ∪ top_t).
 */
import { trapezoidAuc } from './curves';
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
    const read = planCurve(ctx, req, owner, 'insertion', ordersOf(ctx, s, e).desc, p.stepSize, `desc|${e}`);
    return (ev) => {
      const { p: y } = read(ev);
      return { value: trapezoidAuc(y), curve: Float32Array.from(y) };
    };
  },
};

export const INS: BatchedMetric<StepParams> = {
  id: 'INS',
  label: 'Insertion',
  description: 'Area under p_c while the top features of π are put back into the baseline input, k at a time.',
  direction: 'higher',
  defaults,
  params,
  info: { kind: 'curve', curve: { mode: 'insertion', order: 'descending', stopsAtFlip: false, point: 'probability', value: 'auc' }, canBeNaN: false },
  paper: {},
  hasCurve: true,
  kernel,
  score: (...args) => scoreOne(INS)(...args),
};
