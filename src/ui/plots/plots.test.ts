// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { renderBars } from './bars';
import { integerTicks, renderLines } from './lines';
import { renderStrips } from './strips';
import { renderMatrix } from './matrix';

function host(): HTMLElement {
  const el = document.createElement('div');
  document.body.appendChild(el);
  return el;
}

describe('renderBars', () => {
  it('draws one bar per feature, signed, with hover values and a shared scale', () => {
    const a = host();
    const b = host();
    renderBars(a, { title: 'IG', features: ['f0', 'f1', 'f2'], values: [0.5, -0.25, 0] }, { domain: [-1, 1] });
    renderBars(b, { title: 'LIME', features: ['f0', 'f1', 'f2'], values: [1, 0.1, -1] }, { domain: [-1, 1] });
    const bars = [...a.querySelectorAll('rect.bar')];
    expect(bars.map((r) => r.getAttribute('data-feature'))).toEqual(['f0', 'f1', 'f2']);
    expect(bars[0].getAttribute('fill')).not.toBe(bars[1].getAttribute('fill'));
    expect(bars[0].querySelector('title')!.textContent).toContain('0.5');
    const w = (el: HTMLElement, i: number) => Number(el.querySelectorAll('rect.bar')[i].getAttribute('width'));
    // shared domain: value 1 in chart b is twice as wide as 0.5 in chart a
    expect(w(b, 0) / w(a, 0)).toBeCloseTo(2, 5);
    expect(a.querySelector('.x-axis')).not.toBeNull();
    expect(a.textContent).toContain('attribution');
  });

  it('sorts by magnitude when asked', () => {
    const a = host();
    renderBars(a, { title: 'x', features: ['a', 'b', 'c'], values: [0.1, -0.9, 0.5] }, { sort: 'magnitude' });
    const ys = [...a.querySelectorAll('rect.bar')].map((r) => [r.getAttribute('data-feature'), Number(r.getAttribute('y'))] as const);
    ys.sort((p, q) => p[1] - q[1]);
    expect(ys.map((p) => p[0])).toEqual(['b', 'c', 'a']);
  });
});

describe('renderLines', () => {
  it('draws a point per value per series, a legend, events and the highlighted point', () => {
    const el = host();
    renderLines(
      el,
      {
        title: 'Deletion',
        series: [
          { key: 'IG', points: [0, 0.5, 1].map((x, i) => ({ x, y: [0.9, 0.4, 0.1][i] })) },
          { key: 'alpha', points: [{ x: 0, y: 1 }, { x: 1, y: 0.5 }], right: true },
        ],
        events: [{ x: 0.5, label: 'converged' }],
        highlight: { key: 'IG', x: 0.5, y: 0.4 },
      },
      { xLabel: 'fraction removed', yLabel: 'p', yRightLabel: 'α' },
    );
    expect(el.querySelectorAll('.series[data-key="IG"] circle.pt')).toHaveLength(3);
    expect(el.querySelectorAll('.series[data-key="alpha"] circle.pt')).toHaveLength(2);
    expect(el.querySelectorAll('.legend-item')).toHaveLength(2);
    expect(el.querySelector('line.event')!.getAttribute('data-label')).toBe('converged');
    expect(Number(el.querySelector('circle.highlight')!.getAttribute('data-y'))).toBeCloseTo(0.4);
    expect(el.querySelector('.y-axis-right')).not.toBeNull();
    expect(el.textContent).toContain('fraction removed');
  });
});

