import { describe, expect, it } from 'vitest';
import { interpolateRdBu, interpolateViridis, rgb } from 'd3';
import { normaliseImages } from '../../core/data/images';
import { displayPixels, mapScale, minMax, overlayPixels, patchesToPixels, unnormalise, type ImageGeometry } from './heatmap';

const geom = (over: Partial<ImageGeometry> = {}): ImageGeometry => ({ height: 2, width: 2, channels: 1, patch: 1, gridRows: 2, gridCols: 2, normalise: '0-1', channelMean: [0], channelStd: [1], ...over });
const rgbTuple = (css: string) => {
  const c = rgb(css);
  return [Math.round(c.r), Math.round(c.g), Math.round(c.b)];
};

describe('image views: pixels', () => {
  it('undoes each normalisation rule of the engine (the values it wrote come back on the 0–1 scale)', () => {
    const scaled = Float32Array.from([0, 0.25, 0.5, 1, 0.1, 0.9]);
    for (const rule of ['0-1', '-1-1', 'mean-std'] as const) {
      const stats = { mean: [0.3, 0.6], std: [0.2, 0] };
      const x = normaliseImages(scaled, 2, rule, stats);
      const g = { normalise: rule, channelMean: stats.mean, channelStd: stats.std };
      x.forEach((v, i) => expect(unnormalise(v, i % 2, g)).toBeCloseTo(scaled[i], 6));
    }
  });

  it('gray rows repeat their value in R, G and B, RGB rows keep their colour, all opaque and clamped', () => {
    expect(Array.from(displayPixels([0, 0.5, 1, 2], geom()))).toEqual([0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255, 255, 255, 255, 255]);
    const g = geom({ height: 1, width: 1, channels: 3, normalise: '-1-1', channelMean: [0, 0, 0], channelStd: [1, 1, 1] });
    expect(Array.from(displayPixels([-1, 0, 1], g))).toEqual([0, 128, 255, 255]);
  });

  it('patch values spread over their pixels, edge patches narrower (5×5 with patch 2: a 3×3 grid)', () => {
    const g = { height: 5, width: 5, patch: 2, gridCols: 3 };
    const px = patchesToPixels([0, 1, 2, 3, 4, 5, 6, 7, 8], g);
    expect(Array.from(px.subarray(0, 5))).toEqual([0, 0, 1, 1, 2]);
    expect(Array.from(px.subarray(10, 15))).toEqual([3, 3, 4, 4, 5]);
    expect(Array.from(px.subarray(20, 25))).toEqual([6, 6, 7, 7, 8]);
  });

  it('min–max normalises one map, a constant one to zeros', () => {
    expect(Array.from(minMax([2, 4, 3]))).toEqual([0, 1, 0.5]);
    expect(Array.from(minMax([5, 5]))).toEqual([0, 0]);
  });
});

describe('image views: colours (d3-scale-chromatic)', () => {
  it('signed raw values: diverging RdBu centred on 0 over [−max|v|, max|v|], positive red, negative blue', () => {
    const s = mapScale([-1, 0.5, 2], false);
    expect(s.kind).toBe('diverging');
    expect(s.domain).toEqual([-2, 2]);
    expect(s.rgb(0)).toEqual(rgbTuple(interpolateRdBu(0.5)));
    expect(s.rgb(2)).toEqual(rgbTuple(interpolateRdBu(0)));
    expect(s.rgb(-2)).toEqual(rgbTuple(interpolateRdBu(1)));
    expect(s.rgb(1)).toEqual(rgbTuple(interpolateRdBu(0.25)));
    // the legend runs from −m (t = 0, blue) to +m (t = 1, red)
    expect(s.css(0)).toBe(interpolateRdBu(1));
  });

  it('normalised values: sequential viridis on [0, 1]; non-negative raw values: sequential from 0 to their max', () => {
    const s = mapScale([0.2, 0.4], true);
    expect([s.kind, s.domain]).toEqual(['sequential', [0, 1]]);
    expect(s.rgb(0.25)).toEqual(rgbTuple(interpolateViridis(0.25)));
    const r = mapScale([0, 3, 6], false);
    expect(r.domain).toEqual([0, 6]);
    expect(r.rgb(3)).toEqual(rgbTuple(interpolateViridis(0.5)));
  });

  it('the overlay has the scale\'s colours at the chosen opacity; NaN pixels stay transparent', () => {
    const s = mapScale([0, 1], true);
    const o = overlayPixels([0, NaN, 1], s, 0.6);
    expect(Array.from(o.subarray(0, 4))).toEqual([...rgbTuple(interpolateViridis(0)), 153]);
    expect(Array.from(o.subarray(4, 8))).toEqual([0, 0, 0, 0]);
    expect(Array.from(o.subarray(8, 12))).toEqual([...rgbTuple(interpolateViridis(1)), 153]);
  });
});
