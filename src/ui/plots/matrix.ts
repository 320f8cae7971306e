/**
 * The dedup cosine-similarity matrix for one sample: cell (i, j) = cos(s_i, s_j); cells at or
 * above δ are outlined; methods dropped by dedup are struck through in the labels.
 */
import * as d3 from 'd3';
import { fmt, frame } from './common';

export interface MatrixData {
  title: string;
  labels: string[];
  /** [k][k] */
  values: number[][];
  delta: number;
  /** Per label: kept by dedup. */
  kept: boolean[];
}

export function renderMatrix(el: Element, data: MatrixData, opts: { cell?: number } = {}): void {
  const k = data.labels.length;
  const cell = opts.cell ?? 34;
  const left = 130;
  const f = frame(el, left + k * cell + 80, 30 + 110 + k * cell + 10, data.title, { top: 140, right: 80, bottom: 10, left });
  f.svg.append('text').attr('class', 'plot-title').attr('x', 8).attr('y', 15).attr('font-weight', 600).attr('fill', 'currentColor').text(data.title);
  const color = d3.scaleSequential(d3.interpolateBlues).domain([-1, 1]);
  for (let i = 0; i < k; i++) {
    f.g.append('text').attr('class', data.kept[i] ? 'label kept' : 'label dropped').attr('x', -6).attr('y', i * cell + cell / 2 + 4).attr('text-anchor', 'end').attr('fill', data.kept[i] ? 'currentColor' : '#999').attr('text-decoration', data.kept[i] ? null : 'line-through').text(data.labels[i]);
    f.g.append('text').attr('transform', `translate(${i * cell + cell / 2 + 4},-6) rotate(-55)`).attr('fill', data.kept[i] ? 'currentColor' : '#999').text(data.labels[i]);
    for (let j = 0; j < k; j++) {
      const v = data.values[i][j];
      const over = i !== j && v >= data.delta;
      const g = f.g.append('g').attr('class', over ? 'cell over' : 'cell').attr('transform', `translate(${j * cell},${i * cell})`);
      g.append('rect').attr('width', cell - 1).attr('height', cell - 1).attr('fill', color(v)).attr('stroke', over ? '#c62828' : 'none').attr('stroke-width', over ? 2.5 : 0).append('title').text(`cos(${data.labels[i]}, ${data.labels[j]}) = ${fmt(v)}${over ? ` ≥ δ = ${data.delta}` : ''}`);
      g.append('text').attr('x', cell / 2).attr('y', cell / 2 + 3).attr('text-anchor', 'middle').attr('font-size', 9).attr('fill', v > 0.5 ? '#fff' : '#222').text(v.toFixed(2));
    }
  }
  // colour legend
  const lg = f.g.append('g').attr('transform', `translate(${k * cell + 14},0)`);
  const steps = 20;
  const h = k * cell;
  for (let s = 0; s < steps; s++) lg.append('rect').attr('y', (s * h) / steps).attr('width', 12).attr('height', h / steps + 0.5).attr('fill', color(1 - (2 * s) / steps));
  lg.append('text').attr('x', 16).attr('y', 8).attr('fill', 'currentColor').text('1');
  lg.append('text').attr('x', 16).attr('y', h).attr('fill', 'currentColor').text('−1');
  lg.append('text').attr('x', 16).attr('y', h / 2).attr('fill', 'currentColor').text('cos');
}
