/**
 * DeepLIFT with the Rescale rule (Shrikumar et al. 2017) for a LayersModel whose layers form a
 * single chain from the input to the output — a tf.Sequential, or a functional model in which each
 * layer has exactly one input, the previous layer's output (the usual Keras → tfjs export) — of
 * Dense layers with relu or linear activations, the last one optionally softmax or sigmoid.
 * InputLayer, Dropout and Flatten layers are skipped (identities at inference on a flat input); an
 * Activation layer right after a linear Dense layer is folded into it. Reference input: the task's
 * baseline x°.
 *
 * Multipliers run backwards from the explained output h(y) (y: the last layer's output, before its
 * softmax or sigmoid if it has one): through every Dense layer m ← m Wᵀ, through every ReLU the
 * Rescale ratio Δa/Δz (the local derivative where |Δz| < 1e-6). The scores are m_x ⊙ (x − x°),
 * which sum to h(y(x)) − h(y(x°)) ("summation to delta"). Scores are per model-input element;
 * the task's feature space sums them per feature (`aggregate`), which keeps summation to delta.
 *
 * The head h maps y to the task's output mode exactly as TargetModel.apply does (softmax
 * probability, its log, the raw unit, a single unit read through a sigmoid as two classes, or
 * several sigmoid units normalised to a distribution). A softmax is not elementwise, so the Rescale
 * rule does not apply to it; the head's multipliers are the average of its gradient along the
 * straight line from y(x°) to y(x) (Gauss–Legendre, HEAD_NODES nodes, in double precision), which
 * keeps summation to delta. For an identity head this is exactly the unit vector of the target.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import type { OutputMode } from '../task/model';
import type { Task } from '../task/task';
import type { AttributionMethod } from './types';
import type { ParamSchema } from '../params';
import { forRowChunks, gaussLegendre, taskBaselines } from './common';

export type DeepLiftParams = Record<string, never>;

export const defaults: DeepLiftParams = {};

export const params: ParamSchema<DeepLiftParams> = {};

/** Quadrature nodes for the head's line integral. */
export const HEAD_NODES = 64;

/** Below this |Δz| a ReLU's multiplier is its local derivative. */
const RESCALE_EPS = 1e-6;

/** Layers that are the identity at inference on a flat [batch, n] input. */
const SKIPPED = new Set(['InputLayer', 'Dropout', 'Flatten']);

/** The activation after the last Dense layer, applied by the head (y is taken before it). */
export type LastActivation = 'none' | 'softmax' | 'sigmoid';

interface DenseStep {
  layer: tf.layers.Layer;
  relu: boolean;
}

interface Plan {
  steps: DenseStep[];
  last: LastActivation;
}

const REFUSAL_TODO = 'Use integrated-gradients, gradient-shap or another gradient method, which work on any differentiable model.';

/** The model's layers from input to output when they form a single chain, or a UserError saying where they do not. */
function chainOf(model: tf.LayersModel): tf.layers.Layer[] | UserError {
  if (model.inputs.length !== 1 || model.outputs.length !== 1)
    return new UserError(
      `DeepLIFT (Rescale rule) runs on a model with one input and one output; this model has ${model.inputs.length} inputs and ${model.outputs.length} outputs.`,
      REFUSAL_TODO,
    );
  const input = model.inputs[0];
  const chain: tf.layers.Layer[] = [];
  let t = model.outputs[0];
  for (let guard = 0; t !== input && t.sourceLayer.getClassName() !== 'InputLayer'; guard++) {
    const layer = t.sourceLayer;
    const ins = layer.inboundNodes[t.nodeIndex]?.inputTensors ?? [];
    if (ins.length !== 1 || guard > 100_000)
      return new UserError(
        `DeepLIFT (Rescale rule) runs only on a single chain of layers, each fed by the previous one; layer "${layer.name}" (${layer.getClassName()}) takes ${ins.length} inputs.`,
        REFUSAL_TODO,
      );
    chain.unshift(layer);
    t = ins[0];
  }
  return chain;
}

function activationName(layer: tf.layers.Layer): string {
  return String((layer.getConfig() as { activation?: unknown }).activation ?? 'linear');
}

