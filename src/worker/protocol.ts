/**
 * The studio's worker protocol: one discriminated union each way, typed at both ends.
 * The main thread sends a `Request` with a fresh `id`; the worker answers with any number of
 * `progress` (and, for training, `train`) messages carrying that id, then exactly one `result`
 * or `error` (or `cancelled`). `cancel` aborts the request with that id between batches.
 */
import type { BackendReport, BackendRequest, StageRequests } from '../core/backend';
import type { Params } from '../core/attribution/types';
import type { RowBaselineKind as BaselineKind } from '../core/task/featureSpace';
import type { NormaliseRule } from '../core/data/images';
import type { OutputMode } from '../core/task/model';
import type { TargetRule } from '../core/task/task';
import type { Frontier, Job, JobInput, JobResult, PreparedCache } from '../core/job';
import type { ValidationResult } from '../core/ffidelity/validate';
import type { TrainCheckpoint, TrainMode } from '../core/explainer/train';
import type { MetricInfo } from '../core/metrics/types';
import type { ParamSpec } from '../core/params';
import type { SampleRecord, SupervisionCounts } from '../core/supervision/supervision';

/** Where a task comes from. Dropped files travel as bytes; demos are fetched from the page's own origin. */
export type TaskSource =
  | { kind: 'demo'; demoId: string }
  | {
      kind: 'files';
      modelJson: { name: string; text: string };
      shards: { name: string; data: ArrayBuffer }[];
      csv: { name: string; text: string };
      /** Label column; when absent a column named label/target/class/species/y/outcome/diagnosis is used. */
      label?: string;
    }
  | {
      /** Dropped image data: PNG/JPEG files with their paths (class folders), zips of such folders, or NPY/IDX arrays (src/worker/imageFiles.ts). */
      kind: 'images';
      modelJson: { name: string; text: string };
      shards: { name: string; data: ArrayBuffer }[];
      /** Every data file with its path relative to the drop (`photos/cat/1.png`, `images.npy`, `photos.zip`). */
      files: { path: string; data: ArrayBuffer }[];
      /** Read only the first maxRows images in sorted path (or array) order, as the job's task.maxRows; absent or 0 = all, at most 10,000. */
      maxRows?: number;
    }
  | {
      /** A dropped text model: model.json + shards, its vocab.json and a CSV with a text column (docs/text.md); the CSV travels as bytes (the engine checks UTF-8). */
      kind: 'text';
      modelJson: { name: string; text: string };
      shards: { name: string; data: ArrayBuffer }[];
      vocab: { name: string; text: string };
      csv: { name: string; data: ArrayBuffer };
      /** The CSV's text column (job task.text); chosen in the Task panel. */
      text: string;
      /** Label column; when absent the engine's guess (label/target/class/…). */
      label?: string;
    };

export interface TaskSettings {
  output: OutputMode;
  baseline: BaselineKind;
  target: TargetRule;
  /** Image tasks: patch side in pixels (absent = the engine's default for the image size); job task.patch. */
  patch?: number;
  /** Image tasks: how pixel values reach the model (absent = 0-1); job task.normalise. */
  normalise?: NormaliseRule;
  /** Image tasks, blur baseline: σ in pixels (absent = patch / 2); job task.blurSigma. */
  blurSigma?: number;
  /** Text tasks: a token of the vocabulary that removal writes instead of the pad token (absent = pad); job task.maskToken. */
  maskToken?: string;
}

/** What the studio knows about a text task's texts (TaskInfo.text). */
export interface TaskTextInfo {
  /** The CSV's text column (job task.text) and the vocabulary as the job names it (task.vocab; a demo's own). */
  column: string;
  vocab: string;
  /** Per row, its tokens as the tokenizer read them (one per real position; positions after them are padding). */
  tokens: string[][];
  /** Per row, T: its real positions (= tokens[r].length). */
  lengths: Int32Array;
  /** L: the model's sequence length. */
  maxLength: number;
  vocabSize: number;
  lowercase: boolean;
  /** Ids and strings of the pad and unknown tokens, and of the token removal writes (pad, or the mask token). */
  pad: number;
  unk: number;
  removal: number;
  padToken: string;
  unkToken: string;
  removalToken: string;
  /** The mask token chosen (job task.maskToken), when removal does not write pad. */
  maskToken?: string;
  /** Rows truncated to L tokens; kept words not in the vocabulary, and all kept words. */
  truncatedRows: number[];
  unknownWords: number;
  totalWords: number;
}

