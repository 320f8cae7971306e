import { UserError } from '../errors';
import type { AttributionMethod, ParamValue, Params } from './types';
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

/**
 * A method's parameters: its defaults overridden by `overrides`. An unknown key, or a value whose
 * type differs from the default's, is a UserError that lists the method's parameters.
 */
export function resolveMethodParams(method: AttributionMethod<any>, overrides: Record<string, unknown> = {}): Params {
  const defaults = method.defaults as Params;
  const known = Object.keys(defaults);
  const list = known.length ? known.map((k) => `${k} (default ${JSON.stringify(defaults[k])})`).join(', ') : 'none';
  const out: Params = { ...defaults };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in defaults)) throw new UserError(`${method.id} has no parameter "${key}".`, `Its parameters are: ${list}.`);
    if (typeof value !== typeof defaults[key])
      throw new UserError(`${method.id}: parameter "${key}" must be a ${typeof defaults[key]}, not ${JSON.stringify(value)}.`, `Its parameters are: ${list}.`);
    out[key] = value as ParamValue;
  }
  return out;
}
