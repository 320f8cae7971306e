/**
 * The paper's Figure 2 for one sample: one strip per metric with every method's score, the
 * p-quantile threshold, the filtered-out range in red and the kept range in green.
 */
import * as d3 from 'd3';
import { colorFor, fmt, frame } from './common';

export interface Strip {
  metric: string;
  direction: 'higher' | 'lower';
  threshold: number;
  /** Methods that reached the filter (after dedup), with their score. */
  points: { method: string; value: number; passed: boolean }[];
}

export interface StripsData {
  title: string;
  strips: Strip[];
}

export function renderStrips(el: Element, data: StripsData, opts: { width?: number } = {}): void {
  const width = opts.width ?? 560;
  // Each strip: a band (y 2..bandH) and, under it, its own value axis with the min and max
  // numbers at the ends and the axis label ("<metric> score, higher/lower is better") between them.
  const bandH = 24;
  const rowH = 48;
  const height = 40 + data.strips.length * rowH + 40;
  const f = frame(el, width, height, data.title, { top: 40, right: 20, bottom: 40, left: 70 });
  f.svg.append('text').attr('class', 'plot-title').attr('x', 8).attr('y', 15).attr('font-weight', 600).attr('fill', 'currentColor').text(data.title);
  const methods = [...new Set(data.strips.flatMap((s) => s.points.map((p) => p.method)))];
  const color = colorFor(methods);
  data.strips.forEach((s, i) => {
    const vals = s.points.map((p) => p.value).filter(Number.isFinite);
    const lo = Math.min(...vals, s.threshold);
    const hi = Math.max(...vals, s.threshold);
    const pad = hi > lo ? (hi - lo) * 0.08 : 0.5;
    const x = d3.scaleLinear().domain([lo - pad, hi + pad]).range([0, f.width]);
    const row = f.g.append('g').attr('class', 'strip').attr('data-metric', s.metric).attr('transform', `translate(0,${i * rowH})`);
    const thr = x(s.threshold);
    const [badFrom, badTo] = s.direction === 'higher' ? [0, thr] : [thr, f.width];
    const [goodFrom, goodTo] = s.direction === 'higher' ? [thr, f.width] : [0, thr];
    row.append('rect').attr('class', 'filtered-range').attr('x', badFrom).attr('width', Math.max(0, badTo - badFrom)).attr('y', 2).attr('height', bandH - 2).attr('fill', '#f3c7c3');
    row.append('rect').attr('class', 'kept-range').attr('x', goodFrom).attr('width', Math.max(0, goodTo - goodFrom)).attr('y', 2).attr('height', bandH - 2).attr('fill', '#cdebc6');
    row.append('line').attr('class', 'threshold').attr('data-value', s.threshold).attr('x1', thr).attr('x2', thr).attr('y1', 0).attr('y2', bandH + 2).attr('stroke', '#333').attr('stroke-width', 1.5).append('title').text(`${s.metric} threshold ${fmt(s.threshold)}`);
    row.append('text').attr('x', -8).attr('y', bandH / 2 + 5).attr('text-anchor', 'end').attr('fill', 'currentColor').text(`${s.metric} ${s.direction === 'higher' ? '↑' : '↓'}`);
    row
      .selectAll('circle.score')
      .data(s.points.filter((p) => Number.isFinite(p.value)))
      .join('circle')
      .attr('class', (p) => `score ${p.passed ? 'passed' : 'failed'}`)
      .attr('data-method', (p) => p.method)
      .attr('cx', (p) => x(p.value))
      .attr('cy', bandH / 2 + 1)
      .attr('r', 5)
      .attr('fill', (p) => color(p.method))
      .attr('stroke', (p) => (p.passed ? '#1b5e20' : '#b71c1c'))
      .attr('stroke-width', 1.5)
      .append('title')
      .text((p) => `${p.method}: ${s.metric} = ${fmt(p.value)} (${p.passed ? 'passes' : 'fails'} the threshold ${fmt(s.threshold)})`);
    const axis = row.append('g').attr('class', 'value-axis').attr('transform', `translate(0,${bandH + 2})`);
    axis.append('line').attr('x1', 0).attr('x2', f.width).attr('y1', 0).attr('y2', 0).attr('stroke', '#888');
    for (const [v, anchor] of [[x.domain()[0], 'start'], [x.domain()[1], 'end']] as const) {
      axis.append('line').attr('x1', x(v)).attr('x2', x(v)).attr('y1', 0).attr('y2', 4).attr('stroke', '#888');
      axis.append('text').attr('class', 'tick-label').attr('x', x(v)).attr('y', 15).attr('font-size', 10).attr('text-anchor', anchor).attr('fill', '#444').text(fmt(v));
    }
    axis
      .append('text')
      .attr('class', 'axis-label')
      .attr('x', f.width / 2)
      .attr('y', 15)
      .attr('font-size', 10)
      .attr('text-anchor', 'middle')
      .attr('fill', '#444')
      .text(`${s.metric} metric score (${s.direction === 'higher' ? '↑ higher is better' : '↓ lower is better'})`);
  });
  const lg = f.g.append('g').attr('transform', `translate(0,${data.strips.length * rowH + 6})`);
  let lx = 0;
  for (const m of methods) {
    lg.append('circle').attr('cx', lx + 5).attr('cy', 0).attr('r', 5).attr('fill', color(m));
    lg.append('text').attr('x', lx + 13).attr('y', 4).attr('fill', 'currentColor').text(m);
    lx += 20 + m.length * 6.2;
  }
}
