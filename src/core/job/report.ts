/**
 * Training and the method × metric table, split so that `deepfaith run` and the studio share every
 * step: `planTraining` (Z for the mode from the stored scores, the rows it fits and the rows it is
 * scored on, the explainer config, the trainer's input), the engine's training generator
 * (`trainExplainer`, pulled to its end here, or step by step with pause by the studio's worker),
 * and `reportTraining` (the trained explainer on the test rows, scored with the job's metrics, next
 * to the priors' stored scores on the same rows, ranked). `trainAndReport` = plan → train → report.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError, throwIfCancelled } from '../errors';
import { lcTargets, lossLC, type LcSampling } from '../explainer/losses';
import { pearson } from '../metrics/correlation';
import { weightedLeastSquares } from '../attribution/common';
import { fcnnlsVector } from 'ml-fcnnls';
import { Seeder } from '../rng';
import { checkpoint } from '../yield';
import { timeFastest } from '../timing';
import { getMetric } from '../metrics/registry';
import type { Params } from '../params';
import { bootstrapRanks, meanSkippingNaN, rankTable, type RankBootstrapRow } from '../ranking';
import { buildSupervision, minMaxNormalize, scoreAll, splitSamples, supervisionOptionsFor, type PriorMethodInfo, type SampleRecord, type SupervisionCounts, type SupervisionSet } from '../supervision/supervision';
import { Explainer, inputStatistics, type ExplainerConfig } from '../explainer/model';
import { inputWidth, tokenSpecFor } from '../explainer/tokens';
import { resolveCamLayer, spatialShape } from '../attribution/cam';
import { runTraining, stepsPerEpochOf, trainExplainer, type EvalEvent, type StepEvent, type TrainInput, type TrainMode, type TrainResult } from '../explainer/train';
import type { AlphaState } from '../explainer/alpha';
import type { Batch, Task } from '../task/task';
import { minMaxNormalizeRows, rowFeatureCounts } from '../task/ragged';
import { costModel, type CostModel } from '../explainer/cost';
import { modelFlops } from '../task/modelFlops';
import { methodRows } from '../estimate';
import { VALIDATION_FRACTION, applyOverrides, checkJobForTask, type Job, type JobOverrides } from './schema';
import { subBatch, type JobEvent, type PreparedJob } from './prepare';
import type { Frontier } from './frontier';

export interface MethodRow {
  method: string;
  label: string;
  isExplainer: boolean;
  /**
   * A diagnostic row, not a method: 'lc-optimum' (the per-sample least-squares fit of Δ on the
   * removed-subset indicators — the best L_LC can reach), 'lc-reachable' (the non-negative fit on
   * fresh subsets — the best an explainer with outputs in [0,1] can reach, see `lcOptimum`) or
   * 'z-mean' (the mean of the surviving priors — the best L_PC can reach). Never in Z; not ranked (ranks {}, meanRank NaN).
   */
  diagnostic?: 'lc-optimum' | 'lc-reachable' | 'z-mean';
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
  /** Methods ranked, then the diagnostic rows (ceilings) with their scores and no rank. */
  table: MethodRow[];
  /** How close the explainer is to what its objectives can reach, on the evaluation rows. */
  ceilings?: {
    /**
     * Held-out L_LC (same subsets, same Δ) of the explainer and of four fits of Δ on the removed-subset
     * indicators: `optimum`, the least-squares fit on these very subsets (the lowest L_LC any
     * explanation has here); `outOfSample`, the least-squares fit on `fitSubsets` fresh subsets of
     * the same rows, scored on these (what an explanation that generalises across subsets can
     * reach); `nonNegative` and `reachable`, the same two fits with every attribution ≥ 0 — the
     * explainer's sigmoid outputs lie in [0,1] and L_LC's Pearson is blind to scale but not to a
     * shift (a shift b adds b·|I| to every subset sum), so non-negative attributions are all it can
     * express, and `reachable` is its ceiling.
     *
     * `onFit`: the explainer and the least-squares optimum both scored on the `fitSubsets` subsets,
     * the optimum fitted to them. The in-sample optimum's lead from fitting n + 1 unknowns to the
     * very k subsets it is scored on shrinks like (n + 1)/k, so with ten times the subsets this
     * compares the explainer with what the per-row fit reaches, not with its fit to the draw.
     *
     * `fitScale: 'unit'`: the fits were scored with every row at unit scale (`unitRows`); reports
     * without it scored them at the scale of Δ, where L_LC's 1e-8 in the Pearson's denominator
     * understated what they reach on rows where the model is saturated.
     */
    lossLC: { explainer: number; optimum: number; outOfSample?: number; nonNegative?: number; reachable?: number; fitSubsets?: number; onFit?: { explainer: number; optimum: number }; fitScale?: 'unit' };
    /** Mean per-row Pearson of the explainer's (normalised) explanation with each prior's and with the Z mean. */
    agreement: Record<string, number>;
    /**
     * The train-vs-test gap: the explainer's mean rank among the priors on `rows` of its own training
     * rows (the first of them, as many as the evaluation rows) beside its rank on the evaluation rows.
     */
    rankGap?: { rows: number; train: number; test: number };
  };
  /**
   * How much of the ranked table is the draw of evaluation rows: the rows resampled with
   * replacement `resamples` times (seeded by the job seed), each ranked row's 95 % interval of the
   * mean rank and how often it is first, alone or tied (`bootstrapRanks`). One entry per ranked row
   * of `table`, in its order.
   */
  rankBootstrap?: { resamples: number; rows: ({ method: string } & RankBootstrapRow)[] };
  /** The cost–faithfulness frontier, when asked for (runJob's `frontier`). */
  frontier?: Frontier;
  /** FLOPs of one explainer row against one target forward, and each prior's forwards per row (explainer/cost.ts). */
  cost?: CostModel;
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
  /** Overrides of the job's settings for this training (tuning sweeps reuse one PreparedJob), checked by applyOverrides. */
  training?: JobOverrides['training'];
  explainer?: JobOverrides['explainer'];
  supervision?: JobOverrides['supervision'];
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
  /** Positions (into the job's rows) the explainer is fitted on: split.train less any early-stopping rows; trainBatch's rows. */
  fit: number[];
}

