#!/usr/bin/env node
/**
 * `npm run bench:cli` — start-up of the `deepfaith` command: wall time of
 * `node bin/deepfaith.mjs attribute --help` (which loads the engine and tfjs) through the sources
 * (tsx, as before the bundle: DEEPFAITH_CLI=source) and through the pre-built bundle
 * (DEEPFAITH_CLI=bundle), alternating, plus `npx deepfaith attribute --help` and an empty `node -e ""`
 * for scale. Median, min and max of --runs runs each (default 15). Builds the bundle first when it is
 * missing or out of date. Writes bench/results/cli-start.json (--json <file>, "-" for none).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import os from 'node:os';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
};
const runs = Number(arg('runs', '15'));
const jsonOut = arg('json', 'bench/results/cli-start.json');

const probe = spawnSync(process.execPath, ['bin/deepfaith.mjs', '--help'], { env: { ...process.env, DEEPFAITH_CLI: 'bundle' }, encoding: 'utf8' });
if (probe.status !== 0) {
  const b = spawnSync(process.execPath, ['scripts/build-cli.mjs'], { stdio: 'inherit' });
  if (b.status !== 0) process.exit(1);
}

const cases = [
  { name: 'node -e "" (Node itself)', cmd: process.execPath, args: ['-e', ''], env: {} },
  { name: 'sources through tsx (before)', cmd: process.execPath, args: ['bin/deepfaith.mjs', 'attribute', '--help'], env: { DEEPFAITH_CLI: 'source' } },
  { name: 'bundle (after)', cmd: process.execPath, args: ['bin/deepfaith.mjs', 'attribute', '--help'], env: { DEEPFAITH_CLI: 'bundle' } },
  { name: 'npx deepfaith (bundle)', cmd: 'npx', args: ['--no-install', 'deepfaith', 'attribute', '--help'], env: { DEEPFAITH_CLI: 'bundle' } },
];
const times = cases.map(() => []);
for (let i = 0; i < runs; i++)
  cases.forEach((c, k) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(c.cmd, c.args, { env: { ...process.env, ...c.env }, encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${c.name} exited ${r.status}: ${r.stderr}`);
    if (k > 0 && !/Usage: deepfaith attribute/.test(r.stdout)) throw new Error(`${c.name} printed no help`);
    times[k].push(ms);
  });
const stats = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
};
const machine = { cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'cpu', node: process.version, loadavg: os.loadavg().map((v) => +v.toFixed(2)) };
console.log(`machine: ${machine.cpus} × ${machine.cpu}, Node ${machine.node}; load ${machine.loadavg.join(' ')}; ${runs} runs each, alternating\n`);
console.log('command                                  median ms     min ms     max ms');
const rows = cases.map((c, k) => {
  const s = stats(times[k]);
  console.log(`${c.name.padEnd(38)} ${s.median.toFixed(0).padStart(10)} ${s.min.toFixed(0).padStart(10)} ${s.max.toFixed(0).padStart(10)}`);
  return { name: c.name, command: [c.cmd === process.execPath ? 'node' : c.cmd, ...c.args].join(' '), env: c.env, ...s };
});
const ratio = rows[1].median / rows[2].median;
console.log(`\nbundle vs sources: ${ratio.toFixed(1)}× faster (median); goal < 500 ms: ${rows[2].median < 500 ? 'met' : 'NOT met'}`);
if (jsonOut !== '-') {
  mkdirSync(dirname(jsonOut), { recursive: true });
  writeFileSync(jsonOut, JSON.stringify({ bench: 'CLI start', date: new Date().toISOString(), machine, runs, rows, ratio }, null, 2) + '\n');
  console.log(`wrote ${jsonOut}`);
}
