/**
 * The studio's state, one slice per panel. Every result carries the key of the job it was computed
 * for (`preparedKey`: task, rows, methods, metrics, seed) and the store keeps the fingerprint
 * (SHA-256 of model and data) of the task they belong to, so results of two tasks never mix.
 */
import type { StoreApi } from 'zustand/vanilla';
import type { BackendReport } from '../core/backend';
import type { BackendRequest, StageRequests } from '../core/backendNames';
import type { Frontier, Job, JobInput, JobResult, PreparedCache } from '../core/job';
import type { TrainMode } from '../core/explainer/train';
import type { ValidationResult } from '../core/ffidelity/validate';
import type { Params } from '../core/params';
import type { WorkerClient } from '../worker/client';
import type {
  AblationResult,
  AttributeResult,
  EvaluateResult,
  FigureScoresResult,
  MethodMeta,
  PixelMapResult,
  MetricMeta,
  SentenceResult,
  SuperviseResult,
  TaskInfo,
  TaskSettings,
  TaskSource,
  TraceResult,
  TrainEval,
  TrainSettings,
  TrainStep,
} from '../worker/protocol';
import type { Persistence, SavedCheckpoint } from './persist';

export const STEPS = ['task', 'explain', 'evaluate', 'supervise', 'train', 'report'] as const;
export type StepId = (typeof STEPS)[number];

export interface Problem {
  what: string;
  todo: string;
}

export interface Busy {
  callId: number;
  label: string;
  stage: string;
  done: number;
  total: number;
  etaMs: number | null;
}

export interface AppSlice {
  step: StepId;
  backendRequest: BackendRequest;
  /** Per-stage choices ('auto' follows backendRequest): score = the target model (loading, priors, scoring, the report), train = the explainer. */
  stageRequests: StageRequests;
  /** The backends in use; `stages` has each stage's backend and why. */
  backend: BackendReport | null;
  backendError: Problem | null;
  methods: MethodMeta[];
  metrics: MetricMeta[];
  /** The engine's job defaults, paper methods and ablation modes (from the worker; the one place they live). */
  jobDefaults: Job | null;
  paperMethods: string[];
  ablationModes: TrainMode[];
  busy: Busy | null;
  seed: number;
  restoredAt: string | null;
  /** A one-off notice (e.g. "Saved data cleared."); it fades. */
  notice: string | null;
  /** A run estimated to take more than a minute waits for the user's yes. */
  confirm: { step: 'explain' | 'evaluate'; rows: number; ms: number } | null;
  tour: number | null;
}

export interface TaskSlice {
  source: TaskSource | null;
  /** Baseline, output and target of the jobs the studio builds (written into every job). */
  settings: TaskSettings;
  info: TaskInfo | null;
  taskError: Problem | null;
  /** Columns offered when a CSV has no recognisable label column. */
  labelChoices: string[] | null;
  pendingFiles: Extract<TaskSource, { kind: 'files' }> | null;
  /** Dropped text files waiting for their text column (or label column) to be chosen. */
  pendingText: TextDraft | null;
  /** Columns offered when the text column must be chosen. */
  textChoices: string[] | null;
}

/** A dropped text model, vocabulary and CSV whose text column may not be chosen yet. */
export type TextDraft = Omit<Extract<TaskSource, { kind: 'text' }>, 'text'> & { text?: string };

export interface SentenceSlice {
  /** The last sentence typed in the Explain panel (text tasks), explained by the job's methods. */
  sentence: SentenceResult | null;
  sentenceError: Problem | null;
}

export interface ExplainSlice {
  methodChoice: Record<string, { enabled: boolean; params: Params }>;
  /** The job's rows: the first `count` rows of the data (job task.maxRows). */
  rows: { start: number; count: number };
  /** The priors' budgets: the project's defaults or the paper's Table 6. */
  priorBudget: 'default' | 'paper';
  attribution: AttributeResult | null;
  explainError: Problem | null;
  /** Index into attribution.rows of the sample shown. */
  sample: number;
  sortBy: 'feature' | 'magnitude';
}

