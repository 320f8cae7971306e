/**
 * Sharded supervision (docs/scale.md): the expensive part of a job — every prior on every row and
 * every metric on every prior — computed as N independent slices of the job's rows, on as many
 * machines, and merged into the prepared-job cache (`PreparedCache`) that `deepfaith run --prepared`
 * and the studio import.
 *
 * Shard i of N holds the contiguous positions [⌊i·R/N⌋, ⌊(i+1)·R/N⌋) of the job's R rows. Every
 * random draw of a method or a metric comes from `seeder.rng(unit, rowIndex)`, so a row's numbers do
 * not depend on which rows share its batch: the merged cache is bit-identical to one process's
 * (tests/shard.test.ts). The targets and the seeded split are computed for all rows in every shard
 * (one forward pass) and must agree when merged. Times (`msPerSample`) are the only numbers that
 * differ: the merge sums each prior's wall time (its time per row = the sum over the job's rows).
 */
import { UserError } from '../errors';
import { Seeder } from '../rng';
import type { LoadedTask } from '../task/load';
import { runPriors, scoreAll, type PriorMethodInfo, type StoredScores } from '../supervision/supervision';
import { jobMethodRequests } from './schema';
import { preparedKey } from './diff';
import { isFingerprint, startJob, subBatch, type JobEvent, type PreparedCache } from './prepare';
import type { Job } from './schema';

export interface ShardSpec {
  /** 0-based. */
  index: number;
  count: number;
}

export interface ShardFile {
  format: 'deepfaith-shard';
  version: 1;
  /** preparedKey of the job: shards of other jobs are refused by the merge. */
  key: string;
  /** The job, so the merged cache can say what it is for (and the studio can load its task). */
  job: Job;
  /** SHA-256 of the model and of the job's rows (`rowsFingerprint`): the merge refuses shards of other files. */
  fingerprint: { model: string; data: string };
  shard: ShardSpec;
  /** Rows of the whole job, and this shard's positions [from, to). */
  nRows: number;
  positions: [number, number];
  /** For all rows (every shard computes them; the merge checks they agree). */
  target: number[];
  split: { train: number[]; test: number[] };
  priors: PriorMethodInfo[];
  ranIds: string[];
  /** Per prior: the normalised explanations of this shard's rows, row-major [rows, nFeatures]. */
  explanations: number[][];
  scores: { metricIds: string[]; directions: StoredScores['directions']; perSample: (number | null)[][][]; modelCalls: number[][] };
  ms: number;
}

/** Positions [from, to) of shard i of N over R rows. */
export function shardRange(nRows: number, shard: ShardSpec): [number, number] {
  return [Math.floor((shard.index * nRows) / shard.count), Math.floor(((shard.index + 1) * nRows) / shard.count)];
}

/** "i/N" (0-based i), or the Kubernetes Indexed Job variables JOB_COMPLETION_INDEX and JOB_COMPLETION_COUNT. */
export function parseShard(text: string | undefined, env: Record<string, string | undefined> = {}): ShardSpec | undefined {
  let index: number;
  let count: number;
  let from: string;
  if (text !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(text.trim());
    if (!m) throw new UserError(`--shard "${text}" is not of the form i/N.`, 'Give the 0-based shard index and the number of shards, e.g. --shard 0/4 … --shard 3/4.');
    [index, count, from] = [Number(m[1]), Number(m[2]), `--shard ${text}`];
  } else if (env.JOB_COMPLETION_INDEX !== undefined) {
    if (env.JOB_COMPLETION_COUNT === undefined)
      throw new UserError('JOB_COMPLETION_INDEX is set but JOB_COMPLETION_COUNT is not, so the number of shards is unknown.', 'Set JOB_COMPLETION_COUNT to the Job\'s completions (deploy/k8s/supervise-job.yaml does), or pass --shard i/N.');
    [index, count, from] = [Number(env.JOB_COMPLETION_INDEX), Number(env.JOB_COMPLETION_COUNT), `JOB_COMPLETION_INDEX=${env.JOB_COMPLETION_INDEX}, JOB_COMPLETION_COUNT=${env.JOB_COMPLETION_COUNT}`];
  } else return undefined;
  if (!(Number.isInteger(index) && Number.isInteger(count) && count >= 1 && count <= 100000 && index >= 0 && index < count))
    throw new UserError(`${from}: the shard index must be a whole number from 0 to N − 1 and N from 1 to 100000.`, 'E.g. --shard 0/4 for the first of four shards.');
  return { index, count };
}

