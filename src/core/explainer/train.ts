/**
 * Training the DeepFaith explainer: an async generator of progress events.
 *
 * One epoch = one pass over the supervision set Z in minibatches of `batchSize` pairs (seeded
 * shuffle per epoch); each step also takes the next slice of the training samples D for L_LC, so
 * that every sample of D enters L_LC once per epoch. Δ of L_LC's k subsets is recomputed at the
 * start of every epoch for all of D in one batched model call (fresh subsets each epoch).
 * L_OBJ = α·L_PC + (1−α)·L_LC with α from Algorithm 1 (alpha.ts; by default one iteration per epoch,
 * fed the epoch's mean L_PC, α held for the next epoch's steps; option alpha.every 'step'), or α ≡ 1 (`pc-only`),
 * α ≡ 0 (`lc-only`). `dedup-only` / `filter-only` train like `full`; they differ in how Z was built.
 * Adam with an explicit epsilon; optional decoupled weight decay (θ ← θ·(1 − lr·wd) after each step).
 * Randomness: dropout masks, shuffles and subsets all come from the job seed and fixed unit ids,
 * so a resumed run continues exactly as an uninterrupted one.
 * Per-stage backends (core/backend.ts `splitStages`): when the target model is scored on one
 * backend and the explainer trains on another, the explainer's variables live on the training
 * backend, which is active only while the generator computes; Δ of L_LC is computed with the
 * score backend active and crosses as Float32Arrays; every event is yielded with the score backend
 * active; and the returned explainer is rebuilt on the score backend from its weights, read
 * asynchronously. With one backend for both stages nothing switches.
 */
import * as tf from '@tensorflow/tfjs';
import { isOutOfMemory, throwIfCancelled, UserError } from '../errors';
import { checkpoint } from '../yield';
import { compileAhead, splitStages, activateBackend, withBackend } from '../backend';
import { Seeder } from '../rng';
import { chooseTargets, type Task } from '../task/task';
import { alphaStep, initialAlphaState, defaults as alphaDefaults, type AlphaParams, type AlphaState } from './alpha';
import { LC_OUTPUTS, LC_SAMPLINGS, lcSubsetCount, lcTargets, lossLC, lossPC, type LcOutput, type LcSampling, type LcTargets } from './losses';
import type { OutputMode } from '../task/model';
import { columnMoments, Explainer, type ClassFrame, type ExplainerConfig } from './model';
import { inputWidth, tokensOf, type TokenKind } from './tokens';
import type { ParamSchema } from '../params';

export const TRAIN_MODES = ['full', 'pc-only', 'lc-only', 'dedup-only', 'filter-only'] as const;
export type TrainMode = (typeof TRAIN_MODES)[number];

export interface TrainConfig {
  epochs: number;
  /** Z pairs per step. */
  batchSize: number;
  learningRate: number;
  /** Adam's epsilon, explicit so every backend uses the same one. */
  adamEpsilon: number;
  /** Decoupled weight decay (0 = off). */
  weightDecay: number;
  /** k: random removed subsets per sample in L_LC. */
  lcSubsets: number;
  /** How L_LC's subsets are drawn (losses.ts LcSampling). */
  lcSampling: LcSampling;
  /** Learning-rate schedule over all steps: constant, or cosine decay from learningRate to 0. */
  lrSchedule: 'constant' | 'cosine';
  /**
   * Early stopping (0 = off): stop when the validation objective (L_PC + L_LC on validation rows
   * carved from the training rows, never the test rows) has not improved for this many epochs,
   * and keep the weights of the best epoch.
   */
  patience: number;
  /** L_LC on the per-sample min–max normalised output (what the metrics score) instead of the sigmoid output. */
  lcNormalised: boolean;
  /**
   * Synthetic L_LC rows per training row, drawn afresh every epoch (0 = off; outside METRICS.md,
   * whose D is the training rows): each a training row plus Gaussian noise of σ = lcJitter × that
   * input value's standard deviation over the training rows, explained for the model's predicted
   * class there (the source row's class when the job explains labels). L_LC needs only model calls,
   * so a few hundred rows can be stretched to many; validation and held-out rows stay real.
   */
  lcAugment: number;
  /** σ of the synthetic rows' noise, in standard deviations of each input value over the training rows. */
  lcJitter: number;
  /**
   * The model output whose Δ the training steps' L_LC fits: 'task' (the task's output, METRICS.md;
   * the default) or 'logit' (the target logit; outside METRICS.md). A saturated probability barely
   * moves when features are removed (and near 1 float32 resolves it only to 6e-8), its logit does.
   * Validation (early stopping) and held-out L_LC stay on the task's output, which is what is scored.
   */
  lcOutput: LcOutput;
  /** Held-out evaluation every this many epochs (and after the last). 0 = only after the last. */
  evalEvery: number;
  /** Algorithm 1's ε, e, C. */
  alpha: AlphaParams;
}

/** Training defaults for tabular tasks (k = 100 and ε, e, C from the paper; lr and epochs sized for a CPU). */
export const defaults: TrainConfig = {
  epochs: 60,
  batchSize: 256,
  learningRate: 1e-3,
  adamEpsilon: 1e-7,
  weightDecay: 1e-5,
  lcSubsets: 100,
  lcSampling: 'independent',
  lcNormalised: false,
  lcAugment: 0,
  lcJitter: 0.1,
  lcOutput: 'task',
  lrSchedule: 'constant',
  patience: 0,
  evalEvery: 10,
  alpha: { ...alphaDefaults },
};

