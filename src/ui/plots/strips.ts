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
  const rowH = 30;
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
    row.append('rect').attr('class', 'filtered-range').attr('x', badFrom).attr('width', Math.max(0, badTo - badFrom)).attr('y', 4).attr('height', rowH - 8).attr('fill', '#f3c7c3');
    row.append('rect').attr('class', 'kept-range').attr('x', goodFrom).attr('width', Math.max(0, goodTo - goodFrom)).attr('y', 4).attr('height', rowH - 8).attr('fill', '#cdebc6');
    row.append('line').attr('class', 'threshold').attr('data-value', s.threshold).attr('x1', thr).attr('x2', thr).attr('y1', 2).attr('y2', rowH - 2).attr('stroke', '#333').attr('stroke-width', 1.5).append('title').text(`${s.metric} threshold ${fmt(s.threshold)}`);
    row.append('text').attr('x', -8).attr('y', rowH / 2 + 4).attr('text-anchor', 'end').attr('fill', 'currentColor').text(`${s.metric} ${s.direction === 'higher' ? '↑' : '↓'}`);
    row
      .selectAll('circle.score')
      .data(s.points.filter((p) => Number.isFinite(p.value)))
      .join('circle')
      .attr('class', (p) => `score ${p.passed ? 'passed' : 'failed'}`)
      .attr('data-method', (p) => p.method)
      .attr('cx', (p) => x(p.value))
      .attr('cy', rowH / 2)
      .attr('r', 5)
      .attr('fill', (p) => color(p.method))
      .attr('stroke', (p) => (p.passed ? '#1b5e20' : '#b71c1c'))
      .attr('stroke-width', 1.5)
      .append('title')
      .text((p) => `${p.method}: ${s.metric} = ${fmt(p.value)} (${p.passed ? 'passes' : 'fails'} the threshold ${fmt(s.threshold)})`);
    row.append('text').attr('x', 0).attr('y', rowH - 1).attr('font-size', 9).attr('fill', '#555').text(fmt(x.domain()[0]));
    row.append('text').attr('x', f.width).attr('y', rowH - 1).attr('font-size', 9).attr('text-anchor', 'end').attr('fill', '#555').text(fmt(x.domain()[1]));
  });
  const lg = f.g.append('g').attr('transform', `translate(0,${data.strips.length * rowH + 14})`);
  let lx = 0;
  for (const m of methods) {
    lg.append('circle').attr('cx', lx + 5).attr('cy', 0).attr('r', 5).attr('fill', color(m));
    lg.append('text').attr('x', lx + 13).attr('y', 4).attr('fill', 'currentColor').text(m);
    lx += 20 + m.length * 6.2;
  }
}