export interface EvaluateSlice {
  metricChoice: Record<string, { enabled: boolean; params: Params }>;
  evaluation: EvaluateResult | null;
  /** The engine's prepared job (priors and stored scores) of `evaluation`, saved for restore. */
  prepared: PreparedCache | null;
  /** The job `prepared` was computed for. */
  preparedJob: JobInput | null;
  evaluateError: Problem | null;
  /** Set when re-running Explain cleared a table (rows: the cleared table's row count) until Evaluate runs again. */
  evaluationCleared: { rows: number } | null;
}

export interface ValidateSlice {
  /** Which metric can be trusted on this model (the last metric validation), and for which prior. */
  validation: (ValidationResult & { methodId: string; key: string }) | null;
  validationError: Problem | null;
}

export interface SuperviseSlice {
  delta: number;
  p: number;
  /** The engine's supervision (split, dedup, filter, Z counts) for the current δ and p; null before Evaluate. */
  supervision: SuperviseResult | null;
}

export interface TrainSlice {
  /** Explainer, training and mode of the job (from the engine's defaults, edited in the Train panel). */
  trainSettings: TrainSettings | null;
  trainSteps: TrainStep[];
  /** Held-out evaluations of the trainer (test split). */
  trainEvals: TrainEval[];
  nPairs: number | null;
  trainStatus: 'idle' | 'running' | 'paused' | 'done' | 'cancelled' | 'error';
  trainError: Problem | null;
  stepsPerSecond: number;
  trainCallId: number | null;
  watchSaliency: Float32Array | null;
  explainer: { saliency: Float32Array | null; artifacts: unknown; key: string } | null;
  /** Whether the worker holds the trained explainer (false after a reload until it is loaded back). */
  explainerLoaded: boolean;
  /** Rows explained for the supervision set the explainer was trained on (null: not known). */
  trainedRows: number | null;
  /** The last end-of-epoch checkpoint of a training that did not finish (after a reload, a crash or a lost GPU). */
  checkpoint: SavedCheckpoint | null;
}

export interface ReportSlice {
  /** The job's table (test split), as `deepfaith run` writes it; from the last training. */
  report: JobResult | null;
  /** The cost–faithfulness frontier of `report` (when run). */
  frontier: Frontier | null;
  ablation: AblationResult | null;
  ablationError: Problem | null;
}

