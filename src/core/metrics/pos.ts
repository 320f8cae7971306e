/**
 * POS — positive perturbation (↓). Remove features in descending order of s (top_t along π);
 * AUC of p_c(x \ top_t) up to the first step where the predicted class leaves c
 * (see stopCurve.ts). NaN on rows whose clean prediction is not c.
 */
import { scoreOne, type BatchedMetric } from './engine';
import type { StepParams } from './rp';
import { stopCurveKernel } from './stopCurve';
import type { ParamSchema } from '../params';

export const defaults: StepParams = { stepSize: 1 };

export const params: ParamSchema<StepParams> = {
  stepSize: { type: 'int', min: 1, max: 'nFeatures', meaning: 'k: features removed (or inserted) per step.' },
};

export const POS: BatchedMetric<StepParams> = {
  id: 'POS',
  label: 'Positive perturbation',
  description: 'Area under p_c while the most important features are removed, k at a time, until the predicted class changes (lower is better).',
  direction: 'lower',
  defaults,
  params,
  info: { kind: 'curve', curve: { mode: 'removal', order: 'descending', stopsAtFlip: true, point: 'probability', value: 'auc' }, canBeNaN: true },
  paper: {},
  hasCurve: true,
  kernel: stopCurveKernel('POS'),
  score: (...args) => scoreOne(POS)(...args),
};
