import type { Params } from '../attribution/types';
import type { Seeder } from '../rng';
import type { Batch, Progress, Task } from '../task/task';

export const METRIC_IDS = ['FC', 'FE', 'MC', 'INF', 'RP', 'INS', 'DEL', 'NEG', 'POS', 'IROF'] as const;
export type MetricId = (typeof METRIC_IDS)[number];

export interface MetricResult {
  /** [nRows] one value per sample (NaN where undefined, e.g. NEG with a misclassified label target). */
  perSample: Float32Array;
  /** One curve per sample, for metrics that have one (its points at x = t/T). */
  curves?: Float32Array[];
  /** Rows evaluated by the model (each perturbed input counts one). */
  modelCalls: number;
}

export interface FaithfulnessMetric<P extends Params = Params> {
  id: MetricId;
  label: string;
  /** One line for the UI and `--help`. */
  description: string;
  direction: 'higher' | 'lower';
  /** The ONLY place this metric's defaults live. */
  defaults: P;
  /** Optional values of the paper's preset (Tables 11–12) where they differ from `defaults`. */
  paper?: Partial<P>;
  /** s: [nRows, nFeatures] explanations as produced (no abs, no normalisation). */
  score(task: Task, batch: Batch, s: Float32Array, target: Int32Array, params: P, seeder: Seeder, onProgress?: Progress, signal?: AbortSignal): Promise<MetricResult>;
}