/** Ranges of the training settings (the α settings: alpha.ts `params`). */
export const params: ParamSchema<Omit<TrainConfig, 'alpha'>> = {
  epochs: { type: 'int', min: 0, max: 100000, meaning: 'Passes over the supervision set Z.' },
  batchSize: { type: 'int', min: 1, max: 1000000, meaning: 'Z pairs per step.' },
  learningRate: { type: 'number', min: 0, minExclusive: true, max: 1, meaning: 'Adam learning rate.' },
  adamEpsilon: { type: 'number', min: 0, minExclusive: true, max: 1, meaning: 'Adam ε, explicit so every backend uses the same one.' },
  weightDecay: { type: 'number', min: 0, max: 1, meaning: 'Decoupled weight decay per step (0 = off).' },
  lcSubsets: { type: 'int', min: 2, max: 10000, meaning: 'k: random removed subsets per sample in L_LC.' },
  lcSampling: { type: 'choice', choices: LC_SAMPLINGS, meaning: 'L_LC subsets: independent draws (optimum: Banzhaf values), antithetic pairs (a draw and its complement), all 2ⁿ (n ≤ 12), or Shapley-kernel pairs (optimum: Shapley values).' },
  lcNormalised: { type: 'boolean', meaning: 'Compute L_LC on the per-sample min–max normalised output (what the metrics score).' },
  lcAugment: { type: 'int', min: 0, max: 64, meaning: 'Synthetic L_LC rows per training row, fresh every epoch: a training row plus Gaussian noise (0 = off; tables and images).' },
  lcJitter: { type: 'number', min: 0, minExclusive: true, max: 10, meaning: 'σ of the synthetic rows\' noise, in standard deviations of each input value over the training rows.' },
  lcOutput: { type: 'choice', choices: LC_OUTPUTS, meaning: 'Model output whose Δ the training steps\' L_LC fits: the task\'s output, or the target logit (saturated probabilities barely move); validation and held-out L_LC stay on the task\'s output.' },
  lrSchedule: { type: 'choice', choices: ['constant', 'cosine'], meaning: 'Learning rate over the steps: constant, or cosine decay to 0.' },
  patience: { type: 'int', min: 0, max: 100000, meaning: 'Early stopping: epochs without a better validation objective before training stops (0 = off; validation rows come from the training rows).' },
  evalEvery: { type: 'int', min: 0, max: 100000, meaning: 'Held-out evaluation every this many epochs (and after the last; 0 = only after the last).' },
};

/**
 * Attention scores of one training pass (rows · heads · n² · layers) above which a step's rows go
 * through the explainer in chunks whose gradients are summed (weighted by each chunk's share of the
 * step's rows, so the step's loss and gradient are those of the whole minibatch): a 196-patch
 * explainer trains in chunks of tens of rows, tabular explainers in one pass as always.
 */
export const TRAIN_ATTENTION_BUDGET = 1 << 26;

/** Rows per training pass through the explainer (see TRAIN_ATTENTION_BUDGET). */
export function trainRowsPerPass(c: Pick<ExplainerConfig, 'nFeatures' | 'nHeads' | 'nLayers'>): number {
  return Math.max(1, Math.floor(TRAIN_ATTENTION_BUDGET / Math.max(1, c.nHeads * c.nFeatures * c.nFeatures * c.nLayers)));
}

/** Samples with their target class: rows of D (for L_LC) or of the held-out split. */
export interface SampleSet {
  /** [nRows, inputWidth]: what the explainer reads (features; the image for patch tokens) */
  x: Float32Array;
  nRows: number;
  /** Global row index of each row (seeds its subsets). */
  rowIndex: Int32Array;
  target: Int32Array;
}

/** The supervision pairs (x, s). */
export interface PairSet {
  /** [nPairs, inputWidth] */
  x: Float32Array;
  /** [nPairs, n] saliency targets in [0,1] */
  s: Float32Array;
  nPairs: number;
  /** [nPairs] the target class each pair's explanation is of (needed by an explainer with a class frame). */
  target?: Int32Array;
}

export interface TrainInput {
  task: Task;
  explainer: ExplainerConfig;
  config: TrainConfig;
  mode: TrainMode;
  /** Seeds dropout, shuffles and L_LC subsets. */
  seed: number;
  z: PairSet;
  samples: SampleSet;
  /** Held-out pairs and samples for the periodic evaluation events. */
  heldOut?: { z: PairSet; samples: SampleSet };
  /** Validation pairs and samples (from the training rows) for early stopping (config.patience > 0). */
  validation?: { z: PairSet; samples: SampleSet };
  /**
   * The class a synthetic L_LC row (config.lcAugment) is explained for: the model's predicted class
   * at that row (default; jobs that explain the predicted class) or its source row's (jobs that explain labels).
   */
  syntheticTarget?: 'predicted' | 'source';
  /** Continue from a checkpoint (taken at the end of an epoch). */
  resume?: TrainCheckpoint;
  /** Yield a checkpoint event every this many epochs (0 = never). */
  checkpointEvery?: number;
  /** Rows per pass through the explainer within a step (default: trainRowsPerPass, from TRAIN_ATTENTION_BUDGET); the numbers do not depend on it beyond float rounding. */
  rowsPerPass?: number;
  signal?: AbortSignal;
}

