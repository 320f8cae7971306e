/**
 * Timing of a repeatable computation: the fastest of a few runs (the usual benchmark convention), so
 * that one run's warm-up (kernel or shader compilation for a new shape, allocation) or a moment of
 * shared cores does not decide a comparison. The value returned is the first run's; the function
 * must be deterministic (every attribution method and the explainer are, for a given seeder).
 * Beside it, the rule for when one such timing counts as slower than another. tfjs-free.
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

/** Smallest per-row difference that counts: the larger of 10 % of the reference's ms per row and 1 ms over the timed rows. */
export const TIMING_RELATIVE_MARGIN = 0.1;
export const TIMING_ABSOLUTE_MARGIN_MS = 1;

/** Per-row ms by which a time must exceed the reference (the explainer's) to count as slower, timed over `rows` rows. */
export function timingNoiseMsPerRow(referenceMsPerRow: number, rows: number): number {
  return Math.max(TIMING_RELATIVE_MARGIN * referenceMsPerRow, TIMING_ABSOLUTE_MARGIN_MS / Math.max(1, rows));
}

/** Whether a per-row time is measurably slower than the reference (see {@link timingNoiseMsPerRow}). */
export function measurablySlower(msPerRow: number, referenceMsPerRow: number, rows: number): boolean {
  return msPerRow - referenceMsPerRow >= timingNoiseMsPerRow(referenceMsPerRow, rows);
}
