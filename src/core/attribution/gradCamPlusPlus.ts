/**
 * Grad-CAM++ (Chattopadhyay et al. 2018, Eq. 19 with the exponential-output simplification, as
 * pytorch-grad-cam computes it from first-order gradients): at the chosen layer's output A
 * (h × w × K), with g = ∂f_c/∂A and S_k = Σ_ab A_k(a, b),
 *   a_k(i, j) = g² / (2 g² + S_k g³)   (0 where that denominator is 0, i.e. where g = 0),
 *   w_k = Σ_ij a_k(i, j) · ReLU(g_k(i, j)),   map = ReLU(Σ_k w_k A_k),
 * upsampled bilinearly to the input's H × W and summed per patch (cam.ts). pytorch-grad-cam adds
 * 1e-6 to the denominator instead; here a zero denominator gives a zero coefficient, so small
 * cases can be checked by hand exactly.
 */
import type { AttributionMethod } from './types';
import type { ParamSchema } from '../params';
import { checkParams, forRowChunks } from './common';
import { LAYER_PARAM, camPerRow, camRefusal, imageSpaceOf, layerGradients, mapsToFeatures, resolveCamLayer, spatialShape, validateCamLayer } from './cam';

export type GradCamPlusPlusParams = {
  /** Layer name; '' = the last convolutional layer. */
  layer: string;
};

export const defaults: GradCamPlusPlusParams = { layer: '' };

export const params: ParamSchema<GradCamPlusPlusParams> = { layer: LAYER_PARAM };

/** Grad-CAM++'s map of one row (acts, grads [h·w·K] at offset o) into out[p .. p + h·w). */
export function gradCamPlusPlusMap(acts: Float32Array, grads: Float32Array, o: number, hw: number, k: number, out: Float32Array, p: number): void {
  const weights = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let sumA = 0;
    for (let i = 0; i < hw; i++) sumA += acts[o + i * k + c];
    let wk = 0;
    for (let i = 0; i < hw; i++) {
      const g = grads[o + i * k + c];
      if (!(g > 0)) continue; // ReLU(g) = 0: no contribution
      const g2 = g * g;
      const den = 2 * g2 + sumA * g2 * g;
      if (den !== 0) wk += (g2 / den) * g;
    }
    weights[c] = wk;
  }
  for (let i = 0; i < hw; i++) {
    let s = 0;
    for (let c = 0; c < k; c++) s += weights[c] * acts[o + i * k + c];
    out[p + i] = Math.max(0, s);
  }
}

export const gradCamPlusPlus: AttributionMethod<GradCamPlusPlusParams> = {
  id: 'grad-cam-plus-plus',
  label: 'Grad-CAM++',
  description: 'Grad-CAM with pixel-wise weights from higher-order gradient terms (positive gradients only), ReLU\'d, upsampled and summed per patch.',
  needs: { gradients: true },
  defaults,
  params,
  applicable: (task) => camRefusal(task, 'Grad-CAM++'),
  validate: (task, p) => validateCamLayer(task, p, 'Grad-CAM++'),
  async explain(task, batch, target, params, _seeder, onProgress, signal) {
    const { layer: name } = checkParams(gradCamPlusPlus, params, task);
    const layer = resolveCamLayer(task, name, 'Grad-CAM++');
    const space = imageSpaceOf(task);
    const [h, w, k] = spatialShape(layer);
    const hw = h * w;
    const d = task.inputSize;
    const maps = new Float32Array(batch.nRows * hw); // [nRows, h·w]
    await forRowChunks(
      batch,
      camPerRow(h, w, k),
      async (start, end) => {
        const rows = end - start;
        const { acts, grads } = await layerGradients(task, layer, batch.x.subarray(start * d, end * d), rows, target.subarray(start, end)); // [rows, h, w, K] each
        for (let r = 0; r < rows; r++) gradCamPlusPlusMap(acts, grads, r * hw * k, hw, k, maps, (start + r) * hw);
      },
      onProgress,
      signal,
    );
    return mapsToFeatures(space, maps, batch.nRows, h, w); // [nRows, nFeatures]
  },
};
