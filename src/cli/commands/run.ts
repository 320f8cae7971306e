/**
 * `deepfaith run <job.json> --out <dir>`: run a whole DeepFaith job (priors → supervision → training
 * → evaluation) and write results.json, report.md and the trained explainer (explainer/model.json +
 * weights.bin). The job format is in docs/jobs.md.
 */
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { UserError } from '../../core/errors';
import { preparedKey, reportMarkdown, resolveJob, runJob, type Job, type JobEvent, type JobIO, type JobInput, type PreparedCache } from '../../core/job';
import { TRAIN_MODES, type TrainMode } from '../../core/explainer/train';
import type { Explainer } from '../../core/explainer/model';
import { costSentence } from '../../core/explainer/cost';
import { jobFromHash } from '../../store/job';
import { initCliStageBackends, parseStageBackendFlags, readJsonFile, taskInputs, toJson, type CliCommand } from '../common';
import { checkOutput, nodeTaskIO, writeFolderAtomic } from '../files';

/** File access for jobs in Node: job-relative paths are resolved against `baseDir`. */
export function nodeJobIO(baseDir: string): JobIO {
  return nodeTaskIO(baseDir);
}

/** The files a job reads, resolved against its folder (for --out checks). */
export function jobInputs(job: Job, baseDir: string): string[] {
  if (job.task.demo) return [];
  return taskInputs({ ...job.task, model: resolve(baseDir, job.task.model!), data: resolve(baseDir, job.task.data!), ...(job.task.vocab !== undefined ? { vocab: resolve(baseDir, job.task.vocab) } : {}) });
}

/** Whether a job argument is a studio link (…#job=…) rather than a file path. */
export const isJobLink = (arg: string) => /[#&]job=/.test(arg);

/** The folder a job's relative paths are read from: the job file's folder, or the working folder for a link. */
export const jobBaseDir = (arg: string) => (isJobLink(arg) ? process.cwd() : dirname(resolve(arg)));

/** A job file, or a studio link (…#job=…, "Copy link" in the Report panel) holding the job. */
export function readJob(path: string): JobInput {
  if (/[#&]job=/.test(path)) {
    try {
      const j = jobFromHash(path.slice(path.indexOf('#')));
      if (j) return j.job;
    } catch (e) {
      throw new UserError((e as Error).message, 'Copy the link again from the studio (Report → Copy link).');
    }
  }
  return readJsonFile(path, 'Job file', 'Give a job JSON file (see docs/jobs.md and the examples in jobs/), or a studio link with #job=….') as JobInput;
}

/** Progress on stderr: one line per stage change and every tenth of training. */
export function progressPrinter(prefix: string): (e: JobEvent) => void {
  let lastStage = '';
  let lastLine = '';
  let lastTenth = -1;
  return (e) => {
    if (e.stage === 'train') {
      const tenth = Math.floor((10 * e.done) / Math.max(1, e.total));
      if (e.train?.type === 'step' && tenth !== lastTenth) {
        lastTenth = tenth;
        const s = e.train;
        console.error(`${prefix} train step ${s.step + 1}/${e.total}: L_PC ${Number.isFinite(s.lossPC) ? s.lossPC.toFixed(4) : 'n/a'}, L_LC ${Number.isFinite(s.lossLC) ? s.lossLC.toFixed(4) : 'n/a'}, α ${s.alpha.toFixed(3)}${s.converged ? ' (converged)' : ''}`);
      }
      return;
    }
    if (e.stage === 'priors' && !Number.isInteger(e.done)) return;
    const line = `${prefix} ${e.stage}${e.total > 1 ? ` ${e.done}/${e.total}` : ''}${e.message ? `: ${e.message}` : ''}`;
    // a stage reports the start and the end of each item: print a line once
    if ((e.message || e.stage !== lastStage) && line !== lastLine) console.error(line);
    lastStage = e.stage;
    lastLine = line;
  };
}

/** A prepared-job cache file (deepfaith merge) for this job, checked before anything is loaded. */
export function readPrepared(path: string, job: Job): PreparedCache {
  const todo = 'Give the file deepfaith merge wrote for this job (docs/scale.md), or run without --prepared.';
  const c = readJsonFile(path, 'Prepared file', todo) as PreparedCache;
  if (!c || typeof c !== 'object' || c.format !== 'deepfaith-prepared' || c.version !== 1) throw new UserError(`${path} is not a prepared-job file (format deepfaith-prepared, version 1).`, todo);
  if (c.key !== preparedKey(job)) throw new UserError(`${path} was computed for another job (other settings, seed, methods, metrics or rows).`, 'Merge the shards of this job, or run the job the file was made for.');
  return c;
}

/** Write model.json (+ what it was trained for) and weights.bin into `dir`. */
export async function saveExplainer(explainer: Explainer, dir: string, trainedFor: Record<string, unknown>): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const { modelJson, weights } = await explainer.serialize();
  const w = new Float32Array(weights);
  for (let i = 0; i < w.length; i++)
    if (!Number.isFinite(w[i])) throw new UserError('The trained explainer has non-finite weights, so it was not saved.', 'Lower training.learningRate (or the number of epochs) and run again.');
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ ...modelJson, trainedFor }, null, 1) + '\n');
  writeFileSync(join(dir, 'weights.bin'), new Uint8Array(weights));
}