export function planTraining(prep: PreparedJob, opts: TrainAndReportOptions = {}): TrainingPlan {
  // the overrides are checked like a job file's fields (a misspelt or out-of-range setting is refused, not ignored)
  const job: Job = applyOverrides(prep.job, opts);
  const { loaded, target, scores } = prep;
  // and against the task (e.g. a class frame, exact subsets, synthetic rows), before Z is built or a step taken
  checkJobForTask(job, loaded.task.nFeatures, loaded.task);
  const evaluateOn = opts.evaluateOn ?? 'test';
  const split = evaluationSplit(prep, evaluateOn, opts.validationFraction ?? VALIDATION_FRACTION);
  const { task, batch } = loaded;
  const n = task.nFeatures;
  const d = task.inputSize; // model-input values per row
  // the explainer's token input, chosen by the feature space (explainer/tokens.ts): scalar per feature, image patches, or text token ids
  const tokens = tokenSpecFor(task.space);
  if (inputWidth(tokens, n) !== d)
    throw new UserError(`The explainer's ${tokens.kind} tokens read ${inputWidth(tokens, n)} values per row, but this task's model takes ${d} input values for its ${n} features.`, 'Train the explainer on a tabular task (one value per feature) or an image task (patch tokens).');
  const mode = opts.mode ?? job.mode;
  const trainSeed = opts.trainSeed ?? job.trainSeed ?? job.seed;
  const supOpts = supervisionOptionsFor(mode, job.supervision.delta, job.supervision.p);
  const supInput = { x: batch.x, n, inputSize: d, rowIndex: batch.rowIndex, methodIds: prep.ranIds, explanations: prep.explanations, scores };
  // each Z pair's target class (its row's), for an explainer with a class frame
  const targetOfRow = new Map<number, number>();
  for (let p = 0; p < batch.nRows; p++) targetOfRow.set(batch.rowIndex[p], target[p]);
  const withTargets = <Z extends { pairRow: Int32Array }>(zs: Z): Z & { target: Int32Array } => ({ ...zs, target: Int32Array.from(zs.pairRow, (r) => targetOfRow.get(r)!) });
  // early stopping watches validation rows carved from the training rows (never the evaluation rows)
  let fit = split.train;
  let validation: TrainInput['validation'];
  if (job.training.patience > 0 && split.train.length >= 4) {
    const carve = splitSamples(Int32Array.from(split.train, (p) => batch.rowIndex[p]), VALIDATION_FRACTION, new Seeder(job.seed), 'deepfaith-earlystop');
    const valPos = carve.test.map((i) => split.train[i]);
    fit = carve.train.map((i) => split.train[i]);
    const zVal = withTargets(buildSupervision({ ...supInput, use: valPos }, supOpts));
    const valBatch = subBatch(batch, valPos, d);
    validation = { z: zVal, samples: { x: valBatch.x, nRows: valBatch.nRows, rowIndex: valBatch.rowIndex, target: Int32Array.from(valPos, (p) => target[p]) } };
  }
  const zTrain = withTargets(buildSupervision({ ...supInput, use: fit }, supOpts));
  const zTest = withTargets(buildSupervision({ ...supInput, use: split.test }, supOpts));
  const trainBatch = subBatch(batch, fit, d);
  const testBatch = subBatch(batch, split.test, d);
  if (trainBatch.nRows === 0) throw new UserError('There are no training rows.', 'Use more rows.');
  const trainTarget = Int32Array.from(fit, (p) => target[p]);
  const testTarget = Int32Array.from(split.test, (p) => target[p]);
  // token ids are read as ids, not standardised: their statistics are the identity
  const statistics = tokens.kind === 'token-id' ? { inputMean: new Array<number>(d).fill(0), inputStd: new Array<number>(d).fill(1), inputTransform: 'standard' as const } : inputStatistics(trainBatch.x, trainBatch.nRows, d, job.explainer.inputTransform);
  const explainer: ExplainerConfig = { nFeatures: n, ...job.explainer, ...(job.explainer.classFrame === 'classes' ? { nClasses: task.nClasses } : {}), seed: trainSeed, tokens, ...statistics };
  const input: TrainInput = {
    task,
    explainer,
    config: job.training,
    mode,
    seed: trainSeed,
    z: zTrain,
    samples: { x: trainBatch.x, nRows: trainBatch.nRows, rowIndex: trainBatch.rowIndex, target: trainTarget },
    heldOut: testBatch.nRows > 0 ? { z: zTest, samples: { x: testBatch.x, nRows: testBatch.nRows, rowIndex: testBatch.rowIndex, target: testTarget } } : undefined,
    validation,
    syntheticTarget: job.task.target === 'label' ? 'source' : 'predicted',
    checkpointEvery: opts.checkpointEvery,
    resume: opts.resume,
  };
  const stepsPerEpoch = stepsPerEpochOf(mode, zTrain.nPairs, trainBatch.nRows, job.training);
  return { prep, job, mode, trainSeed, evaluateOn, split, zTrain, zTest, trainBatch, testBatch, trainTarget, testTarget, input, totalSteps: job.training.epochs * stepsPerEpoch, fit };
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
  // timed as the fastest of three runs, like the frontier's prior points (core/timing.ts)
  const { value: raw, ms: explainMs } = await timeFastest(() => trained.explainer.explain(testBatch.x, testBatch.nRows, testTarget));
  const ours = normalizeFor(task, testBatch, raw);
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
  const gather = (v: Float32Array, positions: number[]) => Float32Array.from(positions, (p) => v[p]);
  const boot = await bootstrapRanks(
    [metricsInfo.map((_, i) => ourScores.perSample[0][i]), ...prep.ranIds.map((_, j) => metricsInfo.map((_, i) => gather(scores.perSample[j][i], split.test)))],
    metricsInfo,
    new Seeder(job.seed).rng('rank-bootstrap', 0),
    RANK_RESAMPLES,
    signal,
  );
  const rankBootstrap = { resamples: RANK_RESAMPLES, rows: boot.map((b, i) => ({ method: rowsOut[i].method, ...b })) };

  // ceilings (diagnostics): what L_LC and L_PC can reach on these rows, scored like every explanation
  const nTest = testBatch.nRows;
  let ceilings: JobResult['ceilings'];
  if (nTest > 0) {
    const cfg = job.training;
    const lc = await lcTargets(task, testBatch.x, nTest, testBatch.rowIndex, testTarget, cfg.lcSubsets, new Seeder(plan.trainSeed), 'deepfaith-lc-heldout', cfg.lcSampling ?? 'independent');
    // fresh subsets of the same rows for the out-of-sample fits: ten times as many (at least 4 per unknown), drawn
    // independently — from the Shapley kernel when training draws from it, so that the fits aim where L_LC does
    const fitSubsets = lcFitSubsets(lc.k, n);
    const lcFit = await lcTargets(task, testBatch.x, nTest, testBatch.rowIndex, testTarget, fitSubsets, new Seeder(plan.trainSeed), 'deepfaith-lc-fit', fitSampling(cfg.lcSampling));
    const optimumRaw = await lcOptimum(lc, nTest, n, {}, signal);
    const reachableRaw = await lcOptimum(lcFit, nTest, n, { nonNegative: true }, signal);
    const optimum = normalizeFor(task, testBatch, optimumRaw);
    const reachable = normalizeFor(task, testBatch, reachableRaw);
    const zMean = zMeanExplanations(plan, n);
    const diag = await scoreAll(task, testBatch, testTarget, [optimum, reachable, zMean], prep.metrics, new Seeder(job.seed), undefined, signal);
    const noRank = { ranks: {} as Record<string, number>, meanRank: NaN, msPerSample: NaN };
    table.push({ method: 'lc-optimum', label: 'L_LC optimum (diagnostic)', isExplainer: false, diagnostic: 'lc-optimum', ...summarise(diag.perSample[0], testPositions), ...noRank });
    table.push({ method: 'lc-reachable', label: 'L_LC reachable (diagnostic)', isExplainer: false, diagnostic: 'lc-reachable', ...summarise(diag.perSample[1], testPositions), ...noRank });
    table.push({ method: 'z-mean', label: 'Z mean (diagnostic)', isExplainer: false, diagnostic: 'z-mean', ...summarise(diag.perSample[2], testPositions), ...noRank });
    const lcOf = async (phi: Float32Array, normalised: boolean, on: { k: number; masks: Float32Array; delta: Float32Array } = lc) => {
      const t = tf.tidy(() => lossLC(tf.tensor2d(phi, [nTest, n]), tf.tensor3d(on.masks, [nTest, on.k, n]), tf.tensor2d(on.delta, [nTest, on.k]), normalised));
      try {
        return (await t.data())[0];
      } finally {
        t.dispose();
      }
    };
    // a fit is scored at unit scale (fitScale): its L_LC is then that of its direction, which is what it optimises
    const fitLC = (phi: Float32Array, on?: { k: number; masks: Float32Array; delta: Float32Array }) => lcOf(unitRows(phi, nTest, n), false, on);
    const outOfSampleRaw = await lcOptimum(lcFit, nTest, n, {}, signal);
    const lossLc = {
      explainer: await lcOf(raw, cfg.lcNormalised ?? false),
      optimum: await fitLC(optimumRaw),
      outOfSample: await fitLC(outOfSampleRaw),
      // in sample, only where the subsets outnumber the unknowns (with fewer, the fit is underdetermined)
      ...(lc.k > n + 1 ? { nonNegative: await fitLC(await lcOptimum(lc, nTest, n, { nonNegative: true }, signal)) } : {}),
      reachable: await fitLC(reachableRaw),
      fitSubsets: lcFit.k,
      onFit: { explainer: await lcOf(raw, cfg.lcNormalised ?? false, lcFit), optimum: await fitLC(outOfSampleRaw, lcFit) },
      fitScale: 'unit' as const,
    };
    const agreement: Record<string, number> = {};
    const meanPearson = (a: Float32Array, b: Float32Array) => {
      let acc = 0;
      for (let r = 0; r < nTest; r++) acc += pearson(a.subarray(r * n, (r + 1) * n), b.subarray(r * n, (r + 1) * n));
      return acc / nTest;
    };
    prep.ranIds.forEach((id, j) => (agreement[id] = meanPearson(ours, Float32Array.from(split.test.flatMap((p) => Array.from(prep.explanations[j].subarray(p * n, (p + 1) * n)))))));
    agreement['z-mean'] = meanPearson(ours, zMean);
    // the train-vs-test gap: ranked with the priors' stored scores on as many of its own training rows
    const m = Math.min(nTest, plan.fit.length);
    const width = plan.trainBatch.x.length / Math.max(1, plan.trainBatch.nRows);
    const trainPos = plan.fit.slice(0, m);
    const trainRows: Batch = { x: plan.trainBatch.x.subarray(0, m * width), nRows: m, rowIndex: plan.trainBatch.rowIndex.subarray(0, m) };
    const trainOurs = normalizeFor(task, trainRows, await trained.explainer.explain(trainRows.x, m, plan.trainTarget.subarray(0, m)));
    const trainScores = await scoreAll(task, trainRows, plan.trainTarget.subarray(0, m), [trainOurs], prep.metrics, new Seeder(job.seed), undefined, signal);
    const trainTable = [summarise(trainScores.perSample[0], Array.from({ length: m }, (_, i) => i)), ...prep.ranIds.map((_, j) => summarise(scores.perSample[j], trainPos))];
    const rankGap = m > 0 ? { rows: m, train: rankTable(trainTable, metricsInfo).meanRank[0], test: table[0].meanRank } : undefined;
    ceilings = { lossLC: lossLc, agreement, rankGap };
  }
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
    rankBootstrap,
    ceilings,
    cost: costModel(
      { tokens: n, valuesPerToken: task.inputSize / n, dModel: job.explainer.dModel, nHeads: job.explainer.nHeads, nLayers: job.explainer.nLayers, dFF: job.explainer.dFF },
      task.model.model instanceof tf.LayersModel ? modelFlops(task.model.model) : null,
      ran.map((p) => ({ id: p.id, forwardsPerRow: methodRows(p.id, p.params, n, p.id === 'score-cam' ? spatialShape(resolveCamLayer(task, String(p.params.layer ?? ''), 'Score-CAM'))[2] : undefined) })),
    ),
  };
}

