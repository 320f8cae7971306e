/**
 * F-Fidelity and its baselines as metrics (docs/ffidelity.md; F-Fidelity §2.3, §3, Algorithm 1):
 *
 * | id | model | removal at size s | direction |
 * |---|---|---|---|
 * | FFID+ | fine-tuned surrogate | m⁺ = min(⌊α⁺·s⌋, ⌊β·n⌋) random features of the top-s, N draws | ↑ |
 * | FFID- | fine-tuned surrogate | m⁻ = min(⌈α⁻·(n−s)⌉, ⌊β·n⌋) random features of the other n−s, N draws | ↓ |
 * | RFID+ | original | ⌊α⁺·s⌋ random of the top-s (R-Fidelity: no cap), N draws | ↑ |
 * | RFID- | original | ⌈α⁻·(n−s)⌉ random of the others, N draws | ↓ |
 * | FID+ | original | all of the top-s (deterministic) | ↑ |
 * | FID- | original | all n−s others: only the top-s kept (deterministic) | ↓ |
 *
 * Sizes: ρ ∈ {5%, 10%, …, 95%} (grid '5%', 19 levels) or {1%, …, 99%} (grid '1%', 99 levels);
 * s = ⌊ρ·n + ½⌋ (round half up, in integers) clipped to [1, n − 1]. Top-s = the first s features
 * of π = argsort_desc(s), ties → lower index (METRICS.md "Curves").
 * Point at size s, per sample (c = the row's target class, as for the ten metrics — the dataset
 * label under `target: label`, which is the paper's setting):
 *   score 'accuracy' (the paper's):    1(c = f(x)) − (1/N) Σ_k 1(c = f(χ_k))
 *   score 'probability' (variant):      p_c(x) − (1/N) Σ_k p_c(χ_k)
 * f = argmax of the model's output (task output mode; ties → lower class). A size whose count is
 * 0 (e.g. m⁺ at s = 1 with α⁺ = ½) removes nothing: its point is exactly 0 and costs no model row.
 * Value = trapezoid AUC of the points over the grid at x evenly spaced on [0, 1] (= the area over
 * ρ ∈ [5%, 95%] divided by 0.9); `curves` carries the per-sample points.
 * Draws: the rank positions removed at every (size, draw) come from
 * `seeder.rng(<metric id>, rowIndex)` through `drawRemoval` (sampler.ts, shared with the
 * fine-tuning), in a fixed order, so every explanation of a row sees the same positions.
 * All inputs of all rows and explanations go through the model in large batches.
 */
import { UserError } from '../errors';
import { resolveParams, type ParamSchema, type Params } from '../params';
import type { Seeder } from '../rng';
import { checkpoint } from '../yield';
import { argmax, type Batch, type Progress, type Task } from '../task/task';
import { rowBaselines } from '../task/featureSpace';
import type { TargetModel } from '../task/model';
import { sortOrders, trapezoidAuc } from '../metrics/curves';
import type { MetricResult } from '../metrics/types';
import { drawRemoval, minusCount, plusCount, removalCap, writeRemoved } from './sampler';
import { finetuneConfig, finetuneDefaults, finetuneParams, graphModelError, type FinetuneConfig } from './finetune';
import { surrogateFor } from './context';
import type { ExtraMetric, ExtraMetricInfo } from './types';
import * as tf from '@tensorflow/tfjs';

export const GRIDS = ['5%', '1%'] as const;
export type Grid = (typeof GRIDS)[number];
export const SCORES = ['accuracy', 'probability'] as const;
export type FidelityScore = (typeof SCORES)[number];
export type Side = '+' | '-';

/** The size fractions ρ of a grid: j/20 (j = 1..19) or j/100 (j = 1..99). */
export function gridLevels(grid: Grid): number[] {
  const den = grid === '1%' ? 100 : 20;
  return Array.from({ length: den - 1 }, (_, i) => (i + 1) / den);
}

