/**
 * Pure selectors over the studio's state: the job the settings describe, the job as written to
 * files and links, ranked tables from the engine's ranking (core/ranking.ts), and whether results
 * are stale. No worker, no React: tested in Node (src/store/store.test.ts).
 */
import { jobDiff } from '../core/job/diff';
import type { Job, JobInput, JobResult } from '../core/job';
import { meanSkippingNaN, rankTable } from '../core/ranking';
import type { EvaluateResult, MetricMeta } from '../worker/protocol';
import type { Params } from '../core/params';
import { estimateWork, type WorkEstimate } from '../core/estimate';
import type { StudioState } from './types';

/**
 * The studio's own choices where the engine's defaults are meant for files and tests: the
 * column-mean baseline (a zero vector is far outside most tabular data) and all rows of the task
 * (the demo CSVs are sorted by class, so their first rows hold one class only; every demo explains
 * and scores in seconds on a CPU). They are written into every job the studio exports, never implied.
 */
export const STUDIO_CHOICES = { baseline: 'mean', rows: 'all' } as const;

type JobState = Pick<StudioState, 'source' | 'info' | 'settings' | 'rows' | 'priorBudget' | 'methods' | 'methodChoice' | 'metrics' | 'metricChoice' | 'delta' | 'p' | 'trainSettings' | 'seed' | 'jobDefaults'>;

/** The job the studio's settings describe, every field given (a job `deepfaith run` accepts). */
export function buildJob(s: JobState): Job {
  const d = s.jobDefaults;
  if (!d) throw new Error('the engine has not reported its job defaults yet');
  const src = s.source;
  const task: Job['task'] =
    src?.kind === 'files'
      ? { model: src.modelJson.name, data: src.csv.name, label: s.info?.labelName ?? src.label, baseline: s.settings.baseline, output: s.settings.output, target: s.settings.target, maxRows: 0 }
      : src?.kind === 'text'
        ? { model: src.modelJson.name, data: src.csv.name, vocab: src.vocab.name, text: src.text, label: s.info?.labelName ?? src.label, baseline: s.settings.baseline, output: s.settings.output, target: s.settings.target, maxRows: 0 }
      : src?.kind === 'images'
        ? { model: src.modelJson.name, data: s.info?.image?.data ?? '', ...(s.info?.image?.label ? { label: s.info.image.label } : {}), baseline: s.settings.baseline, output: s.settings.output, target: s.settings.target, maxRows: 0 }
        : { demo: src?.kind === 'demo' ? src.demoId : 'iris', baseline: s.settings.baseline, output: s.settings.output, target: s.settings.target, maxRows: 0 };
  task.maxRows = rowsWanted(s);
  // image tasks: the patch size and normalisation chosen in the Task panel (absent = the engine's defaults)
  if (s.info?.image) {
    if (s.settings.patch !== undefined) task.patch = s.settings.patch;
    if (s.settings.normalise !== undefined) task.normalise = s.settings.normalise;
    if (s.settings.blurSigma !== undefined && s.settings.baseline === 'blur') task.blurSigma = s.settings.blurSigma;
  }
  // text tasks: the mask token chosen in the Task panel (absent = removal writes the pad token)
  if (s.info?.text && s.settings.maskToken !== undefined) task.maskToken = s.settings.maskToken;
  const ts = s.trainSettings ?? { explainer: d.explainer, training: d.training, mode: d.mode };
  return {
    task,
    methods: s.methods.filter((m) => s.methodChoice[m.id]?.enabled).map((m) => withParams(m.id, paramsDiff(s.methodChoice[m.id].params, m.defaults))),
    metrics: s.metrics.filter((m) => s.metricChoice[m.id]?.enabled).map((m) => withParams(m.id, paramsDiff(s.metricChoice[m.id].params, m.defaults))),
    supervision: { delta: s.delta, p: s.p, testFraction: d.supervision.testFraction },
    explainer: { ...ts.explainer },
    training: { ...ts.training, alpha: { ...ts.training.alpha } },
    seed: s.seed,
    trainSeed: null,
    mode: ts.mode,
    priorBudget: s.priorBudget,
  };
}

/** The job as the studio writes it: every setting that differs from the engine's DEFAULTS (task fields always). */
export function exportedJob(s: JobState, description?: string): JobInput {
  return jobDiff(buildJob(s), s.jobDefaults!, { description });
}

