/**
 * `deepfaith run --score-backend / --train-backend` (per-stage backends, core/backend.ts): the
 * chosen backends and their reasons on stderr and in results.json "backends"; a bad value is
 * refused before the job file is read; --help lists the flags.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/deepfaith.mjs', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'df-stages-'));
  const job = {
    task: { demo: 'iris', maxRows: 30 },
    methods: [{ id: 'saliency' }, { id: 'occlusion' }],
    metrics: [{ id: 'DEL' }, { id: 'RP' }],
    explainer: { dModel: 8, nHeads: 2, nLayers: 1, dFF: 16 },
    training: { epochs: 1, lcSubsets: 4, batchSize: 32 },
  };
  writeFileSync(join(dir, 'job.json'), JSON.stringify(job));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('deepfaith run with per-stage backends', () => {
  it('scores on cpu and trains on wasm; says so on stderr and in results.json', () => {
    const r = cli('run', join(dir, 'job.json'), '--out', join(dir, 'out'), '--score-backend', 'cpu', '--train-backend', 'wasm');
    expect(r.stderr).toMatch(/deepfaith run: scoring on cpu \(Chosen by the user\.\); training on wasm \(Chosen by the user\.\)/);
    expect(r.status).toBe(0);
    const result = JSON.parse(readFileSync(join(dir, 'out', 'results.json'), 'utf8'));
    expect(result.backends).toEqual({ score: { backend: 'cpu', reason: 'Chosen by the user.' }, train: { backend: 'wasm', reason: 'Chosen by the user.' } });
    expect(result.backend).toBe('wasm');
  }, 150_000);

  it('--backend sets both stages; a stage flag wins over it for its stage', () => {
    const r = cli('run', join(dir, 'job.json'), '--out', join(dir, 'out2'), '--backend', 'cpu', '--train-backend', 'wasm');
    expect(r.status).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'out2', 'results.json'), 'utf8')).backends).toMatchObject({ score: { backend: 'cpu' }, train: { backend: 'wasm' } });
  }, 150_000);

  it('a backend Node does not have is refused before the job is read, naming the flag and what to use', () => {
    const r = cli('run', join(dir, 'no-such-job.json'), '--out', join(dir, 'out3'), '--train-backend', 'webgpu');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--train-backend "webgpu" is not available in the command line \(Node has the wasm and cpu backends\)\./);
    expect(r.stderr).toMatch(/Use --train-backend wasm or --train-backend cpu, or leave it out to use --backend \(default wasm\)\./);
    expect(r.stderr).not.toMatch(/no-such-job/);
    const s = cli('run', join(dir, 'job.json'), '--out', join(dir, 'out3'), '--score-backend', 'gpu');
    expect(s.status).toBe(2);
    expect(s.stderr).toMatch(/--score-backend "gpu" is not available/);
  });

  it('--help lists both flags', () => {
    const r = cli('run', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/--score-backend cpu\|wasm/);
    expect(r.stdout + r.stderr).toMatch(/--train-backend cpu\|wasm/);
  });
});
