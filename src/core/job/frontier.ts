/**
 * When does the explainer pay off? The cost–faithfulness frontier of a job (issue: "DeepFaith that
 * earns its place"): each prior that has a budget runs at four budgets on the evaluation rows, its
 * explanations are min–max normalised and scored with the job's metrics like every row of the
 * table, and each (method, budget) becomes a point of (ms per explained row, mean rank if it were
 * added to the job's table). The explainer is one point at its inference time. The break-even is
 * the number of explained rows after which building the explainer (the priors on the training rows,
 * their scoring, the training) plus its inference costs less than a prior point that is as faithful
 * or more (a lower or equal mean rank): cost / (prior ms per row − explainer ms per row).
 *
 * Timings are noisy: browsers coarsen performance.now() (0.1 ms and more), GPU backends compile
 * per shape, and the cores are shared. Each point (and the explainer, in report.ts) is timed as the
 * fastest of three runs (core/timing.ts), and a prior counts as slower per row only when
 * it is measurably so ({@link measurablySlower}); otherwise a tiny difference would print a
 * break-even of trillions of rows that is only the timer's rounding.
 */
import { Seeder } from '../rng';
import { measurablySlower, timeFastest, timingNoiseMsPerRow } from '../timing';
import { getMethod, resolveMethodParams } from '../attribution/registry';
import { meanSkippingNaN, rankTable } from '../ranking';
import { minMaxNormalize, scoreAll } from '../supervision/supervision';
import type { Params } from '../params';
import { subBatch, type PreparedJob } from './prepare';
import type { JobResult } from './report';

/** The budget parameter of each prior that has one, and the four budgets tried. */
export const FRONTIER_BUDGETS: Record<string, { param: string; values: number[] }> = {
  'kernel-shap': { param: 'samples', values: [16, 64, 256, 1024] },
  lime: { param: 'samples', values: [25, 100, 500, 2000] },
  'integrated-gradients': { param: 'steps', values: [5, 20, 50, 200] },
  'gradient-shap': { param: 'samples', values: [5, 20, 50, 200] },
  smoothgrad: { param: 'samples', values: [5, 20, 50, 200] },
};

export interface FrontierPoint {
  method: string;
  /** The budget parameter and its value (none for the explainer). */
  param?: string;
  budget?: number;
  msPerRow: number;
  /** Mean rank the point would have if it were added to the job's table (1 = best). */
  meanRank: number;
  scores: Record<string, number>;
  /** Explained rows after which the explainer costs less than this point (null: never — not measurably slower — or the point is less faithful). */
  breakEvenRows: number | null;
}

/**
 * Break-even rows of each point and the verdict, from the measured points (pure: no timing here).
 * A point gets a break-even when it is at least as faithful (mean rank ≤ the explainer's) and
 * measurably slower per row; the verdict is against the cheapest point at least as faithful.
 */
export function breakEvens(points: Omit<FrontierPoint, 'breakEvenRows'>[], explainer: { msPerRow: number; meanRank: number; buildMs: number }, rows: number): Pick<Frontier, 'points' | 'verdict' | 'breakEvenRows'> {
  const exMs = explainer.msPerRow;
  const out: FrontierPoint[] = points.map((p) => ({
    ...p,
    breakEvenRows: p.meanRank <= explainer.meanRank && measurablySlower(p.msPerRow, exMs, rows) ? Math.ceil(explainer.buildMs / (p.msPerRow - exMs)) : null,
  }));
  // the alternative a user would pick: the cheapest prior point that is at least as faithful
  const alternatives = out.filter((p) => p.meanRank <= explainer.meanRank).sort((a, b) => a.msPerRow - b.msPerRow);
  const cheapest = alternatives[0];
  const name = (p: FrontierPoint) => `${p.method} (${p.param} ${p.budget})`;
  const verdict: Frontier['verdict'] = !cheapest ? { kind: 'no-alternative' } : cheapest.breakEvenRows === null ? { kind: 'never', against: name(cheapest) } : { kind: 'after', rows: cheapest.breakEvenRows, against: name(cheapest) };
  return { points: out, verdict, breakEvenRows: verdict.kind === 'after' ? verdict.rows : null };
}