/** Only parameters that differ from a unit's defaults go into a job. */
export function paramsDiff(params: Params, defaults: Params): Params {
  return Object.fromEntries(Object.entries(params).filter(([k, v]) => defaults[k] !== v));
}

function withParams(id: string, params: Params): { id: string; params?: Params } {
  return Object.keys(params).length ? { id, params } : { id };
}

export interface TableRow {
  method: string;
  isExplainer: boolean;
  /** A diagnostic row (a ceiling), shown with its scores but not ranked. */
  diagnostic?: string;
  label?: string;
  scores: Record<string, number>;
  nNaN: Record<string, number>;
  ranks: Record<string, number>;
  meanRank: number;
}

/** The priors' stored scores (all explained rows) as a ranked table, with the engine's ranking and NaN rule. */
export function evaluationTable(evaluation: EvaluateResult, metrics: Pick<MetricMeta, 'id' | 'direction'>[]): { metrics: { id: string; direction: 'higher' | 'lower' }[]; rows: TableRow[] } {
  const metricIds = evaluation.scores[0]?.metrics.map((m) => m.metricId) ?? [];
  const ms = metricIds.map((id) => ({ id, direction: metrics.find((m) => m.id === id)?.direction ?? 'higher' }));
  const rows = evaluation.scores.map((e) => {
    const scores: Record<string, number> = {};
    const nNaN: Record<string, number> = {};
    for (const m of e.metrics) {
      const r = meanSkippingNaN(m.perSample);
      scores[m.metricId] = r.mean;
      nNaN[m.metricId] = r.nNaN;
    }
    return { method: e.methodId, isExplainer: false, scores, nNaN };
  });
  const { ranks, meanRank } = rankTable(rows, ms);
  return { metrics: ms, rows: rows.map((r, i) => ({ ...r, ranks: ranks[i], meanRank: meanRank[i] })) };
}

/** The job's final table (test split) as the same row shape. */
export function reportTable(report: JobResult): { metrics: { id: string; direction: 'higher' | 'lower' }[]; rows: TableRow[] } {
  return { metrics: report.metrics.map((m) => ({ id: m.id, direction: m.direction })), rows: report.table.map((r) => ({ method: r.isExplainer ? 'deepfaith-explainer' : r.method, isExplainer: r.isExplainer, diagnostic: r.diagnostic, label: r.diagnostic ? r.label : undefined, scores: r.scores, nNaN: r.nNaN, ranks: r.ranks, meanRank: r.meanRank })) };
}

/** Rows the next job would explain (the Explain panel's count, clipped to the data). */
export function rowsWanted(s: Pick<StudioState, 'rows' | 'info'>): number {
  const n = s.info?.nRows ?? Math.max(1, s.rows.count);
  return s.rows.count > 0 ? Math.min(s.rows.count, n) : n;
}

/** Whether a task is loaded and nothing runs: loading another task is allowed only then. */
export function canLoadTask(s: Pick<StudioState, 'busy' | 'trainStatus'>): { ok: boolean; why?: string } {
  if (s.trainStatus === 'running' || s.trainStatus === 'paused') return { ok: false, why: 'Training is running on the current task: cancel it first (Train panel), then load another task.' };
  if (s.busy) return { ok: false, why: `${s.busy.label} is running on the current task: wait for it or cancel it, then load another task.` };
  return { ok: true };
}

/** Work above this estimate asks before it starts. */
export const ASK_ABOVE_MS = 60_000;

/** The cost model's estimate of Explain or Evaluate for the current settings (null before a task is loaded). */
export function workEstimate(s: JobState & Pick<StudioState, 'attribution'>, step: 'explain' | 'evaluate'): WorkEstimate | null {
  if (!s.info) return null;
  const withDefaults = (list: { id: string; defaults: Params }[], choice: Record<string, { enabled: boolean; params: Params }>) => list.filter((m) => choice[m.id]?.enabled).map((m) => ({ id: m.id, params: { ...m.defaults, ...choice[m.id].params } }));
  const methods = step === 'evaluate' && s.attribution ? s.attribution.explanations.map((e) => ({ id: e.methodId, params: {} })) : withDefaults(s.methods, s.methodChoice);
  return estimateWork(step, { nRows: rowsWanted(s), nFeatures: s.info.nFeatures, methods, metrics: withDefaults(s.metrics, s.metricChoice) }, s.info.msPerModelRow);
}
