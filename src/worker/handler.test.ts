import { describe, expect, it } from 'vitest';
import { progressReporter } from './handler';
import type { Response } from './protocol';

describe('progress with a time-left estimate', () => {
  it('gives no estimate in the first second, then a steady one under jittery batches', () => {
    const posted: Extract<Response, { type: 'progress' }>[] = [];
    let t = 0;
    const report = progressReporter(1, (m) => posted.push(m as never), () => t);
    // 100 units of work, alternately fast and slow batches (the raw rate swings by 4×)
    for (let done = 1; done <= 100; done++) {
      t += done % 2 ? 40 : 160;
      report('explain: lime', done, 100);
    }
    const early = posted.filter((p) => p.done < 100 && p.done > 0 && p.done * 100 < 1000);
    for (const p of early) expect(p.etaMs).toBeNull();
    const etas = posted.filter((p) => p.etaMs !== null && p.done < 100).map((p) => p.etaMs!);
    expect(etas.length).toBeGreaterThan(10);
    // steady: each estimate falls, by about the time that passed (never jumping up by more than a batch)
    for (let i = 1; i < etas.length; i++) expect(etas[i] - etas[i - 1]).toBeLessThan(200);
    // and it is right on average: 100 ms per unit of work
    const mid = posted.find((p) => p.done === 50)!;
    expect(mid.etaMs!).toBeGreaterThan(50 * 100 * 0.8);
    expect(mid.etaMs!).toBeLessThan(50 * 100 * 1.2);
    expect(posted[posted.length - 1]).toMatchObject({ done: 100, etaMs: 0 });
  });
});