describe('renderStrips', () => {
  it('puts the red range below the threshold for ↑ metrics and above it for ↓', () => {
    const el = host();
    renderStrips(el, {
      title: 'Sample 0',
      strips: [
        { metric: 'FC', direction: 'higher', threshold: 0.2, points: [{ method: 'a', value: 0.1, passed: false }, { method: 'b', value: 0.5, passed: true }] },
        { metric: 'DEL', direction: 'lower', threshold: 0.3, points: [{ method: 'a', value: 0.1, passed: true }, { method: 'b', value: 0.5, passed: false }] },
      ],
    });
    const fc = el.querySelector('.strip[data-metric="FC"]')!;
    const del = el.querySelector('.strip[data-metric="DEL"]')!;
    const thr = (s: Element) => Number(s.querySelector('line.threshold')!.getAttribute('x1'));
    expect(Number(fc.querySelector('rect.filtered-range')!.getAttribute('x'))).toBe(0);
    expect(Number(fc.querySelector('rect.kept-range')!.getAttribute('x'))).toBeCloseTo(thr(fc));
    expect(Number(del.querySelector('rect.filtered-range')!.getAttribute('x'))).toBeCloseTo(thr(del));
    expect(fc.querySelectorAll('circle.passed')).toHaveLength(1);
    expect(fc.querySelector('circle.failed')!.getAttribute('data-method')).toBe('a');
  });

  it('labels each strip\'s value axis with the metric and its direction, min/max numbers below the band', () => {
    const el = host();
    renderStrips(el, {
      title: 'Sample 0',
      strips: [
        { metric: 'FC', direction: 'higher', threshold: 0.2, points: [{ method: 'a', value: 0.1, passed: false }, { method: 'b', value: 0.5, passed: true }] },
        { metric: 'DEL', direction: 'lower', threshold: 0.3, points: [{ method: 'a', value: 0.1, passed: true }, { method: 'b', value: 0.5, passed: false }] },
      ],
    });
    const fc = el.querySelector('.strip[data-metric="FC"]')!;
    const del = el.querySelector('.strip[data-metric="DEL"]')!;
    expect(fc.querySelector('.value-axis .axis-label')!.textContent).toBe('FC metric score (↑ higher is better)');
    expect(del.querySelector('.value-axis .axis-label')!.textContent).toBe('DEL metric score (↓ lower is better)');
    // min and max sit on the axis, below the coloured band (not on top of it)
    const ticks = [...fc.querySelectorAll('.value-axis text.tick-label')];
    expect(ticks.map((t) => Number(t.textContent))).toEqual([expect.closeTo(0.068, 3), expect.closeTo(0.532, 3)]);
    const bandBottom = Number(fc.querySelector('rect.kept-range')!.getAttribute('y')) + Number(fc.querySelector('rect.kept-range')!.getAttribute('height'));
    const axisY = Number(/translate\(0,([\d.]+)\)/.exec(fc.querySelector('.value-axis')!.getAttribute('transform')!)![1]);
    expect(axisY).toBeGreaterThanOrEqual(bandBottom);
    expect(Number(ticks[0].getAttribute('y'))).toBeGreaterThan(0);
  });
});

describe('renderMatrix', () => {
  it('outlines the off-diagonal cells at or above δ', () => {
    const el = host();
    renderMatrix(el, { title: 'cos', labels: ['a', 'b', 'c'], values: [[1, 0.95, 0.1], [0.95, 1, 0.2], [0.1, 0.2, 1]], delta: 0.9, kept: [true, false, true] });
    expect(el.querySelectorAll('g.cell')).toHaveLength(9);
    expect(el.querySelectorAll('g.cell.over')).toHaveLength(2);
    expect(el.querySelector('text.label.dropped')!.textContent).toBe('b');
  });
});

describe('integer step ticks', () => {
  it('never gives a fractional tick, even for a short range', () => {
    expect(integerTicks([0, 3], 6)).toEqual([0, 1, 2, 3]);
    expect(integerTicks([-1, 1], 6)).toEqual([-1, 0, 1]);
    const long = integerTicks([0, 157], 6);
    expect(long.every(Number.isInteger)).toBe(true);
    expect(long.length).toBeGreaterThan(2);
    const el = host();
    renderLines(el, { title: 't', series: [{ key: 'L', points: [0, 1, 2, 3].map((x) => ({ x, y: x })) }] }, { xLabel: 'step', yLabel: 'loss', integerX: true });
    const ticks = [...el.querySelectorAll('.x-axis .tick text')].map((t) => t.textContent);
    expect(ticks).toEqual(['0', '1', '2', '3']);
  });
});
