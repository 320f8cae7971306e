/**
 * Jobs: schema + DEFAULTS + presets (schema.ts), load / prepare + cache (prepare.ts), train and
 * report (report.ts), the Markdown report (markdown.ts), and `runJob`, the whole pipeline that
 * `deepfaith run` calls. The studio's worker calls the same steps one panel at a time.
 */
import type { Explainer } from '../explainer/model';
import { prepareJob, type JobEvent, type JobIO, type PreparedCache } from './prepare';
import { trainAndReport, type JobResult } from './report';
import { costFrontier } from './frontier';
import { resolveJob, type Job, type JobInput } from './schema';

export * from './schema';
export * from './prepare';
export * from './report';
export { rankBootstrapSentence, reportMarkdown } from './markdown';
export { jobDiff, stableStringify } from './diff';
export * from './frontier';
export * from './shard';
export { bootstrapRanks, rankTable, meanSkippingNaN } from '../ranking';

/**
 * Run a whole job. Returns the results and the trained explainer (the caller disposes it). With
 * `frontier`, the cost–faithfulness frontier (frontier.ts) is added to the result. With `prepared`
 * (exportPrepared, or deepfaith merge of shards), the priors and their scores are not recomputed.
 */
export async function runJob(jobInput: JobInput | Job, io: JobIO, onEvent?: (e: JobEvent) => void, signal?: AbortSignal, opts: { frontier?: boolean; prepared?: PreparedCache } = {}): Promise<{ result: JobResult; explainer: Explainer }> {
  const job = resolveJob(jobInput as JobInput);
  const t0 = performance.now();
  const prep = await prepareJob(job, io, onEvent, signal, opts.prepared);
  try {
    const out = await trainAndReport(prep, {}, onEvent, signal);
    if (opts.frontier) {
      try {
        // the explainer's build cost as measured here: priors and scoring of every row, plus training
        out.result.frontier = await costFrontier(prep, out.result, { buildMs: performance.now() - t0, signal, onProgress: (done, total) => onEvent?.({ stage: 'report', done, total, message: 'frontier' }) });
      } catch (e) {
        out.explainer.dispose();
        throw e;
      }
    }
    return out;
  } finally {
    prep.loaded.task.model.dispose();
  }
}
