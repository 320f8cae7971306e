#!/usr/bin/env node
// `npm test`: type check, unit + CLI tests (Node), then browser tests (real Chromium).
// Ends with one line "tests: N passed, N failed".
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import { ensureChromium } from './ensure-chromium.mjs';

mkdirSync('test-artifacts', { recursive: true });
let passed = 0;
let failed = 0;
let ok = true;

function run(label, cmd, args, env = {}) {
  console.log(`\n=== ${label}: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) ok = false;
  return r.status === 0;
}

function count(file) {
  if (!existsSync(file)) return;
  const j = JSON.parse(readFileSync(file, 'utf8'));
  passed += j.numPassedTests ?? 0;
  failed += (j.numFailedTests ?? 0) + (j.numTodoTests ?? 0);
  if ((j.numPendingTests ?? 0) > 0) {
    console.error(`${j.numPendingTests} test(s) were skipped: skipped tests are not allowed.`);
    ok = false;
  }
}

run('type check', 'node', ['node_modules/typescript/bin/tsc', '-p', '.']);
run('unit and CLI tests', 'node', ['node_modules/vitest/vitest.mjs', 'run', '--reporter=default', '--reporter=json', '--outputFile.json=test-artifacts/unit.json']);
count('test-artifacts/unit.json');
if (!process.env.SKIP_E2E) {
  const chromium = ensureChromium();
  if (existsSync('vitest.e2e.config.ts')) {
    run('build', 'node', ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn']);
    run('browser tests', 'node', ['node_modules/vitest/vitest.mjs', 'run', '--config', 'vitest.e2e.config.ts', '--reporter=default', '--reporter=json', '--outputFile.json=test-artifacts/e2e.json'], { CHROMIUM_PATH: chromium });
    count('test-artifacts/e2e.json');
  }
}
console.log(`\ntests: ${passed} passed, ${failed} failed`);
process.exit(ok && failed === 0 ? 0 : 1);
