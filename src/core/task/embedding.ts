/**
 * Gradients of a text model with respect to its embedded sequence (docs/text.md). Token ids are not
 * differentiable, so for a LayersModel whose input feeds exactly one layer, an Embedding, the model
 * is split there: the ids are embedded with the Embedding's own weights E ([V, D]) outside the
 * model, and the rest of the model runs from the embedded tensor: the model's graph is walked from
 * its output back to the Embedding's output, which is fed the embedded tensor, and every layer on
 * the way is applied to concrete tensors in the graph's order (the same layer objects and weights;
 * nothing is added to the model's graph, so its layers keep one inbound node each). The split model
 * is a TargetModel over a view of the model whose input is the Embedding's output (so DeepLIFT reads
 * the layers after the Embedding as its chain). `textSpace.test.ts` checks the split reproduces the
 * model's outputs.
 *
 * Coordinates: gradient methods see v = e − e° per position, with e° = E[pad] at every position (the
 * pad token's embedding), so the all-pad sequence is v° = 0 and the model is f(v + e°). Then
 * saliency |∂f/∂v| = |∂f/∂e|, input × gradient (v ⊙ ∂f/∂v) is (e − e°) ⊙ ∂f/∂e, and Integrated
 * Gradients from v° = 0 is the path from e° to e; summing the D values of each position (the
 * embedded space's `aggregate`) gives one score per token. SmoothGrad's and GradientSHAP's noise
 * scale is each embedding dimension's range over the vocabulary (max − min of E[:, d]); GradientSHAP's
 * uniform baselines draw each value uniformly in that range (shifted by e°).
 *
 * A model that the split cannot serve (no Embedding first, the ids used elsewhere too, mask_zero,
 * a GraphModel) gives the reason, and gradient methods are not applicable to it (perturbation
 * methods still are).
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import type { Rng } from '../rng';
import type { BaselineKind, FeatureSpace } from './featureSpace';
import { TargetModel } from './model';

/** The Embedding a text model starts with, read from the loaded model. */
export interface EmbeddingLayerInfo {
  layer: tf.layers.Layer;
  inputDim: number;
  outputDim: number;
}

/** The model's first-layer Embedding, or a sentence saying why there is none to split at. */
export function firstEmbedding(model: TargetModel): EmbeddingLayerInfo | string {
  const m = model.model;
  if (!(m instanceof tf.LayersModel)) return 'it is a graph model, which cannot be split at its embedding; gradient methods need a layers model whose first layer is an Embedding';
  const input = m.inputs[0];
  const consumers = m.layers.filter((l) => l.getClassName() !== 'InputLayer' && l.inboundNodes.some((nd) => nd.inputTensors.includes(input)));
  if (consumers.length !== 1 || consumers[0].getClassName() !== 'Embedding')
    return `its token ids go to ${consumers.map((l) => `${l.getClassName()} "${l.name}"`).join(' and ') || 'no layer'}; gradient methods need the ids to go to one Embedding layer only`;
  const layer = consumers[0];
  const cfg = layer.getConfig() as { inputDim?: number; outputDim?: number; maskZero?: boolean };
  if (cfg.maskZero) return `its Embedding "${layer.name}" has mask_zero, whose mask the split model would not carry`;
  if (!Number.isInteger(cfg.inputDim) || !Number.isInteger(cfg.outputDim)) return `its Embedding "${layer.name}" does not state its input and output sizes`;
  return { layer, inputDim: cfg.inputDim!, outputDim: cfg.outputDim! };
}

/**
 * A view of the model whose input is its Embedding's output: an object whose prototype is the model
 * (its layers, outputs and class), with its own `inputs` = [the Embedding's output]. Never applied
 * as a model (EmbeddedTargetModel.forwardRaw walks the graph); read for shapes and layer chains.
 */
function afterEmbedding(m: tf.LayersModel, embOut: tf.SymbolicTensor): tf.LayersModel {
  const view = Object.create(m) as tf.LayersModel;
  Object.defineProperty(view, 'inputs', { value: [embOut], enumerable: true });
  return view;
}

/** The model's output from a concrete tensor at `embOut` (the Embedding's output): the graph walked back to it. Call inside tf.tidy. */
function runFrom(m: tf.LayersModel, embOut: tf.SymbolicTensor, e: tf.Tensor): tf.Tensor {
  const memo = new Map<number, tf.Tensor>([[embOut.id, e]]);
  const visit = (s: tf.SymbolicTensor): tf.Tensor => {
    const hit = memo.get(s.id);
    if (hit) return hit;
    const layer = s.sourceLayer;
    if (layer.getClassName() === 'InputLayer') throw new Error('the model reads its ids other than through its Embedding');
    const node = layer.inboundNodes[s.nodeIndex];
    const ins = node.inputTensors.map(visit);
    const out = layer.apply(ins.length === 1 ? ins[0] : ins, { ...(node.callArgs ?? {}), training: false }) as tf.Tensor | tf.Tensor[];
    const outs = Array.isArray(out) ? out : [out];
    node.outputTensors.forEach((o, i) => memo.set(o.id, outs[i]));
    return memo.get(s.id)!;
  };
  return visit(m.outputs[0]);
}

