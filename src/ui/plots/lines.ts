/**
 * Line chart of several series over a shared x axis, with optional event markers (vertical
 * lines), a highlighted point, a legend and hover values (one <title> per point).
 */
import * as d3 from 'd3';
import { axisLabel, colorFor, fmt, frame, legend, legendRows } from './common';

export interface Series {
  key: string;
  points: { x: number; y: number }[];
  dash?: string;
  /** Use the right-hand axis (e.g. α next to losses). */
  right?: boolean;
  /** Points only (a scatter), no connecting line. */
  noLine?: boolean;
}

export interface LinesData {
  title: string;
  series: Series[];
  events?: { x: number; label: string; color?: string }[];
  highlight?: { key: string; x: number; y: number } | null;
}

export interface LinesOptions {
  width?: number;
  height?: number;
  xLabel: string;
  yLabel: string;
  yRightLabel?: string;
  yDomain?: [number, number];
  yRightDomain?: [number, number];
  /** The x values are counts (steps): integer ticks only. */
  integerX?: boolean;
}

export function renderLines(el: Element, data: LinesData, opts: LinesOptions): void {
  const width = opts.width ?? 480;
  const height = opts.height ?? 260;
  const hasRight = data.series.some((s) => s.right);
  const rows = legendRows(data.series.map((x) => x.key), width - (hasRight ? 56 : 16) - 56);
  const f = frame(el, width, height + 14 * rows, data.title, { top: 40 + 14 * rows, right: hasRight ? 56 : 16, bottom: 40, left: 56 });
  const all = data.series.flatMap((s) => s.points);
  const xExt = d3.extent(all, (p) => p.x) as [number, number];
  const x = d3.scaleLinear().domain(xExt[0] === undefined ? [0, 1] : xExt[0] === xExt[1] ? [xExt[0] - 1, xExt[1] + 1] : xExt).range([0, f.width]);
  const leftPts = data.series.filter((s) => !s.right).flatMap((s) => s.points).filter((p) => Number.isFinite(p.y));
  const yExt = opts.yDomain ?? ((d3.extent(leftPts, (p) => p.y) as [number, number])[0] === undefined ? [0, 1] : (d3.extent(leftPts, (p) => p.y) as [number, number]));
  const y = d3.scaleLinear().domain(yExt[0] === yExt[1] ? [yExt[0] - 0.5, yExt[1] + 0.5] : yExt).nice().range([f.height, 0]);
  const yR = d3.scaleLinear().domain(opts.yRightDomain ?? [0, 1]).range([f.height, 0]);
  const color = colorFor(data.series.map((s) => s.key));
  f.svg.append('text').attr('class', 'plot-title').attr('x', 8).attr('y', 15).attr('font-weight', 600).attr('fill', 'currentColor').text(data.title);
  const xAxis = d3.axisBottom(x);
  if (opts.integerX) xAxis.tickValues(integerTicks(x.domain() as [number, number], 6)).tickFormat(d3.format('d'));
  else xAxis.ticks(6).tickFormat((v) => fmt(+v));
  f.g.append('g').attr('class', 'x-axis').attr('transform', `translate(0,${f.height})`).call(xAxis);
  f.g.append('g').attr('class', 'y-axis').call(d3.axisLeft(y).ticks(5).tickFormat((v) => fmt(+v)));
  if (hasRight) f.g.append('g').attr('class', 'y-axis-right').attr('transform', `translate(${f.width},0)`).call(d3.axisRight(yR).ticks(5));
  axisLabel(f.g, opts.xLabel, f.width / 2, f.height + 34);
  axisLabel(f.g, opts.yLabel, -42, f.height / 2, true);
  if (hasRight && opts.yRightLabel) axisLabel(f.g, opts.yRightLabel, f.width + 44, f.height / 2, true);
  for (const ev of data.events ?? []) {
    const ex = x(ev.x);
    f.g.append('line').attr('class', 'event').attr('data-label', ev.label).attr('x1', ex).attr('x2', ex).attr('y1', 0).attr('y2', f.height).attr('stroke', ev.color ?? '#999').attr('stroke-dasharray', '3,3').append('title').text(`${ev.label} at ${fmt(ev.x)}`);
  }
  for (const s of data.series) {
    const sy = s.right ? yR : y;
    const pts = s.points.filter((p) => Number.isFinite(p.y));
    const line = d3.line<{ x: number; y: number }>().x((p) => x(p.x)).y((p) => sy(p.y));
    const sg = f.g.append('g').attr('class', 'series').attr('data-key', s.key);
    sg.append('path').attr('d', s.noLine ? '' : (line(pts) ?? '')).attr('fill', 'none').attr('stroke', color(s.key)).attr('stroke-width', 2).attr('stroke-dasharray', s.dash ?? null);
    if (pts.length <= 200 || s.noLine)
      sg.selectAll('circle.pt')
        .data(pts)
        .join('circle')
        .attr('class', 'pt')
        .attr('cx', (p) => x(p.x))
        .attr('cy', (p) => sy(p.y))
        .attr('r', 3)
        .attr('fill', color(s.key))
        .append('title')
        .text((p) => `${s.key}: x=${fmt(p.x)}, y=${fmt(p.y)}`);
  }
  if (data.highlight) {
    const h = data.highlight;
    f.g.append('circle').attr('class', 'highlight').attr('data-y', h.y).attr('cx', x(h.x)).attr('cy', y(h.y)).attr('r', 7).attr('fill', 'none').attr('stroke', '#111').attr('stroke-width', 2).append('title').text(`${h.key}: x=${fmt(h.x)}, y=${fmt(h.y)}`);
  }
  const lg = f.svg.append('g').attr('transform', `translate(${56},28)`);
  legend(lg as unknown as typeof f.g, data.series.map((s) => ({ key: s.key, color: color(s.key), dash: s.dash })), f.width);
}

/** At most about `count` integer ticks covering [lo, hi] (never a fractional one). */
export function integerTicks([lo, hi]: [number, number], count: number): number[] {
  const a = Math.ceil(lo);
  const b = Math.floor(hi);
  if (b < a) return [];
  const step = Math.max(1, Math.ceil(d3.tickStep(a, b, count)));
  const out: number[] = [];
  for (let v = Math.ceil(a / step) * step; v <= b; v += step) out.push(v);
  return out;
}
