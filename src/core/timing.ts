/**
 * Timing of a repeatable computation: the fastest of a few runs (the usual benchmark convention), so
 * that one run's warm-up (kernel or shader compilation for a new shape, allocation) or a moment of
 * shared cores does not decide a comparison. The value returned is the first run's; the function
 * must be deterministic (every attribution method and the explainer are, for a given seeder).
 */
export const TIMING_REPEATS = 3;

export async function timeFastest<T>(fn: () => Promise<T>, repeats = TIMING_REPEATS, now: () => number = () => performance.now()): Promise<{ value: T; ms: number }> {
  let value!: T;
  let ms = Infinity;
  for (let i = 0; i < Math.max(1, repeats); i++) {
    const t0 = now();
    const v = await fn();
    ms = Math.min(ms, now() - t0);
    if (i === 0) value = v;
  }
  return { value, ms };
}
