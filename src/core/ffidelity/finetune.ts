/**
 * F-Fidelity's surrogate (F-Fidelity §3, Eq. 5; docs/ffidelity.md): a copy of the target model,
 * fine-tuned on the task's rows with up to K = ⌊β·n⌋ features removed uniformly at random per
 * input — written by `task.space.writeMasked` with the task's baseline (sampler.ts `writeRemoved`),
 * the features drawn by the one mask generator (sampler.ts `drawRemoval`, k from `finetuneCount`).
 *
 * - Copy: the LayersModel is serialised and deserialised through tf.io memory handlers (the
 *   target is never touched). A GraphModel cannot be trained by TensorFlow.js: UserError.
 * - Training: full passes (epochs) over the rows in seeded minibatches; each epoch draws fresh
 *   masks (per row: k uniform in {0..K}, then k of the n features) from
 *   `seeder.rng('ffid-finetune|<epoch>', rowIndex)`, the shuffle from `seeder.rng('ffid-finetune-order', epoch)`.
 *   Loss: cross-entropy of the model's class probabilities (TargetModel.apply 'probability': a
 *   softmax head as is, logits through softmax, one sigmoid unit as [1−q, q]) against the labels;
 *   Adam with an explicit ε; inference-mode forward (dropout off), so runs are deterministic.
 * - Report: clean accuracy and masked accuracy (exactly K features removed, `maskedDraws` draws per
 *   row from `seeder.rng('ffid-masked-eval', rowIndex)`) against the labels, before and after, on
 *   the held-out rows when given, else on the fine-tuning rows.
 * - Progress, pause and cancel: `fineTuneSurrogate` is an async generator (pull = run; a consumer
 *   that stops pulling pauses it); `checkpoint(signal)` between steps. The optimizer is disposed in
 *   `finally`; the copy too unless the run completed (then the caller owns `surrogate.model`).
 * - Saved in tfjs format (`surrogateFiles` → model.json + weights.bin, the fine-tuning settings
 *   and report in `userDefinedMetadata.ffidelity`) and reloaded by `loadSurrogate`.
 */
import * as tf from '@tensorflow/tfjs';
import { ensureConvFilterGradient } from '../task/convGradient';
import { UserError } from '../errors';
import type { ParamSchema } from '../params';
import { Seeder } from '../rng';
import { checkpoint } from '../yield';
import { argmax, type Batch, type Task } from '../task/task';
import { rowBaselines } from '../task/featureSpace';
import { loadModelFromFiles, TargetModel, type ModelJsonLike } from '../task/model';
import { drawRemoval, finetuneCount, removalCap, writeRemoved } from './sampler';

export interface FinetuneConfig {
  [key: string]: number;
  /** β: at most ⌊β·n⌋ features removed per input (and per evaluation input). */
  beta: number;
  /** Passes over the fine-tuning rows. */
  epochs: number;
  learningRate: number;
  /** Rows per Adam step. */
  batchSize: number;
  /** Adam ε, explicit so every backend uses the same one. */
  adamEpsilon: number;
  /** Masked inputs per row in the masked-accuracy report. */
  maskedDraws: number;
}

/** The only place the fine-tuning defaults live. β = 0.1 as the paper (Appendix C). */
export const finetuneDefaults: FinetuneConfig = { beta: 0.1, epochs: 30, learningRate: 1e-3, batchSize: 32, adamEpsilon: 1e-7, maskedDraws: 5 };

export const finetuneParams: ParamSchema<FinetuneConfig> = {
  beta: { type: 'number', min: 0, minExclusive: true, max: 1, meaning: 'β: at most ⌊β·n⌋ features are removed from any fine-tuning or evaluation input.' },
  epochs: { type: 'int', min: 0, max: 10000, meaning: 'Fine-tuning passes over the rows (0 = the surrogate is the copy itself).' },
  learningRate: { type: 'number', min: 0, minExclusive: true, max: 1, meaning: 'Adam learning rate of the fine-tuning.' },
  batchSize: { type: 'int', min: 1, max: 1000000, meaning: 'Rows per fine-tuning step.' },
  adamEpsilon: { type: 'number', min: 0, minExclusive: true, max: 1, meaning: 'Adam ε of the fine-tuning.' },
  maskedDraws: { type: 'int', min: 1, max: 1000, meaning: 'Masked inputs per row in the masked-accuracy report.' },
};

