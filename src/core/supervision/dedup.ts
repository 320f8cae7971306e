/**
 * Dedup (METRICS.md "Prior explanations → supervision"): per sample, greedily in the job's method
 * order, keep an explanation unless its cosine similarity to an already kept one is ≥ δ.
 * The cosine with an all-zero vector is 0. Pure: works on stored explanations, so δ can change
 * without re-running or re-scoring anything.
 */

export const defaults = { delta: 0.9 };

/** Cosine similarity of two length-n rows (offsets into flat arrays); 0 if either is all zeros. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>, offA = 0, offB = 0, n = a.length - offA): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[offA + i];
    const y = b[offB + i];
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  if (aa === 0 || bb === 0) return 0;
  return ab / Math.sqrt(aa * bb);
}

export type DedupFate = { kept: true } | { kept: false; similarTo: number; cosine: number };

/**
 * explanations: K arrays [nRows, n] (job method order). Returns fates[row][method]; a dropped
 * explanation names the first kept one (in method order) it is similar to, with their cosine.
 */
export function dedup(explanations: Float32Array[], nRows: number, n: number, delta: number): DedupFate[][] {
  const out: DedupFate[][] = [];
  for (let r = 0; r < nRows; r++) {
    const kept: number[] = [];
    const fates: DedupFate[] = [];
    for (let j = 0; j < explanations.length; j++) {
      let fate: DedupFate = { kept: true };
      for (const q of kept) {
        const c = cosine(explanations[j], explanations[q], r * n, r * n, n);
        if (c >= delta) {
          fate = { kept: false, similarTo: q, cosine: c };
          break;
        }
      }
      if (fate.kept) kept.push(j);
      fates.push(fate);
    }
    out.push(fates);
  }
  return out;
}
