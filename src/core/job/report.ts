/**
 * Training and the method × metric table, split so that `deepfaith run` and the studio share every
 * step: `planTraining` (Z for the mode from the stored scores, the rows it fits and the rows it is
 * scored on, the explainer config, the trainer's input), the engine's training generator
 * (`trainExplainer`, pulled to its end here, or step by step with pause by the studio's worker),
 * and `reportTraining` (the trained explainer on the test rows, scored with the job's metrics, next
 * to the priors' stored scores on the same rows, ranked). `trainAndReport` = plan → train → report.
 */
import { UserError, throwIfCancelled } from '../errors';
import { Seeder } from '../rng';
import { getMetric } from '../metrics/registry';
import type { Params } from '../params';
import { meanSkippingNaN, rankTable } from '../ranking';
import { buildSupervision, minMaxNormalize, scoreAll, splitSamples, supervisionOptionsFor, type PriorMethodInfo, type SampleRecord, type SupervisionCounts, type SupervisionSet } from '../supervision/supervision';
import { Explainer, inputStatistics, type ExplainerArchitecture, type ExplainerConfig } from '../explainer/model';
import { runTraining, trainExplainer, type EvalEvent, type StepEvent, type TrainConfig, type TrainInput, type TrainMode, type TrainResult } from '../explainer/train';
import type { AlphaState } from '../explainer/alpha';
import type { Batch } from '../task/task';
import { VALIDATION_FRACTION, type Job } from './schema';
import { subBatch, type JobEvent, type PreparedJob } from './prepare';

export interface MethodRow {
  method: string;
  label: string;
  isExplainer: boolean;
  /** Mean over test samples per metric id (NaN samples excluded). */
  scores: Record<string, number>;
  /** Test samples whose score was NaN, per metric id. */
  nNaN: Record<string, number>;
  /** Rank among the rows per metric (1 = best; ties share the mean rank). */
  ranks: Record<string, number>;
  meanRank: number;
  /** Time to explain one sample (ms): method run time / rows, explainer forward time / rows. */
  msPerSample: number;
}

export interface JobResult {
  job: Job;
  task: { source: { model: string; data: string }; nRows: number; nFeatures: number; featureNames: string[]; classNames: string[]; baseline: string; output: string; target: string };
  /** testRows = the rows the table scores: the test split, or validation rows carved from the training rows. */
  split: { trainRows: number[]; testRows: number[]; evaluatedOn?: 'test' | 'validation' };
  priors: PriorMethodInfo[];
  supervision: { options: SupervisionSet['options']; counts: SupervisionCounts; testCounts: SupervisionCounts; record: SampleRecord[] };
  training: { mode: TrainMode; seed: number; steps: StepEvent[]; evals: EvalEvent[]; alpha: AlphaState; ms: number };
  metrics: { id: string; direction: 'higher' | 'lower'; params: Params }[];
  table: MethodRow[];
}

/** Build Z for the mode, train the explainer, score it with the priors on the test rows. */
export interface TrainAndReportOptions {
  mode?: TrainMode;
  trainSeed?: number;
  /**
   * 'test' (default): train on the training rows, score on the test rows. 'validation': carve
   * `validationFraction` of the TRAINING rows out (seeded, unit 'deepfaith-validation'), train on the
   * rest and score on those validation rows — for choosing settings without looking at the test split.
   */
  evaluateOn?: 'test' | 'validation';
  validationFraction?: number;
  /** Overrides of the job's settings for this training (tuning sweeps reuse one PreparedJob). */
  training?: Partial<Omit<TrainConfig, 'alpha'>> & { alpha?: Partial<TrainConfig['alpha']> };
  explainer?: Partial<ExplainerArchitecture>;
  supervision?: Partial<Pick<Job['supervision'], 'delta' | 'p'>>;
  /** Yield a checkpoint event every this many epochs (the studio's watched sample and resume). */
  checkpointEvery?: number;
  /** Continue from a checkpoint of the same plan. */
  resume?: TrainInput['resume'];
}

/** The rows a training run fits and the rows it is scored on (positions into the job's rows). */
export function evaluationSplit(prep: Pick<PreparedJob, 'split' | 'loaded' | 'job'>, evaluateOn: 'test' | 'validation' = 'test', validationFraction = VALIDATION_FRACTION): { train: number[]; test: number[] } {
  if (evaluateOn === 'test') return prep.split;
  const rowIndex = Int32Array.from(prep.split.train, (p) => prep.loaded.batch.rowIndex[p]);
  const inner = splitSamples(rowIndex, validationFraction, new Seeder(prep.job.seed), 'deepfaith-validation');
  return { train: inner.train.map((i) => prep.split.train[i]), test: inner.test.map((i) => prep.split.train[i]) };
}

