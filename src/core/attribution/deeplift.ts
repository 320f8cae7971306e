/**
 * DeepLIFT with the Rescale rule (Shrikumar et al. 2017) for a tf.Sequential LayersModel of Dense
 * layers (Dropout is the identity at inference) whose activations are relu or linear, the last one
 * optionally softmax. Reference input: the task's baseline x°.
 *
 * Multipliers run backwards from the explained output h(y) (y: the last layer's output, before its
 * softmax if it has one): through every Dense layer m ← m Wᵀ, through every ReLU the Rescale ratio
 * Δa/Δz (the local derivative where |Δz| < 1e-6). The scores are m_x ⊙ (x − x°), which sum to
 * h(y(x)) − h(y(x°)) ("summation to delta").
 *
 * The head h maps y to the task's output mode exactly as TargetModel.apply does (softmax
 * probability, its log, the raw unit, or a single unit read through a sigmoid as two classes). A
 * softmax is not elementwise, so the Rescale rule does not apply to it; its multipliers are the
 * average of the head's gradient along the straight line from y(x°) to y(x) (Gauss–Legendre,
 * HEAD_NODES nodes, in double precision), which keeps summation to delta. For an identity head
 * this is exactly the unit vector of the target.
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import type { OutputMode } from '../task/model';
import type { Task } from '../task/task';
import type { AttributionMethod } from './types';
import { forRowChunks, gaussLegendre, taskBaseline } from './common';

export type DeepLiftParams = Record<string, never>;

export const defaults: DeepLiftParams = {};

/** Quadrature nodes for the head's line integral. */
export const HEAD_NODES = 64;

/** Below this |Δz| a ReLU's multiplier is its local derivative. */
const RESCALE_EPS = 1e-6;

interface DenseStep {
  layer: tf.layers.Layer;
  relu: boolean;
}

interface Plan {
  steps: DenseStep[];
  /** The last layer ends in softmax (y is taken before it). */
  softmaxLast: boolean;
}

const REFUSAL_TODO = 'Use integrated-gradients, gradient-shap or another gradient method, which work on any differentiable model.';

/** The model as Dense steps, or a UserError saying why DeepLIFT cannot run on it. */
function plan(task: Task): Plan | UserError {
  const model = task.model.model;
  if (!(model instanceof tf.Sequential))
    return new UserError(
      `DeepLIFT (Rescale rule) runs only on a tf.Sequential LayersModel of Dense layers; this model is a ${model instanceof tf.LayersModel ? 'functional LayersModel' : 'GraphModel'}.`,
      REFUSAL_TODO,
    );
  const steps: DenseStep[] = [];
  let softmaxLast = false;
  const layers = model.layers;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i];
    const kind = layer.getClassName();
    if (kind === 'Dropout') continue;
    if (kind !== 'Dense')
      return new UserError(`DeepLIFT (Rescale rule) supports only Dense (and Dropout) layers; layer "${layer.name}" is a ${kind}.`, REFUSAL_TODO);
    const act = String((layer.getConfig() as { activation?: unknown }).activation ?? 'linear');
    const isLast = layers.slice(i + 1).every((l) => l.getClassName() === 'Dropout');
    if (act === 'softmax' && isLast) softmaxLast = true;
    else if (act !== 'relu' && act !== 'linear')
      return new UserError(
        `DeepLIFT (Rescale rule) supports relu and linear activations (softmax on the last layer only); layer "${layer.name}" uses ${act}${act === 'softmax' ? ' before the last layer' : ''}.`,
        REFUSAL_TODO,
      );
    steps.push({ layer, relu: act === 'relu' });
  }
  if (!steps.length) return new UserError('DeepLIFT found no Dense layer in this model.', REFUSAL_TODO);
  return { steps, softmaxLast };
}

/**
 * The head: the explained output h(y) and its gradient ∂h/∂y at one point y: [c], in double.
 * Mirrors TargetModel.apply for this model's last layer and the task's output mode.
 */