export interface SurrogateAccuracy {
  /** Accuracy on the clean rows, against the labels. */
  clean: number;
  /** Accuracy with exactly K = ⌊β·n⌋ random features removed (maskedDraws draws per row). */
  masked: number;
}

export interface FinetuneReport {
  before: SurrogateAccuracy;
  after: SurrogateAccuracy;
  /** Which rows the accuracies are measured on. */
  measuredOn: 'held-out' | 'fine-tuning rows';
  /** Fine-tuning rows and rows measured. */
  rows: number;
  measuredRows: number;
  /** K = ⌊β·n⌋. */
  cap: number;
  epochs: number;
  steps: number;
  /** Mean loss of the last epoch (NaN with 0 epochs). */
  finalLoss: number;
  ms: number;
  seed: number;
}

/** A fine-tuned copy of the target model (or a model given as one), with what it was fine-tuned for. */
export interface Surrogate {
  model: TargetModel;
  /** β the surrogate was fine-tuned with: the evaluation must use the same. */
  beta: number;
  config?: FinetuneConfig;
  report?: FinetuneReport;
  /** Whether disposing the surrogate disposes `model` (false when the task's own model is used as is). */
  owned: boolean;
}

export interface FinetuneInput {
  task: Task;
  /** Fine-tuning rows ([nRows, inputSize]) and their labels (class indices of the task). */
  rows: Batch;
  labels: Int32Array;
  config?: Partial<FinetuneConfig>;
  /** Job seed (the unit ids above make the streams). */
  seed: number;
  /** Rows the accuracies are reported on (default: the fine-tuning rows). */
  heldOut?: { rows: Batch; labels: Int32Array };
  signal?: AbortSignal;
}

export type FinetuneEvent =
  | { type: 'start'; before: SurrogateAccuracy; cap: number; steps: number }
  | { type: 'epoch'; epoch: number; epochs: number; loss: number; ms: number }
  | { type: 'done'; surrogate: Surrogate };

/**
 * Flat rows [rows, inputSize] as the model's input tensor [rows, ...inputShape] (a tabular model:
 * [rows, n]). Call inside tf.tidy.
 */
export function modelInput(model: TargetModel, x: Float32Array, rows: number): tf.Tensor {
  const shape = (model as { inputShape?: number[] }).inputShape ?? [model.nFeatures];
  return tf.tensor(x, [rows, ...shape]);
}

/** A GraphModel cannot be fine-tuned: the UserError every F-Fidelity entry point gives. */
export function graphModelError(): UserError {
  return new UserError(
    'F-Fidelity fine-tunes a copy of the model, but this model is a TensorFlow.js GraphModel, which TensorFlow.js can run but not train.',
    'Give the model as a LayersModel (tf.keras → tensorflowjs_converter --output_format tfjs_layers_model), or give an already fine-tuned surrogate (--surrogate), or use the metrics that need no fine-tuning (FID±, RFID±).',
  );
}

/** A copy of a LayersModel through tf.io memory handlers (topology + weights; no optimizer). */
export async function copyLayersModel(model: tf.LayersModel | tf.GraphModel): Promise<tf.LayersModel> {
  if (!(model instanceof tf.LayersModel)) throw graphModelError();
  let artifacts: tf.io.ModelArtifacts | undefined;
  try {
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
  } catch (e) {
    throw new UserError(`The model could not be copied for fine-tuning: ${(e as Error).message}`, 'Use a model whose layers TensorFlow.js can serialise (standard layers, no custom ones).');
  }
  return tf.loadLayersModel(tf.io.fromMemory(artifacts!));
}

/** The config merged over the defaults (values already checked by the caller's resolver). */
export function finetuneConfig(given: Partial<FinetuneConfig> = {}): FinetuneConfig {
  return { ...finetuneDefaults, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) } as FinetuneConfig;
}

function checkLabels(task: Task, labels: Int32Array, nRows: number, what: string): void {
  if (labels.length !== nRows) throw new Error(`${what}: ${labels.length} labels for ${nRows} rows`);
  for (const l of labels)
    if (!(l >= 0 && l < task.nClasses))
      throw new UserError(`${what}: label ${l} is not a class of the model (it has ${task.nClasses}).`, 'Fine-tune with labels that are the model\'s class indices.');
}

