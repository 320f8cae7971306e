/**
 * Shared plumbing of the CNN methods (grad-cam, grad-cam-plus-plus, score-cam, guided-backprop,
 * guided-grad-cam; docs/methods.md, docs/images.md):
 *
 * - which layers a class-activation map can be read from: any layer of the LayersModel whose output
 *   is [batch, h, w, channels] (channels last); the default (`layer: ''`) is the last convolutional
 *   layer (Conv2D, SeparableConv2D, DepthwiseConv2D, Conv2DTranspose) in the model's layer order.
 *   Layers are the model's own (`model.layers`; a nested model counts as one layer);
 * - the layer's activations A [rows, h, w, K] through one multi-output model (tf.model over the
 *   layer's output, sharing the target's weights), batched;
 * - the gradient of the explained output with respect to A: the layer's `call` is wrapped for the
 *   duration of one synchronous tf.grad so that it returns A + P for a zero probe P, and ∂f_c/∂P =
 *   ∂f_c/∂A — this works for any LayersModel graph (Sequential or functional), not only chains;
 * - guided backpropagation's ReLU: the output of every layer that ends in a ReLU (an activation
 *   'relu' of a Dense/Conv or Activation layer, a ReLU layer) passes through an identity whose
 *   backward keeps only positive gradients, so each ReLU lets through only positive gradients at
 *   positive inputs — again only for one synchronous tf.grad;
 * - a map at the layer's h×w upsampled bilinearly (half-pixel centres, data/images.ts
 *   `resizeBilinear`: PyTorch's interpolate(mode='bilinear', align_corners=False)) to the input's
 *   H×W and summed per patch by the feature space's `aggregate` (each pixel's value is spread
 *   equally over its C channels, so a patch's score is the sum of the map over its pixels).
 *
 * Everything synchronous runs in tf.tidy; the wrapped methods are restored in `finally`.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import { resizeBilinear } from '../data/images';
import { ImageFeatureSpace } from '../task/featureSpace';
import type { ParamSpec } from '../params';
import type { Task } from '../task/task';
import { PERTURBED_ROWS_PER_CHUNK } from './common';

/** Layer classes that count as convolutional for the default layer. */
export const CONV_CLASSES: ReadonlySet<string> = new Set(['Conv2D', 'SeparableConv2D', 'DepthwiseConv2D', 'Conv2DTranspose']);

/** The `layer` parameter every CAM method declares. */
export const LAYER_PARAM: ParamSpec = {
  type: 'string',
  maxLength: 256,
  meaning: 'Name of the layer whose [H, W, channels] output the map is built from; empty = the last convolutional layer.',
};

/** Layer activation values (or gradients) held per chunk of rows: bounds memory. */
export const CAM_VALUES_PER_CHUNK = 1 << 22;

/** The task's LayersModel, or null for a GraphModel. */
export function layersModelOf(task: Task): tf.LayersModel | null {
  const m = task.model.model;
  return m instanceof tf.LayersModel ? m : null;
}

function outputShapeOf(layer: tf.layers.Layer): (number | null)[] | null {
  try {
    const s = layer.outputShape as (number | null)[] | (number | null)[][];
    return Array.isArray(s[0]) ? null : (s as (number | null)[]);
  } catch {
    return null; // a layer used several times with different shapes
  }
}

function channelsFirst(layer: tf.layers.Layer): boolean {
  const cfg = layer.getConfig() as { dataFormat?: unknown };
  return cfg.dataFormat === 'channelsFirst';
}

/** Layers whose output is [batch, h, w, channels] with known sizes (channels last), in the model's order. */
export function spatialLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.filter((l) => {
    const s = outputShapeOf(l);
    return !!s && s.length === 4 && s.slice(1).every((v) => v != null && v > 0) && !channelsFirst(l) && l.getClassName() !== 'InputLayer';
  });
}

