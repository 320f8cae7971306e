import type { AttributionMethod } from './types';
import { saliency } from './saliency';
import { inputXGradient } from './inputXGradient';
import { integratedGradients } from './integratedGradients';
import { smoothgrad } from './smoothgrad';
import { gradientShap } from './gradientShap';
import { occlusion } from './occlusion';
import { featureAblation } from './featureAblation';
import { lime } from './lime';
import { kernelShap } from './kernelShap';
import { shapleyExact } from './shapleyExact';
import { deeplift } from './deeplift';
import { random } from './random';

/** Every attribution method, in the order the UI and `--help` list them. */
export const ATTRIBUTION_METHODS: AttributionMethod<any>[] = [
  saliency,
  inputXGradient,
  integratedGradients,
  smoothgrad,
  gradientShap,
  occlusion,
  featureAblation,
  lime,
  kernelShap,
  shapleyExact,
  deeplift,
  random,
];

export function getMethod(id: string): AttributionMethod<any> | undefined {
  return ATTRIBUTION_METHODS.find((m) => m.id === id);
}
