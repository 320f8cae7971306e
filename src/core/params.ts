/**
 * Declared parameters of every unit (attribution method, metric) and the one resolver that merges
 * a user's values over a unit's `defaults` and validates them. The CLI's `--set`, job files, the
 * studio's worker and `--help` all go through `resolveParams` / `describeParams`; no front end keeps
 * its own checks. tfjs-free, so the UI may import it.
 *
 * A schema entry gives the type, the allowed range or choices and a one-line meaning; the default
 * stays in the unit's `defaults` object (the only place defaults live). Integer parameters that
 * count features may be bounded by the task's feature count (`max: 'nFeatures'`), checked once the
 * task is known. Every numeric parameter has a finite upper bound, so that no setting can ask for
 * hours of work by accident (e.g. `FC.nSubsets = 1e9`).
 */
import { UserError } from './errors';

export type ParamValue = number | boolean | string;
export type Params = Record<string, ParamValue>;

export type ParamSpec =
  | { type: 'int'; min: number; max: number | 'nFeatures'; meaning: string; /** Says what 0 (or another special value) means, for help texts. */ note?: string }
  | { type: 'number'; min: number; max: number; minExclusive?: boolean; meaning: string; note?: string }
  | { type: 'boolean'; meaning: string; note?: string }
  | { type: 'choice'; choices: readonly string[]; meaning: string; note?: string }
  /** Free text (e.g. a layer name), at most maxLength characters; what it must name is checked by the unit against the task. */
  | { type: 'string'; maxLength: number; meaning: string; note?: string };

/** One spec per key of P. */
export type ParamSchema<P> = { [K in keyof P]-?: ParamSpec };

/** What the resolver needs of a unit. */
export interface ParamUnit {
  id: string;
  /** 'Method' or 'Metric', for messages. */
  kind?: string;
  defaults: Params;
  params: Record<string, ParamSpec>;
}

/** "an integer from 1 to 10000", "true or false", "one of a, b" — the allowed values in words. */
export function allowedValues(spec: ParamSpec, nFeatures?: number): string {
  switch (spec.type) {
    case 'int': {
      const max = spec.max === 'nFeatures' ? (nFeatures ?? 'the number of features') : spec.max;
      return `an integer from ${spec.min} to ${max}`;
    }
    case 'number':
      return `a number ${spec.minExclusive ? '>' : '≥'} ${spec.min} and ≤ ${spec.max}`;
    case 'boolean':
      return 'true or false';
    case 'choice':
      return `one of ${spec.choices.join(', ')}`;
    case 'string':
      return `a text of at most ${spec.maxLength} characters`;
  }
}

/** A value as a person wrote it (JSON, but Infinity and NaN by name). */
function show(v: unknown): string {
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : JSON.stringify(v) ?? String(v);
}

function unitName(unit: ParamUnit): string {
  return `${unit.kind ?? 'Unit'} ${unit.id}`;
}

/** One line per parameter: `name (allowed, default d): meaning`. */
export function describeParams(unit: ParamUnit, nFeatures?: number): string[] {
  return Object.entries(unit.params).map(([k, spec]) => `${k} = ${JSON.stringify(unit.defaults[k])} (${allowedValues(spec, nFeatures)}): ${spec.meaning}${spec.note ? ` ${spec.note}` : ''}`);
}

function paramList(unit: ParamUnit, nFeatures?: number): string {
  const keys = Object.keys(unit.params);
  if (!keys.length) return `${unitName(unit)} has no parameters.`;
  return `Its parameters: ${keys.map((k) => `${k} (${allowedValues(unit.params[k], nFeatures)}, default ${JSON.stringify(unit.defaults[k])})`).join('; ')}.`;
}

/** Whether a value meets a spec (nFeatures bounds checked only when given). */
export function checkValue(spec: ParamSpec, v: unknown, nFeatures?: number): boolean {
  switch (spec.type) {
    case 'int': {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < spec.min) return false;
      const max = spec.max === 'nFeatures' ? nFeatures : spec.max;
      return max === undefined || v <= max;
    }
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) && (spec.minExclusive ? v > spec.min : v >= spec.min) && v <= spec.max;
    case 'boolean':
      return typeof v === 'boolean';
    case 'choice':
      return typeof v === 'string' && spec.choices.includes(v);
    case 'string':
      return typeof v === 'string' && v.length <= spec.maxLength;
  }
}

/**
 * A unit's parameters: `defaults` overridden by `given`. An unknown key, a value of the wrong type
 * (a string for a number included) or out of range is a UserError naming the unit, the key and the
 * allowed values. With `nFeatures`, feature-count bounds are checked too.
 */
export function resolveParams(unit: ParamUnit, given: unknown = {}, nFeatures?: number): Params {
  if (given === null || typeof given !== 'object' || Array.isArray(given))
    throw new UserError(`The parameters of ${unitName(unit)} must be an object of name → value, not ${show(given)}.`, paramList(unit, nFeatures));
  const out: Params = { ...unit.defaults };
  for (const [key, value] of Object.entries(given as Record<string, unknown>)) {
    const spec = unit.params[key];
    if (!spec) throw new UserError(`${unitName(unit)} has no parameter "${key}".`, paramList(unit, nFeatures));
    if (!checkValue(spec, value, nFeatures))
      throw new UserError(`${unitName(unit)}: parameter "${key}" is ${show(value)}, but it must be ${allowedValues(spec, nFeatures)}.`, `Set ${key} to ${allowedValues(spec, nFeatures)}, or leave it out for the default ${JSON.stringify(unit.defaults[key])}.`);
    out[key] = value as ParamValue;
  }
  if (nFeatures !== undefined)
    for (const [key, spec] of Object.entries(unit.params))
      if (!checkValue(spec, out[key], nFeatures))
        throw new UserError(`${unitName(unit)}: parameter "${key}" is ${show(out[key])}, but on this task (${nFeatures} features) it must be ${allowedValues(spec, nFeatures)}.`, `Set ${key} to ${allowedValues(spec, nFeatures)}.`);
  return out;
}

/** The keys of `given` whose values differ from the unit's defaults (what a job needs to write). */
export function changedParams(unit: ParamUnit, given: Params): Params {
  const out: Params = {};
  for (const [k, v] of Object.entries(given)) if (unit.defaults[k] !== v) out[k] = v;
  return out;
}