/** What the studio knows about an image task's images (TaskInfo.image). */
export interface TaskImageInfo {
  /** The data as the job names it (task.data): the image folder or the array file; and an array's labels file when not found beside it. */
  data: string;
  label?: string;
  format: 'folder' | 'npy' | 'idx';
  height: number;
  width: number;
  channels: number;
  normalise: NormaliseRule;
  /** Per-channel mean and std on the 0–1 scale (to show the model's rows as pictures again). */
  channelMean: number[];
  channelStd: number[];
  /** The task's patch side and grid (features = gridRows × gridCols patches). */
  patch: number;
  gridRows: number;
  gridCols: number;
  /** Per row: the file (or array element) it came from. */
  files: string[];
  /** Images resized / changed in channels on the way in. */
  resized: number;
  grayToRgb: number;
  colourToGray: number;
  alphaDropped: number;
}

/** What the studio shows about a loaded task. */
export interface TaskInfo {
  /** 'demo:iris' or the dropped file names. */
  sourceLabel: string;
  /** The backends after this load: the score stage may depend on the model's size (core/backend.ts restageForModel). */
  backend?: BackendReport;
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
  /** SHA-256 of model.json + shards and of the CSV: every stored result carries them (its task's fingerprint). */
  modelSha256: string;
  dataSha256: string;
  /** Reported test accuracy from the demo's meta.json, when there is one. */
  metaAccuracy?: number;
  /** Measured time of one model row on this backend (ms), for the studio's estimates before a run. */
  msPerModelRow: number;
  /** Image tasks: the images' shape, normalisation and patch grid; x holds [nRows, H·W·C] model-input values. */
  image?: TaskImageInfo;
  /** Text tasks: the rows' tokens, the vocabulary's facts and the removal token; x holds [nRows, L] token ids. */
  text?: TaskTextInfo;
  /** What the loader says a user should know without stopping (text: truncated texts, unknown words). */
  notices: string[];
}

export interface MetricRequestSpec {
  id: string;
  params: Params;
}

/** The job's priors on its rows (the engine's `startJob` + `runJobPriors`). */
export interface AttributeResult {
  /** Global row indices explained (the job's rows: the first maxRows). */
  rows: number[];
  /** [nRows] target class per row */
  target: Int32Array;
  /** One entry per method that ran, in the job's order: as produced, and min–max normalised (what is scored). */
  explanations: { methodId: string; values: Float32Array /* [nRows, nFeatures] */; normalised: Float32Array; ms: number }[];
  /** Methods that could not run on this task, with the reason. */
  skipped: { methodId: string; reason: string }[];
  /** The job's seeded 80/20 split of these samples (global rows), made before Z. */
  split: { train: number[]; test: number[] };
  /** explainKey of the job these priors belong to. */
  key: string;
  /** The job's baseline and its vector x° (mean: over the explained rows). */
  baseline: BaselineKind;
  baselineVector: Float32Array;
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
}

/** The stored scores of the job's priors (the engine's `scoreJobPriors`): every explanation min–max normalised. */
export interface EvaluateResult {
  rows: number[];
  normalised: true;
  /** [explanation][metric] in the job's order; `scored` is the explanation as the metrics saw it ([nRows, nFeatures]). */
  scores: { methodId: string; metrics: MetricScore[]; scored: Float32Array }[];
  /** Wall time of scoring every explanation on every metric (they share model batches). */
  ms: number;
  /** preparedKey of the job these scores belong to. */
  key: string;
  /** The engine's prepared job (priors, stored scores): what the studio saves to restore this state. */
  prepared: PreparedCache;
}

export interface SuperviseResult {
  split: { train: number[]; test: number[] };
  methodIds: string[];
  /** Min–max normalised explanations, [nRows, nFeatures] per method. */
  normalised: Float32Array[];
  /** One record per explained row (dedup and filter over all of them, for the view). */
  record: SampleRecord[];
  counts: SupervisionCounts;
  /** Z: counts on the training split and the pairs it holds. */
  trainCounts: SupervisionCounts;
  nPairs: number;
}

export interface AblationResult {
  /** preparedKey of the job whose priors the ablations trained on. */
  key: string;
  metrics: { id: string; direction: 'higher' | 'lower' }[];
  rows: { mode: string; scores: Record<string, number>; ranks: Record<string, number>; meanRank: number; nPairs: number; steps: number; ms: number }[];
  testRows: number[];
}

