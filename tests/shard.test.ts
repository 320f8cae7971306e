/**
 * Sharded supervision (docs/scale.md): N slices of the job's rows computed apart — in process and
 * as N separate `deepfaith supervise` processes told their shard by the Kubernetes Indexed Job
 * variables — merge into the prepared cache of one process, bit for bit; `run --prepared` trains
 * from it to the same table; bad shard sets are refused by name.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportPrepared, loadJobTask, mergeShards, parseShard, prepareJob, prepareShard, resolveJob, shardRange, type JobInput, type PreparedCache, type ShardFile } from '../src/core/job';
import { nodeJobIO } from '../src/cli/commands/run';
import { main } from '../src/cli/main';
import { useBackend } from './helpers/models';

const job: JobInput = {
  task: { demo: 'iris', maxRows: 30, baseline: 'mean' },
  methods: [{ id: 'saliency' }, { id: 'kernel-shap', params: { samples: 32 } }, { id: 'lime', params: { samples: 40 } }, { id: 'occlusion' }],
  metrics: 'all',
  explainer: { dModel: 8, nHeads: 2, nLayers: 1, dFF: 16 },
  training: { epochs: 2, lcSubsets: 10 },
  seed: 4,
};

let dir: string;
let whole: PreparedCache;

/** The numbers of a cache, without the priors' times (they depend on the machine) and the model rows sent (modelCalls: the baseline row goes once per shard). */
function numbers(c: PreparedCache) {
  return { key: c.key, fingerprint: c.fingerprint, target: c.target, split: c.split, ranIds: c.ranIds, explanations: c.explanations, scores: JSON.parse(JSON.stringify({ ...c.scores, modelCalls: undefined })), priors: c.priors.map(({ ms: _ms, msPerSample: _m, ...p }) => p) };
}
const totalCalls = (c: PreparedCache) => c.scores.modelCalls.flat().reduce((a, b) => a + b, 0);

async function quiet<T>(f: () => Promise<T>): Promise<T> {
  const a = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  const b = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    return await f();
  } finally {
    a.mockRestore();
    b.mockRestore();
  }
}

