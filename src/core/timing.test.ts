import { describe, expect, it } from 'vitest';
import { timeFastest } from './timing';

describe('timeFastest', () => {
  it('runs the function the given number of times, keeps the first value and the smallest duration', async () => {
    // a clock that advances 5, 2, 9 ms across the three runs
    const ticks = [0, 5, 10, 12, 20, 29];
    let t = 0;
    let calls = 0;
    const r = await timeFastest(async () => ++calls, 3, () => ticks[t++]);
    expect(calls).toBe(3);
    expect(r.value).toBe(1);
    expect(r.ms).toBe(2);
  });

  it('runs at least once', async () => {
    let calls = 0;
    const r = await timeFastest(async () => ++calls, 0, () => 7);
    expect(calls).toBe(1);
    expect(r).toEqual({ value: 1, ms: 0 });
  });
});