/** One shard of the prepared job on a loaded task (the caller keeps ownership of its model). */
export async function prepareShard(job: Job, loaded: LoadedTask, shard: ShardSpec, onEvent?: (e: JobEvent) => void, signal?: AbortSignal): Promise<ShardFile> {
  const t0 = performance.now();
  const rows = await startJob(job, loaded, signal);
  const { task, batch } = loaded;
  const R = batch.nRows;
  if (shard.count > R) throw new UserError(`${shard.count} shards for ${R} rows would leave shards without rows.`, `Use at most ${R} shards.`);
  const [from, to] = shardRange(R, shard);
  const positions = Array.from({ length: to - from }, (_, i) => from + i);
  const part = subBatch(batch, positions, task.inputSize);
  const target = rows.target.subarray(from, to);
  onEvent?.({ stage: 'load', done: 1, total: 1, message: `shard ${shard.index + 1}/${shard.count}: rows ${from}:${to} of ${R}` });
  const priors = await runPriors(task, part, target, jobMethodRequests(job, task.space.kind), new Seeder(job.seed), (done, total, id) => onEvent?.({ stage: 'priors', done, total, message: id }), signal);
  if (priors.ranIds.length === 0) throw new UserError('None of the prior methods could run on this task.', `Skipped: ${priors.methods.map((m) => `${m.id} (${m.reason})`).join('; ')}.`);
  const scores = await scoreAll(task, part, target, priors.explanations, rows.metrics, new Seeder(job.seed), (done, total) => onEvent?.({ stage: 'score-priors', done, total }), signal);
  const nul = (v: Float32Array) => Array.from(v, (x) => (Number.isNaN(x) ? null : x));
  return {
    format: 'deepfaith-shard',
    version: 1,
    key: preparedKey(job),
    job,
    fingerprint: rows.fingerprint,
    shard,
    nRows: R,
    positions: [from, to],
    target: Array.from(rows.target),
    split: rows.split,
    priors: priors.methods,
    ranIds: priors.ranIds,
    explanations: priors.explanations.map((e) => Array.from(e)),
    scores: { metricIds: scores.metricIds, directions: scores.directions, perSample: scores.perSample.map((m) => m.map(nul)), modelCalls: scores.modelCalls },
    ms: performance.now() - t0,
  };
}

/** The prepared-job cache of the whole job from all its shards (any order), checked. Times: the priors' summed wall time over the job's rows. */
export function mergeShards(shards: ShardFile[], names: string[] = shards.map((_, i) => `shard ${i}`)): PreparedCache & { job: Job } {
  if (!shards.length) throw new UserError('No shard files to merge.', 'Give the files written by deepfaith supervise --shard i/N (or their folder).');
  shards.forEach((s, i) => {
    if (!s || s.format !== 'deepfaith-shard' || s.version !== 1) throw new UserError(`${names[i]} is not a shard file (deepfaith supervise --shard).`, 'Give only the files deepfaith supervise --shard i/N wrote.');
    if (!isFingerprint(s.fingerprint))
      throw new UserError(`${names[i]} does not record which model and data files it was computed on, so the merge cannot check that the shards belong together.`, 'Compute that shard again with deepfaith supervise --shard i/N.');
  });
  const first = shards[0];
  const N = first.shard.count;
  const seen: (string | undefined)[] = new Array(N).fill(undefined);
  shards.forEach((s, i) => {
    const same = (what: string, a: unknown, b: unknown) => {
      if (JSON.stringify(a) !== JSON.stringify(b))
        throw new UserError(`${names[i]} and ${names[0]} disagree on ${what}: they are not shards of one run.`, 'Merge the shards of one job, computed with the same settings and the same model and data.');
    };
    same('the job (settings, seed, methods or metrics)', s.key, first.key);
    same('the model and data files (their SHA-256)', s.fingerprint, first.fingerprint);
    same('the number of shards', s.shard.count, N);
    same('the number of rows', s.nRows, first.nRows);
    same('the targets', s.target, first.target);
    same('the split', s.split, first.split);
    same('the methods that ran', s.ranIds, first.ranIds);
    same('the metrics', s.scores.metricIds, first.scores.metricIds);
    if (seen[s.shard.index] !== undefined) throw new UserError(`${names[i]} and ${seen[s.shard.index]} are both shard ${s.shard.index}/${N}.`, 'Give each shard once.');
    seen[s.shard.index] = names[i];
    const [a, b] = shardRange(s.nRows, s.shard);
    if (s.positions[0] !== a || s.positions[1] !== b) throw new UserError(`${names[i]} holds rows ${s.positions.join(':')}, but shard ${s.shard.index}/${N} is rows ${a}:${b}.`, 'The file was changed after it was written: compute that shard again.');
  });
  const missing = seen.map((v, i) => (v === undefined ? i : -1)).filter((i) => i >= 0);
  if (missing.length) throw new UserError(`Shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of ${N} ${missing.length > 1 ? 'are' : 'is'} missing.`, `Compute ${missing.map((i) => `--shard ${i}/${N}`).join(', ')} and merge again.`);
  const ordered = [...shards].sort((x, y) => x.shard.index - y.shard.index);
  const R = first.nRows;
  const K = first.ranIds.length;
  const M = first.scores.metricIds.length;
  const explanations = Array.from({ length: K }, (_, j) => ordered.flatMap((s) => s.explanations[j]));
  const perSample = Array.from({ length: K }, (_, j) => Array.from({ length: M }, (_, k) => ordered.flatMap((s) => s.scores.perSample[j][k].map((v) => (v === null ? NaN : v)))));
  const modelCalls = Array.from({ length: K }, (_, j) => Array.from({ length: M }, (_, k) => ordered.reduce((a, s) => a + s.scores.modelCalls[j][k], 0)));
  // the priors' info: what ran and why not is the same in every shard; times are row-weighted means
  const priors = first.priors.map((p, j) => {
    const ms = ordered.reduce((a, s) => a + s.priors[j].ms, 0);
    return { ...p, ms, msPerSample: ms / R };
  });
  return {
    format: 'deepfaith-prepared',
    version: 1,
    key: first.key,
    fingerprint: first.fingerprint,
    job: first.job,
    target: first.target,
    split: first.split,
    priors,
    ranIds: first.ranIds,
    explanations,
    scores: { metricIds: first.scores.metricIds, directions: first.scores.directions, perSample: perSample as unknown as number[][][], modelCalls },
  };
}
