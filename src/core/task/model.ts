/**
 * The target model: a tfjs LayersModel or GraphModel with one float32 input: a flat feature row
 * [batch, nFeatures] (tabular), or an image [batch, H, W] / [batch, H, W, C] (channels last), every
 * dimension but the batch fixed. `inputShape` is the shape of one row ([n], [H, W] or [H, W, C]);
 * `inputSize` its product, the number of values per row (`nFeatures` is the same number, kept under
 * its old name). Methods, metrics and the loader hand the model flat rows [nRows, inputSize]
 * (row-major, i.e. H, then W, then C for images); `toModelInput` / `apply` reshape them to the
 * model's own input shape, so gradients come back flat in the same layout.
 *
 * Output modes (METRICS.md "Objects"): `probability` (default; softmax of logits, a softmax head
 * as is, a single sigmoid unit q read as [1−q, q]), `logit` (the model's logits; for a model that
 * ends in softmax or sigmoid this is the log-probability, which differs from the logit by a
 * per-input constant — stated in the docs), `raw` (the model's own output units untouched, any width).
 *
 * GraphModels: the input width comes from the graph's input (its Placeholder shape, else the
 * model.json signature). The output width is often not stated in a graph, so `TargetModel.create`
 * (used by `loadModelFromFiles`) measures it with one warm-up prediction on an all-zero row; the
 * same warm-up, and a look at every op the output depends on, refuse a graph that tfjs cannot run,
 * naming the op(s). Gradients run through the graph (`tf.grad` over `predict`); an op without a
 * gradient in tfjs is named in the error.
 *
 * Loading (`loadModelFromFiles`) checks the files before tfjs allocates anything:
 *  - the weightsManifest is well formed, and every shard it lists was given (extra files are
 *    ignored; the order of the shards map does not matter, the manifest's order is used);
 *  - the total weight size the manifest declares fits the memory budget `maxWeightBytes`, default
 *    DEFAULT_MAX_WEIGHT_BYTES = 1 GiB. Loading holds the weights about twice (the files and the
 *    tensors made from them), a browser tab has a few GiB at most, and WebGPU's fallback adapter
 *    caps one buffer at 1 GiB; the tabular models this app explains are kilobytes to megabytes;
 *  - each weight group's shards together are exactly the bytes its weight specs need (sum of
 *    element count × bytes per element of the dtype, or of the quantization dtype): a truncated or
 *    too-long shard is named with its size and the size needed;
 *  - no float weight holds NaN or ±Infinity (checked per weight spec on the decoded data).
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import { checkpoint } from '../yield';

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
  /**
   * Width of the model's output, for a model that does not state it (most GraphModels).
   * `TargetModel.create` measures it; the constructor needs it when the model does not state it.
   */
  nOutputs?: number;
  /** Largest total weight size `loadModelFromFiles` accepts, in bytes (default DEFAULT_MAX_WEIGHT_BYTES). */
  maxWeightBytes?: number;
  /** Name of the model in messages (loadModelFromFiles passes its `source`). */
  source?: string;
}

export const DEFAULT_MAX_BATCH_ROWS = 8192;
/**
 * Activation values one forward pass may hold in its largest layer (rows · values per row): the
 * default `maxBatchRows` is the smaller of DEFAULT_MAX_BATCH_ROWS and this budget over the largest
 * layer output of a LayersModel (over the input size for a GraphModel), so a CNN on 28×28 images
 * (conv output 25,088 values per row) runs 668 rows per pass instead of exhausting the wasm
 * backend's memory; tabular models keep 8,192.
 */
export const ACTIVATION_VALUES_PER_PASS = 1 << 24;

/** The default rows per forward pass of a model (see ACTIVATION_VALUES_PER_PASS). */
export function defaultMaxBatchRows(model: tf.LayersModel | tf.GraphModel, inputSize: number): number {
  let widest = Math.max(1, inputSize);
  if (model instanceof tf.LayersModel) {
    const visit = (m: tf.LayersModel) => {
      for (const l of m.layers) {
        if (l instanceof tf.LayersModel) visit(l);
        let shape: unknown;
        try {
          shape = l.outputShape;
        } catch {
          continue; // several inbound nodes of different shapes
        }
        const shapes = (Array.isArray((shape as unknown[])[0]) ? shape : [shape]) as (number | null)[][];
        for (const s of shapes) widest = Math.max(widest, s.slice(1).reduce<number>((a, b) => a * (b ?? 1), 1));
      }
    };
    visit(model);
  }
  return Math.max(1, Math.min(DEFAULT_MAX_BATCH_ROWS, Math.floor(ACTIVATION_VALUES_PER_PASS / widest)));
}
/** Default memory budget for a model's weights: 1 GiB (see the header comment). */
export const DEFAULT_MAX_WEIGHT_BYTES = 1024 ** 3;

