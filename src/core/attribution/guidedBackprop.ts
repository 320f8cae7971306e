/**
 * Guided backpropagation (Springenberg et al. 2015; Captum's GuidedBackprop): the gradient of the
 * explained output with respect to the input, where every ReLU's backward pass lets through only
 * positive gradients at positive inputs (dx = dy · [x > 0] · [dy > 0]; cam.ts `positiveGradient`). Signed
 * values per input element, summed per feature by the space (patches for images). Needs a
 * LayersModel with at least one ReLU (an activation 'relu' or a ReLU layer).
 */
import type { AttributionMethod } from './types';
import type { ParamSchema } from '../params';
import { checkParams, forRowChunks } from './common';
import { guidedGradient, guidedRefusal } from './cam';

export type GuidedBackpropParams = Record<string, never>;

export const defaults: GuidedBackpropParams = {};

export const params: ParamSchema<GuidedBackpropParams> = {};

export const guidedBackprop: AttributionMethod<GuidedBackpropParams> = {
  id: 'guided-backprop',
  label: 'Guided Backprop',
  description: 'The input gradient with negative gradients zeroed at every ReLU on the way back (ReLU models).',
  needs: { gradients: true },
  defaults,
  params,
  applicable: (task) => guidedRefusal(task, 'Guided backpropagation'),
  async explain(task, batch, target, params, _seeder, onProgress, signal) {
    checkParams(guidedBackprop, params, task);
    const d = task.inputSize;
    const elem = new Float32Array(batch.nRows * d); // [nRows, inputSize]
    await forRowChunks(
      batch,
      1,
      async (start, end) => {
        elem.set(await guidedGradient(task, batch.x.subarray(start * d, end * d), end - start, target.subarray(start, end)), start * d);
      },
      onProgress,
      signal,
    );
    return task.space.aggregate(elem, batch.nRows); // [nRows, nFeatures]
  },
};
