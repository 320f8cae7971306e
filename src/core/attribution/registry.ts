import type { AttributionMethod } from './types';
import { saliency } from './saliency';
import { inputXGradient } from './inputXGradient';
import { integratedGradients } from './integratedGradients';
import { occlusion } from './occlusion';
import { featureAblation } from './featureAblation';

/** Every attribution method, in the order the UI and `--help` list them. */
export const ATTRIBUTION_METHODS: AttributionMethod<any>[] = [saliency, inputXGradient, integratedGradients, occlusion, featureAblation];

export function getMethod(id: string): AttributionMethod<any> | undefined {
  return ATTRIBUTION_METHODS.find((m) => m.id === id);
}
