import { describe, expect, it } from 'vitest';
import { alphaStep, initialAlphaState, populationVariance, type AlphaParams, type AlphaState } from '../src/core/explainer/alpha';

const P: AlphaParams = { epsilon: 1e-5, window: 5, C: 10, every: 'step' };
const sigmoidDecay = (t: number, t0: number, C: number) => 1 - 1 / (1 + Math.exp(-(t - t0) / C));

function run(seq: number[], p = P): AlphaState[] {
  const states: AlphaState[] = [];
  let s = initialAlphaState();
  for (const v of seq) {
    s = alphaStep(s, v, p);
    states.push(s);
  }
  return states;
}

describe('Algorithm 1 state machine', () => {
  it('population variance uses ddof 0', () => {
    expect(populationVariance([1, 2, 3, 4])).toBeCloseTo(1.25, 12);
  });

  it('a flat L_PC converges once the window fills; α then follows 1 − 1/(1+exp(−(t−t₀)/C))', () => {
    const states = run(new Array(30).fill(0.5));
    for (let t = 0; t < 4; t++) {
      expect(states[t].converged).toBe(false);
      expect(states[t].alpha).toBe(1);
    }
    expect(states[4].converged).toBe(true);
    expect(states[4].t0).toBe(4);
    expect(states[4].alpha).toBeCloseTo(0.5, 12);
    for (let t = 4; t < 30; t++) expect(states[t].alpha).toBeCloseTo(sigmoidDecay(t, 4, 10), 12);
    expect(states[29].alpha).toBeLessThan(0.1);
  });

  it('a spike above Cε resets α to 1 and clears the flag; the next convergence sets a new t₀ (α is ½ again)', () => {
    const seq = [...new Array(10).fill(0.5), 0.6, ...new Array(10).fill(0.5)];
    const states = run(seq);
    expect(states[9].converged).toBe(true);
    expect(states[9].alpha).toBeCloseTo(sigmoidDecay(9, 4, 10), 12);
    // step 10: window [0.5,0.5,0.5,0.5,0.6], σ² = 0.0016 > Cε = 1e-4
    expect(states[10].variance).toBeCloseTo(0.0016, 10);
    expect(states[10].converged).toBe(false);
    expect(states[10].alpha).toBe(1);
    // the spike stays in the window for steps 10..14; flat again from step 15
    for (let t = 11; t <= 14; t++) {
      expect(states[t].converged).toBe(false);
      expect(states[t].alpha).toBe(1);
    }
    expect(states[15].converged).toBe(true);
    expect(states[15].t0).toBe(15);
    expect(states[15].alpha).toBeCloseTo(0.5, 12);
    expect(states[20].alpha).toBeCloseTo(sigmoidDecay(20, 15, 10), 12);
  });

  it('between ε and Cε: a converged run keeps decaying, an unconverged one stays at α = 1', () => {
    // alternate ±d around 0.5: the window's variance is d²·(1 − 1/25) = 0.96 d² for window 5
    const d = Math.sqrt(3e-5 / 0.96); // σ² = 3e-5, inside (ε, Cε]
    const wobble = Array.from({ length: 10 }, (_, i) => 0.5 + (i % 2 ? d : -d));
    const fromFlat = run([...new Array(8).fill(0.5), ...wobble]);
    expect(fromFlat[17].variance).toBeGreaterThan(P.epsilon);
    expect(fromFlat[17].variance).toBeLessThan(P.C * P.epsilon);
    expect(fromFlat[17].converged).toBe(true);
    expect(fromFlat[17].alpha).toBeCloseTo(sigmoidDecay(17, 4, 10), 12);
    const neverFlat = run(wobble);
    for (const s of neverFlat) {
      expect(s.converged).toBe(false);
      expect(s.alpha).toBe(1);
    }
  });

  it('state is plain JSON: a restored state continues identically', () => {
    const seq = Array.from({ length: 40 }, (_, i) => 0.3 + 0.2 * Math.exp(-i / 3));
    const full = run(seq);
    let s = JSON.parse(JSON.stringify(full[19])) as AlphaState;
    for (let i = 20; i < 40; i++) {
      s = alphaStep(s, seq[i], P);
      expect(s).toEqual(full[i]);
    }
  });
});
