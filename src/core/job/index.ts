/**
 * Jobs: schema + DEFAULTS + presets (schema.ts), load / prepare + cache (prepare.ts), train and
 * report (report.ts), the Markdown report (markdown.ts), and `runJob`, the whole pipeline that
 * `deepfaith run` calls. The studio's worker calls the same steps one panel at a time.
 */
import type { Explainer } from '../explainer/model';
import { prepareJob, type JobEvent, type JobIO } from './prepare';
import { trainAndReport, type JobResult } from './report';
import { resolveJob, type Job, type JobInput } from './schema';

export * from './schema';
export * from './prepare';
export * from './report';
export { reportMarkdown } from './markdown';
export { jobDiff, stableStringify } from './diff';
export { rankTable, meanSkippingNaN } from '../ranking';

/** Run a whole job. Returns the results and the trained explainer (the caller disposes it). */
export async function runJob(jobInput: JobInput | Job, io: JobIO, onEvent?: (e: JobEvent) => void, signal?: AbortSignal): Promise<{ result: JobResult; explainer: Explainer }> {
  const job = resolveJob(jobInput as JobInput);
  const prep = await prepareJob(job, io, onEvent, signal);
  try {
    return await trainAndReport(prep, {}, onEvent, signal);
  } finally {
    prep.loaded.task.model.dispose();
  }
}