/**
 * Each row divided by its largest |value| (rows of zeros stay zeros). L_LC's Pearson adds 1e-8 to
 * its denominator, so it is blind to an attribution's scale only while ‖centred subset sums‖·‖centred
 * Δ‖ is well above 1e-8; a least-squares fit has the scale of Δ, and where the model is saturated
 * (Δ varies by 1e-3 or less across the subsets) scoring it at that scale cuts its Pearson. At
 * unit scale the fits score what their direction reaches. [nRows, n]
 */
export function unitRows(phi: Float32Array, nRows: number, n: number): Float32Array {
  const out = new Float32Array(nRows * n);
  for (let r = 0; r < nRows; r++) {
    let m = 0;
    for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(phi[r * n + i]));
    if (m > 0) for (let i = 0; i < n; i++) out[r * n + i] = phi[r * n + i] / m;
  }
  return out;
}

/** How many more subsets the out-of-sample L_LC fits draw than the held-out evaluation uses. */
export const LC_FIT_FACTOR = 10;

/** Resamples of the evaluation rows behind `JobResult.rankBootstrap`. */
export const RANK_RESAMPLES = 1000;

/**
 * How the report's fresh fit subsets are drawn for a training's L_LC sampling: from the Shapley kernel
 * for 'shapley' (whose optimum is the Shapley values), else each feature removed with probability ½
 * (the optimum of 'independent', 'antithetic' and 'exact' alike: the Banzhaf values).
 */