/**
 * The model read from the embedded sequence v = e − e° ([L, D] per row, flat [L·D]): f(v + e°).
 * A TargetModel, so every gradient method runs on it unchanged.
 */
export class EmbeddedTargetModel extends TargetModel {
  constructor(
    /** The original model and its Embedding's output, where the embedded tensor is fed. */
    private readonly original: tf.LayersModel,
    private readonly embOut: tf.SymbolicTensor,
    /** [D] e°: the pad token's embedding, added at every position. */
    readonly offset: Float32Array,
    base: TargetModel,
  ) {
    super(afterEmbedding(original, embOut), { head: base.head, maxBatchRows: base.maxBatchRows, nOutputs: base.nOutputs, source: 'The model (from its embedded tokens)' });
  }

  /** x: [b, L, D] embedded rows v → the model's output at e = v + e°. */
  protected forwardRaw(x: tf.Tensor): tf.Tensor {
    return runFrom(this.original, this.embOut, tf.add(x, tf.tensor1d(this.offset)));
  }

  /** Never disposes: the layers belong to the original model. */
  dispose(): void {}
}

/** The embedded view of a text model: the split model, the embedding matrix and the id → v map. */
export interface EmbeddedView {
  model: EmbeddedTargetModel;
  /** The split model read from e itself (no offset): for DeepLIFT, whose reference is then e° (`EmbeddedSpace` absolute). */
  absoluteModel: EmbeddedTargetModel;
  /** [V, D] the Embedding's weights. */
  weights: Float32Array;
  vocabSize: number;
  dim: number;
  length: number;
  pad: number;
  /** [D] e°: the pad token's embedding. */
  offset: Float32Array;
  /** [D] per embedding dimension, max − min over the vocabulary. */
  dimRange: Float32Array;
  /** [D] per dimension, min over the vocabulary − e°_d (the lower end of v's range). */
  dimMin: Float32Array;
}

const splits = new WeakMap<TargetModel, { embOut: tf.SymbolicTensor; emb: EmbeddingLayerInfo; length: number } | string>();
const views = new WeakMap<TargetModel, Map<number, EmbeddedView>>();

/**
 * Where the model is split: its Embedding and that layer's output (cached per model), or the reason
 * it cannot be split. Synchronous: structure only (methods' `applicable` reads it); `embeddedView`
 * adds the weights.
 */
export function splitAtEmbedding(model: TargetModel, length: number): { embOut: tf.SymbolicTensor; emb: EmbeddingLayerInfo } | string {
  const hit = splits.get(model);
  if (hit !== undefined && (typeof hit === 'string' || hit.length === length)) return hit;
  const emb = firstEmbedding(model);
  let out: { embOut: tf.SymbolicTensor; emb: EmbeddingLayerInfo; length: number } | string;
  if (typeof emb === 'string') out = emb;
  else {
    const m = model.model as tf.LayersModel;
    const embOut = emb.layer.inboundNodes.find((nd) => nd.inputTensors.includes(m.inputs[0]))!.outputTensors[0];
    const shape = embOut.shape;
    out = shape.length === 3 && shape[1] === length && shape[2] === emb.outputDim ? { embOut, emb, length } : `its Embedding's output has shape [${shape.map((v) => v ?? '?').join(', ')}], not [batch, ${length}, ${emb.outputDim}]`;
  }
  splits.set(model, out);
  return out;
}

/** The split model with e° = 0 (for structure checks such as a method's `applicable`), or the reason. */
export function embeddedStructure(model: TargetModel, length: number): EmbeddedTargetModel | string {
  const split = splitAtEmbedding(model, length);
  if (typeof split === 'string') return split;
  return new EmbeddedTargetModel(model.model as tf.LayersModel, split.embOut, new Float32Array(split.emb.outputDim), model);
}

/**
 * The embedded view of `model` (cached per model and pad id), or a UserError saying why the model
 * cannot be read from its embeddings. `length` is L, `pad` the pad id.
 */
export async function embeddedView(model: TargetModel, length: number, pad: number): Promise<EmbeddedView> {
  const cached = views.get(model)?.get(pad);
  if (cached && cached.length === length) return cached;
  const split = splitAtEmbedding(model, length);
  if (typeof split === 'string') throw new UserError(`Gradient methods cannot run on this text model: ${split}.`, 'Use a perturbation method (occlusion, feature-ablation, lime, kernel-shap, shapley-exact), or export the model with an Embedding as its first layer.');
  const emb = split.emb;
  const V = emb.inputDim;
  const D = emb.outputDim;
  const w = emb.layer.getWeights()[0]; // [V, D]
  const weights = (await w.data()) as Float32Array;
  if (weights.length !== V * D) throw new Error(`embedding weights hold ${weights.length} values, not ${V} × ${D}`);
  const offset = weights.slice(pad * D, (pad + 1) * D); // [D]
  const dimMin = new Float32Array(D).fill(Infinity);
  const dimMax = new Float32Array(D).fill(-Infinity);
  for (let i = 0; i < V; i++)
    for (let d = 0; d < D; d++) {
      const v = weights[i * D + d];
      if (v < dimMin[d]) dimMin[d] = v;
      if (v > dimMax[d]) dimMax[d] = v;
    }
  const dimRange = Float32Array.from(dimMax, (hi, d) => hi - dimMin[d]);
  for (let d = 0; d < D; d++) dimMin[d] -= offset[d];
  const view: EmbeddedView = { model: new EmbeddedTargetModel(model.model as tf.LayersModel, split.embOut, offset, model), offset, absoluteModel: new EmbeddedTargetModel(model.model as tf.LayersModel, split.embOut, new Float32Array(D), model), weights, vocabSize: V, dim: D, length, pad, dimRange, dimMin };
  if (!views.has(model)) views.set(model, new Map());
  views.get(model)!.set(pad, view);
  return view;
}

