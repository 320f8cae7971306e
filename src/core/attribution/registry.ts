import { UserError } from '../errors';
import { resolveParams, type Params } from '../params';
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
import { guidedBackprop } from './guidedBackprop';
import { gradCam } from './gradCam';
import { gradCamPlusPlus } from './gradCamPlusPlus';
import { scoreCam } from './scoreCam';
import { guidedGradCam } from './guidedGradCam';
import { random } from './random';
import { perRowFeatures } from './perRow';

/**
 * Every attribution method, in the order the UI and `--help` list them; each wrapped by
 * `perRowFeatures` (perRow.ts), which only acts on tasks whose rows have their own feature counts
 * (text) and otherwise calls the method as it is.
 */
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
  guidedBackprop,
  gradCam,
  gradCamPlusPlus,
  scoreCam,
  guidedGradCam,
  random,
].map((m: AttributionMethod<any>) => perRowFeatures(m));

export function getMethod(id: string): AttributionMethod<any> | undefined {
  return ATTRIBUTION_METHODS.find((m) => m.id === id);
}

/**
 * A method's parameters: its defaults overridden by `overrides`, checked by the one resolver
 * (core/params.ts): an unknown key, a wrong type or an out-of-range value is a UserError naming the
 * method, the key and the allowed values. With `nFeatures`, feature-count bounds are checked too.
 */
export function resolveMethodParams(method: AttributionMethod<any>, overrides: unknown = {}, nFeatures?: number): Params {
  return resolveParams({ id: method.id, kind: 'Method', defaults: method.defaults, params: method.params }, overrides, nFeatures);
}

/** The registered method with this id, or a UserError naming the valid ids. */
export function requireMethod(id: string): AttributionMethod<any> {
  const m = getMethod(id);
  if (!m) throw new UserError(`Unknown attribution method "${id}".`, `Use one of: ${ATTRIBUTION_METHODS.map((u) => u.id).join(', ')}.`);
  return m;
}
