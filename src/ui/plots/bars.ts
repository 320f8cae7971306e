/**
 * Signed horizontal bar chart of one explanation (one bar per feature). Several charts share a
 * scale by passing the same `domain`. Positive bars are orange, negative blue; hover shows values.
 */
import * as d3 from 'd3';
import { axisLabel, fmt, frame } from './common';

export interface BarsData {
  title: string;
  features: string[];
  values: ArrayLike<number>;
}

export interface BarsOptions {
  width?: number;
  /** Shared x domain [min, max] so charts side by side compare. */
  domain?: [number, number];
  sort?: 'feature' | 'magnitude';
  unit?: string;
  /** Show feature names on the axis (the first chart of a row does). */
  showNames?: boolean;
}

export function renderBars(el: Element, data: BarsData, opts: BarsOptions = {}): void {
  const n = data.features.length;
  const rowH = 16;
  const left = opts.showNames === false ? 12 : 110;
  const width = opts.width ?? 260;
  const height = 34 + 14 + n * rowH + 34;
  const f = frame(el, width, height, data.title, { top: 34, right: 14, bottom: 34, left });
  const vals = Array.from(data.values);
  const idx = d3.range(n);
  if (opts.sort === 'magnitude') idx.sort((a, b) => Math.abs(vals[b]) - Math.abs(vals[a]) || a - b);
  const ext = opts.domain ?? (d3.extent(vals.concat([0])) as [number, number]);
  const pad = ext[0] === ext[1] ? 1 : 0;
  const x = d3.scaleLinear().domain([Math.min(ext[0], 0) - pad, Math.max(ext[1], 0) + pad]).nice().range([0, f.width]);
  const y = d3.scaleBand<number>().domain(idx).range([0, n * rowH]).padding(0.18);
  f.svg.append('text').attr('class', 'plot-title').attr('x', 8).attr('y', 16).attr('font-weight', 600).attr('fill', 'currentColor').text(data.title);
  f.g
    .append('g')
    .attr('class', 'x-axis')
    .attr('transform', `translate(0,${n * rowH})`)
    .call(d3.axisBottom(x).ticks(Math.max(2, Math.floor(f.width / 60))).tickFormat((v) => fmt(+v)));
  if (opts.showNames !== false)
    f.g
      .append('g')
      .attr('class', 'y-axis')
      .call(d3.axisLeft(d3.scaleBand<string>().domain(idx.map((i) => data.features[i])).range([0, n * rowH]).padding(0.18)).tickSizeOuter(0));
  f.g.append('line').attr('class', 'zero').attr('x1', x(0)).attr('x2', x(0)).attr('y1', 0).attr('y2', n * rowH).attr('stroke', '#666');
  f.g
    .selectAll('rect.bar')
    .data(idx)
    .join('rect')
    .attr('class', 'bar')
    .attr('data-feature', (i) => data.features[i])
    .attr('data-value', (i) => vals[i])
    .attr('x', (i) => Math.min(x(0), x(vals[i])))
    .attr('width', (i) => Math.abs(x(vals[i]) - x(0)))
    .attr('y', (i) => y(i)!)
    .attr('height', y.bandwidth())
    .attr('fill', (i) => (vals[i] >= 0 ? '#e07b39' : '#3a78b5'))
    .append('title')
    .text((i) => `${data.features[i]}: ${fmt(vals[i])}${opts.unit ? ' ' + opts.unit : ''}`);
  axisLabel(f.g, opts.unit ? `attribution (${opts.unit})` : 'attribution', f.width / 2, n * rowH + 30);
}
