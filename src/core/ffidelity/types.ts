/**
 * The metrics beyond the ten (F-Fidelity family, FEI-inspired internal faithfulness): the same
 * shape as a `FaithfulnessMetric` (id, direction, defaults, params, info, score) so the registry's
 * `getMetric`, `scoreExplanations`, jobs and the CLI take them as they take the ten, plus
 * `scoreMany`, which scores several explanations of the same rows in shared model batches
 * (validate.ts uses it for the degraded copies).
 */
import type { Params, ParamSchema } from '../params';
import type { Seeder } from '../rng';
import type { Batch, Progress, Task } from '../task/task';
import type { MetricInfo, MetricResult } from '../metrics/types';

export interface ExtraMetricInfo extends MetricInfo {
  kind: 'curve';
  /** 'f-fidelity': FFID±, RFID±, FID± (curves over the explanation size s); 'internal': AD-INS, AD-DEL (curves over the steps t). */
  family: 'f-fidelity' | 'internal';
  /** What the points of a per-sample curve are laid out over: explanation sizes ρ = s/n (grid param), or steps t/T. */
  curveX: 'size' | 'step';
  /** Whether it needs a fine-tuned surrogate (FFID±). */
  needsSurrogate: boolean;
  /** Whether it needs the model's hidden layers (a LayersModel). */
  needsLayers: boolean;
}

export interface ExtraMetric<P extends Params = Params> {
  id: string;
  label: string;
  description: string;
  direction: 'higher' | 'lower';
  /** The ONLY place this metric's defaults live. */
  defaults: P;
  params: ParamSchema<P>;
  info: ExtraMetricInfo;
  paper?: Partial<P>;
  /** One explanation ([nRows, nFeatures]) — the FaithfulnessMetric signature. */
  score(task: Task, batch: Batch, s: Float32Array, target: Int32Array, params: P, seeder: Seeder, onProgress?: Progress, signal?: AbortSignal): Promise<MetricResult>;
  /** Several explanations of the same rows, in shared batches: one result per explanation. */
  scoreMany(task: Task, batch: Batch, target: Int32Array, explanations: Float32Array[], params: P, seeder: Seeder, onProgress?: Progress, signal?: AbortSignal): Promise<MetricResult[]>;
}