/** The last convolutional layer with a [batch, h, w, channels] output, if any. */
export function lastConvLayer(model: tf.LayersModel): tf.layers.Layer | undefined {
  const spatial = spatialLayers(model);
  for (let i = spatial.length - 1; i >= 0; i--) if (CONV_CLASSES.has(spatial[i].getClassName())) return spatial[i];
  return undefined;
}

/** [h, w, K] of a spatial layer's output. */
export function spatialShape(layer: tf.layers.Layer): [number, number, number] {
  const s = outputShapeOf(layer)!;
  return [s[1]!, s[2]!, s[3]!];
}

/**
 * Why a class-activation method cannot run on a task (null when it can): it needs an image task, a
 * LayersModel, and a convolutional layer. `what` says why, `todo` what to do.
 */
export function camRefusalParts(task: Task, label: string): { what: string; todo: string } | null {
  if (task.space.kind !== 'image' || !(task.space instanceof ImageFeatureSpace))
    return { what: `${label} explains image models through a convolutional layer's feature maps; this task's features are ${task.space.kind}.`, todo: 'Use a gradient or perturbation method (e.g. integrated-gradients, occlusion).' };
  const model = layersModelOf(task);
  if (!model)
    return { what: `${label} reads a convolutional layer's activations and gradients, which a TensorFlow.js GraphModel does not expose.`, todo: 'Give the model as a LayersModel (tensorflowjs_converter --output_format tfjs_layers_model).' };
  if (!lastConvLayer(model))
    return {
      what: `${label} needs a convolutional layer (Conv2D, SeparableConv2D, DepthwiseConv2D or Conv2DTranspose, channels last); this model has none (layers: ${model.layers.map((l) => `${l.name} (${l.getClassName()})`).join(', ')}).`,
      todo: 'Use a gradient or perturbation method instead.',
    };
  return null;
}

/** `camRefusalParts` as one sentence pair, for `applicable`. */
export function camRefusal(task: Task, label: string): string | null {
  const r = camRefusalParts(task, label);
  return r ? `${r.what} ${r.todo}` : null;
}

/**
 * The layer a CAM method reads: by name, or the last convolutional layer for ''. A wrong name is a
 * UserError listing the layers that can be chosen.
 */
export function resolveCamLayer(task: Task, name: string, label: string): tf.layers.Layer {
  const refusal = camRefusalParts(task, label);
  if (refusal) throw new UserError(refusal.what, refusal.todo);
  const model = layersModelOf(task)!;
  const spatial = spatialLayers(model);
  const last = lastConvLayer(model)!;
  if (name === '') return last;
  const layer = model.layers.find((l) => l.name === name);
  if (layer && spatial.includes(layer)) return layer;
  const what = layer
    ? `layer "${name}" (${layer.getClassName()}) has the output shape [${(outputShapeOf(layer) ?? ['?']).map((v) => v ?? 'batch').join(', ')}], not [batch, height, width, channels]`
    : `the model has no layer "${name}"`;
  throw new UserError(
    `${label}: ${what}.`,
    `Set layer to one of: ${spatial.map((l) => l.name).join(', ')} — or leave it empty for the last convolutional layer ("${last.name}").`,
  );
}

/** Shared `validate` of the CAM methods: the layer parameter names a usable layer of this model. */
export function validateCamLayer(task: Task, params: { layer: string }, label: string): void {
  if (camRefusal(task, label)) return; // not applicable: reported by `applicable`
  resolveCamLayer(task, params.layer, label);
}

/** Rows per chunk of layer values, so that one chunk holds at most CAM_VALUES_PER_CHUNK values. */
export function camPerRow(h: number, w: number, k: number): number {
  const rows = Math.max(1, Math.floor(CAM_VALUES_PER_CHUNK / Math.max(1, h * w * k)));
  return Math.max(1, Math.ceil(PERTURBED_ROWS_PER_CHUNK / rows));
}