const NO_GRADIENT_TODO =
  'Choose a method that needs no gradients (feature-ablation, occlusion, lime, kernel-shap, shapley-exact), or re-export the model without that op.';

export class TargetModel {
  /** Shape of one row of the model's input, batch dimension left out: [n], [H, W] or [H, W, C]. */
  readonly inputShape: number[];
  /** Input values per row: the product of inputShape. */
  readonly inputSize: number;
  /** = inputSize (input values per row; the old name, from when every model was tabular). */
  readonly nFeatures: number;
  /** Width of the model's own output. */
  readonly nOutputs: number;
  readonly head: HeadKind;
  readonly maxBatchRows: number;
  /** Rows evaluated so far (each perturbed input counts one); metrics report differences of this. */
  rowsEvaluated = 0;
  /** Forward passes (predict calls) so far. */
  forwardPasses = 0;
  private readonly source: string;

  /**
   * Wrap a loaded model. Synchronous: a model whose output width is not stated (most GraphModels)
   * needs `opts.nOutputs`; `TargetModel.create` measures it.
   */
  constructor(
    readonly model: tf.LayersModel | tf.GraphModel,
    opts: TargetModelOptions = {},
  ) {
    this.source = opts.source ?? 'The model';
    this.inputShape = inputRowShape(model, this.source);
    this.inputSize = this.inputShape.reduce((a, b) => a * b, 1);
    this.nFeatures = this.inputSize;
    checkSingleOutput(model, this.source);
    const outShape = outputShapeOf(model);
    if (opts.nOutputs != null) this.nOutputs = opts.nOutputs;
    else if (outShape && outShape.length === 2 && outShape[1] != null) this.nOutputs = outShape[1];
    else if (outShape && outShape.length !== 2) throw outputShapeError(this.source, outShape);
    else
      throw new UserError(
        `${this.source} does not state the width of its output (shape ${fmtShape(outShape)}).`,
        'Load it with TargetModel.create or loadModelFromFiles, which measure the width with one prediction.',
      );
    this.head = opts.head ?? detectHead(model);
    this.maxBatchRows = opts.maxBatchRows ?? defaultMaxBatchRows(model, this.inputSize);
  }

  /**
   * Check that the model runs and wrap it. For a GraphModel: refuse ops tfjs does not know (all of
   * them named), then one warm-up prediction on an all-zero row, which also measures the output
   * width when the graph does not state it. The warm-up does not count in `forwardPasses`.
   * On failure the model is left to the caller (not disposed).
   */
  static async create(model: tf.LayersModel | tf.GraphModel, opts: TargetModelOptions = {}): Promise<TargetModel> {
    const source = opts.source ?? 'The model';
    if (model instanceof tf.GraphModel) {
      const unknown = unsupportedGraphOps(model);
      if (unknown.length) throw unsupportedOpsError(source, unknown);
    }
    const rowShape = inputRowShape(model, source);
    checkSingleOutput(model, source);
    let y: tf.Tensor;
    try {
      y = tf.tidy(() => forward(model, tf.zeros([1, ...rowShape])));
    } catch (e) {
      throw runError(source, model, e);
    }
    let shape: number[];
    try {
      shape = y.shape;
      await y.data();
    } finally {
      y.dispose();
    }
    if (shape.length !== 2 || shape[0] !== 1 || shape[1] < 1) throw outputShapeError(source, shape.length === 2 ? [null, shape[1]] : shape);
    return new TargetModel(model, { ...opts, nOutputs: shape[1] });
  }

  get isLayersModel(): boolean {
    return this.model instanceof tf.LayersModel;
  }

  /** Number of classes a `probability`/`logit` output has (a single sigmoid unit gives 2). */
  nClasses(output: OutputMode): number {
    if (output === 'raw') return this.nOutputs;
    return this.nOutputs === 1 ? 2 : this.nOutputs;
  }

