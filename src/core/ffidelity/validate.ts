/**
 * Metric validation — "which metric can I trust on this model?" (F-Fidelity §5; docs/ffidelity.md).
 * A good explanation is degraded on purpose at noise ratios r ∈ {0, 0.2, …, 1.0}: in every row, a
 * random ⌊r·n + ½⌋ of its n scores are chosen (uniformly, without replacement) and shuffled among
 * themselves by a uniform random permutation (Fisher–Yates; a score may land on its own place).
 * Five seeded copies per level (copy c, level i: `seeder.rng('validate|copy<c>|level<i>', rowIndex)`;
 * r = 0 is the explanation itself, scored once). Every degraded set is scored with every chosen
 * metric (the ten through the batched engine; the extras through `scoreMany`), each metric with
 * the job seed's own draws, so only the explanation changes between sets.
 *
 * Per metric and copy c, with v(r) = the metric's dataset mean (NaN rows left out) on the set at r:
 *   macro_c = Spearman(r, v(r))                                     (v: the per-sample value — for a
 *             curve metric its AUC — averaged over rows: the paper's "AUC, then Spearman")
 *   micro_c = mean over curve points t of Spearman(r, v_t(r))        (v_t: point t of the row-mean
 *             curve; only for metrics whose per-sample curves share one grid: FFID±, RFID±, FID±,
 *             RP, INS, DEL, IROF, AD-INS, AD-DEL; 'n/a' for the others. IROF's points are read as
 *             1 − point, since its value is 1 − AUC, so micro and macro share an orientation)
 * and macro/micro = mean ± population sd (ddof 0) over the copies where they are defined.
 * A Spearman correlation is "undefined" (never NaN, never 0) when v has ties everywhere (constant)
 * or a NaN; a micro point that is undefined is left out of the mean over t (counted); a summary
 * with no defined value is "undefined". For a trustworthy ↑ metric the correlation is −1 (more
 * noise, lower score), for ↓ +1; `trust` = the macro mean signed so that +1 is right for either.
 */
import { UserError } from '../errors';
import type { Seeder, Rng } from '../rng';
import type { Batch, Progress, Task } from '../task/task';
import { averageRanks } from '../metrics/correlation';
import { scoreExplanations, type MetricRequest } from '../metrics/evaluate';
import { getMetric } from '../metrics/registry';
import type { MetricResult } from '../metrics/types';
import { hasScoreMany } from './metrics';
import type { Params } from '../params';

/** The paper's noise ratios. */
export const VALIDATION_LEVELS: readonly number[] = [0, 0.2, 0.4, 0.6, 0.8, 1.0];
/** Every validation default, in one place. */
export const validateDefaults = { copies: 5, levels: VALIDATION_LEVELS };

/** A correlation or summary that may be undefined (ties or NaN): never NaN. */
export type Stat = number | 'undefined';

export interface Spread {
  mean: Stat;
  sd: Stat;
  /** One value per copy (seed). */
  perSeed: Stat[];
  /** Copies with a defined value. */
  nDefined: number;
}

export interface MetricValidation {
  id: string;
  direction: 'higher' | 'lower';
  params: Params;
  macro: Spread;
  /** 'n/a' for metrics without a per-sample curve on a shared grid. */
  micro: Spread | 'n/a';
  /** macro.mean signed so that +1 = ranks the degraded explanations correctly (↑: −ρ, ↓: +ρ). */
  trust: Stat;
  /** values[level][copy]: the metric's dataset mean on each degraded set. */
  values: number[][];
  /** Row-mean curve per level (mean over copies), for metrics with a shared grid. */
  curves?: number[][];
  /** Micro points left out as undefined, summed over copies. */
  microUndefinedPoints?: number;
  modelCalls: number;
}

export interface ValidationResult {
  levels: number[];
  copies: number;
  nRows: number;
  nFeatures: number;
  metrics: MetricValidation[];
  ms: number;
}

