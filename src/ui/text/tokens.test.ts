import { interpolateOrRd, interpolateRdBu, color } from 'd3';
import { describe, expect, it } from 'vitest';
import { inkOn, normaliseTokens, rgbOfCss, tokenCells, tokenScale } from './tokens';

const rgb = (css: string) => {
  const c = color(css)!.rgb();
  return [Math.round(c.r), Math.round(c.g), Math.round(c.b)];
};
const luminance = ([r, g, b]: number[]) => 0.2126 * r + 0.7152 * g + 0.0722 * b;

describe('token colours', () => {
  it('normalised values: sequential OrRd on [0, 1], each token the map\'s colour of its value, darker as the value grows', () => {
    const values = [0.2, 1, 0, 0.55, 9, 9]; // positions 4, 5 are padding: never a cell, never in the scale
    const s = tokenScale(values, 4, true);
    expect(s.kind).toBe('sequential');
    expect(s.domain).toEqual([0, 1]);
    const cells = tokenCells(['a', 'b', 'c', 'd'], values, s, [false, false, true, false]);
    expect(cells.map((c) => c.word)).toEqual(['a', 'b', 'c', 'd']);
    cells.forEach((c, t) => expect(c.bg).toEqual(rgb(interpolateOrRd(values[t]))));
    const byValue = [...cells].sort((a, b) => a.value - b.value);
    for (let i = 1; i < byValue.length; i++) expect(luminance(byValue[i].bg)).toBeLessThan(luminance(byValue[i - 1].bg));
    expect(cells[2].unknown).toBe(true);
  });

  it('raw signed values: diverging RdBu centred on 0 over the tokens only (±max |v| of the real tokens), red positive', () => {
    const values = [-0.5, 0.25, 0, 2, -100]; // -100 is at a padding position (T = 4)
    const s = tokenScale(values, 4, false);
    expect(s.kind).toBe('diverging');
    expect(s.domain).toEqual([-2, 2]);
    expect(s.rgb(0)).toEqual(rgb(interpolateRdBu(0.5)));
    expect(s.rgb(2)).toEqual(rgb(interpolateRdBu(0)));
    expect(s.rgb(-2)).toEqual(rgb(interpolateRdBu(1)));
    expect(s.rgb(-0.5)).toEqual(rgb(interpolateRdBu(0.5 + 0.5 / 4)));
    const [r, , b] = s.rgb(1);
    expect(r).toBeGreaterThan(b);
  });

  it('raw non-negative values: sequential from 0 to their maximum', () => {
    const s = tokenScale([0.1, 0.4, 0.2], 3, false);
    expect(s.kind).toBe('sequential');
    expect(s.domain).toEqual([0, 0.4]);
    expect(s.rgb(0.2)).toEqual(rgb(interpolateOrRd(0.5)));
  });

  it('normalises over the row\'s tokens only, padding 0', () => {
    expect(Array.from(normaliseTokens([3, 5, 4, 0, 0], 3))).toEqual([0, 1, 0.5, 0, 0]);
    expect(Array.from(normaliseTokens([2, 2, 0], 2))).toEqual([0, 0, 0]);
  });

  it('ink: white on dark, black on light backgrounds; CSS colours read back', () => {
    expect(inkOn([127, 0, 0])).toBe('#fff');
    expect(inkOn([255, 247, 236])).toBe('#000');
    expect(inkOn(rgb(interpolateRdBu(0.5)) as [number, number, number])).toBe('#000');
    expect(rgbOfCss('rgb(12, 34, 56)')).toEqual([12, 34, 56]);
  });
});