export const command: CliCommand = {
  help: () =>
    [
      'Usage: deepfaith run <job.json> --out <dir> [--mode full|pc-only|lc-only|dedup-only|filter-only] [--seed N] [--frontier] [--prepared <prepared.json>] [--backend cpu|wasm] [--score-backend cpu|wasm] [--train-backend cpu|wasm]',
      '',
      'Runs a whole DeepFaith job: prior methods on every sample, min–max normalisation, all metrics on',
      'all priors, dedup (δ) and filter (p) into the supervision set Z (training split), training of the',
      'Transformer explainer (L_PC + L_LC with the dynamic α), and the method × metric table on the test split.',
      '',
      'Writes <dir>/results.json, <dir>/report.md, <dir>/explainer/{model.json, weights.bin} and <dir>/complete;',
      'the folder is written under a temporary name and moved into place when everything is written.',
      'Job format: docs/jobs.md; examples: jobs/*.json. Relative paths in a job are read from the job file\'s folder.',
      '',
      'Options:',
      '  --out <dir>       output folder (created)',
      `  --mode <mode>     override the job's mode (${TRAIN_MODES.join(', ')})`,
      "  --seed N          override the job's seed",
      '  --frontier        also measure the cost–faithfulness frontier: every budgeted prior at four budgets on the',
      '                    test rows against the explainer, with the break-even row count (results.json "frontier", report.md)',
      '  --prepared <file>  the priors and their scores from deepfaith merge (sharded supervise, docs/scale.md) instead of',
      '                    computing them; refused when it was computed for another job or other rows',
      '  --backend cpu|wasm  tfjs backend of every stage (default wasm)',
      '  --score-backend cpu|wasm  backend of the target model: priors, metric scoring, supervision, the report\'s table',
      '                    and the L_LC targets of training (default: --backend)',
      '  --train-backend cpu|wasm  backend of the explainer\'s training (default: --backend); the chosen backends and',
      '                    why are printed and written to results.json "backends"',
    ].join('\n'),

  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: { out: { type: 'string' }, mode: { type: 'string' }, seed: { type: 'string' }, backend: { type: 'string' }, 'score-backend': { type: 'string' }, 'train-backend': { type: 'string' }, frontier: { type: 'boolean' }, prepared: { type: 'string' } }, allowPositionals: true, strict: true });
    } catch (e) {
      throw new UserError(`${(e as Error).message}.`, 'Run deepfaith run --help to see the accepted options.');
    }
    const { values, positionals } = parsed;
    const stageRequests = parseStageBackendFlags(values);
    if (positionals.length !== 1) throw new UserError('Give exactly one job file.', 'Write deepfaith run path/to/job.json --out results/.');
    const out = values.out;
    if (!out) throw new UserError('Missing --out.', 'Say where to write the results with --out <dir>.');
    const jobPath = positionals[0];
    const input = readJob(jobPath);
    if (values.mode) {
      if (!(TRAIN_MODES as readonly string[]).includes(values.mode)) throw new UserError(`--mode "${values.mode}" is not known.`, `Use one of: ${TRAIN_MODES.join(', ')}.`);
      input.mode = values.mode as TrainMode;
    }
    if (values.seed !== undefined) {
      const s = Number(values.seed);
      if (!Number.isInteger(s)) throw new UserError(`--seed "${values.seed}" is not an integer.`, 'Give a whole number.');
      input.seed = s;
    }
    const job = resolveJob(input);
    const baseDir = jobBaseDir(jobPath);
    checkOutput(out, [isJobLink(jobPath) ? undefined : jobPath, ...jobInputs(job, baseDir), values.prepared], 'folder');
    const prepared = values.prepared === undefined ? undefined : readPrepared(values.prepared, job);
    const backend = await initCliStageBackends(stageRequests);
    const stages = backend.stages!;
    console.error(`deepfaith run: scoring on ${stages.score.backend} (${stages.score.reason}); training on ${stages.train.backend} (${stages.train.reason})`);
    const io = nodeJobIO(baseDir);
    const t0 = performance.now();
    const { result, explainer } = await runJob(job, io, progressPrinter('deepfaith run:'), undefined, { frontier: values.frontier === true, prepared });
    try {
      // the whole folder appears at once: an interrupted run leaves an earlier one as it was
      await writeFolderAtomic(out, async (dir) => {
        await saveExplainer(explainer, join(dir, 'explainer'), {
          model: job.task.demo ? undefined : resolve(baseDir, job.task.model!),
          data: job.task.demo ? undefined : resolve(baseDir, job.task.data!),
          demo: job.task.demo,
          label: job.task.label,
          drop: job.task.drop,
          target: job.task.target,
          output: job.task.output,
          baseline: job.task.baseline,
          patch: job.task.patch,
          normalise: job.task.normalise,
          ...(job.task.vocab !== undefined ? { vocab: job.task.demo ? job.task.vocab : resolve(baseDir, job.task.vocab), text: job.task.text, maskToken: job.task.maskToken } : {}),
          blurSigma: job.task.blurSigma,
          maxRows: job.task.maxRows,
        });
        writeFileSync(join(dir, 'results.json'), toJson({ ...result, backend: backend.chosen, backends: stages, ms: Math.round(performance.now() - t0) }) + '\n');
        writeFileSync(join(dir, 'report.md'), reportMarkdown(result));
      });
    } finally {
      explainer.dispose();
    }
    if (result.cost) console.error(`deepfaith run: ${costSentence(result.cost)}`);
    const best = [...result.table].sort((a, b) => a.meanRank - b.meanRank);
    console.error(`deepfaith run: wrote ${join(out, 'results.json')}, report.md and explainer/ (${((performance.now() - t0) / 1000).toFixed(1)} s). Mean ranks: ${best.map((r) => `${r.method} ${r.meanRank.toFixed(2)}`).join(', ')}`);
    return 0;
  },
};