/** Everything a training run needs, and what its report needs afterwards. */
export interface TrainingPlan {
  prep: PreparedJob;
  /** The job with the run's overrides applied. */
  job: Job;
  mode: TrainMode;
  trainSeed: number;
  evaluateOn: 'test' | 'validation';
  split: { train: number[]; test: number[] };
  zTrain: SupervisionSet;
  zTest: SupervisionSet;
  trainBatch: Batch;
  testBatch: Batch;
  trainTarget: Int32Array;
  testTarget: Int32Array;
  /** The trainer's input (signal added by the caller). */
  input: TrainInput;
  /** Steps the run will take. */
  totalSteps: number;
}

export function planTraining(prep: PreparedJob, opts: TrainAndReportOptions = {}): TrainingPlan {
  const baseJob = prep.job;
  const job: Job = {
    ...baseJob,
    supervision: { ...baseJob.supervision, ...(opts.supervision ?? {}) },
    explainer: { ...baseJob.explainer, ...(opts.explainer ?? {}) },
    training: { ...baseJob.training, ...(opts.training ?? {}), alpha: { ...baseJob.training.alpha, ...(opts.training?.alpha ?? {}) } },
  };
  const { loaded, target, scores } = prep;
  const evaluateOn = opts.evaluateOn ?? 'test';
  const split = evaluationSplit(prep, evaluateOn, opts.validationFraction ?? VALIDATION_FRACTION);
  const { task, batch } = loaded;
  const n = task.nFeatures;
  if (task.inputSize !== n) throw new UserError(`The explainer reads one token per feature; this task's model takes ${task.inputSize} input values for ${n} features.`, 'Train the explainer on a tabular task (image and text tokens come with those modalities).');
  const mode = opts.mode ?? job.mode;
  const trainSeed = opts.trainSeed ?? job.trainSeed ?? job.seed;
  const supOpts = supervisionOptionsFor(mode, job.supervision.delta, job.supervision.p);
  const supInput = { x: batch.x, n, rowIndex: batch.rowIndex, methodIds: prep.ranIds, explanations: prep.explanations, scores };
  const zTrain = buildSupervision({ ...supInput, use: split.train }, supOpts);
  const zTest = buildSupervision({ ...supInput, use: split.test }, supOpts);
  const trainBatch = subBatch(batch, split.train, n);
  const testBatch = subBatch(batch, split.test, n);
  if (trainBatch.nRows === 0) throw new UserError('There are no training rows.', 'Use more rows.');
  const trainTarget = Int32Array.from(split.train, (p) => target[p]);
  const testTarget = Int32Array.from(split.test, (p) => target[p]);
  const explainer: ExplainerConfig = { nFeatures: n, ...job.explainer, seed: trainSeed, ...inputStatistics(trainBatch.x, trainBatch.nRows, n, job.explainer.inputTransform) };
  const input: TrainInput = {
    task,
    explainer,
    config: job.training,
    mode,
    seed: trainSeed,
    z: zTrain,
    samples: { x: trainBatch.x, nRows: trainBatch.nRows, rowIndex: trainBatch.rowIndex, target: trainTarget },
    heldOut: testBatch.nRows > 0 ? { z: zTest, samples: { x: testBatch.x, nRows: testBatch.nRows, rowIndex: testBatch.rowIndex, target: testTarget } } : undefined,
    checkpointEvery: opts.checkpointEvery,
    resume: opts.resume,
  };
  const stepsPerEpoch = Math.max(1, Math.ceil((mode === 'lc-only' && zTrain.nPairs === 0 ? trainBatch.nRows : zTrain.nPairs) / job.training.batchSize));
  return { prep, job, mode, trainSeed, evaluateOn, split, zTrain, zTest, trainBatch, testBatch, trainTarget, testTarget, input, totalSteps: job.training.epochs * stepsPerEpoch };
}