export interface StepEvent {
  type: 'step';
  step: number;
  epoch: number;
  /** The step's L_PC; NaN in lc-only (α ≡ 0: no L_PC pass). */
  lossPC: number;
  /** The step's L_LC; NaN in pc-only (α ≡ 1: no L_LC pass). */
  lossLC: number;
  /** α used in this step. */
  alpha: number;
  /** Algorithm 1's flag after this step. */
  converged: boolean;
  /** σ² of the last window of L_PC (NaN before the window fills). */
  variance: number;
  /** Wall time of the step. */
  ms: number;
}
export interface EvalEvent {
  type: 'eval';
  step: number;
  epoch: number;
  /** L_PC on the held-out pairs, L_LC on the held-out samples (fixed subsets). */
  lossPC: number;
  lossLC: number;
  /**
   * Set on the evaluation of the weights training returns when they are not the last epoch's
   * (early stopping kept the best validation epoch, `epoch`): the held-out losses of the explainer
   * the report scores.
   */
  kept?: true;
}
export interface CheckpointEvent {
  type: 'checkpoint';
  epoch: number;
  checkpoint: TrainCheckpoint;
}
/** Early stopping ended the training; the best epoch's weights were kept. */
export interface StopEvent {
  type: 'stop';
  /** Epochs completed when training stopped. */
  epoch: number;
  /** The epoch (0-based) whose weights were kept, and its validation objective. */
  bestEpoch: number;
  bestObjective: number;
}
/** The validation objective after an epoch (early stopping). */
export interface ValidationEvent {
  type: 'validation';
  epoch: number;
  objective: number;
}
export type TrainEvent = StepEvent | EvalEvent | CheckpointEvent | StopEvent | ValidationEvent;

export interface TrainCheckpoint {
  version: 1;
  /** Epochs completed. */
  epoch: number;
  /** Steps completed. */
  step: number;
  mode: TrainMode;
  seed: number;
  config: TrainConfig;
  explainer: ExplainerConfig;
  alpha: AlphaState;
  weights: Record<string, number[]>;
  /** Adam's state (iterations, first and second moments) in tfjs' getWeights order. */
  optimizer: { name: string; shape: number[]; values: number[] }[];
  /**
   * Early stopping's state after this epoch's validation (config.patience > 0): the best objective
   * so far (null: none yet), its epoch (−1: none) and that epoch's weights (null: none kept). A
   * checkpoint written without it resumes with early stopping starting afresh.
   */
  earlyStop?: { best: number | null; bestEpoch: number; bestWeights: Record<string, number[]> | null };
}

export interface TrainResult {
  explainer: Explainer;
  alpha: AlphaState;
  steps: number;
  epochs: number;
}

/** α of the next step for a mode. */
function modeAlpha(mode: TrainMode, state: AlphaState): number {
  return mode === 'pc-only' ? 1 : mode === 'lc-only' ? 0 : state.alpha;
}

/**
 * A training step the backend had no memory for, as a UserError naming the step's size and what to
 * lower (the wasm backend reports it as "memory access out of bounds"); any other error unchanged.
 */
export function stepMemoryError(e: unknown, step: number, epoch: number, pairs: number, rows: number, c: Pick<ExplainerConfig, 'dModel' | 'nHeads' | 'nLayers' | 'dFF'>): unknown {
  if (!isOutOfMemory(e)) return e;
  return new UserError(
    `Training ran out of memory on the ${tf.getBackend()} backend at step ${step} (epoch ${epoch + 1}): one step takes ${pairs} pairs of Z and ${rows} rows for L_LC through an explainer of width ${c.dModel}, ${c.nHeads} heads, ${c.nLayers} layers, FFN ${c.dFF} (${e instanceof Error ? e.message : String(e)}). Nothing was saved.`,
    'Lower training.batchSize (e.g. 256) or the explainer\'s size, or choose another backend, and train again.',
  );
}

/**
 * A class frame is exact only where the classes' Δ_c are tied as it assumes: 'sign' (class 0's
 * explanation is the negative of class 1's) on a two-class task scored on its probability,
 * 'classes' (the classes' explanations sum to zero) on any task scored on its probabilities — both
 * with L_LC trained on that output. `explainerClasses`: the classes a trained explainer explains
 * (its config's nClasses), checked against the task's.
 */
export function checkClassFrame(frame: ClassFrame | undefined, task: Pick<Task, 'nClasses' | 'output'>, lcOutput: LcOutput | undefined, explainerClasses?: number): void {
  if ((frame ?? 'none') === 'none') return;
  if (frame === 'sign' && (task.nClasses !== 2 || task.output !== 'probability'))
    throw new UserError(
      `The explainer's class frame "sign" mirrors class 1's explanation for class 0, which is exact only for a two-class model scored on its probability; this task has ${task.nClasses} class${task.nClasses === 1 ? '' : 'es'} and output "${task.output}".`,
      task.output === 'probability' && task.nClasses > 2 ? 'Set explainer.classFrame to "classes" (any number of classes) or "none" for this task.' : 'Set explainer.classFrame to "none" for this task.',
    );
  if (frame === 'classes' && (task.nClasses < 2 || task.output !== 'probability'))
    throw new UserError(
      `The explainer's class frame "classes" makes the classes' explanations sum to zero, as the changes of probabilities that sum to one do; this task has ${task.nClasses} class${task.nClasses === 1 ? '' : 'es'} and output "${task.output}".`,
      'Set explainer.classFrame to "none" for this task.',
    );
  if ((lcOutput ?? 'task') === 'logit')
    throw new UserError(
      frame === 'sign'
        ? 'The class frame "sign" relies on p₀ = 1 − p₁; the two classes\' logits are not mirrors of each other, so it cannot be trained with training.lcOutput "logit".'
        : 'The class frame "classes" relies on the classes\' probabilities summing to one; their logits do not sum to anything fixed, so it cannot be trained with training.lcOutput "logit".',
      'Set training.lcOutput to "task", or explainer.classFrame to "none".',
    );
  if (frame === 'classes' && explainerClasses !== undefined && explainerClasses !== task.nClasses)
    throw new UserError(
      `The explainer explains ${explainerClasses} classes (class frame "classes"), but this task's model has ${task.nClasses}.`,
      'Give the data and model the explainer was trained for, or train an explainer for this model.',
    );
}

