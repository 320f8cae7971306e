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

/** The ten metrics, in METRICS.md order. */
export const METRICS: FaithfulnessMetric<any>[] = [FC, FE, MC, INF, RP, INS, DEL, NEG, POS, IROF];

export function getMetric(id: string): FaithfulnessMetric<any> | undefined {
  return METRICS.find((m) => m.id === id);
}