/**
 * Clean and masked accuracy of `model` on rows against labels. Masked: exactly K features removed
 * (K = ⌊β·n⌋), `draws` inputs per row, features from `drawRemoval` with
 * seeder.rng('ffid-masked-eval', rowIndex); one batched prediction for all of them.
 */
export async function surrogateAccuracy(task: Task, model: TargetModel, rows: Batch, labels: Int32Array, cap: number, draws: number, seeder: Seeder, signal?: AbortSignal): Promise<SurrogateAccuracy> {
  const d = task.inputSize;
  const c = task.nClasses;
  const n = task.nFeatures;
  const nRows = rows.nRows;
  if (nRows === 0) return { clean: NaN, masked: NaN };
  const baselineOf = rowBaselines(task.space, task.baseline); // row → its x° [inputSize]
  const inputs = new Float32Array(nRows * draws * d); // [nRows·draws, inputSize]
  const pick = new Int32Array(Math.max(1, cap));
  const mask = new Uint8Array(n);
  for (let r = 0; r < nRows; r++) {
    const rng = seeder.rng('ffid-masked-eval', rows.rowIndex[r]);
    const x = rows.x.subarray(r * d, (r + 1) * d);
    const x0 = baselineOf(x); // [inputSize]
    for (let k = 0; k < draws; k++) {
      drawRemoval(rng, n, cap, pick, 0);
      writeRemoved(task.space, inputs, r * draws + k, x, x0, pick, cap, mask);
    }
  }
  await checkpoint(signal);
  const pc = await model.predict(rows.x, nRows, task.output); // [nRows, c]
  const pm = await model.predict(inputs, nRows * draws, task.output); // [nRows·draws, c]
  let clean = 0;
  let masked = 0;
  for (let r = 0; r < nRows; r++) {
    if (argmax(pc, r * c, c) === labels[r]) clean++;
    for (let k = 0; k < draws; k++) if (argmax(pm, (r * draws + k) * c, c) === labels[r]) masked++;
  }
  return { clean: clean / nRows, masked: masked / (nRows * draws) };
}

/** The permutation of 0..n−1 for an epoch's minibatches (Fisher–Yates on the seeded stream). */
function shuffled(n: number, rng: { int(n: number): number }): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/**
 * Fine-tune a copy of task.model (see the header). Yields 'start' (accuracy before), one 'epoch'
 * per pass, then 'done' with the surrogate, which the caller owns (dispose with disposeSurrogate).
 */