/** One-hot of each row's target class: [rows, nClasses]. Call inside tf.tidy. */
function targetMask(task: Task, target: ArrayLike<number>, rows: number): tf.Tensor2D {
  const c = task.model.nClasses(task.output);
  const m = new Float32Array(rows * c);
  for (let r = 0; r < rows; r++) m[r * c + target[r]] = 1;
  return tf.tensor2d(m, [rows, c]);
}

// ---------------------------------------------------------------------------------------------
// Activations

const activationModels = new WeakMap<tf.LayersModel, Map<string, tf.LayersModel>>();

/** The layer's output as a model of the target's input (weights shared with the target: never dispose it). */
export function activationModel(model: tf.LayersModel, layer: tf.layers.Layer): tf.LayersModel {
  let byName = activationModels.get(model);
  if (!byName) activationModels.set(model, (byName = new Map()));
  let m = byName.get(layer.name);
  if (!m) {
    m = tf.model({ inputs: model.inputs, outputs: layer.output as tf.SymbolicTensor });
    byName.set(layer.name, m);
  }
  return m;
}

/** The layer's activations of flat rows x [rows, inputSize]: [rows, h, w, K] row-major, in chunks of the model's maxBatchRows. */
export async function layerActivations(task: Task, layer: tf.layers.Layer, x: Float32Array, rows: number): Promise<Float32Array> {
  const multi = activationModel(layersModelOf(task)!, layer);
  const [h, w, k] = spatialShape(layer);
  const size = h * w * k;
  const d = task.inputSize;
  const out = new Float32Array(rows * size);
  for (let start = 0; start < rows; start += task.model.maxBatchRows) {
    const n = Math.min(task.model.maxBatchRows, rows - start);
    const a = tf.tidy(() => multi.apply(task.model.toModelInput(x.subarray(start * d, (start + n) * d), n), { training: false }) as tf.Tensor); // [n, h, w, K]
    try {
      out.set(await a.data(), start * size);
    } finally {
      a.dispose();
    }
    task.model.forwardPasses++;
  }
  task.model.rowsEvaluated += rows;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Gradients at a layer

type CallFn = (inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

/** Run `fn` with `layer.call` replaced by `call(orig)`; the original is restored afterwards. */
function withCall<T>(layer: tf.layers.Layer, wrap: (orig: CallFn) => CallFn, fn: () => T): T {
  const holder = layer as unknown as { call: CallFn };
  const own = Object.prototype.hasOwnProperty.call(layer, 'call');
  const orig = holder.call;
  holder.call = wrap((inputs, kwargs) => orig.call(layer, inputs, kwargs));
  try {
    return fn();
  } finally {
    if (own) holder.call = orig;
    else delete (layer as unknown as { call?: CallFn }).call;
  }
}

/**
 * The layer's activations A and the gradient ∂f_c/∂A of each row's explained output (task.output,
 * row r's target class), for flat rows x [rows, inputSize]: { acts, grads } each [rows, h, w, K].
 * One synchronous tf.grad per chunk of maxBatchRows rows; counts one forward and one backward per row.
 */
export async function layerGradients(task: Task, layer: tf.layers.Layer, x: Float32Array, rows: number, target: ArrayLike<number>): Promise<{ acts: Float32Array; grads: Float32Array }> {
  const [h, w, k] = spatialShape(layer);
  const size = h * w * k;
  const d = task.inputSize;
  const acts = new Float32Array(rows * size);
  const grads = new Float32Array(rows * size);
  for (let start = 0; start < rows; start += task.model.maxBatchRows) {
    const n = Math.min(task.model.maxBatchRows, rows - start);
    let captured: tf.Tensor | null = null;
    let g: tf.Tensor;
    try {
      g = tf.tidy(() => {
        const xin = task.model.toModelInput(x.subarray(start * d, (start + n) * d), n); // [n, ...inputShape]
        const mask = targetMask(task, Array.prototype.slice.call(target, start, start + n) as number[], n); // [n, nClasses]
        const f = (probe: tf.Tensor) =>
          withCall(
            layer,
            (orig) => (inputs, kwargs) => {
              const a = orig(inputs, kwargs) as tf.Tensor; // [n, h, w, K]
              if (captured === null) captured = tf.keep(a);
              return tf.add(a, probe);
            },
            () => tf.sum(tf.mul(task.model.apply(xin, task.output), mask)), // Σ_r f_c(x_r): rows are independent
          );
        return tf.grad(f)(tf.zeros([n, h, w, k])); // [n, h, w, K] = ∂f_c/∂A
      });
    } catch (e) {
      if (captured) (captured as tf.Tensor).dispose();
      throw e;
    }
    try {
      if (!captured) throw new Error(`layer ${layer.name} was not called by the model's forward pass`);
      grads.set(await g.data(), start * size);
      acts.set(await (captured as tf.Tensor).data(), start * size);
    } finally {
      g.dispose();
      if (captured) (captured as tf.Tensor).dispose();
    }
    task.model.forwardPasses++;
  }
  task.model.rowsEvaluated += 2 * rows;
  return { acts, grads };
}

// ---------------------------------------------------------------------------------------------
// Guided backpropagation

/**
 * The identity whose backward pass keeps only positive gradients (dy · [dy > 0]). Put after a ReLU
 * (whose own backward multiplies by [z > 0]) it makes that ReLU's backward guided:
 * dz = dy · [dy > 0] · [z > 0] (Springenberg et al. 2015). The ReLU itself is left as the layer
 * computes it, so tfjs keeps its unfused convolution under a gradient (the fused one would also
 * compute a filter gradient, which the wasm backend lacks).
 */
export const positiveGradient: (x: tf.Tensor) => tf.Tensor = tf.customGrad(((x: tf.Tensor) => ({
  value: tf.clone(x),
  gradFunc: (dy: tf.Tensor) => tf.relu(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;

/** Every layer of the model (nested models' layers included) that applies a ReLU. */
export function reluLayers(model: tf.LayersModel): tf.layers.Layer[] {
  const out: tf.layers.Layer[] = [];
  const visit = (m: tf.LayersModel) => {
    for (const l of m.layers) {
      if (l instanceof tf.LayersModel) visit(l);
      else if (l.getClassName() === 'ReLU' || (l.getConfig() as { activation?: unknown }).activation === 'relu') out.push(l);
    }
  };
  visit(model);
  return out;
}

/** Why guided backpropagation cannot run on a task (null when it can): a LayersModel with at least one ReLU. */
export function guidedRefusal(task: Task, label: string): string | null {
  const model = layersModelOf(task);
  if (!model)
    return `${label} replaces the model's ReLUs, which needs a LayersModel (a TensorFlow.js GraphModel's layers are not reachable). Give the model as a LayersModel, or use saliency.`;
  if (reluLayers(model).length === 0)
    return `${label} changes the backward pass of ReLUs, and this model has none (without ReLUs it is the plain gradient). Use saliency.`;
  return null;
}

/** Run `fn` with every ReLU layer's output passed through `positiveGradient` (its backward guided); restored afterwards. */
function withGuidedRelus<T>(model: tf.LayersModel, fn: () => T): T {
  const restore: (() => void)[] = [];
  try {
    for (const l of reluLayers(model)) {
      const holder = l as unknown as { call: CallFn };
      const own = Object.prototype.hasOwnProperty.call(l, 'call');
      const orig = holder.call;
      holder.call = (inputs, kwargs) => {
        const y = orig.call(l, inputs, kwargs);
        return Array.isArray(y) ? y.map(positiveGradient) : positiveGradient(y);
      };
      restore.push(() => {
        if (own) holder.call = orig;
        else delete (l as unknown as { call?: CallFn }).call;
      });
    }
    return fn();
  } finally {
    for (const r of restore.reverse()) r();
  }
}

/**
 * Guided backpropagation: the gradient of each row's explained output with respect to the input,
 * with every ReLU's backward pass guided (above). x: [rows, inputSize] → [rows, inputSize].
 */
export async function guidedGradient(task: Task, x: Float32Array, rows: number, target: ArrayLike<number>): Promise<Float32Array> {
  const model = layersModelOf(task)!;
  const d = task.inputSize;
  const out = new Float32Array(rows * d);
  for (let start = 0; start < rows; start += task.model.maxBatchRows) {
    const n = Math.min(task.model.maxBatchRows, rows - start);
    const g = tf.tidy(() => {
      const xs = tf.tensor2d(x.subarray(start * d, (start + n) * d), [n, d]); // [n, inputSize]
      const mask = targetMask(task, Array.prototype.slice.call(target, start, start + n) as number[], n); // [n, nClasses]
      return withGuidedRelus(model, () => tf.grad((inp: tf.Tensor) => tf.sum(tf.mul(task.model.apply(inp, task.output), mask)))(xs)); // [n, inputSize]
    });
    try {
      out.set(await g.data(), start * d);
    } finally {
      g.dispose();
    }
    task.model.forwardPasses++;
  }
  task.model.rowsEvaluated += 2 * rows;
  return out;
}

// ---------------------------------------------------------------------------------------------
// From maps to features

/** The image space of a task (CAM methods run on image tasks only). */
export function imageSpaceOf(task: Task): ImageFeatureSpace {
  if (!(task.space instanceof ImageFeatureSpace)) throw new Error('CAM methods need an ImageFeatureSpace');
  return task.space;
}

/** Maps at the layer's h×w, [rows, h·w], bilinearly upsampled to the input's H×W: [rows, H·W]. */
export function upsampleMaps(space: ImageFeatureSpace, maps: Float32Array, rows: number, h: number, w: number): Float32Array {
  const HW = space.height * space.width;
  const out = new Float32Array(rows * HW);
  for (let r = 0; r < rows; r++) out.set(resizeBilinear(maps.subarray(r * h * w, (r + 1) * h * w), h, w, 1, space.height, space.width), r * HW);
  return out;
}

/** Pixel maps [rows, H·W] as feature scores [rows, nFeatures]: each pixel's value spread equally over its channels, summed per patch. */
export function pixelMapsToFeatures(space: ImageFeatureSpace, pixels: Float32Array, rows: number): Float32Array {
  const HW = space.height * space.width;
  const C = space.channels;
  const elem = new Float32Array(rows * HW * C); // [rows, inputSize]
  for (let r = 0; r < rows; r++)
    for (let p = 0; p < HW; p++) {
      const v = pixels[r * HW + p] / C;
      for (let c = 0; c < C; c++) elem[(r * HW + p) * C + c] = v;
    }
  return space.aggregate(elem, rows);
}

/** Layer-resolution maps [rows, h·w] → upsampled → summed per patch: [rows, nFeatures]. */
export function mapsToFeatures(space: ImageFeatureSpace, maps: Float32Array, rows: number, h: number, w: number): Float32Array {
  return pixelMapsToFeatures(space, upsampleMaps(space, maps, rows, h, w), rows);
}

/**
 * Grad-CAM's map of one row from its activations and gradients (each [h·w·K] at offset o):
 * α_k = mean over the h·w positions of ∂f_c/∂A_k; map = Σ_k α_k A_k, ReLU'd when `relu`.
 * Writes h·w values into out at offset p.
 */
export function gradCamMap(acts: Float32Array, grads: Float32Array, o: number, hw: number, k: number, relu: boolean, out: Float32Array, p: number): void {
  const alpha = new Float64Array(k);
  for (let i = 0; i < hw; i++) for (let c = 0; c < k; c++) alpha[c] += grads[o + i * k + c];
  for (let c = 0; c < k; c++) alpha[c] /= hw;
  for (let i = 0; i < hw; i++) {
    let s = 0;
    for (let c = 0; c < k; c++) s += alpha[c] * acts[o + i * k + c];
    out[p + i] = relu ? Math.max(0, s) : s;
  }
}
