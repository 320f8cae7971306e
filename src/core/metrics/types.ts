import type { ParamSchema, Params } from '../params';
import type { Seeder } from '../rng';
import type { Batch, Progress, Task } from '../task/task';

export const METRIC_IDS = ['FC', 'FE', 'MC', 'INF', 'RP', 'INS', 'DEL', 'NEG', 'POS', 'IROF'] as const;
export type MetricId = (typeof METRIC_IDS)[number];

export interface MetricResult {
  /** [nRows] one value per sample (NaN where undefined, e.g. NEG with a misclassified label target). */
  perSample: Float32Array;
  /** One curve per sample, for metrics that have one (its points at x = t/T). */
  curves?: Float32Array[];
  /**
   * Rows evaluated by the model for this result (each perturbed input counts one). In the batched
   * engine each distinct input is counted once, under the first (explanation, metric) that needed
   * it, so the counts of one `scoreExplanations` call add up to the rows it sent.
   */
  modelCalls: number;
  /**
   * Batched engine: rows this (explanation, metric) laid out before inputs were memoised (shared
   * rows counted once: see engine.ts). Their sum is what the engine would send without the memo
   * (and what estimate.ts counts); `modelCalls` ≤ it. Absent for plug-in metrics.
   */
  rowsRequested?: number;
}

/**
 * What kind of metric it is (Quantus-style metadata): the inspector, the trace replay, the teaching
 * texts and the Evaluate panel read this instead of keeping lists of metric ids.
 */
export interface MetricInfo {
  /** 'correlation': a correlation over perturbations; 'curve': a value from a curve over t = 0..T. */
  kind: 'correlation' | 'curve';
  /** Correlation metrics: the τ used. */
  correlation?: 'pearson' | 'spearman';
  /** What one perturbation of a correlation metric is, in words for the inspector ('random subset', 'chunk', …). */
  perturbation?: string;
  /** Correlation metrics with several perturbations per point: the parameter giving their number (MC: nBaselines). */
  groupParam?: string;
  /** The baseline its perturbations use when it is not the task's ('noise' for MC). */
  baseline?: 'noise';
  /** Curve metrics: removal (x \ prefix_t) or insertion (x° ∪ prefix_t), along π (descending) or argsort_asc (ascending). */
  curve?: {
    mode: 'removal' | 'insertion';
    order: 'descending' | 'ascending';
    /** NEG/POS: the curve stops at the first step where the predicted class flips. */
    stopsAtFlip: boolean;
    /** What each point is: p_c, Δ = p_c(x) − p_c(·), or the ratio p_c(·)/p_c(x). */
    point: 'probability' | 'delta' | 'ratio';
    /** How the points give the value: trapezoid AUC, their mean (AOPC), or 1 − AUC. */
    value: 'auc' | 'mean' | 'one-minus-auc';
  };
  /** Whether a per-sample value can be NaN (counted and left out of means). */
  canBeNaN: boolean;
}

export interface FaithfulnessMetric<P extends Params = Params> {
  id: MetricId;
  label: string;
  /** One line for the UI and `--help`. */
  description: string;
  direction: 'higher' | 'lower';
  /** The ONLY place this metric's defaults live. */
  defaults: P;
  /** Type, range and meaning of each parameter (core/params.ts resolves and checks them). */
  params: ParamSchema<P>;
  /** Kind, curve mode and order, NaN possibility. */
  info: MetricInfo;
  /** Optional values of the paper's preset (Tables 11–12) where they differ from `defaults`. */
  paper?: Partial<P>;
  /** s: [nRows, nFeatures] explanations as produced (no abs, no normalisation). */
  score(task: Task, batch: Batch, s: Float32Array, target: Int32Array, params: P, seeder: Seeder, onProgress?: Progress, signal?: AbortSignal): Promise<MetricResult>;
}
