/**
 * Saliency (Simonyan et al. 2014): the gradient of the explained output with respect to the input,
 * |∂f_c/∂x_i| by default (`abs: true`, as Captum's Saliency), or the signed gradient.
 */
import type { AttributionMethod } from './types';
import type { ParamSchema } from '../params';
import { checkParams, forRowChunks } from './common';

export type SaliencyParams = {
  /** Absolute value of the gradient. */
  abs: boolean;
};

export const defaults: SaliencyParams = { abs: true };

export const params: ParamSchema<SaliencyParams> = {
  abs: { type: 'boolean', meaning: 'Take the absolute value of the gradient.' },
};

export const saliency: AttributionMethod<SaliencyParams> = {
  id: 'saliency',
  label: 'Saliency',
  description: 'Gradient of the explained output with respect to each feature (its absolute value by default).',
  needs: { gradients: true },
  defaults,
  params,
  applicable: () => null,
  async explain(task, batch, target, params, _seeder, onProgress, signal) {
    const { abs } = checkParams(saliency, params, task);
    const d = task.inputSize;
    const elem = new Float32Array(batch.nRows * d); // [nRows, inputSize] per input element
    await forRowChunks(
      batch,
      1,
      async (start, end) => {
        // grad: [end − start, inputSize]
        const { grad } = await task.model.gradient(batch.x.subarray(start * d, end * d), end - start, target.subarray(start, end), task.output);
        for (let i = 0; i < grad.length; i++) elem[start * d + i] = abs ? Math.abs(grad[i]) : grad[i];
      },
      onProgress,
      signal,
    );
    return task.space.aggregate(elem, batch.nRows); // [nRows, nFeatures]: sums over each feature's elements
  },
};