export function headGradient(y: Float64Array, target: number, output: OutputMode, softmaxLast: boolean, grad: Float64Array): number {
  const c = y.length;
  grad.fill(0);
  const softmaxOf = (): Float64Array => {
    let mx = -Infinity;
    for (let j = 0; j < c; j++) mx = Math.max(mx, y[j]);
    const p = new Float64Array(c);
    let s = 0;
    for (let j = 0; j < c; j++) s += p[j] = Math.exp(y[j] - mx);
    for (let j = 0; j < c; j++) p[j] /= s;
    return p;
  };
  // p = probability of the target as a function of y, with ∂p/∂y written into grad
  let p: number;
  if (output === 'raw' && !softmaxLast) {
    grad[target] = 1;
    return y[target];
  }
  if (output === 'logit' && !softmaxLast && c > 1) {
    grad[target] = 1;
    return y[target];
  }
  if (c === 1 && !softmaxLast) {
    // single unit read through a sigmoid as [1 − q, q]
    const q = 1 / (1 + Math.exp(-y[0]));
    p = target === 1 ? q : 1 - q;
    grad[0] = (target === 1 ? 1 : -1) * q * (1 - q);
  } else {
    const probs = softmaxOf();
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
  description: 'Contributions of each feature relative to the baseline, propagated back with the Rescale rule (Sequential Dense relu/linear/softmax models only).',
  needs: { gradients: false },
  defaults,
  applicable: (task) => {
    const p = plan(task);
    return p instanceof UserError ? p.message : null;
  },
  async explain(task, batch, target, _params, _seeder, onProgress, signal) {
    const p = plan(task);
    if (p instanceof UserError) throw p;
    const { steps, softmaxLast } = p;
    const n = task.nFeatures;
    const x0 = taskBaseline(task); // [n]
    const { nodes, weights } = gaussLegendre(HEAD_NODES);
    const out = new Float32Array(batch.nRows * n); // [nRows, n]
    await forRowChunks(
      batch,
      1,
      async (start, end) => {
        const rows = end - start;
        const x = batch.x.subarray(start * n, end * n); // [rows, n]
        // forward pass of the input rows and the reference, keeping every ReLU's Rescale ratio
        const fwd = tf.tidy(() => {
          let a: tf.Tensor2D = tf.tensor2d(x, [rows, n]); // [rows, width]
          let a0: tf.Tensor2D = tf.tensor2d(x0, [1, n]); // [1, width]
          const ratios: tf.Tensor2D[] = []; // one [rows, width] per ReLU step
          for (const step of steps) {
            const [kernel, bias] = step.layer.getWeights() as [tf.Tensor2D, tf.Tensor1D?]; // [in, out], [out]
            let z = tf.matMul(a, kernel); // [rows, out]
            let z0 = tf.matMul(a0, kernel); // [1, out]
            if (bias) {
              z = tf.add(z, bias);
              z0 = tf.add(z0, bias);
            }
            if (step.relu) {
              const dz = tf.sub(z, z0); // [rows, out]
              const az = tf.relu(z); // [rows, out]
              const az0 = tf.relu(z0); // [1, out]
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
          const y0 = await fwd.y0.data(); // [1, c]
          const headMult = new Float32Array(rows * c); // [rows, c] ∂h multipliers
          const point = new Float64Array(c);
          const g = new Float64Array(c);
          const acc = new Float64Array(c);
          for (let r = 0; r < rows; r++) {
            acc.fill(0);
            for (let k = 0; k < nodes.length; k++) {
              for (let j = 0; j < c; j++) point[j] = y0[j] + nodes[k] * (y[r * c + j] - y0[j]);
              headGradient(point, target[start + r], task.output, softmaxLast, g);
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
            return tf.mul(m, tf.sub(tf.tensor2d(x, [rows, n]), tf.tensor2d(x0, [1, n]))) as tf.Tensor2D; // [rows, n]
          });
          out.set(await scores.data(), start * n);
        } finally {
          fwd.y.dispose();
          fwd.y0.dispose();
          for (const t of fwd.ratios) t.dispose();
          scores?.dispose();
        }
        task.model.forwardPasses += 1;
        task.model.rowsEvaluated += rows + 1;
      },
      onProgress,
      signal,
    );
    return out;
  },
};