/** Synthetic L_LC rows are noise added to input values: refused where the explainer reads token ids (text). */
export function checkAugment(lcAugment: number, tokenKind: TokenKind): void {
  if (lcAugment > 0 && tokenKind === 'token-id')
    throw new UserError('Synthetic L_LC rows (training.lcAugment) add noise to the input values, and a text explainer reads token ids: noise would not give words.', 'Set training.lcAugment to 0 for text tasks.');
}

/** Steps per epoch: one per batchSize pairs of Z; lc-only without Z, one per batchSize rows of D (synthetic rows included). */
export function stepsPerEpochOf(mode: TrainMode, nPairs: number, nRows: number, config: Pick<TrainConfig, 'batchSize' | 'lcAugment'>): number {
  const rows = nRows * (1 + (config.lcAugment ?? 0));
  return Math.max(1, Math.ceil((mode === 'lc-only' && nPairs === 0 ? rows : nPairs) / config.batchSize));
}

/**
 * D of one epoch with `lcAugment` synthetic rows per training row: the training rows, then for each
 * of them `lcAugment` copies plus N(0, (lcJitter·std_j)²) noise (stream unit `deepfaith-augment|epoch…`,
 * per source row), explained for the model's predicted class there or the source row's class.
 * Synthetic rows get row indices −1, −2, … (they seed their own L_LC subsets).
 */
export async function augmentedSamples(task: Task, samples: SampleSet, width: number, std: Float32Array, config: Pick<TrainConfig, 'lcAugment' | 'lcJitter'>, seeder: Seeder, epoch: number, target: 'predicted' | 'source'): Promise<SampleSet> {
  const a = config.lcAugment;
  const nSyn = samples.nRows * a;
  const x = new Float32Array((samples.nRows + nSyn) * width);
  x.set(samples.x);
  const src = new Int32Array(nSyn);
  for (let r = 0; r < samples.nRows; r++) {
    const rng = seeder.rng(`deepfaith-augment|epoch${epoch}`, samples.rowIndex[r]);
    for (let c = 0; c < a; c++) {
      const i = r * a + c;
      src[i] = r;
      const o = (samples.nRows + i) * width;
      for (let j = 0; j < width; j++) x[o + j] = samples.x[r * width + j] + config.lcJitter * std[j] * rng.normal();
    }
  }
  const rowIndex = new Int32Array(samples.nRows + nSyn);
  rowIndex.set(samples.rowIndex);
  for (let i = 0; i < nSyn; i++) rowIndex[samples.nRows + i] = -(i + 1);
  // the engine's target rule (task.ts chooseTargets) on the synthetic rows, or their source rows' classes
  const synTarget =
    target === 'source'
      ? Int32Array.from(src, (r) => samples.target[r])
      : await chooseTargets(task, { x: x.subarray(samples.nRows * width), nRows: nSyn, rowIndex: rowIndex.subarray(samples.nRows) }, 'predicted');
  const targetAll = new Int32Array(samples.nRows + nSyn);
  targetAll.set(samples.target);
  targetAll.set(synTarget, samples.nRows);
  return { x, nRows: samples.nRows + nSyn, rowIndex, target: targetAll };
}

function shuffled(nItems: number, seeder: Seeder, unit: string): Int32Array {
  const rng = seeder.rng(unit, 0);
  return rng.sampleWithoutReplacement(nItems, nItems);
}

function gatherRows(src: Float32Array, width: number, idx: ArrayLike<number>): Float32Array {
  const out = new Float32Array(idx.length * width);
  for (let r = 0; r < idx.length; r++) out.set(src.subarray(idx[r] * width, (idx[r] + 1) * width), r * width);
  return out;
}

/** Held-out L_PC and L_LC without dropout, in chunks. */
async function evaluateLosses(explainer: Explainer, z: PairSet, lc: LcTargets, samples: SampleSet, normalised: boolean): Promise<{ lossPC: number; lossLC: number }> {
  const n = explainer.config.nFeatures;
  let lossPCValue = NaN;
  if (z.nPairs > 0) {
    const phi = await explainer.explain(z.x, z.nPairs, z.target);
    const l = tf.tidy(() => lossPC(tf.tensor2d(phi, [z.nPairs, n]), tf.tensor2d(z.s, [z.nPairs, n])));
    lossPCValue = (await l.data())[0];
    l.dispose();
  }
  let lossLCValue = NaN;
  if (samples.nRows > 0) {
    const phi = await explainer.explain(samples.x, samples.nRows, samples.target);
    const l = tf.tidy(() =>
      lossLC(tf.tensor2d(phi, [samples.nRows, n]), tf.tensor3d(lc.masks, [samples.nRows, lc.k, n]), tf.tensor2d(lc.delta, [samples.nRows, lc.k]), normalised),
    );
    lossLCValue = (await l.data())[0];
    l.dispose();
  }
  return { lossPC: lossPCValue, lossLC: lossLCValue };
}

/**
 * Train an explainer. Yields step, eval and checkpoint events; returns the trained explainer
 * (the caller disposes it). On error or cancellation everything is disposed.
 */
