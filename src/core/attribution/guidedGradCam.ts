/**
 * Guided Grad-CAM (Selvaraju et al. 2017; Captum's GuidedGradCam): guided backpropagation's input
 * gradient times the Grad-CAM map (ReLU'd) upsampled to the input's H × W (bilinear here; Captum's
 * default interpolation is nearest), element by element on every channel, summed per patch.
 */
import type { AttributionMethod } from './types';
import type { ParamSchema } from '../params';
import { checkParams, forRowChunks } from './common';
import { LAYER_PARAM, camPerRow, camRefusal, gradCamMap, guidedGradient, guidedRefusal, imageSpaceOf, layerGradients, resolveCamLayer, spatialShape, upsampleMaps, validateCamLayer } from './cam';

export type GuidedGradCamParams = {
  /** Layer name; '' = the last convolutional layer. */
  layer: string;
};

export const defaults: GuidedGradCamParams = { layer: '' };

export const params: ParamSchema<GuidedGradCamParams> = { layer: LAYER_PARAM };

export const guidedGradCam: AttributionMethod<GuidedGradCamParams> = {
  id: 'guided-grad-cam',
  label: 'Guided Grad-CAM',
  description: 'Guided backpropagation times the upsampled Grad-CAM map, pixel by pixel, summed per patch (ReLU CNNs).',
  needs: { gradients: true },
  defaults,
  params,
  applicable: (task) => camRefusal(task, 'Guided Grad-CAM') ?? guidedRefusal(task, 'Guided Grad-CAM'),
  validate: (task, p) => validateCamLayer(task, p, 'Guided Grad-CAM'),
  async explain(task, batch, target, params, _seeder, onProgress, signal) {
    const { layer: name } = checkParams(guidedGradCam, params, task);
    const layer = resolveCamLayer(task, name, 'Guided Grad-CAM');
    const space = imageSpaceOf(task);
    const [h, w, k] = spatialShape(layer);
    const hw = h * w;
    const HW = space.height * space.width;
    const C = space.channels;
    const d = task.inputSize;
    const elem = new Float32Array(batch.nRows * d); // [nRows, inputSize]
    await forRowChunks(
      batch,
      camPerRow(h, w, k),
      async (start, end) => {
        const rows = end - start;
        const x = batch.x.subarray(start * d, end * d);
        const t = target.subarray(start, end);
        const gb = await guidedGradient(task, x, rows, t); // [rows, inputSize]
        const { acts, grads } = await layerGradients(task, layer, x, rows, t); // [rows, h, w, K] each
        const maps = new Float32Array(rows * hw); // [rows, h·w]
        for (let r = 0; r < rows; r++) gradCamMap(acts, grads, r * hw * k, hw, k, true, maps, r * hw);
        const up = upsampleMaps(space, maps, rows, h, w); // [rows, H·W]
        for (let r = 0; r < rows; r++)
          for (let p = 0; p < HW; p++) for (let c = 0; c < C; c++) elem[(start + r) * d + p * C + c] = gb[r * d + p * C + c] * up[r * HW + p];
      },
      onProgress,
      signal,
    );
    return space.aggregate(elem, batch.nRows); // [nRows, nFeatures]
  },
};
