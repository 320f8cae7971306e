/**
 * Tokens for the text views, pure (no DOM): a sentence's values on a colour scale over its real
 * tokens only (padding positions are never shown, so they never set a scale), min–max
 * normalisation over the tokens as the engine normalises text explanations, and a readable ink
 * for each background. Colours come from d3-scale-chromatic through the image views' `mapScale`:
 * **diverging RdBu centred on 0** (red positive, blue negative, domain ±max |v|) for raw values
 * with a negative one, and **sequential OrRd** (near white at the bottom, dark red at the top) for
 * non-negative raw values (0 to their maximum) and normalised ones ([0, 1]) — light at 0, so an
 * unimportant word stays plain.
 */
import { color, interpolateOrRd } from 'd3';
import { minMaxNormalizeRows } from '../../core/task/ragged';
import { mapScale, type MapScale } from '../image/heatmap';

export type { MapScale };

/** The sequential colour map of the text views. */
export const TEXT_SEQUENTIAL = interpolateOrRd;

/** The scale of one sentence: from its first T values (its tokens); `domain` overrides (shared legends). */
export function tokenScale(values: ArrayLike<number>, T: number, normalised: boolean, domain?: [number, number]): MapScale {
  return mapScale(Array.from({ length: Math.min(T, values.length) }, (_, t) => values[t]), normalised, domain, TEXT_SEQUENTIAL);
}

/** Min–max over a row's first T values, 0 at the others: the engine's per-sentence normalisation (core/task/ragged.ts). */
export function normaliseTokens(values: ArrayLike<number>, T: number): Float32Array {
  return minMaxNormalizeRows(Float32Array.from(values), 1, values.length, [T]);
}

/** Black or white, whichever reads better on an sRGB background (WCAG relative luminance, threshold 0.4). */
export function inkOn([r, g, b]: [number, number, number]): '#000' | '#fff' {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  const L = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  return L > 0.4 ? '#000' : '#fff';
}

export interface TokenCell {
  /** The word as the tokenizer read it. */
  word: string;
  /** Its sequence position. */
  pos: number;
  value: number;
  /** Background [r, g, b] 0–255 and the ink that reads on it. */
  bg: [number, number, number];
  ink: '#000' | '#fff';
  /** Not in the vocabulary (the model read the unknown token). */
  unknown: boolean;
}

/** One cell per real token (position t < tokens.length); padding positions get none. */
export function tokenCells(tokens: string[], values: ArrayLike<number>, scale: MapScale, unknown?: ArrayLike<boolean>): TokenCell[] {
  return tokens.map((word, pos) => {
    const value = values[pos];
    const bg = Number.isFinite(value) ? scale.rgb(value) : ([255, 255, 255] as [number, number, number]);
    return { word, pos, value, bg, ink: inkOn(bg), unknown: !!unknown?.[pos] };
  });
}

/** A value for a tooltip: 4 significant digits (exponent form when tiny or large). */
export function fmtValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  return Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}

/** A CSS rgb() of [r, g, b]. */
export const cssRgb = ([r, g, b]: [number, number, number]) => `rgb(${r}, ${g}, ${b})`;

/** [r, g, b] of a CSS colour (what a browser's computed style gives), for tests and exports. */
export function rgbOfCss(css: string): [number, number, number] {
  const c = color(css)?.rgb();
  return c ? [Math.round(c.r), Math.round(c.g), Math.round(c.b)] : [0, 0, 0];
}
