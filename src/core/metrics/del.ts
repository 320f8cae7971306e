/**
 * DEL — deletion (↓). AUC (trapezoid at x = t/T) of p_c(x \ top_t) for t = 0..T.
 * Curve: p_c(x \ top_t).
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
    const read = planCurve(ctx, req, owner, 'removal', ordersOf(ctx, s, e).desc, p.stepSize, `desc|${e}`);
    return (ev) => {
      const { p: y } = read(ev);
      return { value: trapezoidAuc(y), curve: Float32Array.from(y) };
    };
  },
};

export const DEL: BatchedMetric<StepParams> = {
  id: 'DEL',
  label: 'Deletion',
  description: 'Area under p_c while the top features of π are removed, k at a time (lower is better).',
  direction: 'lower',
  defaults,
  params,
  info: { kind: 'curve', curve: { mode: 'removal', order: 'descending', stopsAtFlip: false, point: 'probability', value: 'auc' }, canBeNaN: false },
  paper: {},
  hasCurve: true,
  kernel,
  score: (...args) => scoreOne(DEL)(...args),
};
