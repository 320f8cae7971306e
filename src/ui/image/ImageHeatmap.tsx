/**
 * An image with an attribution map on top: two canvases of the image's own size (the picture, and
 * the map coloured at the chosen opacity, both as ImageData), scaled up without smoothing, an SVG
 * patch grid (and outlined patches) on top, and a colour legend.
 */
import { useEffect, useId, useRef } from 'react';
import { displayPixels, overlayPixels, patchesToPixels, type ImageGeometry, type MapScale } from './heatmap';

function paint(canvas: HTMLCanvasElement | null, w: number, h: number, rgba: Uint8ClampedArray | null): void {
  if (!canvas) return;
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.clearRect(0, 0, w, h);
  if (rgba) ctx.putImageData(new ImageData(new Uint8ClampedArray(rgba), w, h), 0, 0);
}

export interface HeatmapProps {
  /** One row as the model reads it, [H·W·C]. */
  x: ArrayLike<number>;
  geometry: ImageGeometry;
  /** The map: one value per patch ([gridRows·gridCols]) or per pixel ([H·W]); null = the image alone. */
  values?: ArrayLike<number> | null;
  level?: 'patch' | 'pixel';
  scale?: MapScale | null;
  opacity?: number;
  grid?: boolean;
  /** Patches drawn outlined (e.g. the ones a metric replaced). */
  outlined?: ArrayLike<number>;
  /** Displayed width in CSS pixels. */
  size?: number;
  title?: string;
  testId?: string;
  children?: React.ReactNode;
}

export function ImageHeatmap({ x, geometry: g, values = null, level = 'patch', scale = null, opacity = 0.6, grid = false, outlined, size = 160, title, testId, children }: HeatmapProps) {
  const img = useRef<HTMLCanvasElement>(null);
  const over = useRef<HTMLCanvasElement>(null);
  const { width: W, height: H } = g;
  useEffect(() => paint(img.current, W, H, displayPixels(x, g)), [x, g, W, H]);
  useEffect(() => {
    const perPixel = values && scale ? (level === 'pixel' ? values : patchesToPixels(values, g)) : null;
    paint(over.current, W, H, perPixel && scale ? overlayPixels(perPixel, scale, opacity) : null);
  }, [values, level, scale, opacity, g, W, H]);
  const height = Math.round((size * H) / W);
  const sx = size / W;
  const sy = height / H;
  const lines: React.ReactNode[] = [];
  if (grid) {
    for (let r = 1; r < g.gridRows; r++) lines.push(<line key={`r${r}`} x1={0} x2={size} y1={r * g.patch * sy} y2={r * g.patch * sy} />);
    for (let c = 1; c < g.gridCols; c++) lines.push(<line key={`c${c}`} y1={0} y2={height} x1={c * g.patch * sx} x2={c * g.patch * sx} />);
  }
  return (
    <figure className="heatmap" data-testid={testId}>
      <div className="heatmap-stack" style={{ width: size, height }}>
        <canvas ref={img} className="heatmap-image" data-role="image" />
        <canvas ref={over} className="heatmap-overlay" data-role="overlay" />
        {(grid || (outlined && outlined.length > 0)) && (
          <svg className="heatmap-grid" width={size} height={height} viewBox={`0 0 ${size} ${height}`} aria-hidden="true">
            <g className="grid-lines">{lines}</g>
            {outlined &&
              Array.from(outlined, (f) => {
                const r = Math.floor(f / g.gridCols);
                const c = f % g.gridCols;
                const w = Math.min(g.patch, W - c * g.patch);
                const h = Math.min(g.patch, H - r * g.patch);
                return <rect key={f} className="outlined" x={c * g.patch * sx + 1} y={r * g.patch * sy + 1} width={Math.max(0, w * sx - 2)} height={Math.max(0, h * sy - 2)} />;
              })}
          </svg>
        )}
      </div>
      {title && <figcaption>{title}</figcaption>}
      {children}
    </figure>
  );
}

const fmtTick = (v: number) => (Math.abs(v) >= 100 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(2))));

/** A colour bar of a scale with its ends (and 0 for a diverging scale) labelled. */
export function ColorLegend({ scale, width = 160, label, testId }: { scale: MapScale; width?: number; label?: string; testId?: string }) {
  const stops = Array.from({ length: 11 }, (_, i) => i / 10);
  const id = `lg${useId().replace(/[^a-zA-Z0-9]/g, '')}`;
  const [lo, hi] = scale.domain;
  const ticks = scale.kind === 'diverging' ? [lo, 0, hi] : [lo, hi];
  const xOf = (v: number) => ((v - lo) / (hi - lo || 1)) * (width - 2) + 1;
  return (
    <svg className="color-legend" width={width} height={label ? 36 : 26} viewBox={`0 0 ${width} ${label ? 36 : 26}`} data-testid={testId} data-kind={scale.kind} role="img" aria-label={`${label ?? 'colour scale'}: ${scale.kind} from ${fmtTick(lo)} to ${fmtTick(hi)}`}>
      <defs>
        <linearGradient id={id}>
          {stops.map((t) => (
            <stop key={t} offset={`${t * 100}%`} stopColor={scale.css(t)} />
          ))}
        </linearGradient>
      </defs>
      <rect x={1} y={1} width={width - 2} height={10} fill={`url(#${id})`} stroke="#999" strokeWidth={0.5} />
      {ticks.map((v, i) => (
        <text key={i} x={xOf(v)} y={22} fontSize={10} fill="currentColor" textAnchor={i === 0 ? 'start' : i === ticks.length - 1 ? 'end' : 'middle'}>
          {fmtTick(v)}
        </text>
      ))}
      {label && (
        <text x={width / 2} y={34} fontSize={10} fill="#555" textAnchor="middle">
          {label}
        </text>
      )}
    </svg>
  );
}
