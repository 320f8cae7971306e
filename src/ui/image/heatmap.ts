/**
 * Pixels for the image views, pure (no DOM): a model-input row back to a picture (the task's
 * normalisation undone), patch values spread over their pixels, and attribution maps coloured by
 * d3-scale-chromatic — diverging (RdBu, red positive, blue negative) centred on 0 for signed raw
 * values, sequential (viridis) from 0 for non-negative raw values and on [0, 1] for min–max
 * normalised ones. Everything is RGBA for a canvas's ImageData.
 */
import { color, interpolateRdBu, interpolateViridis } from 'd3';
import type { TaskImageInfo } from '../../worker/protocol';

export type ImageGeometry = Pick<TaskImageInfo, 'height' | 'width' | 'channels' | 'patch' | 'gridRows' | 'gridCols' | 'normalise' | 'channelMean' | 'channelStd'>;

/** One model-input value back on the 0–1 scale: the inverse of the task's normalisation (channel c). */
export function unnormalise(v: number, c: number, g: Pick<ImageGeometry, 'normalise' | 'channelMean' | 'channelStd'>): number {
  if (g.normalise === '-1-1') return (v + 1) / 2;
  if (g.normalise === 'mean-std') return v * (g.channelStd[c] > 0 ? g.channelStd[c] : 1) + g.channelMean[c];
  return v;
}

/**
 * A row as the model reads it ([H·W·C], channels last) → RGBA 0–255: gray repeats its one value, RGB
 * and RGBA show their colour (opaque); other channel counts show channel 0 as gray. Values outside
 * 0–1 after undoing the normalisation are clamped.
 */
export function displayPixels(x: ArrayLike<number>, g: ImageGeometry): Uint8ClampedArray {
  const { height: H, width: W, channels: C } = g;
  const out = new Uint8ClampedArray(H * W * 4);
  const to255 = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);
  for (let p = 0; p < H * W; p++) {
    const o = p * C;
    const q = p * 4;
    if (C === 3 || C === 4) {
      out[q] = to255(unnormalise(x[o], 0, g));
      out[q + 1] = to255(unnormalise(x[o + 1], 1, g));
      out[q + 2] = to255(unnormalise(x[o + 2], 2, g));
    } else out[q] = out[q + 1] = out[q + 2] = to255(unnormalise(x[o], 0, g));
    out[q + 3] = 255;
  }
  return out;
}

/** Patch values [gridRows · gridCols] → one value per pixel [H · W] (each pixel takes its patch's; edge patches are narrower). */
export function patchesToPixels(values: ArrayLike<number>, g: Pick<ImageGeometry, 'height' | 'width' | 'patch' | 'gridCols'>): Float32Array {
  const out = new Float32Array(g.height * g.width);
  for (let y = 0; y < g.height; y++) for (let x = 0; x < g.width; x++) out[y * g.width + x] = values[Math.floor(y / g.patch) * g.gridCols + Math.floor(x / g.patch)];
  return out;
}

/** The smallest and largest finite value ([Infinity, −Infinity] when there is none). */
function finiteRange(values: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++)
    if (Number.isFinite(values[i])) {
      lo = Math.min(lo, values[i]);
      hi = Math.max(hi, values[i]);
    }
  return [lo, hi];
}

/** Min–max normalised copy of one map (a constant map → zeros), as the pipeline normalises explanations. */
export function minMax(values: ArrayLike<number>): Float32Array {
  const [lo, hi] = finiteRange(values);
  const span = hi - lo;
  return Float32Array.from(values as ArrayLike<number>, (v) => (!Number.isFinite(v) ? NaN : span > 0 ? (v - lo) / span : 0));
}

export interface MapScale {
  kind: 'diverging' | 'sequential';
  /** Domain of the colours: [−m, m] (diverging) or [lo, hi] (sequential). */
  domain: [number, number];
  /** The colour of a value, [r, g, b] 0–255. */
  rgb(v: number): [number, number, number];
  /** A CSS colour of t ∈ [0, 1] along the legend (t = 0 is domain[0]). */
  css(t: number): string;
}

function rgbOf(css: string): [number, number, number] {
  const c = color(css)?.rgb();
  return c ? [Math.round(c.r), Math.round(c.g), Math.round(c.b)] : [0, 0, 0];
}

/**
 * The colour scale of a map: `normalised` maps are sequential on [0, 1]; raw maps with a negative
 * value are diverging on [−m, m], m = max |v|, centred on 0 (0 is RdBu's middle, near white); raw
 * maps without one are sequential on [0, max]. `domain` overrides the range (shared legends);
 * `sequential` the sequential colour map (viridis; the text views use a light-to-dark one).
 */
export function mapScale(values: ArrayLike<number>, normalised: boolean, domain?: [number, number], sequential: (t: number) => string = interpolateViridis): MapScale {
  let [lo, hi] = finiteRange(values);
  if (!Number.isFinite(lo)) lo = hi = 0;
  if (!normalised && (domain ? domain[0] < 0 : lo < 0)) {
    const m = domain ? Math.max(Math.abs(domain[0]), Math.abs(domain[1])) : Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    // RdBu runs red (0) → white (0.5) → blue (1): positive values red
    const at = (v: number) => 0.5 - Math.max(-1, Math.min(1, v / m)) / 2;
    return { kind: 'diverging', domain: [-m, m], rgb: (v) => rgbOf(interpolateRdBu(at(v))), css: (t) => interpolateRdBu(1 - t) };
  }
  const d: [number, number] = domain ?? (normalised ? [0, 1] : [0, hi > 0 ? hi : 1]);
  const span = d[1] - d[0] || 1;
  return { kind: 'sequential', domain: d, rgb: (v) => rgbOf(sequential(Math.max(0, Math.min(1, (v - d[0]) / span)))), css: (t) => sequential(t) };
}

/** RGBA of an overlay: each pixel's colour with alpha = opacity (0–1); NaN pixels are transparent. perPixel: [H · W]. */
export function overlayPixels(perPixel: ArrayLike<number>, scale: MapScale, opacity: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(perPixel.length * 4);
  const a = Math.round(Math.max(0, Math.min(1, opacity)) * 255);
  for (let p = 0; p < perPixel.length; p++) {
    const v = perPixel[p];
    if (!Number.isFinite(v)) continue;
    const [r, g, b] = scale.rgb(v);
    out[4 * p] = r;
    out[4 * p + 1] = g;
    out[4 * p + 2] = b;
    out[4 * p + 3] = a;
  }
  return out;
}
