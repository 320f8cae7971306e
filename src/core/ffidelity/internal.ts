/**
 * Internal faithfulness, "FEI-inspired" (docs/ffidelity.md). Zhang & McMillan (2025, arXiv
 * 2509.04588) propose activation preservation as a proxy for keeping the network's computational
 * pathway; only their abstract is public (../shared/papers/fei-abstract-2025.txt), so the
 * definitions below are ours, not theirs:
 *
 *   deviation D(x′; x) = mean over the chosen layers l of ‖a_l(x′) − a_l(x)‖₂ / (‖a_l(x)‖₂ + 1e-12)
 *
 * with a_l the layer's output (flattened). AD-INS: D along the insertion curve x′_t = x° ∪ top_t;
 * AD-DEL: along the deletion curve x′_t = x \ top_t (t = 0..T, T = ⌈n/k⌉, top_t the first min(t·k, n)
 * features of π = argsort_desc(s), as METRICS.md "Curves"). Value = trapezoid AUC of D_t at
 * x = t/T; per-sample curves are returned. Lower is better for both (METRICS.md): the perturbed
 * inputs stay closer to x's own activations.
 *
 * Layers (param `layers`): every Dense / Conv (1D, 2D, 3D, depthwise, separable, transposed) layer,
 * read after its activation — its own output, or, when its activation is linear and its one
 * consumer is an activation layer (Activation, ReLU, LeakyReLU, ELU, PReLU, Softmax,
 * ThresholdedReLU), that layer's output; 'hidden' (default) leaves out the one producing the model's
 * output, 'all' keeps it. Batched: one multi-output model (tf.model over the chosen layers'
 * outputs, sharing the target's weights) evaluates every perturbed input of many rows and
 * explanations; the distances are computed in tf (tf.gather of each input's clean activation).
 * Needs a LayersModel (a GraphModel's hidden tensors are not reachable): UserError otherwise.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import { resolveParams, type ParamSchema, type Params } from '../params';
import { checkpoint } from '../yield';
import type { Batch, Progress, Task } from '../task/task';
import { rowBaselines } from '../task/featureSpace';
import { nSteps, prefix, sortOrders, trapezoidAuc } from '../metrics/curves';
import type { MetricResult } from '../metrics/types';
import type { ExtraMetric } from './types';
import { modelInput } from './finetune';

export const LAYER_CHOICES = ['hidden', 'all'] as const;
export type LayerChoice = (typeof LAYER_CHOICES)[number];

const DENSE_CONV = new Set(['Dense', 'Conv1D', 'Conv2D', 'Conv3D', 'DepthwiseConv2D', 'SeparableConv2D', 'Conv2DTranspose']);
const ACTIVATIONS = new Set(['Activation', 'ReLU', 'LeakyReLU', 'ELU', 'PReLU', 'Softmax', 'ThresholdedReLU']);

function layersModelOf(task: Task): tf.LayersModel {
  const m = task.model.model;
  if (!(m instanceof tf.LayersModel))
    throw new UserError(
      'Internal faithfulness (AD-INS, AD-DEL) reads the model\'s hidden layers, which a TensorFlow.js GraphModel does not expose.',
      'Give the model as a LayersModel (tensorflowjs_converter --output_format tfjs_layers_model), or leave AD-INS/AD-DEL out.',
    );
  return m;
}

/** The post-activation layer of a Dense/Conv layer: itself, or its one activation-layer consumer when its own activation is linear. */
function postActivation(layer: tf.layers.Layer): tf.layers.Layer {
  const act = (layer.getConfig() as { activation?: unknown }).activation;
  if (act !== undefined && act !== 'linear') return layer;
  const out = layer.outboundNodes;
  if (out.length === 1 && ACTIVATIONS.has(out[0].outboundLayer.getClassName())) return out[0].outboundLayer;
  return layer;
}

/**
 * The layers whose outputs the deviation reads: by name, or the default rule (header). Their
 * order is the model's.
 */
export function chooseLayers(model: tf.LayersModel, which: LayerChoice | string[] = 'hidden'): tf.layers.Layer[] {
  if (Array.isArray(which)) {
    return which.map((name) => {
      const l = model.layers.find((x) => x.name === name);
      if (!l) throw new UserError(`The model has no layer "${name}".`, `Its layers: ${model.layers.map((x) => x.name).join(', ')}.`);
      return l;
    });
  }
  // the layers producing the model's output (a Sequential's outputLayers are its inner model's)
  const outputs = new Set<tf.layers.Layer>(model.outputs.map((o) => o.sourceLayer as tf.layers.Layer));
  const chosen: tf.layers.Layer[] = [];
  for (const l of model.layers) {
    if (!DENSE_CONV.has(l.getClassName())) continue;
    const post = postActivation(l);
    if (which === 'hidden' && (outputs.has(post) || outputs.has(l))) continue;
    if (!chosen.includes(post)) chosen.push(post);
  }
  if (chosen.length === 0)
    throw new UserError(
      which === 'hidden' ? 'The model has no hidden Dense or Conv layer, so there are no internal activations to compare.' : 'The model has no Dense or Conv layer.',
      which === 'hidden' ? 'Set layers=all to read the output layer too, or use a model with hidden layers.' : 'Use a model built from Dense or Conv layers.',
    );
  return chosen;
}

