/** Shared plot plumbing: an SVG with margins, readable number formats, a categorical palette. */
import * as d3 from 'd3';

export interface Frame {
  svg: d3.Selection<SVGSVGElement, unknown, null, undefined>;
  g: d3.Selection<SVGGElement, unknown, null, undefined>;
  width: number;
  height: number;
}

export const MARGIN = { top: 14, right: 16, bottom: 40, left: 56 };

/** Clears `el` and draws an SVG of the given outer size; returns the inner plotting group. */
export function frame(el: Element, outerWidth: number, outerHeight: number, title: string, margin = MARGIN): Frame {
  d3.select(el).selectAll('*').remove();
  const svg = d3
    .select(el)
    .append('svg')
    .attr('xmlns', 'http://www.w3.org/2000/svg')
    .attr('width', outerWidth)
    .attr('height', outerHeight)
    .attr('viewBox', `0 0 ${outerWidth} ${outerHeight}`)
    .attr('role', 'img')
    .attr('aria-label', title)
    .attr('font-family', 'system-ui, sans-serif')
    .attr('font-size', 11);
  svg.append('title').text(title);
  const g = svg.append('g').attr('transform', `translate(${margin.left},${margin.top})`);
  return { svg, g, width: outerWidth - margin.left - margin.right, height: outerHeight - margin.top - margin.bottom };
}

export const fmt = (v: number): string => (Number.isFinite(v) ? (Math.abs(v) >= 1000 || (Math.abs(v) < 0.001 && v !== 0) ? d3.format('.3~e')(v) : d3.format('.4~r')(v)) : String(v));

export const palette = d3.schemeTableau10;

export function colorFor(keys: string[]): (k: string) => string {
  const scale = d3.scaleOrdinal<string, string>().domain(keys).range(palette);
  return (k) => scale(k);
}

export function axisLabel(g: Frame['g'], text: string, x: number, y: number, rotate = false): void {
  g.append('text')
    .attr('class', 'axis-label')
    .attr('x', x)
    .attr('y', y)
    .attr('text-anchor', 'middle')
    .attr('fill', 'currentColor')
    .attr('transform', rotate ? `rotate(-90,${x},${y})` : null)
    .text(text);
}

/** A horizontal legend above the plot area. */
export function legend(g: Frame['g'], items: { key: string; color: string; dash?: string }[], width: number): void {
  const lg = g.append('g').attr('class', 'legend');
  let x = 0;
  let y = 0;
  for (const it of items) {
    const w = 22 + it.key.length * 6.2 + 10;
    if (x + w > width && x > 0) {
      x = 0;
      y += 14;
    }
    const item = lg.append('g').attr('class', 'legend-item').attr('transform', `translate(${x},${y})`);
    item.append('line').attr('x1', 0).attr('x2', 16).attr('y1', 0).attr('y2', 0).attr('stroke', it.color).attr('stroke-width', 2.5).attr('stroke-dasharray', it.dash ?? null);
    item.append('text').attr('x', 20).attr('y', 4).attr('fill', 'currentColor').text(it.key);
    x += w;
  }
}

/** Number of rows `legend` needs for these keys in this width. */
export function legendRows(keys: string[], width: number): number {
  let x = 0;
  let rows = 1;
  for (const k of keys) {
    const w = 22 + k.length * 6.2 + 10;
    if (x + w > width && x > 0) {
      x = 0;
      rows++;
    }
    x += w;
  }
  return rows;
}