/** The model as Dense steps, or a UserError saying why DeepLIFT cannot run on it. */
function plan(task: Task): Plan | UserError {
  const model = task.model.model;
  if (!(model instanceof tf.LayersModel))
    return new UserError(
      'DeepLIFT (Rescale rule) runs on a LayersModel (a tf.Sequential or a single-chain functional model) of Dense layers; this model is a GraphModel.',
      REFUSAL_TODO,
    );
  const layers = chainOf(model);
  if (layers instanceof UserError) return layers;
  // each Dense layer with its activation and the layer that applies it (itself or a following Activation)
  const dense: { layer: tf.layers.Layer; act: string; actLayer: string }[] = [];
  for (const layer of layers) {
    const kind = layer.getClassName();
    if (SKIPPED.has(kind)) continue;
    if (kind === 'Activation') {
      const prev = dense[dense.length - 1];
      if (!prev || prev.act !== 'linear')
        return new UserError(
          `DeepLIFT (Rescale rule) supports an Activation layer only right after a Dense layer with a linear activation; layer "${layer.name}" follows ${prev ? `"${prev.actLayer}", which already applies ${prev.act}` : 'no Dense layer'}.`,
          REFUSAL_TODO,
        );
      prev.act = activationName(layer);
      prev.actLayer = layer.name;
      continue;
    }
    if (kind !== 'Dense')
      return new UserError(
        `DeepLIFT (Rescale rule) supports only Dense layers (InputLayer, Dropout and Flatten are skipped, an Activation may follow a linear Dense); layer "${layer.name}" is a ${kind}.`,
        REFUSAL_TODO,
      );
    dense.push({ layer, act: activationName(layer), actLayer: layer.name });
  }
  if (!dense.length) return new UserError('DeepLIFT found no Dense layer in this model.', REFUSAL_TODO);
  let last: LastActivation = 'none';
  for (let i = 0; i < dense.length; i++) {
    const { act, actLayer } = dense[i];
    const isLast = i === dense.length - 1;
    if (isLast && (act === 'softmax' || act === 'sigmoid')) last = act;
    else if (act !== 'relu' && act !== 'linear')
      return new UserError(
        `DeepLIFT (Rescale rule) supports relu and linear activations (softmax or sigmoid on the last layer only); layer "${actLayer}" uses ${act}${act === 'softmax' || act === 'sigmoid' ? ' before the last layer' : ''}.`,
        REFUSAL_TODO,
      );
  }
  return { steps: dense.map((d) => ({ layer: d.layer, relu: d.act === 'relu' })), last };
}

/**
 * The head: the explained output h(y) and its gradient ∂h/∂y at one point y: [c], in double.
 * Mirrors TargetModel.apply for this model's last activation and the task's output mode.
 * `last` may also be a boolean (true: softmax, false: none), as in earlier versions.
 */
export function headGradient(y: Float64Array, target: number, output: OutputMode, last: LastActivation | boolean, grad: Float64Array): number {
  const act: LastActivation = last === true ? 'softmax' : last === false ? 'none' : last;
  const c = y.length;
  grad.fill(0);
  const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
  if (output === 'raw' && act === 'none') {
    grad[target] = 1;
    return y[target];
  }
  if (output === 'raw' && act === 'sigmoid') {
    const q = sigmoid(y[target]);
    grad[target] = q * (1 - q);
    return q;
  }
  if (output === 'logit' && act === 'none' && c > 1) {
    grad[target] = 1;
    return y[target];
  }
  // p = probability of the target as a function of y, with ∂p/∂y written into grad
  let p: number;
  if (c === 1 && act !== 'softmax') {
    // single unit read through a sigmoid as [1 − q, q]
    const q = sigmoid(y[0]);
    p = target === 1 ? q : 1 - q;
    grad[0] = (target === 1 ? 1 : -1) * q * (1 - q);
  } else if (act === 'sigmoid') {
    // several sigmoid units s normalised to a distribution: p = s_t / Σ s
    const s = Array.from(y, sigmoid);
    const sum = s.reduce((a, b) => a + b, 0);
    p = s[target] / sum;
    for (let j = 0; j < c; j++) grad[j] = s[j] * (1 - s[j]) * ((j === target ? 1 / sum : 0) - s[target] / (sum * sum));
  } else {
    // softmax (of the logits, or the model's own softmax)
    let mx = -Infinity;
    for (let j = 0; j < c; j++) mx = Math.max(mx, y[j]);
    const probs = new Float64Array(c);
    let sum = 0;
    for (let j = 0; j < c; j++) sum += probs[j] = Math.exp(y[j] - mx);
    for (let j = 0; j < c; j++) probs[j] /= sum;
    p = probs[target];
    for (let j = 0; j < c; j++) grad[j] = p * ((j === target ? 1 : 0) - probs[j]);
  }
  if (output === 'logit') {
    // log(p + 1e-12), as TargetModel.apply
    for (let j = 0; j < c; j++) grad[j] /= p + 1e-12;
    return Math.log(p + 1e-12);
  }
  return p;
}