export async function* fineTuneSurrogate(input: FinetuneInput): AsyncGenerator<FinetuneEvent, void, undefined> {
  const { task, rows, labels, signal } = input;
  const cfg = finetuneConfig(input.config);
  const n = task.nFeatures;
  const d = task.inputSize;
  const c = task.nClasses;
  const nRows = rows.nRows;
  if (!(task.model.model instanceof tf.LayersModel)) throw graphModelError();
  if (rows.x.length !== nRows * d) throw new Error(`fineTuneSurrogate: ${rows.x.length} values for ${nRows} rows × ${d}`);
  if (nRows < 1) throw new UserError('F-Fidelity\'s fine-tuning got no rows.', 'Give the task\'s data rows (with labels) to fine-tune on.');
  checkLabels(task, labels, nRows, 'Fine-tuning');
  const heldOut = input.heldOut;
  if (heldOut) checkLabels(task, heldOut.labels, heldOut.rows.nRows, 'Held-out rows');
  const cap = removalCap(n, cfg.beta);
  if (cap < 1)
    throw new UserError(
      `F-Fidelity with β = ${cfg.beta} on ${n} features removes at most ⌊β·n⌋ = 0 features, so it would measure nothing.`,
      `Set β ≥ ${(1 / n).toPrecision(3)} (β·n ≥ 1), e.g. --set FFID+.beta=${Math.min(1, Math.ceil((100 / n)) / 100)}.`,
    );
  const seeder = new Seeder(input.seed);
  const t0 = performance.now();
  const copy = await copyLayersModel(task.model.model);
  const model = new TargetModel(copy, { head: task.model.head, nOutputs: task.model.nOutputs, maxBatchRows: task.model.maxBatchRows, source: 'The F-Fidelity surrogate' });
  ensureConvFilterGradient(); // convolutional models train on wasm too
  const optimizer = tf.train.adam(cfg.learningRate, 0.9, 0.999, cfg.adamEpsilon);
  let completed = false;
  try {
    const measure = heldOut ?? { rows, labels };
    const before = await surrogateAccuracy(task, model, measure.rows, measure.labels, cap, cfg.maskedDraws, seeder, signal);
    const stepsPerEpoch = Math.ceil(nRows / cfg.batchSize);
    yield { type: 'start', before, cap, steps: stepsPerEpoch * cfg.epochs };
    const vars = copy.trainableWeights.map((w) => w.read() as tf.Variable);
    if (cfg.epochs > 0 && vars.length === 0) throw new UserError('The model has no trainable weights, so F-Fidelity cannot fine-tune it.', 'Unfreeze its layers (trainable: true) or give a surrogate.');
    const baselineOf = rowBaselines(task.space, task.baseline); // row → its x° [inputSize]
    const masked = new Float32Array(nRows * d); // [nRows, inputSize] this epoch's inputs
    const pick = new Int32Array(n);
    const mask = new Uint8Array(n);
    const xb = new Float32Array(Math.min(cfg.batchSize, nRows) * d);
    const yb = new Float32Array(Math.min(cfg.batchSize, nRows) * c);
    let finalLoss = NaN;
    let steps = 0;
    for (let epoch = 0; epoch < cfg.epochs; epoch++) {
      const te = performance.now();
      for (let r = 0; r < nRows; r++) {
        const rng = seeder.rng(`ffid-finetune|${epoch}`, rows.rowIndex[r]);
        const k = finetuneCount(rng, cap);
        drawRemoval(rng, n, k, pick, 0);
        const x = rows.x.subarray(r * d, (r + 1) * d);
        writeRemoved(task.space, masked, r, x, baselineOf(x), pick, k, mask);
      }
      const order = shuffled(nRows, seeder.rng('ffid-finetune-order', epoch));
      let lossSum = 0;
      for (let start = 0; start < nRows; start += cfg.batchSize) {
        await checkpoint(signal);
        const b = Math.min(cfg.batchSize, nRows - start);
        yb.fill(0);
        for (let i = 0; i < b; i++) {
          const r = order[start + i];
          xb.set(masked.subarray(r * d, (r + 1) * d), i * d);
          yb[i * c + labels[r]] = 1;
        }
        const lossT = withKernelMessage(() =>
          tf.tidy(() => {
            const xt = modelInput(model, xb.subarray(0, b * d), b) as tf.Tensor2D; // [b, ...inputShape]
            const yt = tf.tensor2d(yb.subarray(0, b * c), [b, c]); // [b, c] one-hot labels
            return optimizer.minimize(() => {
              const p = model.apply(xt, 'probability'); // [b, c]
              return tf.neg(tf.mean(tf.sum(tf.mul(yt, tf.log(tf.add(p, 1e-7))), 1))) as tf.Scalar;
            }, true, vars)!;
          }),
        );
        try {
          lossSum += (await lossT.data())[0] * b;
        } finally {
          lossT.dispose();
        }
        steps++;
      }
      finalLoss = lossSum / nRows;
      yield { type: 'epoch', epoch: epoch + 1, epochs: cfg.epochs, loss: finalLoss, ms: performance.now() - te };
    }
    const after = await surrogateAccuracy(task, model, measure.rows, measure.labels, cap, cfg.maskedDraws, seeder, signal);
    const report: FinetuneReport = {
      before,
      after,
      measuredOn: heldOut ? 'held-out' : 'fine-tuning rows',
      rows: nRows,
      measuredRows: measure.rows.nRows,
      cap,
      epochs: cfg.epochs,
      steps,
      finalLoss,
      ms: performance.now() - t0,
      seed: input.seed,
    };
    completed = true;
    yield { type: 'done', surrogate: { model, beta: cfg.beta, config: cfg, report, owned: true } };
  } finally {
    optimizer.dispose();
    if (!completed) model.dispose();
  }
}

/** A training step whose backend lacks a gradient kernel (a layer wasm cannot train) stops with a message naming it. */
function withKernelMessage<T>(step: () => T): T {
  try {
    return step();
  } catch (e) {
    const m = /Kernel '(\w+)' not registered for backend '(\w+)'/.exec(String((e as Error)?.message ?? e));
    if (!m) throw e;
    throw new UserError(
      `Fine-tuning the F-Fidelity surrogate needs the ${m[1]} kernel, which the ${m[2]} backend does not have (a layer of this model cannot be trained there).`,
      'Run it on another backend: --backend cpu on the command line (slower), or webgl/webgpu in the studio; or give a surrogate fine-tuned elsewhere (--surrogate).',
    );
  }
}

