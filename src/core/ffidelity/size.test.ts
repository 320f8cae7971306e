/**
 * Explanation size (F-Fidelity Theorem 1) on a synthetic task with a known number c₁ of
 * informative features: g(x) = Σ_{i∈I} x_i, |I| = c₁ of n = 100, an explanation ranking I first,
 * the model as its own surrogate. FFid⁺ (probability score) rises as ⌊s/2⌋ up to c₁ and falls
 * after max(β·n/α⁺, c₁): the first knee is c₁ when c₁ < ⌈⌊β·n⌋/α⁺⌉, censored at that point when not.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Seeder } from '../rng';
import { batchOf, useBackend } from '../../../tests/helpers/models';
import { rankingExplanation, selfSurrogate, subsetSumTask } from '../../../tests/helpers/ffidelity';
import { releaseFfidelity } from './context';
import { estimateSize, explanationSize, firstKnee } from './size';

beforeAll(() => useBackend('wasm'));

async function sizeFor(c1: number, beta: number) {
  const n = 100;
  const rows = 12;
  const I = Array.from({ length: c1 }, (_, k) => (k * 7 + 3) % n); // spread over the features
  const task = selfSurrogate(subsetSumTask(n, I, rows), beta);
  try {
    return await explanationSize(task, batchOf(new Float32Array(rows * n).fill(1), rows), new Int32Array(rows), rankingExplanation(n, rows, I), new Seeder(0), { score: 'probability', draws: 20, beta }, { bootstrap: 100 });
  } finally {
    releaseFfidelity(task);
    task.model.dispose();
  }
}

describe('explanation size from a dense FFid⁺ curve', () => {
  it('firstKnee: the first point within tolerance of the max; none for a flat curve', () => {
    expect(firstKnee([0, 1, 2, 3, 3, 2.9, 1], 0.05)).toBe(3);
    expect(firstKnee([0, 1, 2, 3, 3, 2.9, 1], 0.4)).toBe(2);
    expect(firstKnee([2, 2, 2])).toBe(-1);
    expect(() => estimateSize([[1, 2]], 100, '1%')).toThrow(/99-point/);
  });

  it('recovers c₁ = 10 of 100 informative features exactly, with a bootstrap interval [10, 10] (β = 0.1: the cap binds at s = 20)', async () => {
    const est = await sizeFor(10, 0.1);
    expect(est.size).toBe(10);
    expect(est.fraction).toBe(0.1);
    expect(est.interval).toEqual([10, 10]);
    expect(est.capBindsAt).toBe(20);
    expect(est.censored).toBe(false);
    expect(est.curve[8]).toBe(4); // s = 9: ⌊9/2⌋ informative removed, exactly
    expect(est.curve[9]).toBe(5); // s = 10
  }, 60_000);

  it('c₁ = 30 with β = 0.3 (cap binds at 60): 30; with β = 0.1 the knee stops at the cap (20) and is flagged censored', async () => {
    const wide = await sizeFor(30, 0.3);
    expect(wide.size).toBe(30);
    expect(wide.interval).toEqual([30, 30]);
    expect(wide.censored).toBe(false);
    const capped = await sizeFor(30, 0.1);
    expect(capped.size).toBe(20);
    expect(capped.censored).toBe(true);
  }, 60_000);
});
