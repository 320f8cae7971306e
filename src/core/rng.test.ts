/**
 * The project's Alea is seedrandom's Alea bit for bit: the same draws for the same seed string,
 * whether seeded from a string (makeRng) or from (seed, unit, row) without building one (Seeder).
 */
import { describe, expect, it } from 'vitest';
import seedrandom from 'seedrandom';
import { makeRng, Seeder } from './rng';

/** The generator before this file reimplemented it: seedrandom.alea with the same helpers. */
function reference(seedString: string) {
  const prng = seedrandom.alea(seedString);
  let spare: number | null = null;
  const uniform = () => prng.double();
  return {
    uniform,
    int: (n: number) => Math.floor(uniform() * n),
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
    sample: (n: number, m: number) => {
      const pool = new Int32Array(n);
      for (let i = 0; i < n; i++) pool[i] = i;
      for (let i = 0; i < m; i++) {
        const j = i + Math.floor(uniform() * (n - i));
        const t = pool[i];
        pool[i] = pool[j];
        pool[j] = t;
      }
      return Array.from(pool.slice(0, m));
    },
  };
}

type Draws = (number | number[])[];
function drawsOf(r: { uniform(): number; int(n: number): number; normal(): number }, sample: (n: number, m: number) => number[]): Draws {
  const out: Draws = [];
  for (let k = 0; k < 3; k++) out.push(r.uniform(), r.normal(), r.int(1000), sample(30, 7), r.normal(), sample(5, 5), sample(40, 1));
  return out;
}

describe('rng: the draws of seedrandom.alea', () => {
  const seeds = [0, 1, 7, 42, -3, 1.5, 123456789, 2 ** 40, 1e21, -0];
  const units = ['FC', 'INF', 'MC', 'lime', 'kernel-shap', 'smoothgrad', 'gradient-shap', 'random', 'lc|x', 'ü-unit'];
  const rows = [0, 1, 9, 10, 11, 99, 100, 12345, 999999, 2 ** 31, Number.MAX_SAFE_INTEGER];

  it('Seeder.rng(unit, row) = seedrandom.alea(`${seed}|${unit}|${row}`), draw for draw', () => {
    for (const seed of seeds)
      for (const unit of units)
        for (const row of rows) {
          const want = reference(`${seed}|${unit}|${row}`);
          const got = new Seeder(seed).rng(unit, row);
          expect(drawsOf(got, (n, m) => Array.from(got.sampleWithoutReplacement(n, m)))).toEqual(drawsOf(want, want.sample));
        }
  });

  it('one Seeder reused across units and rows gives the same streams as fresh ones; odd row indices fall back to the string', () => {
    const seeder = new Seeder(5);
    for (let k = 0; k < 3; k++)
      for (const unit of ['MC', 'FC'])
        for (const row of [3, 30, 300, -1, 2.5, NaN]) {
          const want = reference(`5|${unit}|${row}`);
          const got = seeder.rng(unit, row);
          expect([got.uniform(), got.uniform(), got.normal()]).toEqual([want.uniform(), want.uniform(), want.normal()]);
        }
  });

  it('makeRng(s) = seedrandom.alea(s) for any string', () => {
    for (const s of ['', 'x', 'bench-data', 'split|iris|0', '0|explainer-init|layer/kernel', 'ü€𝄞']) {
      const want = reference(s);
      const got = makeRng(s);
      expect(drawsOf(got, (n, m) => Array.from(got.sampleWithoutReplacement(n, m)))).toEqual(drawsOf(want, want.sample));
    }
  });

  it('sampleInto writes the draw of sampleWithoutReplacement in place, again and again, and refuses m > n', () => {
    const a = new Seeder(3).rng('FC', 4);
    const b = new Seeder(3).rng('FC', 4);
    const out = new Int32Array(100).fill(-1);
    for (let j = 0; j < 20; j++) {
      const n = 5 + (j % 7) * 10;
      const m = 1 + (j % 4);
      a.sampleInto(n, m, out, j * 4);
      expect(Array.from(out.subarray(j * 4, j * 4 + m))).toEqual(Array.from(b.sampleWithoutReplacement(n, m)));
    }
    expect(out[3]).toBe(-1); // nothing written past m
    expect(() => a.sampleInto(3, 4, out)).toThrow(RangeError);
  });
});