beforeAll(async () => {
  await useBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'df-shard-'));
  const prep = await prepareJob(resolveJob(job), nodeJobIO(process.cwd()));
  try {
    whole = JSON.parse(JSON.stringify(exportPrepared(prep)));
  } finally {
    prep.loaded.task.model.dispose();
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sharded supervision', () => {
  it('shard ranges cover every row once; i/N and the Indexed Job variables are read, bad ones refused', () => {
    for (const [R, N] of [[30, 3], [31, 4], [7, 7], [100, 1]]) {
      const ranges = Array.from({ length: N }, (_, i) => shardRange(R, { index: i, count: N }));
      expect(ranges[0][0]).toBe(0);
      expect(ranges[N - 1][1]).toBe(R);
      for (let i = 1; i < N; i++) expect(ranges[i][0]).toBe(ranges[i - 1][1]);
    }
    expect(parseShard('2/5')).toEqual({ index: 2, count: 5 });
    expect(parseShard(undefined, { JOB_COMPLETION_INDEX: '1', JOB_COMPLETION_COUNT: '3' })).toEqual({ index: 1, count: 3 });
    expect(parseShard(undefined, {})).toBeUndefined();
    expect(() => parseShard('5/5')).toThrow(/from 0 to N − 1/);
    expect(() => parseShard('1-of-3')).toThrow(/not of the form i\/N/);
    expect(() => parseShard(undefined, { JOB_COMPLETION_INDEX: '0' })).toThrow(/JOB_COMPLETION_COUNT is not/);
  });

  it('the Kubernetes manifest is an Indexed Job whose JOB_COMPLETION_COUNT equals its completions and whose pods run supervise into a shared folder', () => {
    const y = readFileSync('deploy/k8s/supervise-job.yaml', 'utf8');
    expect(y).toMatch(/^kind: Job$/m);
    expect(y).toMatch(/^\s+completionMode: Indexed$/m);
    const completions = /^\s+completions: (\d+)/m.exec(y)![1];
    expect(/name: JOB_COMPLETION_COUNT\s+value: "(\d+)"/.exec(y)![1]).toBe(completions);
    expect(y).toMatch(/command: \["node", "bin\/deepfaith\.mjs", "supervise", "\/data\/job\.json", "--out", "\/data\/shards\/"\]/);
  });

  it('three shards in process merge into the cache of one process, bit for bit (any order)', async () => {
    const j = resolveJob(job);
    const loaded = await loadJobTask(j, nodeJobIO(process.cwd()));
    try {
      const shards: ShardFile[] = [];
      for (const index of [2, 0, 1]) shards.push(JSON.parse(JSON.stringify(await prepareShard(j, loaded, { index, count: 3 }))));
      const merged = mergeShards(shards);
      expect(numbers(merged)).toEqual(numbers(whole));
      expect(totalCalls(merged)).toBe(totalCalls(whole) + 2); // the shared baseline row, once more per extra shard
      expect(merged.job).toEqual(j);
      // refusals: a missing shard, one given twice, a shard of another job
      expect(() => mergeShards(shards.slice(0, 2), ['a.json', 'b.json'])).toThrow(/Shard 1 of 3 is missing/);
      expect(() => mergeShards([...shards, shards[1]], ['a', 'b', 'c', 'd'])).toThrow(/d and b are both shard 0\/3/);
      const other = { ...shards[1], key: 'other' };
      expect(() => mergeShards([shards[0], other, shards[2]], ['a', 'b', 'c'])).toThrow(/b and a disagree on the job/);
      // shards of the same job on other files (same paths, other contents), or written without a fingerprint
      const otherFiles = { ...shards[2], fingerprint: { ...shards[2].fingerprint, data: '0'.repeat(64) } };
      expect(() => mergeShards([shards[0], shards[1], otherFiles], ['a', 'b', 'c'])).toThrow(/c and a disagree on the model and data files/);
      const { fingerprint: _f, ...unmarked } = shards[1];
      expect(() => mergeShards([shards[0], unmarked as ShardFile, shards[2]], ['a', 'b', 'c'])).toThrow(/b does not record which model and data files/);
    } finally {
      loaded.task.model.dispose();
    }
  });

  it('three `deepfaith supervise` processes (JOB_COMPLETION_INDEX/COUNT) → merge → the same cache; run --prepared gives run\'s table', async () => {
    const jobPath = join(dir, 'job.json');
    writeFileSync(jobPath, JSON.stringify(job));
    const shardDir = join(dir, 'shards') + '/';
    mkdirSync(shardDir, { recursive: true });
    const exec = promisify(execFile);
    await Promise.all(
      [0, 1, 2].map((i) => exec(process.execPath, ['bin/deepfaith.mjs', 'supervise', jobPath, '--out', shardDir], { env: { ...process.env, JOB_COMPLETION_INDEX: String(i), JOB_COMPLETION_COUNT: '3' } })),
    );
    expect(readdirSync(shardDir).sort()).toEqual(['shard-00000-of-00003.json', 'shard-00001-of-00003.json', 'shard-00002-of-00003.json']);
    const merged = join(dir, 'prepared.json');
    expect(await quiet(() => main(['merge', shardDir, '--out', merged]))).toBe(0);
    const cache = JSON.parse(readFileSync(merged, 'utf8')) as PreparedCache;
    expect(numbers(cache)).toEqual(numbers(whole));
    // training from the merged cache = training after computing the priors in this process
    expect(await quiet(() => main(['run', jobPath, '--prepared', merged, '--out', join(dir, 'a')]))).toBe(0);
    expect(await quiet(() => main(['run', jobPath, '--out', join(dir, 'b')]))).toBe(0);
    const table = (p: string) => JSON.parse(readFileSync(join(dir, p, 'results.json'), 'utf8')).table.map((r: { method: string; scores: unknown }) => [r.method, r.scores]);
    expect(table('a')).toEqual(table('b'));
    // a cache of another job is refused before anything runs
    writeFileSync(join(dir, 'job2.json'), JSON.stringify({ ...job, seed: 5 }));
    const err: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
    try {
      expect(await main(['run', join(dir, 'job2.json'), '--prepared', merged, '--out', join(dir, 'c')])).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(err.join('\n')).toMatch(/was computed for another job/);
  }, 120_000);

  it('a cache is tied to the contents of its model and of the job\'s rows: after a row of the job changes in the CSV at the same path, run --prepared refuses it before training (a row outside the job\'s maxRows does not matter); a cache without a fingerprint is refused too', async () => {
    // the demo's files copied to a folder of their own, named by path in the job
    writeFileSync(join(dir, 'iris.csv'), readFileSync('public/demos/iris/data.csv'));
    const fileJob = { ...job, task: { model: join(process.cwd(), 'public/demos/iris/model/model.json'), data: join(dir, 'iris.csv'), label: 'target', maxRows: 30, baseline: 'mean' } };
    const jobPath = join(dir, 'file-job.json');
    writeFileSync(jobPath, JSON.stringify(fileJob));
    const prep = await prepareJob(resolveJob(fileJob as JobInput), nodeJobIO(process.cwd()));
    let cache: PreparedCache;
    try {
      cache = exportPrepared(prep);
      expect(cache.fingerprint).toEqual(prep.fingerprint);
      expect(cache.fingerprint!.model).toBe(prep.loaded.fingerprint.model);
    } finally {
      prep.loaded.task.model.dispose();
    }
    const cachePath = join(dir, 'file-prepared.json');
    writeFileSync(cachePath, JSON.stringify({ ...cache, job: fileJob }));
    const run = async (name: string) => {
      const err: string[] = [];
      const spy = vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
      const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
      try {
        return { code: await main(['run', jobPath, '--prepared', cachePath, '--out', join(dir, name)]), err: err.join('\n') };
      } finally {
        spy.mockRestore();
        log.mockRestore();
      }
    };
    expect((await run('same')).code).toBe(0);
    const lines = readFileSync(join(dir, 'iris.csv'), 'utf8').split('\n');
    const edit = (line: number) => {
      const cells = lines[line].split(',');
      cells[0] = String(Number(cells[0]) + 0.5);
      lines[line] = cells.join(',');
      writeFileSync(join(dir, 'iris.csv'), lines.join('\n'));
    };
    // a row after the job's first 30 changed: not a row of the job, the cache still holds
    edit(100);
    expect((await run('beyond')).code).toBe(0);
    // one value of the first data row changed: same path, same rows, same job key
    edit(1);
    const changed = await run('changed');
    expect(changed.code).toBe(2);
    expect(changed.err).toMatch(/The cached priors were computed on other data rows than the job's rows loaded now/);
    expect(changed.err).not.toMatch(/with another model/);
    expect(readdirSync(dir)).not.toContain('changed');
    const { fingerprint: _f, ...unmarked } = cache;
    writeFileSync(cachePath, JSON.stringify({ ...unmarked, job: fileJob }));
    const old = await run('unmarked');
    expect(old.code).toBe(2);
    expect(old.err).toMatch(/do not record which model and data files they were computed on/);
  }, 120_000);
});