/** Token-id rows [nRows, L] → embedded rows v = E[id] − e° ([nRows, L·D]); `absolute`: e = E[id]. */
export function embedRows(view: EmbeddedView, ids: Float32Array, nRows: number, absolute = false): Float32Array {
  const { length: L, dim: D, weights, pad } = view;
  const out = new Float32Array(nRows * L * D);
  for (let r = 0; r < nRows; r++)
    for (let t = 0; t < L; t++) {
      const id = ids[r * L + t];
      if (!(Number.isInteger(id) && id >= 0 && id < view.vocabSize)) throw new UserError(`Row ${r}, position ${t}: token id ${id} is not an id of the model's embedding (0..${view.vocabSize - 1}).`, 'Use the vocabulary the model was trained with.');
      const o = (r * L + t) * D;
      for (let d = 0; d < D; d++) out[o + d] = weights[id * D + d] - (absolute ? 0 : weights[pad * D + d]);
    }
  return out;
}

/**
 * The feature space of the embedded sequence: L features (positions) of D values each; baseline
 * v° = 0 (e° = the pad embedding at every position); noise per value uniform in its dimension's
 * range over the vocabulary.
 */
export class EmbeddedSpace implements FeatureSpace {
  readonly kind = 'text-embedding';
  readonly nFeatures: number;
  readonly inputSize: number;
  readonly inputShape: number[];
  readonly featureNames: string[];

  constructor(
    private readonly view: EmbeddedView,
    featureNames: string[],
    /** Coordinates e themselves (baseline e° at every position) instead of v = e − e° (baseline 0). */
    private readonly absolute = false,
  ) {
    this.nFeatures = view.length;
    this.inputSize = view.length * view.dim;
    this.inputShape = [view.length, view.dim];
    this.featureNames = featureNames;
  }

  /** v° = 0 (absolute: e°), the pad embedding at every position, whatever the kind. */
  baseline(_kind: BaselineKind): Float32Array {
    const b = new Float32Array(this.inputSize);
    if (this.absolute) for (let j = 0; j < this.inputSize; j++) b[j] = this.view.offset[j % this.view.dim];
    return b;
  }

  noiseBaseline(rng: Rng): Float32Array {
    const { dim: D, dimMin, dimRange } = this.view;
    const b = new Float32Array(this.inputSize);
    for (let j = 0; j < this.inputSize; j++) b[j] = dimMin[j % D] + (this.absolute ? this.view.offset[j % D] : 0) + rng.uniform() * dimRange[j % D];
    return b;
  }

  inputRange(): Float32Array {
    const D = this.view.dim;
    return Float32Array.from({ length: this.inputSize }, (_, j) => this.view.dimRange[j % D]);
  }

  /** [nRows, L·D] → [nRows, L]: the D values of each position summed. */
  aggregate(values: Float32Array, nRows: number): Float32Array {
    const { length: L, dim: D } = this.view;
    if (values.length !== nRows * L * D) throw new Error(`aggregate: ${values.length} values for ${nRows} rows × ${L} × ${D}`);
    const out = new Float32Array(nRows * L);
    for (let i = 0; i < nRows * L; i++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += values[i * D + d];
      out[i] = s;
    }
    return out;
  }

  private copy(out: Float32Array, o: number, src: ArrayLike<number>, t: number): void {
    const D = this.view.dim;
    for (let d = 0; d < D; d++) out[o + t * D + d] = src[t * D + d];
  }

  writeRemoval(out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, removed: ArrayLike<number>): void {
    const o = row * this.inputSize;
    out.set(x, o);
    for (let k = 0; k < removed.length; k++) this.copy(out, o, baseline, removed[k]);
  }

  writeInsertion(out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, inserted: ArrayLike<number>): void {
    const o = row * this.inputSize;
    out.set(baseline, o);
    for (let k = 0; k < inserted.length; k++) this.copy(out, o, x, inserted[k]);
  }

  writeMasked(out: Float32Array, row: number, x: ArrayLike<number>, baseline: ArrayLike<number>, mask: ArrayLike<number>): void {
    const o = row * this.inputSize;
    out.set(x, o);
    for (let t = 0; t < this.nFeatures && t < mask.length; t++) if (mask[t]) this.copy(out, o, baseline, t);
  }
}
