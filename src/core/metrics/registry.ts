import type { FaithfulnessMetric } from './types';

/** The ten metrics, in METRICS.md order. */
export const METRICS: FaithfulnessMetric<any>[] = [];

export function getMetric(id: string): FaithfulnessMetric<any> | undefined {
  return METRICS.find((m) => m.id === id);
}
