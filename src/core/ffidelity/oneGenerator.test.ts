/**
 * The fine-tuning masks and the evaluation's removals come from one generator: sampler.ts
 * `drawRemoval` is wrapped in a spy for the whole module graph, and every random removal of a
 * fine-tuning run and of an FFID± evaluation is counted through it, call by call.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { Seeder } from '../rng';
import { batchOf, mlpTask, randomRows, useBackend } from '../../../tests/helpers/models';
import * as sampler from './sampler';
import { fineTune } from './finetune';
import { FFID_MINUS, FFID_PLUS, gridSizes } from './ffid';
import { attachSurrogate, releaseFfidelity } from './context';

vi.mock('./sampler', async (importOriginal) => {
  const orig = await importOriginal<typeof import('./sampler')>();
  return { ...orig, drawRemoval: vi.fn(orig.drawRemoval) };
});

beforeAll(() => useBackend('wasm'));

describe('one mask generator', () => {
  it('fine-tuning (k ≤ K of all n features) and FFID± evaluation (m of the top-s / the others) all draw through drawRemoval', async () => {
    const spy = vi.mocked(sampler.drawRemoval);
    const n = 20;
    const rows = 6;
    const x = randomRows(rows, n, 'one-gen');
    const task = mlpTask(n, 2, x, rows, 2);
    const labels = Int32Array.from({ length: rows }, (_, r) => r % 2);
    try {
      spy.mockClear();
      const s = await fineTune({ task, rows: batchOf(x, rows), labels, seed: 3, config: { beta: 0.2, epochs: 2, maskedDraws: 3 } });
      const K = 4;
      const ft = spy.mock.calls.map(([, pool, count]) => [pool, count]);
      // 2 epochs × 6 rows training draws (pool n, k ≤ K) + 2 accuracy reports × 6 rows × 3 draws (pool n, exactly K)
      expect(ft.length).toBe(2 * rows + 2 * rows * 3);
      expect(ft.every(([pool, count]) => pool === n && count <= K)).toBe(true);
      expect(ft.filter(([, count]) => count === K).length).toBeGreaterThanOrEqual(2 * rows * 3);

      attachSurrogate(task, s);
      const expl = randomRows(rows, n, 'one-gen-s');
      for (const [metric, side] of [
        [FFID_PLUS, '+'],
        [FFID_MINUS, '-'],
      ] as const) {
        spy.mockClear();
        await metric.scoreMany(task, batchOf(x, rows), new Int32Array(rows), [expl, expl], { ...metric.defaults, beta: 0.2, draws: 5 }, new Seeder(0));
        const ev = spy.mock.calls.map(([, pool, count]) => [pool, count]);
        const sizes = Array.from(gridSizes(n, '5%'));
        // drawn once per row (shared by both explanations): 19 sizes × 5 draws
        expect(ev.length).toBe(rows * 19 * 5);
        const perRow = sizes.flatMap((sz) => new Array(5).fill([side === '+' ? sz : n - sz, side === '+' ? sampler.plusCount(sz, 0.5, K) : sampler.minusCount(n, sz, 0.5, K)]));
        expect(ev.slice(0, perRow.length)).toEqual(perRow);
      }
    } finally {
      releaseFfidelity(task); // disposes the attached surrogate
      task.model.dispose();
    }
  });

  it('no other random subset is drawn in finetune.ts or ffid.ts (their sources call no sampleInto / sampleWithoutReplacement)', () => {
    for (const f of ['finetune.ts', 'ffid.ts']) {
      const src = readFileSync(join(__dirname, f), 'utf8');
      expect(src).not.toMatch(/sampleInto|sampleWithoutReplacement/);
      expect(src).toMatch(/drawRemoval\(/);
    }
  });
});
