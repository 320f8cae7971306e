/**
 * The target model: a tfjs LayersModel or GraphModel with a flat feature input [batch, nFeatures].
 *
 * Output modes (METRICS.md "Objects"): `probability` (default; softmax of logits, a softmax head
 * as is, a single sigmoid unit q read as [1−q, q]), `logit` (the model's logits; for a model that
 * ends in softmax or sigmoid this is the log-probability, which differs from the logit by a
 * per-input constant — stated in the docs), `raw` (the model's own output units untouched, any width).
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';

export type OutputMode = 'probability' | 'logit' | 'raw';
export const OUTPUT_MODES: readonly OutputMode[] = ['probability', 'logit', 'raw'];

/** What the model's last layer emits. */
export type HeadKind = 'softmax' | 'sigmoid' | 'logits';

export interface ModelJsonLike {
  modelTopology?: unknown;
  weightsManifest?: { paths: string[]; weights: unknown[] }[];
  format?: string;
  [k: string]: unknown;
}

export interface TargetModelOptions {
  /** Rows per forward pass; perturbation batches are chunked to this many rows. */
  maxBatchRows?: number;
  /** Override of the detected head kind. */
  head?: HeadKind;
}

export const DEFAULT_MAX_BATCH_ROWS = 8192;

export class TargetModel {
  readonly nFeatures: number;
  /** Width of the model's own output. */
  readonly nOutputs: number;
  readonly head: HeadKind;
  readonly maxBatchRows: number;
  /** Rows evaluated so far (each perturbed input counts one); metrics report differences of this. */
  rowsEvaluated = 0;
  /** Forward passes (predict calls) so far. */
  forwardPasses = 0;

  constructor(
    readonly model: tf.LayersModel | tf.GraphModel,
    opts: TargetModelOptions = {},
  ) {
    const inShape = model.inputs[0].shape as (number | null)[];
    const outShape = model.outputs[0].shape as (number | null)[];
    if (model.inputs.length !== 1 || inShape.length !== 2 || inShape[1] == null)
      throw new UserError(
        `The model's input has shape [${inShape.map((d) => d ?? '?').join(', ')}]; a flat tabular input [batch, nFeatures] is needed.`,
        'Export a model whose single input is a 2-D tensor of feature values.',
      );
    if (outShape.length !== 2 || outShape[1] == null)
      throw new UserError(
        `The model's output has shape [${outShape.map((d) => d ?? '?').join(', ')}]; [batch, nClasses] is needed.`,
        'Export a classifier whose output is one score per class.',
      );
    this.nFeatures = inShape[1];
    this.nOutputs = outShape[1];
    this.head = opts.head ?? detectHead(model);
    this.maxBatchRows = opts.maxBatchRows ?? DEFAULT_MAX_BATCH_ROWS;
  }

  get isLayersModel(): boolean {
    return this.model instanceof tf.LayersModel;
  }

  /** Number of classes a `probability`/`logit` output has (a single sigmoid unit gives 2). */
  nClasses(output: OutputMode): number {
    if (output === 'raw') return this.nOutputs;
    return this.nOutputs === 1 ? 2 : this.nOutputs;
  }

  /** Differentiable forward pass in the given output mode. x: [b, nFeatures] → [b, nClasses(output)]. */
  apply(x: tf.Tensor2D, output: OutputMode): tf.Tensor2D {
    return tf.tidy(() => {
      const y = (this.model instanceof tf.LayersModel
        ? this.model.apply(x, { training: false })
        : this.model.predict(x)) as tf.Tensor2D; // [b, nOutputs]
      if (output === 'raw') return y;
      if (this.nOutputs === 1) {
        const q = this.head === 'sigmoid' ? y : tf.sigmoid(y); // [b, 1]
        const p = tf.concat([tf.sub(1, q), q], 1) as tf.Tensor2D; // [b, 2]
        return output === 'probability' ? p : (tf.log(tf.add(p, 1e-12)) as tf.Tensor2D);
      }
      if (this.head === 'softmax') return output === 'probability' ? y : (tf.log(tf.add(y, 1e-12)) as tf.Tensor2D);
      if (this.head === 'sigmoid') {
        // independent sigmoids over several units: normalise to a distribution
        const p = tf.div(y, tf.sum(y, 1, true)) as tf.Tensor2D;
        return output === 'probability' ? p : (tf.log(tf.add(p, 1e-12)) as tf.Tensor2D);
      }
      return output === 'probability' ? tf.softmax(y) : y;
    });
  }

  /**
   * Batched inference. x: [nRows, nFeatures] row-major → [nRows, nClasses(output)] row-major.
   * Chunked to `maxBatchRows` rows per forward pass.
   */
  async predict(x: Float32Array, nRows: number, output: OutputMode): Promise<Float32Array> {
    const n = this.nFeatures;
    if (x.length !== nRows * n) throw new Error(`predict: expected ${nRows * n} values, got ${x.length}`);
    const c = this.nClasses(output);
    const out = new Float32Array(nRows * c);
    for (let start = 0; start < nRows; start += this.maxBatchRows) {
      const rows = Math.min(this.maxBatchRows, nRows - start);
      const y = tf.tidy(() => this.apply(tf.tensor2d(x.subarray(start * n, (start + rows) * n), [rows, n]), output));
      try {
        out.set(await y.data(), start * c);
      } finally {
        y.dispose();
      }
      this.forwardPasses++;
    }
    this.rowsEvaluated += nRows;
    return out;
  }