  /**
   * Flat rows as the model's input tensor: x [rows, inputSize] row-major → [rows, ...inputShape].
   * Call inside tf.tidy.
   */
  toModelInput(x: Float32Array, rows: number): tf.Tensor {
    return tf.tensor(x, [rows, ...this.inputShape]); // [rows, ...inputShape]
  }

  /**
   * Differentiable forward pass in the given output mode. x: flat rows [b, inputSize] (reshaped
   * here to [b, ...inputShape], so a gradient with respect to x is flat too) or already
   * [b, ...inputShape] → [b, nClasses(output)].
   */
  apply(x: tf.Tensor, output: OutputMode): tf.Tensor2D {
    return tf.tidy(() => {
      const xin = x.rank === this.inputShape.length + 1 ? x : tf.reshape(x, [x.shape[0], ...this.inputShape]); // [b, ...inputShape]
      const y = this.forwardRaw(xin) as tf.Tensor2D; // [b, nOutputs]
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
   * The wrapped model's own output on rows already in its input shape ([b, ...inputShape] →
   * [b, nOutputs]). A subclass may run the model differently (core/task/embedding.ts runs a text model
   * from its embedded tokens). Call inside tf.tidy.
   */
  protected forwardRaw(x: tf.Tensor): tf.Tensor {
    return forward(this.model, x);
  }

  /**
   * Batched inference. x: [nRows, inputSize] row-major → [nRows, nClasses(output)] row-major.
   * Chunked to `maxBatchRows` rows per forward pass.
   */
  async predict(x: Float32Array, nRows: number, output: OutputMode): Promise<Float32Array> {
    const n = this.nFeatures;
    if (x.length !== nRows * n) throw new Error(`predict: expected ${nRows * n} values, got ${x.length}`);
    const c = this.nClasses(output);
    const out = new Float32Array(nRows * c);
    for (let start = 0; start < nRows; start += this.maxBatchRows) {
      const rows = Math.min(this.maxBatchRows, nRows - start);
      const y = tf.tidy(() => this.apply(this.toModelInput(x.subarray(start * n, (start + rows) * n), rows), output));
      try {
        out.set(await y.data(), start * c);
      } finally {
        y.dispose();
      }
      this.forwardPasses++;
      // long predictions give the event loop a turn (pause and cancel messages; core/yield.ts)
      if (start + rows < nRows) await checkpoint();
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
   * One `tf.valueAndGrad` per chunk: the values are those of the forward pass the backward pass
   * runs on (no second forward). Counts: `forwardPasses` +1 per chunk (its forward); `rowsEvaluated`
   * +2 per row — one forward and one backward (estimate.ts GRADIENT_COST).
   * An op without a gradient in tfjs gives a UserError naming it.
   */
  async gradient(x: Float32Array, nRows: number, target: ArrayLike<number>, output: OutputMode): Promise<{ grad: Float32Array; value: Float32Array }> {
    const n = this.nFeatures;
    const c = this.nClasses(output);
    const grad = new Float32Array(nRows * n);
    const value = new Float32Array(nRows);
    for (let start = 0; start < nRows; start += this.maxBatchRows) {
      const rows = Math.min(this.maxBatchRows, nRows - start);
      let g: tf.Tensor;
      let v: tf.Tensor;
      try {
        [g, v] = tf.tidy(() => {
          const xs = tf.tensor2d(x.subarray(start * n, (start + rows) * n), [rows, n]); // [rows, n]
          const maskData = new Float32Array(rows * c);
          for (let r = 0; r < rows; r++) maskData[r * c + target[start + r]] = 1;
          const mask = tf.tensor2d(maskData, [rows, c]); // [rows, c] one-hot of the target
          const f = (inp: tf.Tensor) => tf.sum(tf.mul(this.apply(inp as tf.Tensor2D, output), mask), 1); // [rows]
          // d(Σ_r f_r)/dx: rows are independent, so row r of the gradient is ∂f_r/∂x_r; dy = ones
          const { value: perRow, grad: gr } = tf.valueAndGrad(f)(xs); // [rows], [rows, n]
          return [gr, perRow];
        });
      } catch (e) {
        discardFailedTape();
        throw this.gradientError(e);
      }
      try {
        grad.set(await g.data(), start * n);
        value.set(await v.data(), start);
      } finally {
        g.dispose();
        v.dispose();
      }
      this.forwardPasses += 1;
    }
    this.rowsEvaluated += 2 * nRows; // a forward and a backward per row
    return { grad, value };
  }

  dispose(): void {
    this.model.dispose();
  }

  private gradientError(e: unknown): unknown {
    const msg = e instanceof Error ? e.message : String(e);
    const m = /gradient function not found for (\S+?)\.?$/.exec(msg);
    if (!m) return backendKernelError(this.source, msg) ?? e;
    const kernel = m[1];
    let where = '';
    if (this.model instanceof tf.GraphModel) {
      const nodes = graphNodeList(this.model).filter((nd) => nd.op === kernel).map((nd) => `"${nd.name}"`);
      where = nodes.length ? ` (graph node${nodes.length > 1 ? 's' : ''} ${nodes.join(', ')})` : '';
    }
    return new UserError(
      `${this.source} uses the op ${kernel}${where}, which has no gradient in TensorFlow.js, so gradient-based methods (saliency, integrated-gradients, smoothgrad, gradient-shap, input-x-gradient) cannot run on it.`,
      NO_GRADIENT_TODO,
    );
  }
}

/**
 * After a tf.grad that threw during backprop (an op without a gradient), tfjs leaves its tape with
 * the tensors it saved for the backward pass kept alive; free them (tfjs internals, read defensively).
 */
function discardFailedTape(): void {
  const state = (tf.engine() as unknown as { state?: { gradientDepth?: number; activeTape?: { saved?: tf.Tensor[] }[] | null } }).state;
  if (!state || state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) for (const t of node.saved ?? []) t.dispose();
  state.activeTape = null;
}

/** Raw forward pass of the wrapped model: [b, n] → [b, nOutputs]. Call inside tf.tidy. */
function forward(model: tf.LayersModel | tf.GraphModel, x: tf.Tensor): tf.Tensor {
  const y = model instanceof tf.LayersModel ? model.apply(x, { training: false }) : model.predict(x);
  if (!(y instanceof tf.Tensor)) throw new Error('The model returned more than one output tensor.');
  return y;
}

function fmtShape(shape: (number | null)[] | undefined): string {
  return shape ? `[${shape.map((d) => d ?? '?').join(', ')}]` : 'unknown';
}

function outputShapeError(source: string, shape: (number | null)[] | undefined): UserError {
  return new UserError(`${source}'s output has shape ${fmtShape(shape)}; [batch, nClasses] is needed.`, 'Export a classifier whose output is one score per class.');
}

function checkSingleOutput(model: tf.LayersModel | tf.GraphModel, source: string): void {
  if (model.outputs.length !== 1)
    throw new UserError(
      `${source} has ${model.outputs.length} outputs (${model.outputs.map((o) => o.name).join(', ')}); one output [batch, nClasses] is needed.`,
      'Export a classifier with a single output of one score per class.',
    );
}

/** −1 and missing sizes read as unknown (null). */
function normShape(shape: unknown): (number | null)[] | undefined {
  if (!Array.isArray(shape)) return undefined;
  return shape.map((d) => {
    const v = typeof d === 'number' ? d : typeof d === 'string' ? Number(d) : NaN;
    return Number.isInteger(v) && v >= 0 ? v : null;
  });
}

interface SignatureEntry {
  name?: string;
  dtype?: string;
  tensorShape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
}

/** The signature entry (model.json "signature") for a graph input or output node, when there is one. */
function signatureEntry(model: tf.GraphModel, kind: 'inputs' | 'outputs', nodeName: string): SignatureEntry | undefined {
  const sig = model.modelSignature as { inputs?: Record<string, SignatureEntry>; outputs?: Record<string, SignatureEntry> } | undefined;
  const entries = sig?.[kind];
  if (!entries) return undefined;
  const all = Object.entries(entries);
  const hit = all.find(([key, e]) => key === nodeName || (e?.name ?? '').split(':')[0] === nodeName);
  return hit ? hit[1] : all.length === 1 ? all[0][1] : undefined;
}

function signatureShape(e: SignatureEntry | undefined): (number | null)[] | undefined {
  if (!e?.tensorShape || e.tensorShape.unknownRank) return undefined;
  return normShape((e.tensorShape.dim ?? []).map((d) => (d.size == null ? -1 : d.size)));
}

function inputShapeOf(model: tf.LayersModel | tf.GraphModel): (number | null)[] | undefined {
  const own = normShape(model.inputs[0]?.shape);
  if (model instanceof tf.LayersModel) return own;
  if (own && own.length >= 2 && own.slice(1).every((d) => d != null)) return own;
  return signatureShape(signatureEntry(model, 'inputs', model.inputs[0]?.name ?? '')) ?? own;
}

function outputShapeOf(model: tf.LayersModel | tf.GraphModel): (number | null)[] | undefined {
  const own = normShape(model.outputs[0]?.shape);
  if (model instanceof tf.LayersModel) return own;
  if (own && own.length === 2 && own[1] != null) return own;
  return signatureShape(signatureEntry(model, 'outputs', model.outputs[0]?.name ?? '')) ?? own;
}

/**
 * The shape of one input row (batch dimension left out) of the model's single input, or a
 * UserError: [n] for a flat input [batch, n], [H, W] or [H, W, C] for an image input (channels
 * last), with every dimension but the batch fixed.
 */
function inputRowShape(model: tf.LayersModel | tf.GraphModel, source: string): number[] {
  const inShape = inputShapeOf(model);
  const fixed = !!inShape && inShape.length >= 2 && inShape.length <= 4 && inShape.slice(1).every((d) => d != null && d > 0);
  if (model.inputs.length !== 1 || !fixed)
    throw new UserError(
      model.inputs.length !== 1
        ? `${source} has ${model.inputs.length} inputs (${model.inputs.map((i) => i.name).join(', ')}); a single input is needed: flat features [batch, nFeatures] or an image [batch, H, W, C].`
        : `${source}'s input${model instanceof tf.GraphModel ? ` "${model.inputs[0].name}"` : ''} has shape ${fmtShape(inShape)}; flat features [batch, nFeatures] or an image [batch, H, W] / [batch, H, W, C], with every dimension but the batch fixed, is needed.`,
      'Export a model whose single input is a float32 tensor of feature values or pixels (batch dimension free, the others fixed).',
    );
  const dtype = model.inputs[0].dtype;
  // a text model's int32 token-id input is fed float32 ids: its Embedding layer casts them (docs/text.md)
  if (dtype != null && dtype !== 'float32' && !(dtype === 'int32' && readsTokenIds(model)))
    throw new UserError(`${source}'s input "${model.inputs[0].name}" has dtype ${dtype}; float32 feature values are needed.`, 'Export the model with a float32 input.');
  return inShape!.slice(1) as number[];
}

/** A LayersModel whose input goes only to Embedding layers (which read ids of any dtype). */
function readsTokenIds(model: tf.LayersModel | tf.GraphModel): boolean {
  if (!(model instanceof tf.LayersModel)) return false;
  const input = model.inputs[0];
  const consumers = model.layers.filter((l) => l.getClassName() !== 'InputLayer' && l.inboundNodes.some((nd) => nd.inputTensors.includes(input)));
  return consumers.length > 0 && consumers.every((l) => l.getClassName() === 'Embedding');
}

interface GraphNodeLike {
  name: string;
  op: string;
  category?: string;
  inputs?: GraphNodeLike[];
}

/** The parsed graph of a GraphModel (tfjs internals, read defensively): its output nodes. */
function graphOutputsInternal(model: tf.GraphModel): GraphNodeLike[] | undefined {
  const ex = (model as unknown as { executor?: { graph?: { outputs?: GraphNodeLike[] } } }).executor;
  return ex?.graph?.outputs;
}

/** The node list of the model.json topology (name, op, inputs). */
function graphNodeList(model: tf.GraphModel): { name: string; op: string; input?: string[] }[] {
  const artifacts = (model as unknown as { artifacts?: { modelTopology?: { node?: { name: string; op: string; input?: string[] }[] } } }).artifacts;
  return artifacts?.modelTopology?.node ?? [];
}

/**
 * Ops the output depends on that tfjs-converter does not know (no op mapper and no tf.registerOp):
 * `{op, nodes}` per op. Empty when the graph internals cannot be read (the warm-up still catches them).
 */
export function unsupportedGraphOps(model: tf.GraphModel): { op: string; nodes: string[] }[] {
  const outs = graphOutputsInternal(model);
  if (!outs) return [];
  const seen = new Set<GraphNodeLike>();
  const stack = [...outs];
  const byOp = new Map<string, string[]>();
  while (stack.length) {
    const nd = stack.pop()!;
    if (seen.has(nd)) continue;
    seen.add(nd);
    if (nd.category == null) byOp.set(nd.op, [...(byOp.get(nd.op) ?? []), nd.name]);
    for (const i of nd.inputs ?? []) stack.push(i);
  }
  return [...byOp].map(([op, nodes]) => ({ op, nodes: nodes.sort() })).sort((a, b) => (a.op < b.op ? -1 : 1));
}

function unsupportedOpsError(source: string, ops: { op: string; nodes: string[] }[]): UserError {
  const list = ops.map((o) => `${o.op} (node${o.nodes.length > 1 ? 's' : ''} ${o.nodes.map((n) => `"${n}"`).join(', ')})`).join(', ');
  return new UserError(
    `${source} uses op${ops.length > 1 ? 's' : ''} that TensorFlow.js cannot run: ${list}.`,
    'Re-export the model with ops TensorFlow.js supports (see the tfjs-converter list of supported ops), e.g. by replacing custom layers with standard ones.',
  );
}

/** A failed warm-up prediction as a UserError naming the op when tfjs says which. */
function runError(source: string, model: tf.LayersModel | tf.GraphModel, e: unknown): unknown {
  const msg = e instanceof Error ? e.message : String(e);
  const unknown = /Unknown op '([^']+)'/.exec(msg) ?? /Custom op (\S+) is not registered/.exec(msg);
  if (unknown) {
    const nodes = model instanceof tf.GraphModel ? graphNodeList(model).filter((nd) => nd.op === unknown[1]).map((nd) => nd.name) : [];
    return unsupportedOpsError(source, [{ op: unknown[1], nodes }]);
  }
  const noKernel = backendKernelError(source, msg);
  if (noKernel) return noKernel;
  const dynamic = /the dynamic op '([^']+)'/.exec(msg) ?? /execution of the op '([^']+)' returned a promise/.exec(msg);
  if (dynamic)
    return new UserError(
      `${source} uses the op ${dynamic[1]}, which TensorFlow.js runs only asynchronously (control flow or dynamic shapes); attribution needs a model that runs synchronously.`,
      'Re-export the model without control flow (a plain feed-forward graph).',
    );
  return new UserError(`${source} failed on a test prediction (one all-zero row): ${msg}`, 'Check that the model takes a float32 input [batch, nFeatures] (or an image [batch, H, W, C]) and that model.json and its weights come from the same export.');
}

/** tfjs's "Kernel 'X' not registered for backend 'Y'" as a UserError, or undefined. */
function backendKernelError(source: string, msg: string): UserError | undefined {
  const m = /Kernel '([^']+)' not registered for backend '([^']+)'/.exec(msg);
  if (!m) return undefined;
  return new UserError(
    `${source} uses the op ${m[1]}, which the TensorFlow.js ${m[2]} backend does not implement.`,
    `Choose another backend (e.g. cpu or webgl instead of ${m[2]}), or re-export the model without that op.`,
  );
}

function activationOf(layer: tf.layers.Layer): string | undefined {
  const cfg = layer.getConfig() as { activation?: unknown };
  if (layer.getClassName() === 'Softmax') return 'softmax';
  return typeof cfg.activation === 'string' ? cfg.activation : undefined;
}

export function detectHead(model: tf.LayersModel | tf.GraphModel): HeadKind {
  if (model instanceof tf.LayersModel) {
    // the last layer that does something at inference (a trailing Dropout is the identity)
    let i = model.layers.length - 1;
    while (i > 0 && model.layers[i].getClassName() === 'Dropout') i--;
    const act = activationOf(model.layers[i]);
    if (act === 'softmax') return 'softmax';
    if (act === 'sigmoid') return 'sigmoid';
    return 'logits';
  }
  const op = graphOutputOp(model);
  if (op === 'Softmax') return 'softmax';
  if (op === 'Sigmoid') return 'sigmoid';
  return 'logits';
}

/** The op that produces a graph's output, looking through Identity nodes the converter adds. */
function graphOutputOp(model: tf.GraphModel): string | undefined {
  const nodes = new Map(graphNodeList(model).map((nd) => [nd.name, nd]));
  let name = (model.outputs[0]?.name ?? model.outputNodes[0] ?? '').split(':')[0];
  for (let hops = 0; hops < 16; hops++) {
    const nd = nodes.get(name);
    if (!nd) return undefined;
    if (nd.op !== 'Identity' || !nd.input?.length) return nd.op;
    name = nd.input[0].replace(/^\^/, '').split(':')[0];
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Loading from files

/** Bytes per element of each weight dtype (as tfjs's DTYPE_VALUE_SIZE_MAP). */
const BYTES_PER_ELEMENT: Record<string, number> = { float32: 4, float16: 2, int32: 4, uint16: 2, uint8: 1, bool: 1, complex64: 8 };

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; min?: number; scale?: number };
}

interface ManifestGroup {
  paths: string[];
  weights: WeightSpec[];
  /** Bytes the specs need; null when a string weight makes it data-dependent. */
  needed: number | null;
}

const baseName = (p: string) => p.split(/[\\/]/).pop() ?? p;

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${n} bytes (${v.toFixed(1)} ${units[u]})`;
}

/** The manifest's groups with the bytes each needs, or a UserError naming what is malformed. */
function readManifest(modelJson: ModelJsonLike, source: string): ManifestGroup[] {
  const raw = modelJson.weightsManifest ?? [];
  const bad = (what: string) =>
    new UserError(`${source} has a malformed weightsManifest: ${what}.`, 'Use the model.json written by tf.io / tensorflowjs_converter, unedited.');
  if (!Array.isArray(raw)) throw bad('it is not a list of weight groups');
  return raw.map((g, gi) => {
    if (!g || !Array.isArray(g.paths) || !Array.isArray(g.weights) || !g.paths.every((p) => typeof p === 'string'))
      throw bad(`group ${gi + 1} needs a "paths" list of file names and a "weights" list`);
    let needed: number | null = 0;
    const weights = g.weights.map((w0) => {
      const w = w0 as WeightSpec;
      const name = typeof w?.name === 'string' ? w.name : `#${gi + 1}`;
      if (!w || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isInteger(d) && d >= 0))
        throw bad(`weight "${name}" has no valid shape (a list of non-negative integers)`);
      const dt = w.quantization?.dtype ?? w.dtype;
      if (w.dtype !== 'string' && BYTES_PER_ELEMENT[dt] == null) throw bad(`weight "${name}" has the unknown dtype ${dt}`);
      if (w.dtype === 'string') needed = null;
      else if (needed != null) needed += w.shape.reduce((a, b) => a * b, 1) * BYTES_PER_ELEMENT[dt];
      return w;
    });
    return { paths: g.paths, weights, needed };
  });
}