export const deeplift: AttributionMethod<DeepLiftParams> = {
  id: 'deeplift',
  label: 'DeepLIFT (Rescale)',
  description: 'Contributions of each feature relative to the baseline, propagated back with the Rescale rule (chains of Dense relu/linear layers, softmax or sigmoid last, only).',
  needs: { gradients: false },
  defaults,
  params,
  applicable: (task) => {
    const p = plan(task);
    return p instanceof UserError ? p.message : null;
  },
  async explain(task, batch, target, _params, _seeder, onProgress, signal) {
    const p = plan(task);
    if (p instanceof UserError) throw p;
    const { steps, last } = p;
    const n = task.inputSize; // model-input elements per row (= nFeatures for a tabular space)
    const baselineOf = taskBaselines(task); // row → its x° [n]
    const perRow = task.baseline === 'blur'; // one reference per row (blur), else one for all rows
    const { nodes, weights } = gaussLegendre(HEAD_NODES);
    const out = new Float32Array(batch.nRows * n); // [nRows, inputSize] element scores
    await forRowChunks(
      batch,
      1,
      async (start, end) => {
        const rows = end - start;
        const x = batch.x.subarray(start * n, end * n); // [rows, n]
        const refs = perRow ? rows : 1; // reference rows: one per row (blur) or one for all
        const x0 = new Float32Array(refs * n); // [refs, n]
        for (let r = 0; r < refs; r++) x0.set(baselineOf(x.subarray(r * n, (r + 1) * n)), r * n);
        // forward pass of the input rows and the reference, keeping every ReLU's Rescale ratio
        const fwd = tf.tidy(() => {
          let a: tf.Tensor2D = tf.tensor2d(x, [rows, n]); // [rows, width]
          let a0: tf.Tensor2D = tf.tensor2d(x0, [refs, n]); // [refs, width]
          const ratios: tf.Tensor2D[] = []; // one [rows, width] per ReLU step
          for (const step of steps) {
            const [kernel, bias] = step.layer.getWeights() as [tf.Tensor2D, tf.Tensor1D?]; // [in, out], [out]
            let z = tf.matMul(a, kernel); // [rows, out]
            let z0 = tf.matMul(a0, kernel); // [refs, out]
            if (bias) {
              z = tf.add(z, bias);
              z0 = tf.add(z0, bias);
            }
            if (step.relu) {
              const dz = tf.sub(z, z0); // [rows, out]
              const az = tf.relu(z); // [rows, out]
              const az0 = tf.relu(z0); // [refs, out]
              const big = tf.greater(tf.abs(dz), RESCALE_EPS); // [rows, out]
              const safe = tf.where(big, dz, tf.onesLike(dz)); // [rows, out]
              const local = tf.cast(tf.greater(z, 0), 'float32'); // [rows, out] relu'(z)
              ratios.push(tf.where(big, tf.div(tf.sub(az, az0), safe), local) as tf.Tensor2D);
              a = az as tf.Tensor2D;
              a0 = az0 as tf.Tensor2D;
            } else {
              a = z as tf.Tensor2D;
              a0 = z0 as tf.Tensor2D;
            }
          }
          return { y: a, y0: a0, ratios };
        });
        let scores: tf.Tensor2D | undefined;
        try {
          const c = fwd.y.shape[1];
          const y = await fwd.y.data(); // [rows, c]
          const y0 = await fwd.y0.data(); // [refs, c]
          const headMult = new Float32Array(rows * c); // [rows, c] ∂h multipliers
          const point = new Float64Array(c);
          const g = new Float64Array(c);
          const acc = new Float64Array(c);
          for (let r = 0; r < rows; r++) {
            acc.fill(0);
            const o0 = perRow ? r * c : 0; // this row's reference output
            for (let k = 0; k < nodes.length; k++) {
              for (let j = 0; j < c; j++) point[j] = y0[o0 + j] + nodes[k] * (y[r * c + j] - y0[o0 + j]);
              headGradient(point, target[start + r], task.output, last, g);
              for (let j = 0; j < c; j++) acc[j] += weights[k] * g[j];
            }
            for (let j = 0; j < c; j++) headMult[r * c + j] = acc[j];
          }
          scores = tf.tidy(() => {
            let m: tf.Tensor2D = tf.tensor2d(headMult, [rows, c]); // [rows, width]
            let ri = fwd.ratios.length;
            for (let s = steps.length - 1; s >= 0; s--) {
              if (steps[s].relu) m = tf.mul(m, fwd.ratios[--ri]) as tf.Tensor2D; // [rows, out]
              const kernel = steps[s].layer.getWeights()[0] as tf.Tensor2D; // [in, out]
              m = tf.matMul(m, kernel, false, true); // [rows, in]
            }
            return tf.mul(m, tf.sub(tf.tensor2d(x, [rows, n]), tf.tensor2d(x0, [refs, n]))) as tf.Tensor2D; // [rows, n]
          });
          out.set(await scores.data(), start * n);
        } finally {
          fwd.y.dispose();
          fwd.y0.dispose();
          for (const t of fwd.ratios) t.dispose();
          scores?.dispose();
        }
        task.model.forwardPasses += 1;
        task.model.rowsEvaluated += rows + refs;
      },
      onProgress,
      signal,
    );
    return task.space.aggregate(out, batch.nRows); // [nRows, nFeatures]: each feature's elements summed
  },
};