/**
 * One metric replayed on one row through its own kernel: every perturbed input it used.
 * Correlation metrics (FC, INF, FE, MC): one step per perturbed input. Curve metrics (DEL, INS,
 * POS, NEG, IROF): one step per curve point t = 0..T (the end points are the clean row and the
 * all-baseline row, as the engine's planCurve takes them), `curve` is the kernel's own curve.
 */
export interface TraceResult {
  metricId: string;
  kind: 'correlation' | 'curve';
  row: number;
  pClean: number;
  /** The metric's value from its own finisher (equals the stored score). */
  value: number;
  correlation: 'pearson' | 'spearman';
  /** MC: K noise perturbations per chunk, one point per chunk; else 1. */
  groupSize: number;
  /** `removed`: the cells at the baseline in the input the model saw. */
  steps: { input: Float32Array; removed: number[]; p: number; saliencySum: number; delta: number }[];
  /** Curve metrics: the curve points the kernel's finisher returned (POS/NEG: up to the flip). */
  curve?: Float32Array;
  /** Text tasks: the row's real positions T (the features it was scored on), and per step the tokens the model saw there (vocabulary strings). */
  nFeatures?: number;
  tokens?: string[][];
}

/** A sentence typed by the user, encoded as the task's rows are and explained by the job's methods (and the trained explainer). */
export interface SentenceResult {
  text: string;
  /** Its tokens (one per real position), token ids [L], and notices (truncation, unknown words). */
  tokens: string[];
  ids: Int32Array;
  unknown: boolean[];
  notices: string[];
  /** The model's output for it [nClasses], the class explained and the predicted one. */
  proba: Float32Array;
  target: number;
  predicted: number;
  /** One entry per method that ran, [L] values: as produced and min–max normalised over the real tokens. */
  explanations: { methodId: string; values: Float32Array; normalised: Float32Array; ms: number }[];
  skipped: { methodId: string; reason: string }[];
  /** The trained explainer's values [L] (when one is held by the worker). */
  explainer?: Float32Array;
  /** explainKey of the job whose methods explained it. */
  key: string;
}

/** A method's attribution per pixel (channels summed) of some rows: [rows, H·W], signed as the method gives it. */
export interface PixelMapResult {
  methodId: string;
  rows: number[];
  /** explainKey of the job whose priors it belongs to. */
  key: string;
  height: number;
  width: number;
  values: Float32Array;
}

/** Per column and metric (INS, DEL), one score per requested row. */
export interface FigureScoresResult {
  rows: number[];
  /** preparedKey of the job. */
  key: string;
  metricIds: string[];
  scores: { id: string; perSample: Float32Array[] /* [metric][row] */ }[];
}

/** Training settings of the job (DEFAULTS from the engine, edited in the Train panel). */
export type TrainSettings = Pick<Job, 'explainer' | 'training' | 'mode'>;

export type Request =
  | { type: 'init'; id: number; backend: BackendRequest; /** Per-stage choices; 'auto' (default) follows `backend`. */ stages?: StageRequests; baseUrl: string; /** Enables the test hooks (the page runs with ?test). */ test?: boolean }
  | { type: 'loadTask'; id: number; source: TaskSource; settings: TaskSettings }
  | { type: 'attribute'; id: number; job: JobInput }
  | { type: 'evaluate'; id: number; job: JobInput }
  | { type: 'predict'; id: number; x: Float32Array; nRows: number }
  | { type: 'train'; id: number; config: TrainRequestConfig }
  | { type: 'explainer'; id: number; rows: number[] }
  | { type: 'loadExplainer'; id: number; artifacts: { modelJson: unknown; weights: ArrayBuffer } }
  | { type: 'supervise'; id: number; job: JobInput }
  | { type: 'ablate'; id: number; job: JobInput; modes: TrainMode[] }
  | {
      type: 'restore';
      id: number;
      job: JobInput;
      prepared: PreparedCache;
      raw?: Float32Array[];
      /** The store compared the task's files with the ones the cache was saved with: a cache without a fingerprint (saved before caches had one) is taken as theirs. */
      filesChecked?: boolean;
    }
  | { type: 'resolveJob'; id: number; job: JobInput }
  /** The cost–faithfulness frontier of the last training's table (core/job/frontier.ts). */
  | { type: 'frontier'; id: number; job: JobInput }
  /** Which metric can be trusted: degrade one prior's explanation and score every level (core/ffidelity/validate.ts). */
  | { type: 'validate'; id: number; job: JobInput; methodId: string; fidelity: boolean }
  | { type: 'trace'; id: number; row: number; target: number; s: Float32Array; metricId: string; params: Params; seed: number }
  /** Image tasks: a gradient method's map per pixel (the method on a space of 1-pixel patches) for some of the job's rows. */
  | { type: 'pixelMap'; id: number; job: JobInput; methodId: string; rows: number[] }
  /** INS and DEL of given (normalised) explanations of some of the job's rows, as the engine scores them (the Figure 5 grid). */
  | { type: 'figureScores'; id: number; job: JobInput; rows: number[]; columns: { id: string; values: Float32Array }[] }
  /** Text tasks: a sentence typed by the user, explained by the job's methods (and the trained explainer); class = the class to explain (absent: the predicted one). */
  | { type: 'explainSentence'; id: number; job: JobInput; text: string; target?: number }
  | { type: 'pause'; id: number; target: number }
  | { type: 'resume'; id: number; target: number }
  | { type: 'cancel'; id: number; target: number }
  | { type: 'ping'; id: number }
  /** Browser-test hooks (answered only when the page runs with ?test): end the worker, or lose the WebGPU device. */
  | { type: 'testHook'; id: number; hook: 'crash' | 'loseDevice' };