export function fitSampling(sampling: LcSampling | undefined): LcSampling {
  return sampling === 'shapley' ? 'shapley' : 'independent';
}

/** Subsets per row for the out-of-sample L_LC fits: LC_FIT_FACTOR·k, and at least 4 per unknown (n weights and the intercept). */
export function lcFitSubsets(k: number, n: number): number {
  return Math.max(LC_FIT_FACTOR * k, 4 * (n + 1));
}

/**
 * Per row, the least-squares fit of Δ(I_j) on the removed-subset indicators (with an intercept,
 * a tiny ridge for n ≥ k): the linear attribution whose subset sums correlate best with Δ over
 * these subsets — the optimum of L_LC among explanations. With `nonNegative`, the fit with every
 * attribution ≥ 0 (non-negative least squares on the centred indicators and Δ, the intercept
 * free): the best any explanation with outputs in [0,1] can do, since the Pearson in L_LC is
 * invariant to scaling the attribution but not to shifting it. A row where no non-negative
 * attribution correlates positively with Δ gets all zeros. [nRows, n]
 */
export async function lcOptimum(lc: { k: number; masks: Float32Array; delta: Float32Array }, nRows: number, n: number, opts: { nonNegative?: boolean } = {}, signal?: AbortSignal): Promise<Float32Array> {
  const { k } = lc;
  const out = new Float32Array(nRows * n);
  if (opts.nonNegative) {
    for (let r = 0; r < nRows; r++) {
      await checkpoint(signal); // a row's fit takes up to ~0.2 s at 196 features: the worker keeps answering
      const X: number[][] = [];
      const y: number[] = [];
      const colMean = new Float64Array(n);
      let yMean = 0;
      for (let j = 0; j < k; j++) {
        yMean += lc.delta[r * k + j] / k;
        for (let i = 0; i < n; i++) colMean[i] += lc.masks[(r * k + j) * n + i] / k;
      }
      for (let j = 0; j < k; j++) {
        X.push(Array.from({ length: n }, (_, i) => lc.masks[(r * k + j) * n + i] - colMean[i]));
        y.push(lc.delta[r * k + j] - yMean);
      }
      const beta = fcnnlsVector(X, y, { maxIterations: 10 * n + 10 }).K.to1DArray();
      for (let i = 0; i < n; i++) out[r * n + i] = Math.max(0, beta[i]);
    }
    return out;
  }
  const d = n + 1;
  const Z = new Float64Array(k * d);
  const y = new Float64Array(k);
  const w = new Float64Array(k).fill(1);
  for (let r = 0; r < nRows; r++) {
    await checkpoint(signal);
    for (let j = 0; j < k; j++) {
      Z[j * d] = 1;
      for (let i = 0; i < n; i++) Z[j * d + 1 + i] = lc.masks[(r * k + j) * n + i];
      y[j] = lc.delta[r * k + j];
    }
    const beta = weightedLeastSquares(Z, y, w, k, d, 1e-9, (c) => c > 0);
    for (let i = 0; i < n; i++) out[r * n + i] = beta[1 + i];
  }
  return out;
}

