/**
 * Thin adapter from the studio's stored results to the engine's job pipeline (src/core/job.ts,
 * src/core/supervision): the seeded 80/20 split of samples, Z through `buildSupervision`, a
 * `PreparedJob` built from the explanations and scores the studio already has (so the ablations run
 * `trainAndReport` exactly as `deepfaith run` does), and the ranked mode × metric ablation table.
 */
import { DEFAULTS, rankTable, trainAndReport, type Job, type PreparedJob } from '../core/job';
import { getMetric } from '../core/metrics/registry';
import { Seeder } from '../core/rng';
import { buildSupervision, minMaxNormalize, splitSamples, supervisionOptionsFor, type StoredScores, type SupervisionInput } from '../core/supervision/supervision';
import type { TrainMode } from '../core/explainer/train';
import type { AblationResult, PipelineInput, SuperviseResult } from './protocol';
import type { ProgressFn, Session } from './session';

/** The job's split of these rows (positions into `rows`, and the global row indices). */
export function studioSplit(rows: number[], testFraction: number, seed: number): { train: number[]; test: number[] } {
  const s = splitSamples(Int32Array.from(rows), testFraction, new Seeder(seed));
  return { train: s.train.map((p) => rows[p]), test: s.test.map((p) => rows[p]) };
}

/** Everything the engine's supervision needs, from the studio's stored explanations and scores. */
export function supervisionInput(session: Session, input: PipelineInput): { sup: SupervisionInput; positions: { train: number[]; test: number[] } } {
  const { task } = session.requireTask();
  const n = task.nFeatures;
  const batch = session.batchOf(input.rows);
  const nRows = input.rows.length;
  const methodIds = input.explanations.map((e) => e.methodId);
  const explanations = input.explanations.map((e) => minMaxNormalize(e.values, nRows, n));
  const scores: StoredScores = {
    metricIds: input.scores.metricIds,
    directions: input.scores.metricIds.map((id) => getMetric(id)?.direction ?? 'higher'),
    perSample: methodIds.map((id) => {
      const j = input.scores.methodIds.indexOf(id);
      if (j < 0) throw new Error(`no scores for ${id}`);
      return input.scores.perSample[j];
    }),
    modelCalls: methodIds.map(() => input.scores.metricIds.map(() => 0)),
  };
  const positions = splitSamples(batch.rowIndex, input.testFraction, new Seeder(input.seed));
  return { sup: { x: batch.x, n, rowIndex: batch.rowIndex, use: [], methodIds, explanations, scores }, positions };
}

/** The Supervise panel: the record of every explained row and the counts of Z on the training split. */
export function supervise(session: Session, input: PipelineInput, mode: TrainMode): SuperviseResult {
  const { sup, positions } = supervisionInput(session, input);
  const options = supervisionOptionsFor(mode, input.delta, input.p);
  const all = buildSupervision({ ...sup, use: input.rows.map((_, i) => i) }, options);
  const train = buildSupervision({ ...sup, use: positions.train }, options);
  return {
    split: { train: positions.train.map((p) => input.rows[p]), test: positions.test.map((p) => input.rows[p]) },
    methodIds: sup.methodIds,
    normalised: sup.explanations,
    record: all.record,
    counts: all.counts,
    trainCounts: train.counts,
    nPairs: train.nPairs,
  };
}

/** A PreparedJob over the studio's rows, explanations and scores (the model stays the session's). */
export function preparedJob(session: Session, input: PipelineInput, job: Job): PreparedJob {
  const { task, data, info } = session.requireTask();
  const { sup, positions } = supervisionInput(session, input);
  const batch = session.batchOf(input.rows);
  return {
    job,
    loaded: { task, data, batch, labels: Int32Array.from(input.rows, (r) => data.labels[r]), source: { model: info.sourceLabel, data: info.sourceLabel } },
    target: session.targetsOf(input.rows),
    split: positions,
    metrics: input.metrics,
    priors: input.explanations.map((e) => {
      const params = input.methodParams?.[e.methodId] ?? {};
      return { id: e.methodId, label: e.methodId, params, ran: true, ms: e.ms ?? 0, msPerSample: (e.ms ?? 0) / Math.max(1, input.rows.length) };
    }),
    ranIds: sup.methodIds,
    explanations: sup.explanations,
    scores: sup.scores,
  };
}

/** The job these settings describe (DEFAULTS merged; the studio's task). */
export function jobOf(input: PipelineInput, settings: Pick<Job, 'explainer' | 'training' | 'mode'>): Job {
  return {
    ...DEFAULTS,
    task: { ...DEFAULTS.task, maxRows: input.rows.length },
    methods: input.explanations.map((e) => ({ id: e.methodId, params: input.methodParams?.[e.methodId] ?? {} })),
    metrics: input.metrics,
    supervision: { delta: input.delta, p: input.p, testFraction: input.testFraction },
    explainer: settings.explainer,
    training: settings.training,
    seed: input.seed,
    trainSeed: null,
    mode: settings.mode,
  };
}

/**
 * The paper's Table 4: the explainer trained under each mode with the same job settings, scored on
 * the test split; per-metric ranks among the modes and the mean rank (core `rankTable`).
 */
export async function runAblations(
  session: Session,
  input: PipelineInput,
  settings: Pick<Job, 'explainer' | 'training'>,
  modes: TrainMode[],
  progress: ProgressFn,
  signal: AbortSignal,
): Promise<AblationResult> {
  const job = jobOf(input, { ...settings, mode: 'full' });
  const prep = preparedJob(session, input, job);
  const rows: Omit<AblationResult['rows'][number], 'ranks' | 'meanRank'>[] = [];
  let metrics: AblationResult['metrics'] = [];
  for (let i = 0; i < modes.length; i++) {
    const mode = modes[i];
    const t0 = performance.now();
    const { result, explainer } = await trainAndReport(prep, { mode }, (e) => progress(`ablation ${mode} (${i + 1}/${modes.length}): ${e.stage}`, i, modes.length), signal);
    explainer.dispose();
    const own = result.table.find((r) => r.isExplainer)!;
    metrics = result.metrics.map((m) => ({ id: m.id, direction: m.direction }));
    rows.push({ mode, scores: own.scores, nPairs: result.supervision.counts.afterFilter, steps: result.training.steps.length, ms: performance.now() - t0 });
    progress(`ablation ${mode} done`, i + 1, modes.length);
  }
  const { ranks, meanRank } = rankTable(rows, metrics);
  return { metrics, rows: rows.map((r, i) => ({ ...r, ranks: ranks[i], meanRank: meanRank[i] })), testRows: studioSplit(input.rows, input.testFraction, input.seed).test };
}