/** Spearman ρ of two equally long vectors (average ranks), or 'undefined' on NaN or a constant vector. */
export function spearmanDefined(a: ArrayLike<number>, b: ArrayLike<number>): Stat {
  const n = a.length;
  if (n !== b.length) throw new Error('spearmanDefined: length mismatch');
  if (n < 2) return 'undefined';
  for (let i = 0; i < n; i++) if (!Number.isFinite(a[i]) || !Number.isFinite(b[i])) return 'undefined';
  const ra = averageRanks(a);
  const rb = averageRanks(b);
  const m = (n + 1) / 2; // mean rank
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (ra[i] - m) * (rb[i] - m);
    saa += (ra[i] - m) ** 2;
    sbb += (rb[i] - m) ** 2;
  }
  if (saa === 0 || sbb === 0) return 'undefined'; // all tied: ranks are exact halves, so this is exact
  return Math.max(-1, Math.min(1, sab / Math.sqrt(saa * sbb)));
}

/** Mean ± population sd of the defined values. */
export function spread(values: Stat[]): Spread {
  const ok = values.filter((v): v is number => v !== 'undefined');
  if (!ok.length) return { mean: 'undefined', sd: 'undefined', perSeed: values, nDefined: 0 };
  const mean = ok.reduce((a, b) => a + b, 0) / ok.length;
  const sd = Math.sqrt(ok.reduce((a, b) => a + (b - mean) ** 2, 0) / ok.length);
  return { mean, sd, perSeed: values, nDefined: ok.length };
}

/**
 * One degraded copy of explanations s ([nRows, n]) at ratio `level`: per row, ⌊level·n + ½⌋
 * scores chosen at random are permuted among themselves. rngOf(r) gives row r's stream.
 */
export function degradeExplanation(s: Float32Array, nRows: number, n: number, level: number, rngOf: (r: number) => Rng): Float32Array {
  if (!(level >= 0 && level <= 1)) throw new RangeError(`degradeExplanation: level ${level} is not in [0, 1]`);
  const out = s.slice(); // [nRows, n]
  const m = Math.min(n, Math.floor(level * n + 0.5 + 1e-9));
  if (m < 2) return out; // permuting 0 or 1 score changes nothing (the draw is skipped)
  const vals = new Float32Array(m);
  for (let r = 0; r < nRows; r++) {
    const rng = rngOf(r);
    const pos = rng.sampleWithoutReplacement(n, m);
    for (let i = 0; i < m; i++) vals[i] = s[r * n + pos[i]];
    for (let i = m - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = vals[i];
      vals[i] = vals[j];
      vals[j] = t;
    }
    for (let i = 0; i < m; i++) out[r * n + pos[i]] = vals[i];
  }
  return out;
}

function meanSkippingNaN(v: ArrayLike<number>): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < v.length; i++)
    if (Number.isFinite(v[i])) {
      s += v[i];
      c++;
    }
  return c ? s / c : NaN;
}

/** Row-mean curve when every row's curve has the same length ≥ 2, else undefined. */
function meanCurve(res: MetricResult): Float64Array | undefined {
  const cs = res.curves;
  if (!cs || !cs.length) return undefined;
  const L = cs[0]?.length ?? 0;
  if (L < 2 || cs.some((c) => !c || c.length !== L)) return undefined;
  const out = new Float64Array(L);
  const cnt = new Float64Array(L);
  for (const c of cs)
    for (let t = 0; t < L; t++)
      if (Number.isFinite(c[t])) {
        out[t] += c[t];
        cnt[t]++;
      }
  for (let t = 0; t < L; t++) out[t] = cnt[t] ? out[t] / cnt[t] : NaN;
  return out;
}

/**
 * The validation numbers of one metric from its dataset means per degraded set (setMean[set]) and
 * row-mean curves (setCurve[set], undefined = no shared grid): setOf[level][copy] = set index.
 */