/** The chosen layers' outputs as one model (weights shared with the target; never dispose it). */
const multiCache = new WeakMap<tf.LayersModel, Map<string, tf.LayersModel>>();
export function activationModel(model: tf.LayersModel, layers: tf.layers.Layer[]): tf.LayersModel {
  let byKey = multiCache.get(model);
  if (!byKey) multiCache.set(model, (byKey = new Map()));
  const key = layers.map((l) => l.name).join('\u0000');
  let multi = byKey.get(key);
  if (!multi) {
    multi = tf.model({ inputs: model.inputs, outputs: layers.map((l) => l.output as tf.SymbolicTensor) });
    byKey.set(key, multi);
  }
  return multi;
}

/** Values per row of a layer's output (product of its non-batch dims). */
function outputSize(layer: tf.layers.Layer): number {
  const shape = layer.outputShape as (number | null)[];
  return shape.slice(1).reduce<number>((a, b) => a * (b ?? 1), 1);
}

/** Activation values per row, over all chosen layers: sizes the chunks. */
export const ACTIVATION_VALUE_BUDGET = 1 << 23;

/**
 * D(x′_i; x_{owner[i]}) for perturbed rows x′ ([m, inputSize]) against clean rows ([G, inputSize]):
 * [m]. One forward of the clean rows, then chunks of perturbed rows through the multi-output model.
 */
export async function activationDeviation(task: Task, layers: tf.layers.Layer[], clean: Float32Array, nClean: number, perturbed: Float32Array, owner: Int32Array, signal?: AbortSignal): Promise<Float32Array> {
  const model = layersModelOf(task);
  const multi = activationModel(model, layers);
  const d = task.inputSize;
  const m = owner.length;
  if (perturbed.length < m * d || clean.length < nClean * d) throw new Error('activationDeviation: input sizes');
  const per = layers.reduce((a, l) => a + outputSize(l), 0);
  const chunk = Math.max(1, Math.min(task.model.maxBatchRows, Math.floor(ACTIVATION_VALUE_BUDGET / Math.max(1, per))));
  const asList = (y: tf.Tensor | tf.Tensor[]) => (Array.isArray(y) ? y : [y]);
  // clean activations [G, d_l] and their norms [G], kept for the whole call
  const refs: { a: tf.Tensor2D; norm: tf.Tensor1D }[] = tf.tidy(() =>
    asList(multi.predict(modelInput(task.model, clean.subarray(0, nClean * d), nClean)) as tf.Tensor | tf.Tensor[]).map((y) => {
      const a = tf.reshape(y, [nClean, -1]) as tf.Tensor2D; // [G, d_l]
      return { a, norm: tf.norm(a, 'euclidean', 1) as tf.Tensor1D }; // [G]
    }),
  );
  const out = new Float32Array(m);
  try {
    for (let start = 0; start < m; start += chunk) {
      await checkpoint(signal);
      const b = Math.min(chunk, m - start);
      const dev = tf.tidy(() => {
        const idx = tf.tensor1d(owner.subarray(start, start + b), 'int32'); // [b]
        const ys = asList(multi.predict(modelInput(task.model, perturbed.subarray(start * d, (start + b) * d), b)) as tf.Tensor | tf.Tensor[]);
        let acc: tf.Tensor = tf.zeros([b]);
        ys.forEach((y, l) => {
          const a = tf.reshape(y, [b, -1]); // [b, d_l]
          const diff = tf.norm(tf.sub(a, tf.gather(refs[l].a, idx)), 'euclidean', 1); // [b]
          acc = tf.add(acc, tf.div(diff, tf.add(tf.gather(refs[l].norm, idx), 1e-12)));
        });
        return tf.div(acc, ys.length); // [b]
      });
      try {
        out.set(await dev.data(), start);
      } finally {
        dev.dispose();
      }
    }
  } finally {
    for (const r of refs) {
      r.a.dispose();
      r.norm.dispose();
    }
  }
  return out;
}

export interface AdParams {
  [key: string]: number | string;
  /** k: features inserted or removed per step. */
  stepSize: number;
  layers: LayerChoice;
}

const adDefaults: AdParams = { stepSize: 1, layers: 'hidden' };
const adParams: ParamSchema<AdParams> = {
  stepSize: { type: 'int', min: 1, max: 'nFeatures', meaning: 'k: features inserted (AD-INS) or removed (AD-DEL) per step.' },
  layers: { type: 'choice', choices: LAYER_CHOICES, meaning: 'Layers compared: every hidden Dense/Conv layer after its activation, or those and the output layer.' },
};