/** s per level: ⌊ρ·n + ½⌋ clipped to [1, n−1], computed in integers (ρ = j/den). */
export function gridSizes(n: number, grid: Grid): Int32Array {
  const den = grid === '1%' ? 100 : 20;
  return Int32Array.from({ length: den - 1 }, (_, i) => Math.min(n - 1, Math.max(1, Math.floor((2 * (i + 1) * n + den) / (2 * den)))));
}

/** How one fidelity metric removes features. */
export interface FidelityPlan {
  /** Unit id of its draws (the metric id). */
  unitId: string;
  side: Side;
  /** 'random': m of the pool, N draws; 'all': the whole pool, one input. */
  removal: 'random' | 'all';
  /** α⁺ or α⁻ (random removal). */
  alpha: number;
  /** Most features removed per input (⌊β·n⌋ for FFID; n = no cap). */
  cap: number;
  draws: number;
  score: FidelityScore;
  grid: Grid;
}

/** Per level: the pool size (top-s or the others) and the count removed from it. */
export function planCounts(n: number, plan: Pick<FidelityPlan, 'side' | 'removal' | 'alpha' | 'cap' | 'grid'>): { sizes: Int32Array; pool: Int32Array; count: Int32Array } {
  const sizes = gridSizes(n, plan.grid);
  const pool = Int32Array.from(sizes, (s) => (plan.side === '+' ? s : n - s));
  const count = Int32Array.from(sizes, (s, j) => (plan.removal === 'all' ? pool[j] : plan.side === '+' ? plusCount(s, plan.alpha, plan.cap) : minusCount(n, s, plan.alpha, plan.cap)));
  return { sizes, pool, count };
}

/**
 * Model inputs per (row, explanation) of a fidelity metric (id FFID±, RFID±, FID±) with these
 * params on n features: N per size whose count is not 0 (one per size for FID). The cost model
 * (core/estimate.ts) counts with it, so it is the number fidelityScores sends.
 */
export function fidelityInputsPerUnit(id: string, params: Params, n: number): number {
  const family = id.slice(0, id.length - 1);
  const side = id.endsWith('+') ? '+' : '-';
  const random = family !== 'FID';
  const cap = family === 'FFID' ? removalCap(n, Number(params.beta ?? ffidDefaults.beta)) : n;
  const { count } = planCounts(n, { side, removal: random ? 'random' : 'all', alpha: Number(params.alpha ?? rfidDefaults.alpha), cap, grid: (params.grid ?? fidDefaults.grid) as Grid });
  const N = random ? Number(params.draws ?? rfidDefaults.draws) : 1;
  return count.reduce((a, m) => a + (m > 0 ? N : 0), 0);
}

/** Float32 values held in one group of perturbed inputs (32 MiB), rounded to whole (row, explanation) units. */
export const FIDELITY_GROUP_BUDGET = 1 << 23;

/**
 * The fidelity curves and AUCs of every explanation on `model` (the surrogate or the original).
 * Result per explanation. modelCalls: rows the model evaluated (the clean pass under explanation 0).
 */