/** Checks the bytes of one float weight: count of NaN and of ±Infinity values, and the first bad index. */
function nonFinite(spec: WeightSpec, bytes: Uint8Array): { nan: number; inf: number; first: number } {
  let nan = 0;
  let inf = 0;
  let first = -1;
  const note = (i: number, isNan: boolean) => {
    if (isNan) nan++;
    else inf++;
    if (first < 0) first = i;
  };
  const q = spec.quantization;
  const dt = q?.dtype ?? spec.dtype;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (q && (dt === 'uint8' || dt === 'uint16')) {
    // dequantized value = min + scale · q: finite unless min or scale is not
    for (const v of [q.min, q.scale]) if (v != null && !Number.isFinite(v)) note(0, Number.isNaN(v));
  } else if (dt === 'float32' || dt === 'complex64') {
    for (let i = 0; i < bytes.byteLength / 4; i++) {
      const v = view.getFloat32(i * 4, true);
      if (!Number.isFinite(v)) note(i, Number.isNaN(v));
    }
  } else if (dt === 'float16') {
    for (let i = 0; i < bytes.byteLength / 2; i++) {
      const h = view.getUint16(i * 2, true);
      if ((h & 0x7c00) === 0x7c00) note(i, (h & 0x03ff) !== 0);
    }
  }
  return { nan, inf, first };
}