/** Rows of perturbed inputs per group (whole (row, explanation) curves), by input values. */
export const INTERNAL_GROUP_BUDGET = 1 << 22;

async function scoreInternal(mode: 'insertion' | 'removal', task: Task, batch: Batch, target: Int32Array, explanations: Float32Array[], given: Params, id: string, onProgress?: Progress, signal?: AbortSignal): Promise<MetricResult[]> {
  const p = resolveParams({ id, kind: 'Metric', defaults: adDefaults, params: adParams }, given, task.nFeatures) as unknown as AdParams;
  const model = layersModelOf(task);
  const layers = chooseLayers(model, p.layers);
  const n = task.nFeatures;
  const d = task.inputSize;
  const nRows = batch.nRows;
  const nExpl = explanations.length;
  void target;
  for (const s of explanations)
    if (s.length !== nRows * n) throw new UserError(`An explanation has ${s.length} values but ${nRows} rows × ${n} features need ${nRows * n}.`, 'Score explanations made for these rows of this task.');
  const k = p.stepSize;
  const T = nSteps(n, k);
  const results: MetricResult[] = explanations.map(() => ({ perSample: new Float32Array(nRows), curves: new Array<Float32Array>(nRows), modelCalls: 0 }));
  const baselineOf = rowBaselines(task.space, task.baseline); // row → its x° [inputSize]
  const rowsPerGroup = Math.max(1, Math.floor(INTERNAL_GROUP_BUDGET / Math.max(1, nExpl * (T + 1) * d)));
  for (let r0 = 0; r0 < nRows; r0 += rowsPerGroup) {
    await checkpoint(signal);
    const r1 = Math.min(nRows, r0 + rowsPerGroup);
    const G = r1 - r0;
    const m = G * nExpl * (T + 1);
    const inputs = new Float32Array(m * d); // [m, inputSize]
    const owner = new Int32Array(m);
    let w = 0;
    for (let r = r0; r < r1; r++) {
      const x = batch.x.subarray(r * d, (r + 1) * d);
      const x0 = baselineOf(x); // [inputSize]
      for (let e = 0; e < nExpl; e++) {
        const pi = sortOrders(explanations[e].subarray(r * n, (r + 1) * n)).desc;
        for (let t = 0; t <= T; t++) {
          const top = prefix(pi, t, k);
          if (mode === 'insertion') task.space.writeInsertion(inputs, w, x, x0, top);
          else task.space.writeRemoval(inputs, w, x, x0, top);
          owner[w++] = r - r0;
        }
      }
    }
    const dev = await activationDeviation(task, layers, batch.x.subarray(r0 * d, r1 * d), G, inputs, owner, signal);
    let o = 0;
    for (let r = r0; r < r1; r++)
      for (let e = 0; e < nExpl; e++) {
        const curve = dev.slice(o, o + T + 1);
        o += T + 1;
        results[e].curves![r] = curve;
        results[e].perSample[r] = trapezoidAuc(curve);
        results[e].modelCalls += T + 1;
      }
    results[0].modelCalls += G; // the clean rows' activations
    onProgress?.(r1, nRows);
  }
  return results;
}

function makeInternal(mode: 'insertion' | 'removal'): ExtraMetric<AdParams> {
  const id = mode === 'insertion' ? 'AD-INS' : 'AD-DEL';
  const unit: ExtraMetric<AdParams> = {
    id,
    label: mode === 'insertion' ? 'Activation deviation along insertion (FEI-inspired)' : 'Activation deviation along deletion (FEI-inspired)',
    description: `Mean over hidden Dense/Conv layers of ‖a(x′) − a(x)‖/‖a(x)‖ along the ${mode === 'insertion' ? 'insertion curve x° ∪ top_t' : 'deletion curve x \\ top_t'}; AUC over t (lower = closer to x's own activations).`,
    direction: 'lower',
    defaults: adDefaults,
    params: adParams,
    info: { kind: 'curve', family: 'internal', curveX: 'step', needsSurrogate: false, needsLayers: true, canBeNaN: false },
    paper: {},
    scoreMany: (task, batch, target, explanations, given, _seeder, onProgress, signal) => scoreInternal(mode, task, batch, target, explanations, given, id, onProgress, signal),
    score: (task, batch, s, target, given, _seeder, onProgress, signal) => scoreInternal(mode, task, batch, target, [s], given, id, onProgress, signal).then((r) => r[0]),
  };
  return unit;
}

export const AD_INS = makeInternal('insertion');
export const AD_DEL = makeInternal('removal');
export const INTERNAL_METRICS: ExtraMetric<any>[] = [AD_INS, AD_DEL];
