/**
 * The studio's worker protocol: one discriminated union each way, typed at both ends.
 * The main thread sends a `Request` with a fresh `id`; the worker answers with any number of
 * `progress` (and, for training, `train`) messages carrying that id, then exactly one `result`
 * or `error` (or `cancelled`). `cancel` aborts the request with that id between batches.
 */
import type { BackendReport, BackendRequest } from '../core/backend';
import type { Params } from '../core/attribution/types';
import type { BaselineKind } from '../core/task/featureSpace';
import type { OutputMode } from '../core/task/model';
import type { TargetRule } from '../core/task/task';

/** Where a task comes from. Dropped files travel as bytes; demos are fetched from the page's own origin. */
export type TaskSource =
  | { kind: 'demo'; demoId: string }
  | {
      kind: 'files';
      modelJson: { name: string; text: string };
      shards: { name: string; data: ArrayBuffer }[];
      csv: { name: string; text: string };
      /** Label column; when absent a column named label/target/class/species/y is used. */
      label?: string;
    };

export interface TaskSettings {
  output: OutputMode;
  baseline: BaselineKind;
  target: TargetRule;
}

/** What the studio shows about a loaded task. */
export interface TaskInfo {
  /** 'demo:iris' or the dropped file names. */
  sourceLabel: string;
  demoId?: string;
  featureNames: string[];
  classNames: string[];
  labelName: string;
  /** Columns of the CSV (for the label picker). */
  columns: string[];
  nRows: number;
  nFeatures: number;
  /** [nRows, nFeatures] row-major */
  x: Float32Array;
  /** [nRows] */
  labels: Int32Array;
  /** [nRows] model's predicted class on the clean input */
  predicted: Int32Array;
  /** [nRows, nClasses] probabilities */
  proba: Float32Array;
  nClasses: number;
  accuracy: number;
  /** The baseline vector x° of the chosen baseline, [nFeatures]. */
  baselineVector: Float32Array;
  baseline: BaselineKind;
  output: OutputMode;
  /** Problems found that do not stop the task (class count mismatch, constant columns, …). */
  problems: string[];
  modelSha256: string;
  dataSha256: string;
  /** Reported test accuracy from the demo's meta.json, when there is one. */
  metaAccuracy?: number;
}

export interface MethodRequest {
  id: string;
  params: Params;
}

export interface MetricRequestSpec {
  id: string;
  params: Params;
}

export interface AttributeResult {
  /** Global row indices explained. */
  rows: number[];
  /** [nRows] target class per row */
  target: Int32Array;
  /** One entry per method that ran, in request order. */
  explanations: { methodId: string; values: Float32Array /* [nRows, nFeatures] */; ms: number }[];
  /** Methods that could not run on this task, with the reason. */
  skipped: { methodId: string; reason: string }[];
}

export interface MetricScore {
  metricId: string;
  /** [nRows] */
  perSample: Float32Array;
  /** mean over finite per-sample values */
  mean: number;
  nNaN: number;
  /** per sample curve points at x = t/T, when the metric has a curve */
  curves?: Float32Array[];
  modelCalls: number;
  ms: number;
}

export interface EvaluateResult {
  rows: number[];
  normalised: boolean;
  /** [explanation][metric] in request order */
  scores: { methodId: string; metrics: MetricScore[] }[];
}

export interface ExplanationInput {
  methodId: string;
  values: Float32Array; // [nRows, nFeatures]
}

export type Request =
  | { type: 'init'; id: number; backend: BackendRequest; baseUrl: string }
  | { type: 'loadTask'; id: number; source: TaskSource; settings: TaskSettings }
  | { type: 'attribute'; id: number; rows: number[]; methods: MethodRequest[]; seed: number }
  | { type: 'evaluate'; id: number; rows: number[]; target: Int32Array; explanations: ExplanationInput[]; metrics: MetricRequestSpec[]; seed: number; normalise: boolean }
  | { type: 'predict'; id: number; x: Float32Array; nRows: number }
  | { type: 'train'; id: number; config: TrainRequestConfig }
  | { type: 'explainer'; id: number; rows: number[] }
  | { type: 'pause'; id: number; target: number }
  | { type: 'resume'; id: number; target: number }
  | { type: 'cancel'; id: number; target: number };

/** Training settings the studio sends (mapped onto the engine's trainer config by the worker). */
export interface TrainRequestConfig {
  /** Training samples D (global row indices) for L_LC. */
  rows: number[];
  /** The supervision set Z: x row index and its target saliency in [0,1]^n. */
  pairs: { row: number; s: Float32Array }[];
  epochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  lossMode: 'full' | 'pc-only' | 'lc-only';
  /** k: random subsets per sample in L_LC. */
  nSubsets: number;
  /** Explainer architecture (small defaults for the browser). */
  dModel: number;
  nHeads: number;
  nLayers: number;
  /** Row whose saliency is sent back after every epoch. */
  watchRow: number;
  /** Rows the finished explainer explains (the Explain panel's rows), returned with the result. */
  explainRows: number[];
}

export interface TrainStep {
  step: number;
  lPC: number;
  lLC: number;
  alpha: number;
  converged: boolean;
  /** 'converged' at the step the window settled, 'reset' where it broke out again. */
  event?: 'converged' | 'reset';
}

export type Response =
  | { type: 'progress'; id: number; stage: string; done: number; total: number; etaMs: number | null }
  | { type: 'train'; id: number; steps: TrainStep[]; stepsPerSecond: number; watchSaliency?: Float32Array }
  | { type: 'result'; id: number; result: ResultOf }
  | { type: 'error'; id: number; what: string; todo: string }
  | { type: 'cancelled'; id: number };

/** Results by request type. */
export interface ResultMap {
  init: { backend: BackendReport; methods: MethodMeta[]; metrics: MetricMeta[] };
  loadTask: TaskInfo;
  attribute: AttributeResult;
  evaluate: EvaluateResult;
  predict: { proba: Float32Array; nClasses: number };
  train: { steps: number; explainerSaliency: Float32Array; artifacts: { modelJson: unknown; weights: ArrayBuffer } };
  explainer: { values: Float32Array };
  pause: { ok: boolean };
  resume: { ok: boolean };
  cancel: { ok: boolean };
}
export type ResultOf = ResultMap[keyof ResultMap];

export interface MethodMeta {
  id: string;
  label: string;
  description: string;
  needsGradients: boolean;
  defaults: Params;
}

export interface MetricMeta {
  id: string;
  label: string;
  description: string;
  direction: 'higher' | 'lower';
  defaults: Params;
}

/** Distributes Omit over a union (plain Omit collapses it). */
export type DistributiveOmit<T, K extends keyof any> = T extends unknown ? Omit<T, K> : never;
export type RequestBody = DistributiveOmit<Request, 'id'>;
