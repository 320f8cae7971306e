/**
 * The metrics beyond the ten, in the order `--help` and the docs list them: the F-Fidelity family
 * (FFID±, then its baselines RFID± and FID±) and the FEI-inspired internal metrics (AD-INS, AD-DEL).
 * Registered beside the ten by metrics/registry.ts (`EXTRA_METRICS`; `getMetric` finds them too).
 */
import { FIDELITY_METRICS } from './ffid';
import { INTERNAL_METRICS } from './internal';
import type { ExtraMetric } from './types';

export const EXTRA_METRIC_LIST: ExtraMetric<any>[] = [...FIDELITY_METRICS, ...INTERNAL_METRICS];

export function getExtraMetric(id: string): ExtraMetric<any> | undefined {
  return EXTRA_METRIC_LIST.find((m) => m.id === id);
}

/** Whether a registered metric scores many explanations in shared batches (the extras do). */
export function hasScoreMany(m: unknown): m is ExtraMetric<any> {
  return typeof (m as ExtraMetric<any>)?.scoreMany === 'function';
}
