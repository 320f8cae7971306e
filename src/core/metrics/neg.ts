/**
 * NEG — negative perturbation (↑). Remove features in ascending order of s (bottom_t: the first
 * min(t·k, n) of the stable argsort_asc(s)); AUC of p_c(x \ bottom_t) up to the first step where
 * the predicted class leaves c (see stopCurve.ts). NaN on rows whose clean prediction is not c.
 */
import { scoreOne, type BatchedMetric } from './engine';
import type { StepParams } from './rp';
import { stopCurveKernel } from './stopCurve';
import type { ParamSchema } from '../params';

export const defaults: StepParams = { stepSize: 1 };

export const params: ParamSchema<StepParams> = {
  stepSize: { type: 'int', min: 1, max: 'nFeatures', meaning: 'k: features removed (or inserted) per step.' },
};

export const NEG: BatchedMetric<StepParams> = {
  id: 'NEG',
  label: 'Negative perturbation',
  description: 'Area under p_c while the least important features are removed, k at a time, until the predicted class changes.',
  direction: 'higher',
  defaults,
  params,
  info: { kind: 'curve', curve: { mode: 'removal', order: 'ascending', stopsAtFlip: true, point: 'probability', value: 'auc' }, canBeNaN: true },
  paper: {},
  hasCurve: true,
  kernel: stopCurveKernel('NEG'),
  score: (...args) => scoreOne(NEG)(...args),
};
