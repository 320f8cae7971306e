/**
 * Score-CAM (Wang et al. 2020): no gradients. For each channel k of the chosen layer's output A
 * (h × w × K, default the last convolutional layer): upsample A_k bilinearly to the input's H × W,
 * min–max normalise it to a mask M_k ∈ [0, 1] (a constant channel is skipped: its mask is
 * undefined, as in the authors' code), and score the input with the mask applied,
 * x° + M_k ⊙ (x − x°) on every channel (x° the task's baseline; the paper's X ∘ M_k is the zero
 * baseline). The weights are the softmax over the channels of those scores (the paper's Eq. 4–5;
 * its f(X_b) term is the same for every channel and cancels in the softmax), and the map is
 * ReLU(Σ_k α_k A_k) at the layer's resolution, upsampled and summed per patch (cam.ts).
 * Batched: all K masked inputs of many rows go to the model in one call per chunk.
 */
import type { AttributionMethod } from './types';
import type { ParamSchema } from '../params';
import { resizeBilinear } from '../data/images';
import { checkParams, forRowChunks, repeatTargets, taskBaselines } from './common';
import { LAYER_PARAM, camRefusal, imageSpaceOf, layerActivations, mapsToFeatures, resolveCamLayer, spatialShape, validateCamLayer } from './cam';

export type ScoreCamParams = {
  /** Layer name; '' = the last convolutional layer. */
  layer: string;
};

export const defaults: ScoreCamParams = { layer: '' };

export const params: ParamSchema<ScoreCamParams> = { layer: LAYER_PARAM };

/**
 * The K normalised upsampled masks of one row's activations (acts [h·w·K] at offset o): masks
 * [K, H·W] and which channels are usable (not constant after upsampling).
 */
export function scoreCamMasks(acts: Float32Array, o: number, h: number, w: number, k: number, H: number, W: number): { masks: Float32Array; usable: Uint8Array } {
  const hw = h * w;
  const HW = H * W;
  const masks = new Float32Array(k * HW);
  const usable = new Uint8Array(k);
  const channel = new Float32Array(hw);
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < hw; i++) channel[i] = acts[o + i * k + c];
    const up = resizeBilinear(channel, h, w, 1, H, W); // [H·W]
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of up) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (!(hi > lo) || !Number.isFinite(hi - lo)) continue;
    usable[c] = 1;
    for (let i = 0; i < HW; i++) masks[c * HW + i] = (up[i] - lo) / (hi - lo);
  }
  return { masks, usable };
}

/** Softmax over the usable channels of one row's scores; other channels weigh 0. */
export function scoreCamWeights(scores: ArrayLike<number>, usable: Uint8Array): Float64Array {
  const k = usable.length;
  const out = new Float64Array(k);
  let max = -Infinity;
  for (let c = 0; c < k; c++) if (usable[c] && scores[c] > max) max = scores[c];
  if (max === -Infinity) return out;
  let sum = 0;
  for (let c = 0; c < k; c++) if (usable[c]) sum += out[c] = Math.exp(scores[c] - max);
  for (let c = 0; c < k; c++) out[c] /= sum;
  return out;
}

export const scoreCam: AttributionMethod<ScoreCamParams> = {
  id: 'score-cam',
  label: 'Score-CAM',
  description: 'Each feature map of a convolutional layer, upsampled and normalised, masks the image; the scores of the masked images (softmax) weight the maps.',
  needs: { gradients: false },
  defaults,
  params,
  applicable: (task) => camRefusal(task, 'Score-CAM'),
  validate: (task, p) => validateCamLayer(task, p, 'Score-CAM'),
  async explain(task, batch, target, params, _seeder, onProgress, signal) {
    const { layer: name } = checkParams(scoreCam, params, task);
    const layer = resolveCamLayer(task, name, 'Score-CAM');
    const space = imageSpaceOf(task);
    const [h, w, k] = spatialShape(layer);
    const hw = h * w;
    const H = space.height;
    const W = space.width;
    const C = space.channels;
    const d = task.inputSize;
    const baselineOf = taskBaselines(task); // row → its x° [inputSize]
    const maps = new Float32Array(batch.nRows * hw); // [nRows, h·w]
    await forRowChunks(
      batch,
      k,
      async (start, end) => {
        const rows = end - start;
        const acts = await layerActivations(task, layer, batch.x.subarray(start * d, end * d), rows); // [rows, h, w, K]
        const inputs = new Float32Array(rows * k * d); // [rows · K, inputSize]: row r, channel c at r·K + c
        const usable: Uint8Array[] = [];
        for (let r = 0; r < rows; r++) {
          const m = scoreCamMasks(acts, r * hw * k, h, w, k, H, W);
          usable.push(m.usable);
          const x = batch.x.subarray((start + r) * d, (start + r + 1) * d);
          const x0 = baselineOf(x); // [inputSize]
          for (let c = 0; c < k; c++) {
            const o = (r * k + c) * d;
            for (let p = 0; p < H * W; p++) {
              const mv = m.masks[c * H * W + p];
              for (let ch = 0; ch < C; ch++) {
                const j = p * C + ch;
                inputs[o + j] = x0[j] + mv * (x[j] - x0[j]);
              }
            }
          }
        }
        const scores = await task.model.predictTarget(inputs, rows * k, repeatTargets(target.subarray(start, end), k), task.output); // [rows · K]
        for (let r = 0; r < rows; r++) {
          const alpha = scoreCamWeights(scores.subarray(r * k, (r + 1) * k), usable[r]);
          const o = r * hw * k;
          for (let i = 0; i < hw; i++) {
            let s = 0;
            for (let c = 0; c < k; c++) s += alpha[c] * acts[o + i * k + c];
            maps[(start + r) * hw + i] = Math.max(0, s);
          }
        }
      },
      onProgress,
      signal,
    );
    return mapsToFeatures(space, maps, batch.nRows, h, w); // [nRows, nFeatures]
  },
};
