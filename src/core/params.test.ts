import { describe, expect, it } from 'vitest';
import { allowedValues, checkValue, describeParams, resolveParams, type ParamSpec, type ParamUnit } from './params';
import { ATTRIBUTION_METHODS } from './attribution/registry';
import { METRICS } from './metrics/registry';

const unit: ParamUnit = {
  id: 'demo',
  kind: 'Metric',
  defaults: { k: 1, w: 0.5, on: true, how: 'a' },
  params: {
    k: { type: 'int', min: 1, max: 'nFeatures', meaning: 'features per step' },
    w: { type: 'number', min: 0, minExclusive: true, max: 2, meaning: 'a width' },
    on: { type: 'boolean', meaning: 'a switch' },
    how: { type: 'choice', choices: ['a', 'b'], meaning: 'a choice' },
  },
};

describe('resolveParams', () => {
  it('merges given values over the defaults', () => {
    expect(resolveParams(unit, { k: 3, how: 'b' }, 5)).toEqual({ k: 3, w: 0.5, on: true, how: 'b' });
    expect(resolveParams(unit)).toEqual(unit.defaults);
  });
  it('refuses an unknown key, naming the unit, the key and every parameter with its allowed values', () => {
    expect(() => resolveParams(unit, { kk: 3 })).toThrow(
      'Metric demo has no parameter "kk". Its parameters: k (an integer from 1 to the number of features, default 1); w (a number > 0 and ≤ 2, default 0.5); on (true or false, default true); how (one of a, b, default "a").',
    );
  });
  it('refuses strings for numbers, non-integers, out-of-range values and unknown choices', () => {
    expect(() => resolveParams(unit, { k: '3' })).toThrow(/parameter "k" is "3", but it must be an integer from 1/);
    expect(() => resolveParams(unit, { k: 2.5 })).toThrow(/"k" is 2.5/);
    expect(() => resolveParams(unit, { w: 0 })).toThrow(/"w" is 0, but it must be a number > 0 and ≤ 2/);
    expect(() => resolveParams(unit, { w: 3 })).toThrow(/"w" is 3/);
    expect(() => resolveParams(unit, { w: Infinity })).toThrow(/"w" is Infinity/);
    expect(() => resolveParams(unit, { on: 1 })).toThrow(/"on" is 1, but it must be true or false/);
    expect(() => resolveParams(unit, { how: 'c' })).toThrow(/"how" is "c", but it must be one of a, b/);
    expect(() => resolveParams(unit, [1, 2])).toThrow(/must be an object/);
  });
  it('checks feature-count bounds only when the task is known, defaults included', () => {
    expect(resolveParams(unit, { k: 9 })).toEqual({ ...unit.defaults, k: 9 });
    expect(() => resolveParams(unit, { k: 9 }, 4)).toThrow(/"k" is 9, but it must be an integer from 1 to 4/);
    const big: ParamUnit = { ...unit, defaults: { ...unit.defaults, k: 6 } };
    expect(() => resolveParams(big, {}, 4)).toThrow(/on this task \(4 features\) it must be an integer from 1 to 4/);
  });
});

describe('every registered method and metric declares its parameters', () => {
  const units: ParamUnit[] = [
    ...ATTRIBUTION_METHODS.map((m) => ({ id: m.id, kind: 'Method', defaults: m.defaults, params: m.params as Record<string, ParamSpec> })),
    ...METRICS.map((m) => ({ id: m.id, kind: 'Metric', defaults: m.defaults, params: m.params as Record<string, ParamSpec> })),
  ];
  for (const u of units)
    it(`${u.kind} ${u.id}: one spec per default, each default allowed, every number bounded, a meaning for each`, () => {
      expect(Object.keys(u.params).sort()).toEqual(Object.keys(u.defaults).sort());
      for (const [k, spec] of Object.entries(u.params)) {
        expect(checkValue(spec, u.defaults[k], 1000), `${u.id}.${k} default`).toBe(true);
        if (spec.type === 'int' || spec.type === 'number') expect(spec.max === 'nFeatures' || Number.isFinite(spec.max)).toBe(true);
        expect(spec.meaning.length).toBeGreaterThan(5);
        expect(allowedValues(spec)).not.toMatch(/undefined/);
      }
      expect(describeParams(u)).toHaveLength(Object.keys(u.defaults).length);
    });
  it('cost parameters have upper bounds (a job cannot ask for hours by a typo)', () => {
    expect(() => resolveParams({ id: 'FC', kind: 'Metric', defaults: METRICS[0].defaults, params: METRICS[0].params }, { nSubsets: 1e9 })).toThrow(/"nSubsets" is 1000000000, but it must be an integer from 2 to 100000/);
  });
});
