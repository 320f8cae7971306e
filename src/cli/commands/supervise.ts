/**
 * `deepfaith supervise`: run the prior methods, score them on the metrics, dedup and filter, and
 * write the supervision set Z (training split) with the per-sample record of every explanation's fate.
 */
import { parseArgs } from 'node:util';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { shardFileName } from './merge';
import { UserError } from '../../core/errors';
import { loadJobTask, parseShard, prepareJob, prepareShard, resolveJob, type JobInput } from '../../core/job';
import { buildSupervision, supervisionOptionsFor } from '../../core/supervision/supervision';
import { imageFlags, initCliBackend, splitList, writeJson, type CliCommand } from '../common';
import { isJobLink, jobBaseDir, jobInputs, nodeJobIO, progressPrinter, readJob } from './run';
import { checkOutput } from '../files';

const OPTIONS = {
  demo: { type: 'string' as const },
  model: { type: 'string' as const },
  data: { type: 'string' as const },
  label: { type: 'string' as const },
  drop: { type: 'string' as const },
  baseline: { type: 'string' as const },
  target: { type: 'string' as const },
  methods: { type: 'string' as const },
  delta: { type: 'string' as const },
  p: { type: 'string' as const },
  mode: { type: 'string' as const },
  seed: { type: 'string' as const },
  'max-rows': { type: 'string' as const },
  patch: { type: 'string' as const },
  normalise: { type: 'string' as const },
  vocab: { type: 'string' as const },
  text: { type: 'string' as const },
  'mask-token': { type: 'string' as const },
  backend: { type: 'string' as const },
  out: { type: 'string' as const },
  shard: { type: 'string' as const },
};

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x)) throw new UserError(`--${name} "${v}" is not a number.`, `Give a number, e.g. --${name} ${name === 'p' ? '0.15' : name === 'delta' ? '0.9' : '0'}.`);
  return x;
}