export function summariseMetric(
  levels: readonly number[],
  setOf: number[][],
  setMean: ArrayLike<number>,
  setCurve: (ArrayLike<number> | undefined)[],
  direction: 'higher' | 'lower',
): Omit<MetricValidation, 'id' | 'params' | 'modelCalls'> {
  const copies = setOf[0].length;
  const L = setCurve[0]?.length ?? 0;
  const hasMicro = L >= 2 && setCurve.every((c) => c && c.length === L);
  const macroSeeds: Stat[] = [];
  const microSeeds: Stat[] = [];
  let microUndefined = 0;
  for (let c = 0; c < copies; c++) {
    macroSeeds.push(spearmanDefined(levels, levels.map((_, i) => setMean[setOf[i][c]])));
    if (hasMicro) {
      const pts: number[] = [];
      for (let t = 0; t < L; t++) {
        const rho = spearmanDefined(levels, levels.map((_, i) => setCurve[setOf[i][c]]![t]));
        if (rho === 'undefined') microUndefined++;
        else pts.push(rho);
      }
      microSeeds.push(pts.length ? pts.reduce((a, b) => a + b, 0) / pts.length : 'undefined');
    }
  }
  const macro = spread(macroSeeds);
  const out: Omit<MetricValidation, 'id' | 'params' | 'modelCalls'> = {
    direction,
    macro,
    micro: hasMicro ? spread(microSeeds) : 'n/a',
    trust: macro.mean === 'undefined' ? 'undefined' : direction === 'higher' ? -macro.mean : macro.mean,
    values: levels.map((_, i) => Array.from({ length: copies }, (_, c) => setMean[setOf[i][c]])),
  };
  if (hasMicro) {
    out.curves = levels.map((_, i) => {
      const acc = new Float64Array(L);
      for (let c = 0; c < copies; c++) {
        const cu = setCurve[setOf[i][c]]!;
        for (let t = 0; t < L; t++) acc[t] += cu[t] / copies;
      }
      return Array.from(acc);
    });
    out.microUndefinedPoints = microUndefined;
  }
  return out;
}

export interface ValidateInput {
  task: Task;
  batch: Batch;
  target: Int32Array;
  /** The explanation to degrade: [nRows, nFeatures]. */
  explanation: Float32Array;
  /** The metrics to validate: any registered ids (the ten and the extras). */
  metrics: MetricRequest[];
  seeder: Seeder;
  levels?: readonly number[];
  copies?: number;
  onProgress?: Progress;
  signal?: AbortSignal;
}