/**
 * Per evaluation row, the mean of the normalised priors that survive dedup and filter there (the
 * target L_PC pulls the explainer towards), re-normalised; a row with no survivor takes the mean of
 * every prior. [nRows, n]
 */
function zMeanExplanations(plan: TrainingPlan, n: number): Float32Array {
  const { prep, split, zTest } = plan;
  const nRows = split.test.length;
  const out = new Float32Array(nRows * n);
  split.test.forEach((p, r) => {
    const rec = zTest.record[r];
    const kept = rec ? rec.fates.filter((f) => f.fate === 'kept').map((f) => prep.ranIds.indexOf(f.method)) : [];
    const use = kept.length ? kept : prep.ranIds.map((_, j) => j);
    for (const j of use) for (let i = 0; i < n; i++) out[r * n + i] += prep.explanations[j][p * n + i] / use.length;
  });
  return normalizeFor(prep.loaded.task, plan.testBatch, out);
}

/**
 * The explainer's values as the studio draws them: a signed head's min–max normalised per row (the
 * form every explanation is scored in; its raw values have no fixed range) and so a class frame's
 * (class 0's values are negative), a plain sigmoid head's as they are ([0,1] already). [nRows, n]
 */
export function shownExplanation(task: Task, rows: Batch, c: Pick<ExplainerConfig, 'head' | 'classFrame'>, s: Float32Array): Float32Array {
  return c.head === 'signed' || (c.classFrame ?? 'none') !== 'none' ? normalizeFor(task, rows, s) : s;
}

/** Min–max per row, as every explanation is scored; on text each row over its real tokens only (padding stays 0; core/task/ragged.ts). [nRows, n] */
export function normalizeFor(task: Task, rows: Batch, s: Float32Array): Float32Array {
  const counts = rowFeatureCounts(task, rows);
  return counts ? minMaxNormalizeRows(s, rows.nRows, task.nFeatures, counts) : minMaxNormalize(s, rows.nRows, task.nFeatures);
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
