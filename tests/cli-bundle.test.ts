/**
 * The pre-built command line (scripts/build-cli.mjs → build/cli/deepfaith.mjs, what `npm install`
 * builds) against the TypeScript sources run through tsx: same output on a demo, end to end, for
 * attribute and for evaluate with several explanations files; only the tfjs parts the CLI uses are
 * in it; and bin/deepfaith.mjs runs it only while it is up to date.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let dir: string;

function run(mode: 'source' | 'bundle', args: string[], binPath = 'bin/deepfaith.mjs') {
  const r = spawnSync(process.execPath, [binPath, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, DEEPFAITH_CLI: mode } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The JSON a run wrote, without its wall times and with the file names it was given. */
function withoutTimes(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutTimes);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'ms').map(([k, x]) => [k, withoutTimes(x)]));
  return v;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'deepfaith-bundle-'));
  const b = spawnSync(process.execPath, ['scripts/build-cli.mjs'], { encoding: 'utf8', timeout: 120_000 });
  if (b.status !== 0 || !/built build\/cli\/deepfaith\.mjs/.test(b.stdout)) throw new Error(`building the CLI bundle failed:\n${b.stdout}\n${b.stderr}`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the bundled CLI', () => {
  it('attribute --demo iris --method saliency --rows 0:3 --out -: the same JSON as the sources', () => {
    const args = ['attribute', '--demo', 'iris', '--method', 'saliency', '--rows', '0:3', '--out', '-'];
    const src = run('source', args);
    const bun = run('bundle', args);
    expect(src.status, src.stderr).toBe(0);
    expect(bun.status, bun.stderr).toBe(0);
    const a = JSON.parse(src.stdout);
    const b = JSON.parse(bun.stdout);
    expect(a.values).toHaveLength(3);
    expect(a.backend).toBe('wasm');
    expect(withoutTimes(b)).toEqual(withoutTimes(a));
  });

  it('evaluate --explanations a.json,b.json: one shared batch, the same JSON as the sources, each file scored as on its own', () => {
    const files = ['saliency', 'integrated-gradients'].map((m) => {
      const p = join(dir, `${m}.json`);
      const r = run('source', ['attribute', '--demo', 'wine', '--method', m, '--rows', '10:16', '--out', p]);
      expect(r.status, r.stderr).toBe(0);
      return p;
    });
    const args = (out: string, exps: string[]) => ['evaluate', '--demo', 'wine', '--explanations', exps.join(','), '--metrics', 'FC,FE,INS,NEG,DEL', '--out', out];
    const src = run('source', args('-', files));
    const bun = run('bundle', args('-', files));
    expect(src.status, src.stderr).toBe(0);
    expect(bun.status, bun.stderr).toBe(0);
    const both = JSON.parse(src.stdout);
    expect(withoutTimes(JSON.parse(bun.stdout))).toEqual(withoutTimes(both));
    // several files: { results: [one metrics file each, in order], totals }
    expect(both.results.map((r: { explanations: { method: string } }) => r.explanations.method)).toEqual(['saliency', 'integrated-gradients']);
    expect(both.modelCalls).toBe(both.results[0].modelCalls + both.results[1].modelCalls);
    expect(both.rows).toEqual([10, 16]);
    // each file's numbers are those of scoring it alone; the shared batch sends fewer rows than two runs
    let alone = 0;
    files.forEach((f, i) => {
      const one = JSON.parse(run('bundle', args('-', [f])).stdout);
      alone += one.modelCalls;
      for (const id of ['FC', 'FE', 'INS', 'NEG', 'DEL']) expect(both.results[i].metrics[id].perSample, `${f} ${id}`).toEqual(one.metrics[id].perSample);
    });
    expect(both.modelCalls).toBeLessThan(alone);
    expect(both.rowsRequested).toBeGreaterThan(both.modelCalls);
  });

  it('evaluate refuses several files that explain different rows', () => {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    expect(run('bundle', ['attribute', '--demo', 'iris', '--method', 'saliency', '--rows', '0:3', '--out', a]).status).toBe(0);
    expect(run('bundle', ['attribute', '--demo', 'iris', '--method', 'saliency', '--rows', '0:4', '--out', b]).status).toBe(0);
    const r = run('bundle', ['evaluate', '--demo', 'iris', '--explanations', `${a},${b}`, '--out', '-']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/cover different rows \(0:3 and 0:4\)/);
  });

  it('holds the cpu and wasm backends and no WebGL backend (tfjs-core, -layers, -converter, -backend-cpu, -backend-wasm only)', () => {
    const text = readFileSync('build/cli/deepfaith.mjs', 'utf8');
    const backends = [...text.matchAll(/registerBackend\("([a-z]+)"/g)].map((m) => m[1]).sort();
    expect(backends).toEqual(['cpu', 'wasm']);
    for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']) expect(statSync(join('build/cli', f)).size).toBeGreaterThan(100_000);
  });

  it('bin/deepfaith.mjs runs the bundle only while every source file it was built from is unchanged', () => {
    // a copy of bin/ and build/cli/ in a folder of its own, with one source file of its own
    const root = join(dir, 'root');
    mkdirSync(join(root, 'bin'), { recursive: true });
    mkdirSync(join(root, 'build', 'cli'), { recursive: true });
    mkdirSync(join(root, 'src'), { recursive: true });
    copyFileSync('bin/deepfaith.mjs', join(root, 'bin', 'deepfaith.mjs'));
    copyFileSync('build/cli/deepfaith.mjs', join(root, 'build', 'cli', 'deepfaith.mjs'));
    writeFileSync(join(root, 'src', 'x.ts'), 'export {};\n');
    const st = statSync(join(root, 'src', 'x.ts'));
    const bin = join(root, 'bin', 'deepfaith.mjs');
    writeFileSync(join(root, 'build', 'cli', 'inputs.json'), JSON.stringify({ inputs: [{ path: 'src/x.ts', size: st.size, mtimeMs: st.mtimeMs }] }));
    const fresh = run('bundle', ['--help'], bin);
    expect(fresh.status, fresh.stderr).toBe(0);
    expect(fresh.stdout).toMatch(/Usage: deepfaith <command>/);
    writeFileSync(join(root, 'src', 'x.ts'), 'export const changed = 1;\n');
    const stale = run('bundle', ['--help'], bin);
    expect(stale.status).toBe(2);
    expect(stale.stderr).toMatch(/build\/cli\/deepfaith\.mjs is older than src\/x\.ts\. Run npm run build:cli\./);
    rmSync(join(root, 'build', 'cli', 'inputs.json'));
    expect(run('bundle', ['--help'], bin).stderr).toMatch(/deepfaith\.mjs is missing/);
  });
});