export const command: CliCommand = {
  help: () =>
    [
      'Usage: deepfaith supervise [<job.json> | "<studio link>"] --out <z.json> [--delta 0.9] [--p 0.15] [--mode full|dedup-only|filter-only] [--seed N] [--backend cpu|wasm]',
      '       deepfaith supervise (--demo <id> | --model <model.json> --data <file.csv> --label <col> [--drop a,b])',
      '                           [--methods paper|all|id,id,…] [--baseline zero|mean] [--target predicted|label]',
      '                           [--seed N] [--max-rows N] [--patch <pixels>] [--normalise 0-1|-1-1|mean-std] [--backend cpu|wasm] --out <z.json>',
      '       text tasks: --model <model.json> --data <texts.csv> --vocab <vocab.json> --text <column> --label <column> [--mask-token <token>] (docs/text.md)',
      '',
      'Runs the prior methods on every sample, min–max normalises them, scores ALL of them on the metrics,',
      'splits the samples 80/20, and builds Z from the training samples by dedup (cosine ≥ δ, greedy in method',
      'order) and filter (per-sample p-quantile on every metric). Writes',
      '  { task, featureNames, methods, metrics, split, options, counts, z: { nPairs, pairs: [{row, method, x, s}] }, record: [{row, fates, thresholds, nKept}],',
      '    scores: { [method]: { [metric]: [per training sample] } } }',
      'The stored scores let δ and p change without re-scoring (see docs/deepfaith.md).',
      '',
      'Sharded (docs/scale.md): deepfaith supervise <job> --shard i/N --out <file.json | folder/>',
      '  computes only rows [⌊i·R/N⌋, ⌊(i+1)·R/N⌋) of the job\'s R rows (priors and their scores) into a shard file',
      '  (in a folder: shard-<i>-of-<N>.json). Without --shard, JOB_COMPLETION_INDEX and JOB_COMPLETION_COUNT',
      '  (a Kubernetes Indexed Job) are read when set. deepfaith merge <shards…> --out prepared.json combines',
      '  them; deepfaith run <job> --prepared prepared.json trains from it (the numbers of one process, bit for bit).',
    ].join('\n'),

  async run(argv) {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (e) {
      throw new UserError(`${(e as Error).message}.`, 'Run deepfaith supervise --help to see the accepted options.');
    }
    const { values: f, positionals } = parsed;
    if (!f.out) throw new UserError('Missing --out.', 'Say where to write Z with --out path/to/z.json.');
    let input: JobInput;
    let baseDir = process.cwd();
    if (positionals.length === 1) {
      input = readJob(positionals[0]);
      baseDir = jobBaseDir(positionals[0]);
    } else if (positionals.length > 1) throw new UserError('Give at most one job file.', 'Write deepfaith supervise job.json --out z.json.');
    else {
      const methods = f.methods === undefined || f.methods === 'paper' || f.methods === 'all' ? ((f.methods ?? 'paper') as 'paper' | 'all') : splitList(f.methods).map((id) => ({ id }));
      input = {
        task: {
          demo: f.demo,
          model: f.model,
          data: f.data,
          label: f.label,
          drop: f.drop ? splitList(f.drop) : undefined,
          ...(f.baseline ? { baseline: f.baseline as 'zero' } : {}),
          ...(f.target ? { target: f.target as 'predicted' } : {}),
          ...(f['max-rows'] ? { maxRows: num(f['max-rows'], 'max-rows') } : {}),
          ...imageFlags(f),
          ...(f.vocab ? { vocab: f.vocab } : {}),
          ...(f.text ? { text: f.text } : {}),
          ...(f['mask-token'] ? { maskToken: f['mask-token'] } : {}),
        },
        methods,
      };
    }
    if (f.seed !== undefined) input.seed = num(f.seed, 'seed');
    input.supervision = { ...(input.supervision ?? {}), ...(f.delta !== undefined ? { delta: num(f.delta, 'delta') } : {}), ...(f.p !== undefined ? { p: num(f.p, 'p') } : {}) };
    if (f.mode) input.mode = f.mode as 'full';
    const job = resolveJob(input);
    const shard = parseShard(f.shard, process.env);
    // a shard goes into --out, or into <folder>/shard-<i>-of-<N>.json when --out is a folder (ends with / or exists as one)
    const out = shard && (f.out.endsWith('/') || (existsSync(f.out) && statSync(f.out).isDirectory())) ? join(f.out, shardFileName(shard)) : f.out;
    if (shard && f.out.endsWith('/')) mkdirSync(f.out, { recursive: true });
    checkOutput(out, [positionals[0] && !isJobLink(positionals[0]) ? positionals[0] : undefined, ...jobInputs(job, baseDir)]);
    await initCliBackend(f.backend);
    if (shard) {
      const loaded = await loadJobTask(job, nodeJobIO(baseDir));
      try {
        const file = await prepareShard(job, loaded, shard, progressPrinter('deepfaith supervise:'));
        writeJson(out, file);
        console.error(`deepfaith supervise: shard ${shard.index}/${shard.count} (rows ${file.positions.join(':')} of ${file.nRows}) → ${out} in ${(file.ms / 1000).toFixed(1)} s; merge all ${shard.count} with deepfaith merge`);
        return 0;
      } finally {
        loaded.task.model.dispose();
      }
    }
    const prep = await prepareJob(job, nodeJobIO(baseDir), progressPrinter('deepfaith supervise:'));
    try {
      const { batch } = prep.loaded;
      const n = prep.loaded.task.nFeatures;
      const d = prep.loaded.task.inputSize; // model-input values per row (images: pixels × channels)
      const opts = supervisionOptionsFor(job.mode, job.supervision.delta, job.supervision.p);
      const z = buildSupervision({ x: batch.x, n, inputSize: d, rowIndex: batch.rowIndex, use: prep.split.train, methodIds: prep.ranIds, explanations: prep.explanations, scores: prep.scores }, opts);
      const scores: Record<string, Record<string, Float32Array>> = {};
      prep.ranIds.forEach((id, j) => {
        scores[id] = {};
        prep.scores.metricIds.forEach((m, k) => (scores[id][m] = Float32Array.from(prep.split.train, (p) => prep.scores.perSample[j][k][p])));
      });
      writeJson(f.out, {
        task: prep.loaded.source,
        featureNames: prep.loaded.task.featureNames,
        methods: prep.priors,
        metrics: prep.scores.metricIds.map((id, k) => ({ id, direction: prep.scores.directions[k] })),
        split: { trainRows: prep.split.train.map((p) => batch.rowIndex[p]), testRows: prep.split.test.map((p) => batch.rowIndex[p]) },
        options: opts,
        counts: z.counts,
        z: { nPairs: z.nPairs, pairs: Array.from({ length: z.nPairs }, (_, i) => ({ row: z.pairRow[i], method: z.methodIds[z.pairMethod[i]], x: z.x.subarray(i * d, (i + 1) * d), s: z.s.subarray(i * n, (i + 1) * n) })) },
        record: z.record,
        scores,
      });
      const c = z.counts;
      console.error(`deepfaith supervise: ${c.total} explanations → ${c.afterDedup} after dedup → ${c.afterFilter} in Z; ${c.samplesWithoutSurvivor} of ${c.samples} samples without a survivor → ${f.out}`);
      return 0;
    } finally {
      prep.loaded.task.model.dispose();
    }
  },
};