export async function* trainExplainer(input: TrainInput): AsyncGenerator<TrainEvent, TrainResult> {
  const { task, config, mode, z, samples, heldOut, signal } = input;
  const n = task.nFeatures;
  const kAsked = config.lcSubsets;
  const sampling = config.lcSampling ?? 'independent';
  const k = lcSubsetCount(sampling, kAsked, n); // subsets per sample actually drawn
  if (z.nPairs === 0 && mode !== 'lc-only')
    throw new UserError('The supervision set Z is empty, so there is nothing for L_PC to fit.', 'Lower the filter quantile p, raise the dedup threshold δ, add prior methods or samples, or train with mode lc-only.');
  if (samples.nRows === 0) throw new UserError('No training samples for L_LC.', 'Use more rows.');
  if (!(config.batchSize >= 1) || !(config.epochs >= 0) || !(k >= 2))
    throw new UserError('Training needs batchSize ≥ 1, epochs ≥ 0 and at least 2 L_LC subsets.', 'Fix the training settings.');
  const seeder = new Seeder(input.seed);
  const resume = input.resume;
  const tokenSpec = tokensOf(resume?.explainer ?? input.explainer);
  const width = inputWidth(tokenSpec, n); // values per row the explainer reads
  const augment = config.lcAugment ?? 0;
  const usesLc = mode !== 'pc-only'; // α ≡ 1 in pc-only: the steps need no L_LC
  const stepOutput: OutputMode = (config.lcOutput ?? 'task') === 'logit' ? 'logit' : task.output; // the output whose Δ the steps' L_LC fits
  checkAugment(augment, tokenSpec.kind);
  checkClassFrame((resume?.explainer ?? input.explainer).classFrame, task, config.lcOutput, (resume?.explainer ?? input.explainer).nClasses);
  const framed = ((resume?.explainer ?? input.explainer).classFrame ?? 'none') !== 'none'; // the explainer's output depends on each row's class
  if (framed && z.nPairs > 0 && !z.target) throw new Error('trainExplainer: an explainer with a class frame needs the target class of every Z pair');
  if (samples.x.length !== samples.nRows * width || z.x.length !== z.nPairs * width)
    throw new Error(`trainExplainer: rows of ${width} values expected (the explainer's tokens read ${width} per row)`);
  // per-stage backends: null when one backend does everything (then none of these switch)
  const split = splitStages();
  const onTrain = () => (split ? activateBackend(split.train) : Promise.resolve());
  const onScore = () => (split ? activateBackend(split.score) : Promise.resolve());
  const onTarget = <T>(fn: () => Promise<T>): Promise<T> => (split ? withBackend(split.score, fn) : fn());
  await onTrain();
  let explainer: Explainer;
  try {
    explainer = new Explainer(resume?.explainer ?? input.explainer, resume ? new Map(Object.entries(resume.weights).map(([k2, v]) => [k2, Float32Array.from(v)])) : undefined);
  } catch (e) {
    await onScore();
    throw e;
  }
  const chunkRows = input.rowsPerPass ?? trainRowsPerPass(explainer.config);
  const optimizer = tf.train.adam(config.learningRate, 0.9, 0.999, config.adamEpsilon);
  const vars = explainer.trainableVariables;
  let returned = false;
  try {
    if (resume) {
      const named = resume.optimizer.map((w) => ({ name: w.name, tensor: tf.tensor(w.values, w.shape) }));
      await optimizer.setWeights(named);
      for (const w of named) w.tensor.dispose();
    }
    let alpha = resume ? resume.alpha : initialAlphaState();
    const perEpoch = (config.alpha.every ?? 'epoch') === 'epoch';
    let step = resume ? resume.step : 0;
    const startEpoch = resume ? resume.epoch : 0;
    const stepsPerEpoch = stepsPerEpochOf(mode, z.nPairs, samples.nRows, config);
    const std = augment > 0 ? Float32Array.from(columnMoments(samples.x, samples.nRows, width).std) : null; // each input value's std over the training rows (the noise scale)
    const heldLc = heldOut && heldOut.samples.nRows > 0 ? await onTarget(() => lcTargets(task, heldOut.samples.x, heldOut.samples.nRows, heldOut.samples.rowIndex, heldOut.samples.target, kAsked, seeder, 'deepfaith-lc-heldout', sampling)) : undefined;
    // early stopping: a validation objective after every epoch, the best epoch's weights kept
    const val = config.patience > 0 && input.validation && input.validation.samples.nRows > 0 ? input.validation : undefined;
    const valLc = val ? await onTarget(() => lcTargets(task, val.samples.x, val.samples.nRows, val.samples.rowIndex, val.samples.target, kAsked, seeder, 'deepfaith-lc-validation', sampling)) : undefined;
    // early stopping's state, carried by a checkpoint across an interruption
    const es = resume?.earlyStop;
    let best = es && es.best !== null ? es.best : Infinity;
    let bestEpoch = es ? es.bestEpoch : -1;
    let bestWeights: Map<string, Float32Array> | null = es?.bestWeights ? new Map(Object.entries(es.bestWeights).map(([k2, v]) => [k2, Float32Array.from(v)])) : null;
    let stopped = false;
    const totalSteps = Math.max(1, config.epochs * stepsPerEpoch);
    const compiled = new Set<string>();
    const adam = optimizer as unknown as { learningRate: number };
    for (let epoch = startEpoch; epoch < config.epochs; epoch++) {
      throwIfCancelled(signal);
      // D of this epoch: the training rows, and synthetic rows when lcAugment > 0
      const d = std ? await onTarget(() => augmentedSamples(task, samples, width, std, config, seeder, epoch, input.syntheticTarget ?? 'predicted')) : samples;
      // pc-only: α ≡ 1, so L_LC adds nothing to a step: no Δ model calls and no L_LC pass (the steps report no L_LC)
      const lc = usesLc ? await onTarget(() => lcTargets(task, d.x, d.nRows, d.rowIndex, d.target, kAsked, seeder, `deepfaith-lc|epoch${epoch}`, sampling, stepOutput)) : { nRows: d.nRows, k, masks: new Float32Array(0), delta: new Float32Array(0) };
      const zOrder = z.nPairs > 0 ? shuffled(z.nPairs, seeder, `deepfaith-shuffle-z|epoch${epoch}`) : new Int32Array(0);
      const dOrder = shuffled(d.nRows, seeder, `deepfaith-shuffle-d|epoch${epoch}`);
      const dPerStep = Math.ceil(d.nRows / stepsPerEpoch);
      let epochPcSum = 0;
      let epochPcCount = 0;
      for (let s = 0; s < stepsPerEpoch; s++) {
        throwIfCancelled(signal);
        await checkpoint(signal);
        const t0 = Date.now();
        // lc-only: α ≡ 0, so the step's L_PC pass would add nothing but time and memory; it is left out (the step reports no L_PC)
        const zIdx = mode === 'lc-only' ? new Int32Array(0) : zOrder.subarray(s * config.batchSize, Math.min((s + 1) * config.batchSize, z.nPairs));
        let dIdx = dOrder.subarray(s * dPerStep, Math.min((s + 1) * dPerStep, d.nRows));
        if (dIdx.length === 0) dIdx = dOrder.subarray(0, Math.min(dPerStep, d.nRows));
        if (!usesLc) dIdx = new Int32Array(0);
        const a = modeAlpha(mode, alpha);
        const lr = scheduledLearningRate(config, step, totalSteps);
        adam.learningRate = lr; // Adam reads it at every applyGradients
        let pcValue: number;
        let lcValue: number;
        if (zIdx.length <= chunkRows && dIdx.length <= chunkRows) {
          // the whole minibatch in one pass
          const zx = gatherRows(z.x, width, zIdx);
          const zs = gatherRows(z.s, n, zIdx);
          const dx = gatherRows(d.x, width, dIdx);
          const dt = framed ? Array.from(dIdx, (r) => d.target[r]) : undefined; // each row's target class (a class frame's sign)
          const zt = framed ? Array.from(zIdx, (r) => z.target![r]) : undefined;
          const masks = gatherRows(lc.masks, k * n, dIdx);
          const delta = gatherRows(lc.delta, k, dIdx);
          let pcT: tf.Scalar | null = null;
          let lcT: tf.Scalar | null = null;
          // the step's objective; `keep` holds its two losses for reading after the step
          const objective = (keep: boolean): tf.Scalar => {
            const lcLoss = dIdx.length > 0 ? lossLC(explainer.apply(tf.tensor2d(dx, [dIdx.length, width]), `${input.seed}|dropout|${step}|lc`, dt), tf.tensor3d(masks, [dIdx.length, k, n]), tf.tensor2d(delta, [dIdx.length, k]), config.lcNormalised ?? false) : null; // scalar
            if (keep && lcLoss) lcT = tf.keep(lcLoss);
            if (zIdx.length === 0) return tf.mul(1 - a, lcLoss!) as tf.Scalar;
            const pcLoss = lossPC(explainer.apply(tf.tensor2d(zx, [zIdx.length, width]), `${input.seed}|dropout|${step}|pc`, zt), tf.tensor2d(zs, [zIdx.length, n])); // scalar
            if (keep) pcT = tf.keep(pcLoss);
            return (lcLoss ? tf.add(tf.mul(a, pcLoss), tf.mul(1 - a, lcLoss)) : tf.mul(a, pcLoss)) as tf.Scalar;
          };
          if (!compiled.has('step')) {
            // a GPU's kernels for this step are compiled first, off the thread (core/backend.ts)
            await compileAhead(() => tf.variableGrads(() => objective(false), vars));
            compiled.add('step');
          }
          let gv: { grads: tf.NamedTensorMap; value: tf.Scalar };
          try {
            gv = tf.variableGrads(() => objective(true), vars);
          } catch (e) {
            throw stepMemoryError(e, step, epoch, zIdx.length, dIdx.length, explainer.config);
          }
          const { grads, value } = gv;
          optimizer.applyGradients(grads as unknown as Record<string, tf.Variable>);
          tf.dispose(grads);
          value.dispose();
          pcValue = pcT ? (await (pcT as tf.Scalar).data())[0] : NaN;
          lcValue = lcT ? (await (lcT as unknown as tf.Scalar).data())[0] : NaN;
          if (pcT) (pcT as tf.Scalar).dispose();
          if (lcT) (lcT as unknown as tf.Scalar).dispose();
        } else {
          // chunks of at most chunkRows rows; each chunk's loss weighted by its share of the minibatch, gradients summed
          const sum = await chunkedGradients(explainer, vars, chunkRows, {
            seed: input.seed, step, a, width, n, k, normalised: config.lcNormalised ?? false, compiled,
            z: { x: z.x, s: z.s, target: framed ? z.target : undefined, idx: zIdx },
            d: { x: d.x, masks: lc.masks, delta: lc.delta, target: framed ? d.target : undefined, idx: dIdx },
          }).catch((e) => {
            throw stepMemoryError(e, step, epoch, zIdx.length, dIdx.length, explainer.config);
          });
          optimizer.applyGradients(sum.grads as unknown as Record<string, tf.Variable>);
          tf.dispose(sum.grads);
          pcValue = sum.lossPC;
          lcValue = sum.lossLC;
        }
        if (config.weightDecay > 0) {
          const factor = 1 - lr * config.weightDecay;
          for (const v of vars) {
            const decayed = tf.tidy(() => tf.mul(v, factor)); // same shape as v
            v.assign(decayed);
            decayed.dispose(); // the variable keeps the data; the handle is released
          }
        }
        if ((dIdx.length > 0 && !Number.isFinite(lcValue)) || (zIdx.length > 0 && !Number.isFinite(pcValue)))
          throw new UserError(
            `Training diverged at step ${step} (epoch ${epoch + 1}): L_PC = ${pcValue}, L_LC = ${lcValue} with learning rate ${lr}. Nothing was saved.`,
            'Lower training.learningRate (e.g. by 10×) and train again.',
          );
        if (Number.isFinite(pcValue)) {
          if (perEpoch) {
            epochPcSum += pcValue;
            epochPcCount++;
          } else alpha = alphaStep(alpha, pcValue, config.alpha);
        }
        // Algorithm 1 per epoch: after the epoch's last step, its mean L_PC is one iteration; α holds for the next epoch
        if (perEpoch && s === stepsPerEpoch - 1 && epochPcCount > 0) alpha = alphaStep(alpha, epochPcSum / epochPcCount, config.alpha);
        const stepEvent: StepEvent = { type: 'step', step, epoch, lossPC: pcValue, lossLC: lcValue, alpha: a, converged: alpha.converged, variance: alpha.variance, ms: Date.now() - t0 };
        await onScore();
        yield stepEvent;
        await onTrain();
        step++;
      }
      const last = epoch === config.epochs - 1;
      if (heldOut && heldLc && (last || (config.evalEvery > 0 && (epoch + 1) % config.evalEvery === 0))) {
        const e = await evaluateLosses(explainer, heldOut.z, heldLc, heldOut.samples, config.lcNormalised ?? false);
        await onScore();
        yield { type: 'eval', step, epoch, ...e };
        await onTrain();
      }
      if (val && valLc) {
        const e = await evaluateLosses(explainer, val.z, valLc, val.samples, config.lcNormalised ?? false);
        // the objective the mode trains, unweighted (α changes over time, so its weighted sum would not compare across epochs)
        const objective = mode === 'pc-only' ? e.lossPC : mode === 'lc-only' ? e.lossLC : (Number.isFinite(e.lossPC) ? e.lossPC : 0) + e.lossLC;
        await onScore();
        yield { type: 'validation', epoch, objective };
        await onTrain();
        if (objective < best - 1e-7) {
          best = objective;
          bestEpoch = epoch;
          bestWeights = await explainer.weightValues();
        } else if (epoch - bestEpoch >= config.patience) {
          stopped = true;
          await onScore();
          yield { type: 'stop', epoch: epoch + 1, bestEpoch, bestObjective: best };
          await onTrain();
          break;
        }
      }
      // after the epoch's validation, so that a resumed run carries early stopping's state on
      if (input.checkpointEvery && (epoch + 1) % input.checkpointEvery === 0) {
        const earlyStop = val ? { best: Number.isFinite(best) ? best : null, bestEpoch, bestWeights } : undefined;
        const c = await makeCheckpoint(explainer, optimizer, { epoch: epoch + 1, step, mode, seed: input.seed, config, alpha }, earlyStop);
        await onScore();
        yield { type: 'checkpoint', epoch: epoch + 1, checkpoint: c };
        await onTrain();
      }
    }
    if (bestWeights && bestEpoch !== config.epochs - 1) {
      for (const [name, v] of explainer.vars) {
        const w = tf.tensor(bestWeights.get(name)!, v.shape);
        v.assign(w);
        w.dispose();
      }
      // the held-out losses of what is returned (the last evaluation above was of other weights, or there was none)
      if (heldOut && heldLc) {
        const e = await evaluateLosses(explainer, heldOut.z, heldLc, heldOut.samples, config.lcNormalised ?? false);
        await onScore();
        yield { type: 'eval', step: (bestEpoch + 1) * stepsPerEpoch, epoch: bestEpoch, ...e, kept: true }; // the steps done when those weights were taken
        await onTrain();
      }
    }
    void stopped;
    if (split) {
      // the trained explainer is rebuilt on the score backend from its weights (read with await data()), where the report and later explanations run
      const values = await explainer.weightValues();
      await onScore();
      const onScoreBackend = new Explainer(explainer.config, values);
      explainer.dispose();
      explainer = onScoreBackend;
    }
    returned = true;
    return { explainer, alpha, steps: step, epochs: config.epochs };
  } finally {
    await onScore();
    optimizer.dispose();
    if (!returned) explainer.dispose();
  }
}