  /** Batched inference of one output per row: out[r] = f(x_r)[target[r]]. target has one entry per row. */
  async predictTarget(x: Float32Array, nRows: number, target: ArrayLike<number>, output: OutputMode): Promise<Float32Array> {
    const c = this.nClasses(output);
    const all = await this.predict(x, nRows, output);
    const out = new Float32Array(nRows);
    for (let r = 0; r < nRows; r++) out[r] = all[r * c + target[r]];
    return out;
  }

  /**
   * Gradient of the target output with respect to the input, batched.
   * x: [nRows, nFeatures], target: one class per row → { grad: [nRows, nFeatures], value: [nRows] }.
   */
  async gradient(x: Float32Array, nRows: number, target: ArrayLike<number>, output: OutputMode): Promise<{ grad: Float32Array; value: Float32Array }> {
    const n = this.nFeatures;
    const c = this.nClasses(output);
    const grad = new Float32Array(nRows * n);
    const value = new Float32Array(nRows);
    for (let start = 0; start < nRows; start += this.maxBatchRows) {
      const rows = Math.min(this.maxBatchRows, nRows - start);
      const [g, v] = tf.tidy(() => {
        const xs = tf.tensor2d(x.subarray(start * n, (start + rows) * n), [rows, n]); // [rows, n]
        const maskData = new Float32Array(rows * c);
        for (let r = 0; r < rows; r++) maskData[r * c + target[start + r]] = 1;
        const mask = tf.tensor2d(maskData, [rows, c]); // [rows, c] one-hot of the target
        const f = (inp: tf.Tensor) => tf.sum(tf.mul(this.apply(inp as tf.Tensor2D, output), mask), 1); // [rows]
        const gr = tf.grad((inp: tf.Tensor) => tf.sum(f(inp)) as tf.Scalar)(xs); // [rows, n]
        const perRow = f(xs); // [rows]
        return [gr, perRow];
      });
      try {
        grad.set(await g.data(), start * n);
        value.set(await v.data(), start);
      } finally {
        g.dispose();
        v.dispose();
      }
      this.forwardPasses += 2;
    }
    this.rowsEvaluated += 2 * nRows;
    return { grad, value };
  }

  dispose(): void {
    this.model.dispose();
  }
}

function activationOf(layer: tf.layers.Layer): string | undefined {
  const cfg = layer.getConfig() as { activation?: unknown };
  if (layer.getClassName() === 'Softmax') return 'softmax';
  return typeof cfg.activation === 'string' ? cfg.activation : undefined;
}

export function detectHead(model: tf.LayersModel | tf.GraphModel): HeadKind {
  if (model instanceof tf.LayersModel) {
    const act = activationOf(model.layers[model.layers.length - 1]);
    if (act === 'softmax') return 'softmax';
    if (act === 'sigmoid') return 'sigmoid';
    return 'logits';
  }
  const outName = model.outputNodes[0]?.split(':')[0] ?? '';
  const op = findGraphOp(model, outName);
  if (op === 'Softmax') return 'softmax';
  if (op === 'Sigmoid') return 'sigmoid';
  return 'logits';
}

function findGraphOp(model: tf.GraphModel, name: string): string | undefined {
  const artifacts = (model as unknown as { artifacts?: { modelTopology?: { node?: { name: string; op: string }[] } } }).artifacts;
  return artifacts?.modelTopology?.node?.find((nd) => nd.name === name)?.op;
}

/**
 * Load a tfjs model from its model.json object and its weight shards (file name → bytes).
 * Shared by Node (files read from disk) and the browser (dropped File objects).
 * `source` names the model in messages.
 */
export async function loadModelFromFiles(
  modelJson: ModelJsonLike,
  shards: Map<string, ArrayBuffer>,
  source = 'model.json',
  opts: TargetModelOptions = {},
): Promise<TargetModel> {
  if (!modelJson || typeof modelJson !== 'object' || !modelJson.modelTopology)
    throw new UserError(
      `${source} is not a TensorFlow.js model: it has no "modelTopology".`,
      'Choose the model.json written by tf.io / tensorflowjs_converter, together with its .bin weight files.',
    );
  const manifest = modelJson.weightsManifest ?? [];
  const needed = manifest.flatMap((g) => g.paths);
  const baseName = (p: string) => p.split(/[\\/]/).pop() ?? p;
  const byBase = new Map<string, ArrayBuffer>();
  for (const [k, v] of shards) byBase.set(baseName(k), v);
  const missing = needed.filter((p) => !byBase.has(baseName(p)));
  if (missing.length)
    throw new UserError(
      `${source} needs weight file${missing.length > 1 ? 's' : ''} ${missing.map(baseName).join(', ')}, which ${missing.length > 1 ? 'were' : 'was'} not provided.`,
      'Add every .bin shard listed in the model\'s weightsManifest (drop the whole model folder, or select model.json together with its .bin files).',
    );
  const artifacts = await tf.io.getModelArtifactsForJSON(modelJson as unknown as tf.io.ModelJSON, async (wm) => {
    const specs = tf.io.getWeightSpecs(wm);
    const data = tf.io.concatenateArrayBuffers(wm.flatMap((g) => g.paths.map((p) => byBase.get(baseName(p))!)));
    return [specs, data];
  });
  const isGraph = modelJson.format === 'graph-model' || Array.isArray((modelJson.modelTopology as { node?: unknown }).node);
  let model: tf.LayersModel | tf.GraphModel;
  try {
    model = isGraph ? await tf.loadGraphModel(tf.io.fromMemory(artifacts)) : await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (e) {
    throw new UserError(
      `${source} could not be loaded as a TensorFlow.js ${isGraph ? 'graph' : 'layers'} model: ${(e as Error).message}`,
      'Check that model.json and its weight files come from the same export.',
    );
  }
  try {
    return new TargetModel(model, opts);
  } catch (e) {
    model.dispose();
    throw e;
  }
}
