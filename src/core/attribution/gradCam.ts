/**
 * Grad-CAM (Selvaraju et al. 2017), with Captum's LayerGradCam semantics: at the chosen layer's
 * output A (h × w × K, default the last convolutional layer), the weights
 *   α_k = mean over the h·w positions of ∂f_c/∂A_k
 * (f_c: the explained output in the task's output mode), the map Σ_k α_k A_k, ReLU'd (`relu: true`,
 * the paper's choice; Captum's attribute() defaults to relu_attributions=False), upsampled
 * bilinearly to the input's H × W and summed per patch (cam.ts). For a last convolution feeding
 * global average pooling and one dense layer (raw output), ∂f_c/∂A_k = w_k^c / (h·w) at every
 * position, so the map is the class-activation map ReLU(Σ_k w_k^c A_k) divided by h·w.
 */
import type { AttributionMethod } from './types';
import type { ParamSchema } from '../params';
import { checkParams, forRowChunks } from './common';
import { LAYER_PARAM, camPerRow, camRefusal, gradCamMap, imageSpaceOf, layerGradients, mapsToFeatures, resolveCamLayer, spatialShape, validateCamLayer } from './cam';

export type GradCamParams = {
  /** Layer name; '' = the last convolutional layer. */
  layer: string;
  /** ReLU on the map (the paper's Grad-CAM). */
  relu: boolean;
};

export const defaults: GradCamParams = { layer: '', relu: true };

export const params: ParamSchema<GradCamParams> = {
  layer: LAYER_PARAM,
  relu: { type: 'boolean', meaning: 'Keep only the positive part of the map (the paper\'s Grad-CAM; false = Captum\'s default).' },
};

export const gradCam: AttributionMethod<GradCamParams> = {
  id: 'grad-cam',
  label: 'Grad-CAM',
  description: 'A convolutional layer\'s feature maps weighted by their mean gradient, summed, ReLU\'d, upsampled to the image and summed per patch.',
  needs: { gradients: true },
  defaults,
  params,
  applicable: (task) => camRefusal(task, 'Grad-CAM'),
  validate: (task, p) => validateCamLayer(task, p, 'Grad-CAM'),
  async explain(task, batch, target, params, _seeder, onProgress, signal) {
    const { layer: name, relu } = checkParams(gradCam, params, task);
    const layer = resolveCamLayer(task, name, 'Grad-CAM');
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
        for (let r = 0; r < rows; r++) gradCamMap(acts, grads, r * hw * k, hw, k, relu, maps, (start + r) * hw);
      },
      onProgress,
      signal,
    );
    return mapsToFeatures(space, maps, batch.nRows, h, w); // [nRows, nFeatures]
  },
};