export async function validateMetrics(input: ValidateInput): Promise<ValidationResult> {
  const { task, batch, target, explanation, seeder, signal } = input;
  const levels = [...(input.levels ?? validateDefaults.levels)];
  const copies = input.copies ?? validateDefaults.copies;
  const n = task.nFeatures;
  const nRows = batch.nRows;
  if (explanation.length !== nRows * n) throw new UserError(`The explanation has ${explanation.length} values, but ${nRows} rows × ${n} features need ${nRows * n}.`, 'Validate with an explanation of these rows.');
  if (levels.length < 2 || levels.some((l) => !(l >= 0 && l <= 1)) || new Set(levels).size !== levels.length)
    throw new UserError(`Noise levels ${levels.join(', ')} must be at least two distinct ratios in [0, 1].`, 'Use e.g. 0,0.2,0.4,0.6,0.8,1 (the default).');
  if (!(Number.isInteger(copies) && copies >= 1 && copies <= 100)) throw new UserError(`copies = ${copies} must be a whole number from 1 to 100.`, 'Use e.g. 5 (the default).');
  if (!input.metrics.length) throw new UserError('No metric to validate.', 'Name at least one metric.');
  const units = input.metrics.map((m) => {
    const unit = getMetric(m.id);
    if (!unit) throw new UserError(`Unknown metric "${m.id}".`, 'Use one of the ten (FC, FE, MC, INF, RP, INS, DEL, NEG, POS, IROF) or FFID+, FFID-, RFID+, RFID-, FID+, FID-, AD-INS, AD-DEL.');
    return { unit, params: { ...unit.defaults, ...(m.params ?? {}) } as Params };
  });
  const t0 = performance.now();

  // the degraded sets: index 0 = the explanation (r = 0 when levels start at 0); set of (level i, copy c)
  const sets: Float32Array[] = [];
  const setOf: number[][] = levels.map(() => new Array<number>(copies));
  levels.forEach((level, i) => {
    if (level === 0) {
      sets.push(explanation);
      for (let c = 0; c < copies; c++) setOf[i][c] = sets.length - 1;
      return;
    }
    for (let c = 0; c < copies; c++) {
      sets.push(degradeExplanation(explanation, nRows, n, level, (r) => seeder.rng(`validate|copy${c}|level${i}`, batch.rowIndex[r])));
      setOf[i][c] = sets.length - 1;
    }
  });

  // score every set with every metric: the batched ones together, each extra in shared batches
  const results: MetricResult[][] = units.map(() => []); // [metric][set]
  const batchedIdx = units.map((u, i) => (hasScoreMany(u.unit) ? -1 : i)).filter((i) => i >= 0);
  const total = units.length;
  let done = 0;
  if (batchedIdx.length) {
    const res = await scoreExplanations(task, batch, target, sets, batchedIdx.map((i) => ({ id: units[i].unit.id, params: units[i].params })), seeder, undefined, signal);
    batchedIdx.forEach((i, j) => (results[i] = res.map((row) => row[j])));
    done += batchedIdx.length;
    input.onProgress?.(done, total);
  }
  for (let i = 0; i < units.length; i++) {
    const u = units[i].unit;
    if (!hasScoreMany(u)) continue;
    results[i] = await u.scoreMany(task, batch, target, sets, units[i].params, seeder, undefined, signal);
    input.onProgress?.(++done, total);
  }

  const metrics: MetricValidation[] = units.map(({ unit, params }, mi) => {
    const res = results[mi];
    const curveInfo = (unit.info as { curve?: { stopsAtFlip?: boolean; value?: string } }).curve;
    const stops = curveInfo?.stopsAtFlip === true;
    // IROF's value is 1 − AUC of its points: flip the points so micro and macro read the same way
    const flip = curveInfo?.value === 'one-minus-auc';
    const curvesOf = (r: MetricResult) => {
      const c = meanCurve(r);
      return c && flip ? c.map((v) => 1 - v) : c;
    };
    return {
      id: unit.id,
      params,
      ...summariseMetric(
        levels,
        setOf,
        res.map((r) => meanSkippingNaN(r.perSample)),
        stops ? res.map(() => undefined) : res.map(curvesOf),
        unit.direction,
      ),
      modelCalls: res.reduce((a, r) => a + r.modelCalls, 0),
    };
  });
  return { levels, copies, nRows, nFeatures: n, metrics, ms: performance.now() - t0 };
}

export function fmtStat(v: Stat, digits = 2): string {
  return v === 'undefined' ? 'undefined' : v.toFixed(digits);
}

export function fmtSpread(s: Spread | 'n/a'): string {
  if (s === 'n/a') return 'n/a';
  if (s.mean === 'undefined') return 'undefined';
  return `${fmtStat(s.mean)} ± ${fmtStat(s.sd)}${s.nDefined < s.perSeed.length ? ` (${s.nDefined}/${s.perSeed.length} defined)` : ''}`;
}

/** The validation as a Markdown table: one row per metric. */
export function validationTable(v: ValidationResult): string {
  const lines = [
    '| metric | dir | macro ρ(r, score) | micro ρ | trust (+1 = ranks degraded explanations correctly) |',
    '|---|---|---|---|---|',
    ...v.metrics.map((m) => `| ${m.id} | ${m.direction === 'higher' ? '↑' : '↓'} | ${fmtSpread(m.macro)} | ${fmtSpread(m.micro)} | ${fmtStat(m.trust)} |`),
  ];
  return lines.join('\n');
}