export async function fidelityScores(
  model: TargetModel,
  task: Task,
  batch: Batch,
  target: Int32Array,
  explanations: Float32Array[],
  plan: FidelityPlan,
  seeder: Seeder,
  onProgress?: Progress,
  signal?: AbortSignal,
  budget = FIDELITY_GROUP_BUDGET,
): Promise<MetricResult[]> {
  const n = task.nFeatures;
  const d = task.inputSize;
  const C = task.nClasses;
  const nRows = batch.nRows;
  const nExpl = explanations.length;
  if (n < 2) throw new UserError(`F-Fidelity needs at least 2 features to split into an explanation and the rest; this task has ${n}.`, 'Use a task with more features.');
  if (batch.x.length !== nRows * d) throw new Error(`fidelity: the batch has ${batch.x.length} values, expected ${nRows} × ${d}`);
  if (target.length !== nRows) throw new Error(`fidelity: ${target.length} targets for ${nRows} rows`);
  for (const s of explanations)
    if (s.length !== nRows * n) throw new UserError(`An explanation has ${s.length} values but ${nRows} rows × ${n} features need ${nRows * n}.`, 'Score explanations made for these rows of this task.');
  for (let r = 0; r < nRows; r++)
    if (!(target[r] >= 0 && target[r] < C)) throw new UserError(`Target class ${target[r]} of row ${batch.rowIndex[r]} is not a class of the model (it has ${C}).`, 'Use targets from the model or the data labels.');
  const { pool, count } = planCounts(n, plan);
  const L = pool.length;
  const N = plan.removal === 'random' ? plan.draws : 1;
  const inputsPerLevel = Int32Array.from(count, (m) => (m > 0 ? N : 0));
  const perUnit = inputsPerLevel.reduce((a, b) => a + b, 0); // inputs per (row, explanation)
  const results: MetricResult[] = explanations.map(() => ({ perSample: new Float32Array(nRows), curves: new Array<Float32Array>(nRows), modelCalls: 0 }));
  if (nRows === 0) return results;

  // clean pass on the scoring model
  const clean = await model.predict(batch.x, nRows, task.output); // [nRows, C]
  results[0].modelCalls += nRows;
  const baselineOf = rowBaselines(task.space, task.baseline); // row → its x° [inputSize]
  const mask = new Uint8Array(n);

  // rank positions of every (level, draw) of a row: explanation-independent, drawn once per row
  const posOffset = new Int32Array(L + 1);
  for (let j = 0; j < L; j++) posOffset[j + 1] = posOffset[j] + (plan.removal === 'random' ? N * count[j] : 0);
  let posRow = -1;
  const positions = new Int32Array(Math.max(1, posOffset[L]));
  const drawRow = (r: number) => {
    if (posRow === r || plan.removal !== 'random') return;
    const rng = seeder.rng(plan.unitId, batch.rowIndex[r]);
    for (let j = 0; j < L; j++) for (let k = 0; k < N; k++) drawRemoval(rng, pool[j], count[j], positions, posOffset[j] + k * count[j]);
    posRow = r;
  };

  const unitsPerGroup = Math.max(1, Math.floor(budget / Math.max(1, perUnit * d)));
  const totalUnits = nRows * nExpl;
  const feats = new Int32Array(n);
  let buf = new Float32Array(0);
  for (let u0 = 0; u0 < totalUnits; u0 += unitsPerGroup) {
    await checkpoint(signal);
    const u1 = Math.min(totalUnits, u0 + unitsPerGroup);
    const m = (u1 - u0) * perUnit;
    if (buf.length < m * d) buf = new Float32Array(m * d);
    let w = 0;
    for (let u = u0; u < u1; u++) {
      const r = Math.floor(u / nExpl);
      const e = u % nExpl;
      drawRow(r);
      const x = batch.x.subarray(r * d, (r + 1) * d);
      const x0 = baselineOf(x); // [inputSize]
      const pi = sortOrders(explanations[e].subarray(r * n, (r + 1) * n)).desc;
      for (let j = 0; j < L; j++) {
        if (count[j] === 0) continue;
        const start = plan.side === '+' ? 0 : n - pool[j]; // top-s: π[0..s); others: π[s..n)
        for (let k = 0; k < N; k++) {
          if (plan.removal === 'all') for (let q = 0; q < count[j]; q++) feats[q] = pi[start + q];
          else for (let q = 0; q < count[j]; q++) feats[q] = pi[start + positions[posOffset[j] + k * count[j] + q]];
          writeRemoved(task.space, buf, w++, x, x0, feats, count[j], mask);
        }
      }
    }
    const out = m > 0 ? await model.predict(buf.subarray(0, m * d), m, task.output) : new Float32Array(0); // [m, C]
    let o = 0;
    for (let u = u0; u < u1; u++) {
      const r = Math.floor(u / nExpl);
      const e = u % nExpl;
      const c = target[r];
      const p0 = clean[r * C + c];
      const acc0 = argmax(clean, r * C, C) === c ? 1 : 0;
      const curve = new Float32Array(L);
      for (let j = 0; j < L; j++) {
        if (count[j] === 0) continue; // nothing removed: the point is 0
        let acc = 0;
        for (let k = 0; k < N; k++, o++) acc += plan.score === 'accuracy' ? (argmax(out, o * C, C) === c ? 1 : 0) : out[o * C + c];
        curve[j] = (plan.score === 'accuracy' ? acc0 : p0) - acc / N;
      }
      results[e].curves![r] = curve;
      results[e].perSample[r] = trapezoidAuc(curve);
      results[e].modelCalls += perUnit;
    }
    onProgress?.(u1, totalUnits);
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// The metrics

export interface FidParams {
  [key: string]: number | string;
  /** 'accuracy' (the paper's) or 'probability' (the drop in p_c). */
  score: FidelityScore;
  /** Size grid: '5%' (the paper's 5..95%) or '1%' (dense, for the size estimate). */
  grid: Grid;
}

export interface RfidParams extends FidParams {
  /** α⁺ (RFID+) or α⁻ (RFID-): the fraction of the pool removed. */
  alpha: number;
  /** N: random draws per size. */
  draws: number;
}

export interface FfidParams extends RfidParams {
  /** β: at most ⌊β·n⌋ features removed; the surrogate is fine-tuned with the same β. */
  beta: number;
  finetuneEpochs: number;
  finetuneLearningRate: number;
  finetuneBatchSize: number;
}

const fidDefaults: FidParams = { score: 'accuracy', grid: '5%' };
const rfidDefaults: RfidParams = { ...fidDefaults, alpha: 0.5, draws: 50 };
/** The paper's defaults (Appendix C): β = 0.1, α⁺ = α⁻ = 0.5, N = 50. */
const ffidDefaults: FfidParams = {
  ...rfidDefaults,
  beta: finetuneDefaults.beta,
  finetuneEpochs: finetuneDefaults.epochs,
  finetuneLearningRate: finetuneDefaults.learningRate,
  finetuneBatchSize: finetuneDefaults.batchSize,
};

const fidParams: ParamSchema<FidParams> = {
  score: { type: 'choice', choices: SCORES, meaning: 'accuracy: drop in accuracy against the target class (the paper); probability: drop in p_c.' },
  grid: { type: 'choice', choices: GRIDS, meaning: 'Explanation sizes s/n: 5%..95% in steps of 5% (the paper) or 1%..99% in steps of 1%.' },
};
const rfidParams: ParamSchema<RfidParams> = {
  ...fidParams,
  alpha: { type: 'number', min: 0, minExclusive: true, max: 1, meaning: 'α: fraction of the top-s (+) or of the others (−) removed at random.' },
  draws: { type: 'int', min: 1, max: 10000, meaning: 'N: random removals per size and sample.' },
};
const ffidParams: ParamSchema<FfidParams> = {
  ...rfidParams,
  beta: finetuneParams.beta,
  finetuneEpochs: { ...finetuneParams.epochs, meaning: 'Fine-tuning passes of the surrogate over the task\'s rows.' },
  finetuneLearningRate: { ...finetuneParams.learningRate },
  finetuneBatchSize: { ...finetuneParams.batchSize },
};

function fidInfo(needsSurrogate: boolean): ExtraMetricInfo {
  return { kind: 'curve', family: 'f-fidelity', curveX: 'size', needsSurrogate, needsLayers: false, canBeNaN: false };
}

type Family = 'FFID' | 'RFID' | 'FID';

/** The fine-tuning settings an FFID metric's params ask for. */
export function ffidFinetuneConfig(p: FfidParams): FinetuneConfig {
  return finetuneConfig({ beta: p.beta, epochs: p.finetuneEpochs, learningRate: p.finetuneLearningRate, batchSize: p.finetuneBatchSize });
}

function makeFidelity<P extends FidParams>(family: Family, side: Side): ExtraMetric<P> {
  const id = `${family}${side}`;
  const defaults = (family === 'FFID' ? ffidDefaults : family === 'RFID' ? rfidDefaults : fidDefaults) as unknown as P;
  const params = (family === 'FFID' ? ffidParams : family === 'RFID' ? rfidParams : fidParams) as unknown as ParamSchema<P>;
  const what = side === '+' ? 'of the top-s features' : 'of the features outside the top-s';
  const description =
    family === 'FFID'
      ? `F-Fidelity${side === '+' ? '⁺' : '⁻'}: on a copy fine-tuned with up to ⌊β·n⌋ random removals, the drop when removing ${side === '+' ? 'min(⌊α·s⌋, ⌊β·n⌋)' : 'min(⌈α·(n−s)⌉, ⌊β·n⌋)'} random features ${what}; AUC over s = 5..95% of n.`
      : family === 'RFID'
        ? `R-Fidelity${side === '+' ? '⁺' : '⁻'}: on the original model, the drop when removing ${side === '+' ? '⌊α·s⌋' : '⌈α·(n−s)⌉'} random features ${what}; AUC over s.`
        : `Fidelity${side === '+' ? '⁺' : '⁻'}: on the original model, the drop when removing all features ${what}; AUC over s.`;
  const unit: ExtraMetric<P> = {
    id,
    label: `${family === 'FFID' ? 'F-Fidelity' : family === 'RFID' ? 'R-Fidelity' : 'Fidelity'} ${side === '+' ? '+' : '−'}`,
    description,
    direction: side === '+' ? 'higher' : 'lower',
    defaults,
    params,
    info: fidInfo(family === 'FFID'),
    paper: {},
    async scoreMany(task, batch, target, explanations, given, seeder, onProgress, signal) {
      const p = resolveParams({ id, kind: 'Metric', defaults: defaults as Params, params: params as never }, given, task.nFeatures) as unknown as P;
      const n = task.nFeatures;
      let model = task.model;
      let cap = n;
      if (family === 'FFID') {
        const fp = p as unknown as FfidParams;
        if (!(task.model.model instanceof tf.LayersModel)) throw graphModelError();
        cap = removalCap(n, fp.beta);
        if (cap < 1)
          throw new UserError(`${id} with β = ${fp.beta} on ${n} features removes at most ⌊β·n⌋ = 0 features, so it would measure nothing.`, `Set ${id}.beta ≥ ${(1 / n).toPrecision(3)} (β·n ≥ 1).`);
        const sur = await surrogateFor(task, ffidFinetuneConfig(fp), seeder.seed, { rows: batch, labels: target }, signal);
        model = sur.model;
      }
      const plan: FidelityPlan = {
        unitId: id,
        side,
        removal: family === 'FID' ? 'all' : 'random',
        alpha: family === 'FID' ? 1 : (p as unknown as RfidParams).alpha,
        cap,
        draws: family === 'FID' ? 1 : (p as unknown as RfidParams).draws,
        score: p.score as FidelityScore,
        grid: p.grid as Grid,
      };
      return fidelityScores(model, task, batch, target, explanations, plan, seeder, onProgress, signal);
    },
    score(task, batch, s, target, given, seeder, onProgress, signal) {
      return unit.scoreMany(task, batch, target, [s], given, seeder, onProgress, signal).then((r) => r[0]);
    },
  };
  return unit;
}

export const FFID_PLUS = makeFidelity<FfidParams>('FFID', '+');
export const FFID_MINUS = makeFidelity<FfidParams>('FFID', '-');
export const RFID_PLUS = makeFidelity<RfidParams>('RFID', '+');
export const RFID_MINUS = makeFidelity<RfidParams>('RFID', '-');
export const FID_PLUS = makeFidelity<FidParams>('FID', '+');
export const FID_MINUS = makeFidelity<FidParams>('FID', '-');

export const FIDELITY_METRICS: ExtraMetric<any>[] = [FFID_PLUS, FFID_MINUS, RFID_PLUS, RFID_MINUS, FID_PLUS, FID_MINUS];