/** Drain `fineTuneSurrogate`, passing each event to onEvent; the surrogate. */
export async function fineTune(input: FinetuneInput, onEvent?: (e: FinetuneEvent) => void): Promise<Surrogate> {
  let out: Surrogate | undefined;
  for await (const e of fineTuneSurrogate(input)) {
    onEvent?.(e);
    if (e.type === 'done') out = e.surrogate;
  }
  return out!;
}

export function disposeSurrogate(s: Surrogate): void {
  if (s.owned) s.model.dispose();
}

// ---------------------------------------------------------------------------------------------
// Saving and loading (tfjs format)

/** What `userDefinedMetadata.ffidelity` of a saved surrogate holds. */
export interface SurrogateMetadata {
  format: 'deepfaith-ffidelity-surrogate';
  version: 1;
  beta: number;
  config?: FinetuneConfig;
  report?: FinetuneReport;
  /** Fingerprint of the target model it was fine-tuned from (the loader's SHA-256), when known. */
  targetModel?: string;
  /** Fingerprint of the data it was fine-tuned on, when known. */
  data?: string;
  nFeatures: number;
  inputSize: number;
}

/** The surrogate as tfjs files: model.json (with the metadata) and weights.bin. */
export async function surrogateFiles(s: Surrogate, task: Task, fingerprints: { model?: string; data?: string } = {}): Promise<{ modelJson: ModelJsonLike; weights: ArrayBuffer }> {
  if (!(s.model.model instanceof tf.LayersModel)) throw graphModelError();
  let artifacts: tf.io.ModelArtifacts | undefined;
  await s.model.model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const a = artifacts!;
  const data = a.weightData;
  const weights = data === undefined ? new ArrayBuffer(0) : Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
  const meta: SurrogateMetadata = {
    format: 'deepfaith-ffidelity-surrogate',
    version: 1,
    beta: s.beta,
    config: s.config,
    report: s.report,
    targetModel: fingerprints.model,
    data: fingerprints.data,
    nFeatures: task.nFeatures,
    inputSize: task.inputSize,
  };
  const modelJson: ModelJsonLike = {
    format: a.format ?? 'layers-model',
    generatedBy: a.generatedBy,
    convertedBy: a.convertedBy ?? null,
    modelTopology: a.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs ?? [] }],
    userDefinedMetadata: { ffidelity: meta },
  };
  return { modelJson, weights };
}

/**
 * A saved surrogate for this task: model.json (as written by surrogateFiles) and its shards.
 * Refused when it was not written as an F-Fidelity surrogate, has another input width, or was
 * fine-tuned from another target model (when both fingerprints are known).
 */
export async function loadSurrogate(modelJson: ModelJsonLike, shards: Map<string, ArrayBuffer>, task: Task, source = 'surrogate model.json', targetFingerprint?: string): Promise<Surrogate> {
  const meta = (modelJson.userDefinedMetadata as { ffidelity?: SurrogateMetadata } | undefined)?.ffidelity;
  if (!meta || meta.format !== 'deepfaith-ffidelity-surrogate')
    throw new UserError(`${source} is not an F-Fidelity surrogate (no userDefinedMetadata.ffidelity).`, 'Give the folder written by --surrogate, or leave --surrogate out to fine-tune one.');
  if (meta.inputSize !== task.inputSize || meta.nFeatures !== task.nFeatures)
    throw new UserError(`${source} was fine-tuned for ${meta.nFeatures} features (${meta.inputSize} inputs), this task has ${task.nFeatures} (${task.inputSize}).`, 'Use the surrogate of this task, or fine-tune a new one.');
  if (targetFingerprint && meta.targetModel && targetFingerprint !== meta.targetModel)
    throw new UserError(`${source} was fine-tuned from another target model (fingerprint ${meta.targetModel.slice(0, 12)}…, this one ${targetFingerprint.slice(0, 12)}…).`, 'Fine-tune a surrogate for this model (use another --surrogate folder).');
  const model = await loadModelFromFiles(modelJson, shards, source, { head: task.model.head, maxBatchRows: task.model.maxBatchRows, source: 'The F-Fidelity surrogate' });
  return { model, beta: meta.beta, config: meta.config, report: meta.report, owned: true };
}