/**
 * One step's gradient in chunks: Σ over L_LC chunks of ∇((1−α)·(m/|D_step|)·L_LC(chunk)) plus Σ over
 * L_PC chunks of ∇(α·(m/|Z_step|)·L_PC(chunk)) — the gradient of the step's α·L_PC + (1−α)·L_LC,
 * since both losses are means over rows. Chunk i > 0 draws its dropout from "…|lc|i" / "…|pc|i".
 * Returns the summed gradients (the caller applies and disposes them) and the step's two losses.
 */
async function chunkedGradients(
  explainer: Explainer,
  vars: tf.Variable[],
  chunkRows: number,
  s: {
    seed: number;
    step: number;
    a: number;
    width: number;
    n: number;
    k: number;
    normalised: boolean;
    /** The kinds of pass whose GPU kernels were compiled ahead ('lc', 'pc'). */
    compiled: Set<string>;
    z: { x: Float32Array; s: Float32Array; target?: Int32Array; idx: Int32Array };
    d: { x: Float32Array; masks: Float32Array; delta: Float32Array; target?: Int32Array; idx: Int32Array };
  },
): Promise<{ grads: tf.NamedTensorMap; lossPC: number; lossLC: number }> {
  const { a, width, n, k } = s;
  let acc: tf.NamedTensorMap | null = null;
  const add = (g: tf.NamedTensorMap) => {
    if (!acc) {
      acc = g;
      return;
    }
    for (const name of Object.keys(g)) {
      const total = tf.add(acc[name], g[name]);
      acc[name].dispose();
      g[name].dispose();
      acc[name] = total;
    }
  };
  const pass = async (kind: 'lc' | 'pc', weight: number, loss: () => tf.Scalar): Promise<number> => {
    if (!s.compiled.has(kind)) {
      await compileAhead(() => tf.variableGrads(loss, vars));
      s.compiled.add(kind);
    }
    let kept: tf.Scalar | null = null;
    const { grads, value } = tf.variableGrads(() => {
      const l = loss();
      kept = tf.keep(l);
      return tf.mul(l, weight) as tf.Scalar;
    }, vars);
    value.dispose();
    add(grads);
    const v = (await (kept as unknown as tf.Scalar).data())[0];
    (kept as unknown as tf.Scalar).dispose();
    return v;
  };
  try {
    let lcSum = 0;
    const nD = s.d.idx.length;
    for (let c0 = 0, i = 0; c0 < nD; c0 += chunkRows, i++) {
      const idx = s.d.idx.subarray(c0, Math.min(nD, c0 + chunkRows));
      const m = idx.length;
      const dx = gatherRows(s.d.x, width, idx);
      const masks = gatherRows(s.d.masks, k * n, idx);
      const delta = gatherRows(s.d.delta, k, idx);
      const site = i === 0 ? `${s.seed}|dropout|${s.step}|lc` : `${s.seed}|dropout|${s.step}|lc|${i}`;
      const t = s.d.target ? Array.from(idx, (r) => s.d.target![r]) : undefined;
      lcSum += (m / nD) * (await pass('lc', (1 - a) * (m / nD), () => lossLC(explainer.apply(tf.tensor2d(dx, [m, width]), site, t), tf.tensor3d(masks, [m, k, n]), tf.tensor2d(delta, [m, k]), s.normalised)));
    }
    let pcSum = 0;
    const nZ = s.z.idx.length;
    for (let c0 = 0, i = 0; c0 < nZ; c0 += chunkRows, i++) {
      const idx = s.z.idx.subarray(c0, Math.min(nZ, c0 + chunkRows));
      const m = idx.length;
      const zx = gatherRows(s.z.x, width, idx);
      const zs = gatherRows(s.z.s, n, idx);
      const site = i === 0 ? `${s.seed}|dropout|${s.step}|pc` : `${s.seed}|dropout|${s.step}|pc|${i}`;
      const t = s.z.target ? Array.from(idx, (r) => s.z.target![r]) : undefined;
      pcSum += (m / nZ) * (await pass('pc', a * (m / nZ), () => lossPC(explainer.apply(tf.tensor2d(zx, [m, width]), site, t), tf.tensor2d(zs, [m, n]))));
    }
    const grads = acc!;
    acc = null;
    return { grads, lossPC: nZ > 0 ? pcSum : NaN, lossLC: nD > 0 ? lcSum : NaN };
  } finally {
    if (acc) tf.dispose(acc as tf.NamedTensorMap);
  }
}

