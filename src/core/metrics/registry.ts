import { DEL } from './del';
import { FC } from './fc';
import { FE } from './fe';
import { INF } from './inf';
import { INS } from './ins';
import { IROF } from './irof';
import { MC } from './mc';
import { NEG } from './neg';
import { POS } from './pos';
import { RP } from './rp';
import type { FaithfulnessMetric } from './types';
import { EXTRA_METRIC_LIST } from '../ffidelity/metrics';

/** The ten metrics, in METRICS.md order. */
export const METRICS: FaithfulnessMetric<any>[] = [FC, FE, MC, INF, RP, INS, DEL, NEG, POS, IROF];

// --- Beyond the ten (src/core/ffidelity/): F-Fidelity FFID±, its baselines RFID± and FID±,
// the FEI-inspired AD-INS/AD-DEL. Not in METRICS (so `metrics: 'all'`, the studio's list and every
// loop over the ten are unchanged); `getMetric` finds them, so jobs, scoreExplanations (as plug-ins
// through `score`), the report and the CLI take them by id.
export const EXTRA_METRICS: FaithfulnessMetric<any>[] = EXTRA_METRIC_LIST as unknown as FaithfulnessMetric<any>[];

export function getMetric(id: string): FaithfulnessMetric<any> | undefined {
  return METRICS.find((m) => m.id === id) ?? EXTRA_METRICS.find((m) => m.id === id);
}