/**
 * Load a tfjs model from its model.json object and its weight shards (file name → bytes).
 * Shared by Node (files read from disk) and the browser (dropped File objects).
 * `source` names the model in messages. Checks the files first (see the header comment), then
 * loads and runs one warm-up prediction (TargetModel.create).
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
  const groups = readManifest(modelJson, source);

  // memory budget, from the manifest alone
  const budget = opts.maxWeightBytes ?? DEFAULT_MAX_WEIGHT_BYTES;
  const declared = groups.reduce((s, g) => s + (g.needed ?? 0), 0);
  if (declared > budget)
    throw new UserError(
      `${source} declares ${fmtBytes(declared)} of weights, more than the memory budget of ${fmtBytes(budget)}.`,
      'Use a smaller model (fewer or narrower layers, or a quantized export), or raise the budget (the maxWeightBytes option) if this machine has the memory.',
    );

  // every shard present (extra files ignored; looked up by base name, manifest order)
  const byBase = new Map<string, ArrayBuffer>();
  for (const [k, v] of shards) byBase.set(baseName(k), v);
  const needed = groups.flatMap((g) => g.paths);
  const missing = needed.filter((p) => !byBase.has(baseName(p)));
  if (missing.length)
    throw new UserError(
      `${source} needs weight file${missing.length > 1 ? 's' : ''} ${missing.map(baseName).join(', ')}, which ${missing.length > 1 ? 'were' : 'was'} not provided.`,
      'Add every .bin shard listed in the model\'s weightsManifest (drop the whole model folder, or select model.json together with its .bin files).',
    );

  // sizes: each group's shards hold exactly the bytes its specs need
  for (const g of groups) {
    if (g.needed == null) continue;
    const sizes = g.paths.map((p) => byBase.get(baseName(p))!.byteLength);
    const have = sizes.reduce((a, b) => a + b, 0);
    if (have === g.needed) continue;
    const files =
      g.paths.length === 1
        ? `weight file ${baseName(g.paths[0])} is ${fmtBytes(have)}`
        : `weight files ${g.paths.map((p, i) => `${baseName(p)} (${fmtBytes(sizes[i])})`).join(' + ')} hold ${fmtBytes(have)}`;
    throw new UserError(
      `${source}: ${files}, but its weightsManifest needs ${fmtBytes(g.needed)} for the ${g.weights.length} weight${g.weights.length > 1 ? 's' : ''} stored there (${have < g.needed ? `${g.needed - have} bytes missing: the file is truncated` : `${have - g.needed} bytes too many`}).`,
      have < g.needed
        ? 'Copy the weight file again in full (an interrupted download or upload truncates it).'
        : 'Use the weight files written together with this model.json (this one belongs to another export or model.json was edited).',
    );
  }

  // one buffer in manifest order (what tfjs decodes), then NaN/Inf per weight spec
  const data = tf.io.concatenateArrayBuffers(groups.flatMap((g) => g.paths.map((p) => byBase.get(baseName(p))!)));
  const bytes = new Uint8Array(data);
  let offset = 0;
  for (const g of groups) {
    const groupStart = offset;
    for (const w of g.weights) {
      const count = w.shape.reduce((a, b) => a * b, 1);
      let len: number;
      if (w.dtype === 'string') {
        len = 0;
        for (let i = 0; i < count; i++) {
          if (offset + len + 4 > bytes.byteLength) break;
          len += 4 + new DataView(data, offset + len, 4).getUint32(0, true);
        }
      } else len = count * BYTES_PER_ELEMENT[w.quantization?.dtype ?? w.dtype];
      if (offset + len > bytes.byteLength)
        throw new UserError(
          `${source}: the weight files ${g.paths.map(baseName).join(', ')} end inside weight "${w.name}" (${bytes.byteLength - groupStart} bytes in the group; this weight needs bytes up to ${offset + len - groupStart}).`,
          'Copy the weight files again in full.',
        );
      const bad = nonFinite(w, bytes.subarray(offset, offset + len));
      if (bad.nan + bad.inf > 0) {
        const layer = w.name.includes('/') ? ` (layer ${w.name.slice(0, w.name.lastIndexOf('/'))})` : '';
        const parts = [bad.nan ? `${bad.nan} NaN` : '', bad.inf ? `${bad.inf} infinite` : ''].filter(Boolean).join(' and ');
        throw new UserError(
          `${source}: weight "${w.name}"${layer}, shape [${w.shape.join(', ')}] in ${g.paths.map(baseName).join(', ')}, holds ${parts} value${bad.nan + bad.inf > 1 ? 's' : ''} (first at element ${bad.first}${w.quantization ? ', in its quantization min/scale' : ''}).`,
          'The model was saved from a diverged training run or the file is damaged: retrain (e.g. a lower learning rate) or re-export it.',
        );
      }
      offset += len;
    }
  }

  const artifacts = await tf.io.getModelArtifactsForJSON(modelJson as unknown as tf.io.ModelJSON, async (wm) => [tf.io.getWeightSpecs(wm), data]);
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
    return await TargetModel.create(model, { ...opts, source: opts.source ?? source });
  } catch (e) {
    model.dispose();
    throw e;
  }
}
