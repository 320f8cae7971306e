/**
 * Seeded randomness. The generator is seedrandom's Alea, seeded with the string
 * `${seed}|${unitId}|${globalRowIndex}` so that every row's draws depend only on
 * (job seed, method or metric id, global row index) — never on batching, on the `--rows`
 * slice or on the order in which methods run (METRICS.md "Randomness").
 */
import seedrandom from 'seedrandom';

export interface Rng {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** m distinct indices from 0..n-1, in draw order (partial Fisher–Yates). */
  sampleWithoutReplacement(n: number, m: number): Int32Array;
}

export function makeRng(seedString: string): Rng {
  const prng = seedrandom.alea(seedString);
  let spare: number | null = null;
  const uniform = () => prng.double();
  return {
    uniform,
    int: (n) => Math.floor(uniform() * n),
    normal: () => {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      let u = 0;
      while (u <= Number.MIN_VALUE) u = uniform();
      const v = uniform();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    sampleWithoutReplacement: (n, m) => {
      if (m > n) throw new RangeError(`cannot draw ${m} of ${n} without replacement`);
      const pool = new Int32Array(n);
      for (let i = 0; i < n; i++) pool[i] = i;
      for (let i = 0; i < m; i++) {
        const j = i + Math.floor(uniform() * (n - i));
        const t = pool[i];
        pool[i] = pool[j];
        pool[j] = t;
      }
      return pool.slice(0, m);
    },
  };
}

/** Hands out one independent stream per (unit id, global row index) under one job seed. */
export class Seeder {
  constructor(readonly seed: number) {}
  rng(unitId: string, rowIndex: number): Rng {
    return makeRng(`${this.seed}|${unitId}|${rowIndex}`);
  }
}
