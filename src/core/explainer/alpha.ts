/**
 * Algorithm 1 of the DeepFaith paper (dynamic joint optimisation) as a pure state machine.
 *
 * One call of `alphaStep` per iteration t — by default an epoch, with that epoch's mean L_PC over its
 * minibatch steps (option every: 'step': a minibatch step, with its L_PC); it returns the state that
 * holds α for iteration t+1 (METRICS.md "The explainer and its training"):
 * - start α = 1, not converged;
 * - once at least `window` values exist, σ² = population variance (ddof 0) of the last `window`;
 * - not converged and σ² < ε → converged, t₀ = t;
 * - σ² > C·ε → not converged, α = 1 (the window is kept);
 * - while converged, α = 1 − 1/(1 + exp(−(t − t₀)/C)) (½ at t₀, then decaying).
 * The state is plain JSON, so a checkpoint stores it as is.
 */
import type { ParamSchema } from '../params';

export interface AlphaParams {
  /** Variance threshold ε. */
  epsilon: number;
  /** Monitoring window e (number of L_PC values). */
  window: number;
  /** Scaling factor C ≥ 1. */
  C: number;
  /**
   * What one iteration t of Algorithm 1 is: 'epoch' (default; the epoch's mean L_PC over its
   * minibatch steps enters the window once, and α is held for the next epoch's steps) or 'step'
   * (every minibatch step's L_PC enters the window; converges only with full-batch steps).
   */
  every: 'epoch' | 'step';
}

export const defaults: AlphaParams = { epsilon: 1e-5, window: 5, C: 10, every: 'epoch' };

export const params: ParamSchema<AlphaParams> = {
  epsilon: { type: 'number', min: 0, minExclusive: true, max: 1, meaning: 'ε: L_PC has converged when the variance of its last `window` values is below ε.' },
  window: { type: 'int', min: 1, max: 10000, meaning: 'e: number of L_PC values in the monitoring window.' },
  C: { type: 'number', min: 1, max: 1e6, meaning: 'C: α decays with time constant C after convergence; a variance above C·ε resets α to 1.' },
  every: { type: 'choice', choices: ['epoch', 'step'], meaning: 'One iteration of Algorithm 1: an epoch (its mean L_PC enters the window) or a minibatch step.' },
};

export interface AlphaState {
  /** Steps recorded so far (the next step's index). */
  t: number;
  /** Step at which the current convergence was detected (0 before any). */
  t0: number;
  converged: boolean;
  /** α to use for the next step. */
  alpha: number;
  /** The last ≤ `window` L_PC values, oldest first. */
  recent: number[];
  /** σ² of the last window, NaN until `window` values exist. */
  variance: number;
}

export function initialAlphaState(): AlphaState {
  return { t: 0, t0: 0, converged: false, alpha: 1, recent: [], variance: NaN };
}

/** Population variance (ddof 0) in double precision. */
export function populationVariance(v: readonly number[]): number {
  if (v.length === 0) return NaN;
  let m = 0;
  for (const x of v) m += x;
  m /= v.length;
  let s = 0;
  for (const x of v) s += (x - m) * (x - m);
  return s / v.length;
}

/** Record L_PC of step `state.t` and return the state for the next step (α for step t+1). */
export function alphaStep(state: AlphaState, lossPC: number, params: AlphaParams = defaults): AlphaState {
  const { epsilon, window, C } = params;
  const t = state.t;
  const recent = [...state.recent, lossPC].slice(-window);
  let { converged, t0, alpha } = state;
  let variance = NaN;
  if (recent.length >= window) {
    variance = populationVariance(recent);
    if (!converged && variance < epsilon) {
      converged = true;
      t0 = t;
    }
    if (variance > C * epsilon) {
      converged = false;
      alpha = 1;
    }
  }
  if (converged) alpha = 1 - 1 / (1 + Math.exp(-(t - t0) / C));
  return { t: t + 1, t0, converged, alpha, recent, variance };
}