async function makeCheckpoint(
  explainer: Explainer,
  optimizer: tf.Optimizer,
  s: { epoch: number; step: number; mode: TrainMode; seed: number; config: TrainConfig; alpha: AlphaState },
  earlyStop?: { best: number | null; bestEpoch: number; bestWeights: Map<string, Float32Array> | null },
): Promise<TrainCheckpoint> {
  const weights: Record<string, number[]> = {};
  for (const [name, v] of await explainer.weightValues()) weights[name] = Array.from(v);
  const named = await optimizer.getWeights();
  const opt: TrainCheckpoint['optimizer'] = [];
  for (const w of named) opt.push({ name: w.name, shape: w.tensor.shape.slice(), values: Array.from(await w.tensor.data()) });
  // only the first entry (the iteration count) is a fresh tensor; the rest are the optimizer's own variables
  named[0]?.tensor.dispose();
  const out: TrainCheckpoint = { version: 1, ...s, alpha: { ...s.alpha, recent: [...s.alpha.recent] }, explainer: explainer.config, weights, optimizer: opt };
  if (earlyStop)
    out.earlyStop = {
      best: earlyStop.best,
      bestEpoch: earlyStop.bestEpoch,
      bestWeights: earlyStop.bestWeights ? Object.fromEntries([...earlyStop.bestWeights].map(([k, v]) => [k, Array.from(v)])) : null,
    };
  return out;
}

/** The learning rate of a step: constant, or cosine-decayed from learningRate (step 0) towards 0 (step totalSteps). */
export function scheduledLearningRate(config: Pick<TrainConfig, 'learningRate' | 'lrSchedule'>, step: number, totalSteps: number): number {
  return config.lrSchedule === 'cosine' ? config.learningRate * 0.5 * (1 + Math.cos((Math.PI * step) / Math.max(1, totalSteps))) : config.learningRate;
}

/** Drive a training generator to its end, passing every event to `onEvent`; returns the result. */
export async function runTraining(gen: AsyncGenerator<TrainEvent, TrainResult>, onEvent?: (e: TrainEvent) => void): Promise<TrainResult> {
  for (;;) {
    const r = await gen.next();
    if (r.done) return r.value;
    onEvent?.(r.value);
  }
}