export interface Actions {
  setStep(step: StepId): void;
  /** Start the backends: the studio's backend and, optionally, per-stage choices (kept when not given). */
  initBackend(request?: BackendRequest, stages?: Partial<StageRequests>): Promise<void>;
  setSettings(s: Partial<TaskSettings>): void;
  /** Image tasks: the patch size and normalisation (job task.patch / task.normalise); the loaded images are read again with them. */
  setImageSettings(s: Pick<TaskSettings, 'patch' | 'normalise'>): Promise<boolean>;
  /** Text tasks: the mask token (job task.maskToken), the text column and the label column of dropped files; the texts are read again with them. */
  setTextSettings(s: { maskToken?: string | null; text?: string; label?: string }): Promise<boolean>;
  /** A dropped text model + vocab.json + CSV: loaded with its text column (guessed from its name, else chosen in the Task panel). */
  loadText(draft: TextDraft): Promise<boolean>;
  /** Text tasks: a typed sentence explained by the chosen methods (and the trained explainer); target absent = the predicted class. */
  explainSentence(text: string, target?: number): Promise<boolean>;
  /** Dropped image data (class folders, a zip, NPY/IDX arrays) with a model. */
  loadImages(source: Extract<TaskSource, { kind: 'images' }>): Promise<boolean>;
  loadDemo(demoId: string): Promise<boolean>;
  loadFiles(files: Extract<TaskSource, { kind: 'files' }>): Promise<boolean>;
  pickLabel(column: string): Promise<boolean>;
  setMethod(id: string, patch: Partial<{ enabled: boolean; params: Params }>): void;
  setRows(rows: Partial<ExplainSlice['rows']>): void;
  setPriorBudget(b: ExplainSlice['priorBudget']): void;
  setSample(i: number): void;
  setSort(s: ExplainSlice['sortBy']): void;
  /** Explain; a run estimated at more than a minute first asks (`confirm`) unless `confirmed`. */
  runExplain(opts?: { confirmed?: boolean }): Promise<boolean>;
  /** Explain the current row count, then Evaluate (the one-click re-run of stale results). */
  rerunExplainAndEvaluate(): Promise<boolean>;
  setMetric(id: string, patch: Partial<{ enabled: boolean; params: Params }>): void;
  runEvaluate(opts?: { confirmed?: boolean }): Promise<boolean>;
  dismissConfirm(): void;
  setDelta(v: number): void;
  setP(v: number): void;
  setTraining(c: Partial<TrainSettings['training']>): void;
  setExplainerArch(c: Partial<TrainSettings['explainer']>): void;
  setMode(mode: TrainMode): void;
  refreshSupervision(): Promise<void>;
  runAblations(): Promise<boolean>;
  runFrontier(): Promise<boolean>;
  /** Metric validation on one prior's explanations; `fidelity` adds F-Fidelity (fine-tunes a copy of the model first). */
  runValidate(methodId: string, fidelity: boolean): Promise<boolean>;
  explainRows(rows: number[]): Promise<Float32Array>;
  /** Train the explainer; with `resume`, continue the interrupted training from its checkpoint. */
  runTrain(opts?: { resume?: boolean }): Promise<boolean>;
  pauseTrain(): void;
  resumeTrain(): void;
  cancelTrain(): void;
  cancel(): void;
  setSeed(seed: number): void;
  /** The job these settings describe, complete (every field). */
  job(): JobInput;
  /** The job as the studio writes it (download, link): every setting that differs from the engine's defaults. */
  exportJob(): JobInput;
  applyJob(job: JobInput): Promise<void>;
  /** Import a merged prepared-job file (deepfaith merge of sharded supervision): its job's settings, explanations and scores. */
  importPrepared(text: string, name: string): Promise<boolean>;
  save(): Promise<void>;
  restore(): Promise<boolean>;
  /** After the worker was replaced: backend, task, prepared job and explainer loaded into the new one. */
  reattachWorker(why: string, quiet?: boolean): Promise<void>;
  clearSaved(): Promise<void>;
  setTour(i: number | null): void;
  /** A notice that fades after `ms` (long sentences stay longer). */
  notify(text: string | null, ms?: number): void;
  predict(x: Float32Array, nRows: number): Promise<{ proba: Float32Array; nClasses: number }>;
  trace(row: number, target: number, s: Float32Array, metricId: string, params: Params): Promise<TraceResult>;
  /** Image tasks: a gradient method's map per pixel for some explained rows (checked against the explanations on screen). */
  pixelMap(methodId: string, rows: number[]): Promise<PixelMapResult>;
  /** INS and DEL of given explanations of some explained rows, scored as Evaluate scores (the Figure 5 grid). */
  figureScores(rows: number[], columns: { id: string; values: Float32Array }[]): Promise<FigureScoresResult>;
}

export type StudioState = AppSlice & TaskSlice & SentenceSlice & ExplainSlice & EvaluateSlice & ValidateSlice & SuperviseSlice & TrainSlice & ReportSlice & Actions;
export type StudioStore = StoreApi<StudioState>;

export interface StoreDeps {
  client: WorkerClient;
  persistence: Persistence;
  baseUrl: string;
  /** The page runs the browser tests (?test): the worker answers test hooks. */
  test?: boolean;
}

export const EXPLAINER_ID = 'deepfaith-explainer';