export interface Frontier {
  points: FrontierPoint[];
  /**
   * The explainer's point; `timedRows` = rows every point was timed on and `noiseMsPerRow` the
   * per-row difference below which a prior counts as no slower (absent in results written before).
   */
  explainer: { msPerRow: number; meanRank: number; buildMs: number; timedRows?: number; noiseMsPerRow?: number };
  /**
   * Against the cheapest prior point at least as faithful as the explainer (mean rank ≤ its own):
   * 'after' N explained rows the explainer costs less; 'never' when that point is not measurably
   * slower per row than the explainer; 'no-alternative' when no prior point is as faithful.
   */
  verdict: { kind: 'after'; rows: number; against: string } | { kind: 'never'; against: string } | { kind: 'no-alternative' };
  /** The verdict's rows when it is 'after', else null. */
  breakEvenRows: number | null;
}

/**
 * Run the frontier for a job's result. `buildMs` = time to build the explainer (priors on the
 * training rows, their scoring, the training); by default estimated from the result (priors' ms per
 * row × training rows + training time; scoring time is not kept per row and is left out, so the
 * break-even is a lower bound).
 */
export async function costFrontier(prep: PreparedJob, result: JobResult, opts: { buildMs?: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<Frontier> {
  const { task, batch } = prep.loaded;
  const n = task.nFeatures;
  const positions = result.split.testRows.map((r) => Array.from(batch.rowIndex).indexOf(r));
  const testBatch = subBatch(batch, positions, task.inputSize);
  const target = Int32Array.from(positions, (p) => prep.target[p]);
  const table = result.table.filter((r) => !r.diagnostic);
  const explainerRow = table.find((r) => r.isExplainer)!;
  const metrics = result.metrics;
  const ran = prep.priors.filter((p) => p.ran);
  const jobs = ran.filter((p) => FRONTIER_BUDGETS[p.id] && getMethod(p.id)).flatMap((p) => FRONTIER_BUDGETS[p.id].values.map((v) => ({ id: p.id, base: p.params, param: FRONTIER_BUDGETS[p.id].param, value: v })));
  const points: FrontierPoint[] = [];
  const seeder = new Seeder(result.job.seed);
  let done = 0;
  for (const j of jobs) {
    const unit = getMethod(j.id)!;
    const params: Params = resolveMethodParams(unit, { ...j.base, [j.param]: j.value }, n);
    // the fastest of TIMING_REPEATS runs (the explanation is the same every run: the seeder is keyed)
    const timed = await timeFastest(() => unit.explain(task, testBatch, target, params, seeder, undefined, opts.signal));
    const raw = timed.value;
    const ms = timed.ms / Math.max(1, testBatch.nRows);
    const scored = await scoreAll(task, testBatch, target, [minMaxNormalize(raw, testBatch.nRows, n)], prep.metrics, new Seeder(result.job.seed), undefined, opts.signal);
    const scores: Record<string, number> = {};
    metrics.forEach((m, i) => (scores[m.id] = meanSkippingNaN(scored.perSample[0][i]).mean));
    // its mean rank if it joined the table (the other rows unchanged)
    const { meanRank } = rankTable([...table, { scores }], metrics);
    points.push({ method: j.id, param: j.param, budget: j.value, msPerRow: ms, meanRank: meanRank[meanRank.length - 1], scores, breakEvenRows: null });
    opts.onProgress?.(++done, jobs.length);
  }
  const buildMs = opts.buildMs ?? ran.reduce((a, p) => a + p.msPerSample, 0) * result.split.trainRows.length + result.training.ms;
  const rows = testBatch.nRows;
  const explainer = { msPerRow: explainerRow.msPerSample, meanRank: explainerRow.meanRank, buildMs, timedRows: rows, noiseMsPerRow: timingNoiseMsPerRow(explainerRow.msPerSample, rows) };
  return { ...breakEvens(points, explainer, rows), explainer };
}

