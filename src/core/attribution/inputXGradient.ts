/**
 * Input × Gradient (Shrikumar et al. 2016): x_i · ∂f_c/∂x_i, as Captum's InputXGradient
 * (the input itself, not its difference from the baseline).
 */
import type { AttributionMethod } from './types';
import type { ParamSchema } from '../params';
import { forRowChunks } from './common';

export type InputXGradientParams = Record<string, never>;

export const defaults: InputXGradientParams = {};

export const params: ParamSchema<InputXGradientParams> = {};

export const inputXGradient: AttributionMethod<InputXGradientParams> = {
  id: 'input-x-gradient',
  label: 'Input × Gradient',
  description: 'Each feature value times the gradient of the explained output with respect to it.',
  needs: { gradients: true },
  defaults,
  params,
  applicable: () => null,
  async explain(task, batch, target, _params, _seeder, onProgress, signal) {
    const d = task.inputSize;
    const elem = new Float32Array(batch.nRows * d); // [nRows, inputSize]
    await forRowChunks(
      batch,
      1,
      async (start, end) => {
        const x = batch.x.subarray(start * d, end * d); // [end − start, inputSize]
        const { grad } = await task.model.gradient(x, end - start, target.subarray(start, end), task.output); // grad: [end − start, inputSize]
        for (let i = 0; i < grad.length; i++) elem[start * d + i] = x[i] * grad[i];
      },
      onProgress,
      signal,
    );
    return task.space.aggregate(elem, batch.nRows); // [nRows, nFeatures]
  },
};