/** The trained explainer on the plan's test rows, scored and ranked with the priors' stored scores on the same rows. */
export async function reportTraining(
  plan: TrainingPlan,
  trained: Pick<TrainResult, 'explainer' | 'alpha'>,
  history: { steps: StepEvent[]; evals: EvalEvent[]; ms: number },
  onEvent?: (e: JobEvent) => void,
  signal?: AbortSignal,
): Promise<JobResult> {
  const { prep, job, testBatch, testTarget, split } = plan;
  const { loaded, scores } = prep;
  const { task, batch } = loaded;
  const n = task.nFeatures;
  throwIfCancelled(signal);
  onEvent?.({ stage: 'explain', done: 0, total: 1 });
  const te = performance.now();
  const raw = await trained.explainer.explain(testBatch.x, testBatch.nRows);
  const explainMs = performance.now() - te;
  const ours = minMaxNormalize(raw, testBatch.nRows, n);
  onEvent?.({ stage: 'explain', done: 1, total: 1 });
  const ourScores = await scoreAll(task, testBatch, testTarget, [ours], prep.metrics, new Seeder(job.seed), (done, total) => onEvent?.({ stage: 'score-explainer', done, total }), signal);
  const metricsInfo = prep.metrics.map((m, i) => {
    const unit = getMetric(m.id)!;
    return { id: m.id, direction: scores.directions[i], params: { ...unit.defaults, ...(m.params ?? {}) } as Params };
  });
  const testPositions = Array.from({ length: testBatch.nRows }, (_, i) => i);
  const rowsOut: Omit<MethodRow, 'ranks' | 'meanRank'>[] = [];
  const summarise = (perSample: Float32Array[], positions: number[]) => {
    const s: Record<string, number> = {};
    const nn: Record<string, number> = {};
    metricsInfo.forEach((m, i) => {
      const r = meanSkippingNaN(perSample[i], positions);
      s[m.id] = r.mean;
      nn[m.id] = r.nNaN;
    });
    return { scores: s, nNaN: nn };
  };
  rowsOut.push({ method: 'deepfaith', label: 'DeepFaith explainer', isExplainer: true, ...summarise(ourScores.perSample[0], testPositions), msPerSample: explainMs / Math.max(1, testBatch.nRows) });
  const ran = prep.priors.filter((p) => p.ran);
  prep.ranIds.forEach((id, j) => {
    const info = ran[j];
    rowsOut.push({ method: id, label: info.label, isExplainer: false, ...summarise(scores.perSample[j], split.test), msPerSample: info.msPerSample });
  });
  const { ranks, meanRank } = rankTable(rowsOut, metricsInfo);
  const table: MethodRow[] = rowsOut.map((r, i) => ({ ...r, ranks: ranks[i], meanRank: meanRank[i] }));
  onEvent?.({ stage: 'report', done: 1, total: 1 });
  return {
    job,
    task: { source: loaded.source, nRows: batch.nRows, nFeatures: n, featureNames: task.featureNames, classNames: task.classNames, baseline: task.baseline, output: task.output, target: job.task.target },
    split: { trainRows: Array.from(plan.trainBatch.rowIndex), testRows: Array.from(testBatch.rowIndex), evaluatedOn: plan.evaluateOn },
    priors: prep.priors,
    supervision: { options: plan.zTrain.options, counts: plan.zTrain.counts, testCounts: plan.zTest.counts, record: plan.zTrain.record },
    training: { mode: plan.mode, seed: plan.trainSeed, steps: history.steps, evals: history.evals, alpha: trained.alpha, ms: history.ms },
    metrics: metricsInfo,
    table,
  };
}

export async function trainAndReport(prep: PreparedJob, opts: TrainAndReportOptions = {}, onEvent?: (e: JobEvent) => void, signal?: AbortSignal): Promise<{ result: JobResult; explainer: Explainer }> {
  const plan = planTraining(prep, opts);
  onEvent?.({ stage: 'supervision', done: 1, total: 1, message: `Z: ${plan.zTrain.counts.afterFilter} pairs from ${plan.zTrain.counts.total} explanations (${plan.zTrain.counts.afterDedup} after dedup); ${plan.zTrain.counts.samplesWithoutSurvivor} samples without a survivor` });
  const steps: StepEvent[] = [];
  const evals: EvalEvent[] = [];
  const t0 = performance.now();
  const trained = await runTraining(trainExplainer({ ...plan.input, signal }), (e) => {
    if (e.type === 'step') steps.push(e);
    if (e.type === 'eval') evals.push(e);
    onEvent?.({ stage: 'train', done: e.type === 'step' ? e.step + 1 : steps.length, total: plan.totalSteps, train: e });
  });
  const ms = performance.now() - t0;
  try {
    const result = await reportTraining(plan, trained, { steps, evals, ms }, onEvent, signal);
    return { result, explainer: trained.explainer };
  } catch (e) {
    trained.explainer.dispose();
    throw e;
  }
}