/** Training: the job (its priors and scores are the session's), the watched row and the rows to explain after. */
export interface TrainRequestConfig {
  job: JobInput;
  /** Continue an interrupted training of this job from its last epoch checkpoint. */
  resume?: TrainCheckpoint;
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

/** The trainer's held-out evaluation (test split: L_PC on its Z pairs, L_LC on its samples). */
export interface TrainEval {
  /** 0-based index of the last training step before this evaluation (the chart's x). */
  step: number;
  epoch: number;
  lPC: number;
  lLC: number;
  /** The returned weights of the best validation epoch (early stopping), evaluated after training. */
  kept?: true;
}

export type Response =
  | { type: 'progress'; id: number; stage: string; done: number; total: number; etaMs: number | null }
  | { type: 'train'; id: number; steps: TrainStep[]; evals: TrainEval[]; stepsPerSecond: number; watchSaliency?: Float32Array; /** The end-of-epoch checkpoint (weights, optimizer, α state), to resume after an interruption. */ checkpoint?: TrainCheckpoint }
  | { type: 'result'; id: number; result: ResultOf }
  | { type: 'error'; id: number; what: string; todo: string }
  | { type: 'cancelled'; id: number }
  | { type: 'pong'; id: number };

/** Results by request type. */
export interface ResultMap {
  init: { backend: BackendReport; methods: MethodMeta[]; metrics: MetricMeta[]; jobDefaults: Job; ablationModes: TrainMode[]; paperMethods: string[] };
  loadTask: TaskInfo;
  attribute: AttributeResult;
  evaluate: EvaluateResult;
  predict: { proba: Float32Array; nClasses: number };
  train: { steps: number; evals: TrainEval[]; nPairs: number; explainerSaliency: Float32Array; artifacts: { modelJson: unknown; weights: ArrayBuffer }; result: JobResult; prepared: PreparedCache };
  explainer: { values: Float32Array };
  loadExplainer: { loaded: boolean };
  supervise: SuperviseResult;
  ablate: AblationResult;
  restore: { attribution: AttributeResult; evaluation: EvaluateResult };
  resolveJob: Job;
  frontier: Frontier;
  validate: ValidationResult;
  trace: TraceResult;
  pixelMap: PixelMapResult;
  figureScores: FigureScoresResult;
  explainSentence: SentenceResult;
  pause: { ok: boolean };
  resume: { ok: boolean };
  cancel: { ok: boolean };
  ping: { ok: boolean };
  testHook: { ok: boolean };
}
export type ResultOf = ResultMap[keyof ResultMap];

export interface MethodMeta {
  id: string;
  label: string;
  description: string;
  needsGradients: boolean;
  defaults: Params;
  params: Record<string, ParamSpec>;
}

export interface MetricMeta {
  id: string;
  label: string;
  description: string;
  direction: 'higher' | 'lower';
  defaults: Params;
  params: Record<string, ParamSpec>;
  info: MetricInfo;
  /** Beyond the ten (F-Fidelity, R-Fidelity, Fidelity, internal deviation; docs/ffidelity.md): scored only when chosen. */
  beyond?: boolean;
}

/** Distributes Omit over a union (plain Omit collapses it). */
export type DistributiveOmit<T, K extends keyof any> = T extends unknown ? Omit<T, K> : never;
export type RequestBody = DistributiveOmit<Request, 'id'>;
