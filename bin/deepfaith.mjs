#!/usr/bin/env node
// The `deepfaith` command. Runs the pre-built bundle build/cli/deepfaith.mjs (made by the
// `prepare` step of `npm install` / `npm ci`, or by `npm run build:cli`) when it is there and every
// project file it was built from is unchanged (build/cli/inputs.json: sizes and modification
// times); otherwise the TypeScript sources through tsx, as before there was a bundle.
// DEEPFAITH_CLI=source forces the sources; DEEPFAITH_CLI=bundle requires the bundle.
import { readFileSync, statSync } from 'node:fs';

const ROOT = new URL('../', import.meta.url);
const BUNDLE = new URL('build/cli/deepfaith.mjs', ROOT);
const mode = process.env.DEEPFAITH_CLI;

/** 'fresh', 'missing', or the first project file that changed since the bundle was built. */
function bundleState() {
  let inputs;
  try {
    statSync(BUNDLE);
    inputs = JSON.parse(readFileSync(new URL('build/cli/inputs.json', ROOT), 'utf8')).inputs;
  } catch {
    return 'missing';
  }
  for (const f of inputs) {
    try {
      const st = statSync(new URL(f.path, ROOT));
      if (st.size !== f.size || st.mtimeMs !== f.mtimeMs) return f.path;
    } catch {
      return f.path;
    }
  }
  return 'fresh';
}

const state = mode === 'source' ? 'not used' : bundleState();
let main;
if (state === 'fresh') ({ main } = await import(BUNDLE.href));
else {
  if (mode === 'bundle') {
    console.error(`deepfaith: DEEPFAITH_CLI=bundle, but build/cli/deepfaith.mjs is ${state === 'missing' ? 'missing' : `older than ${state}`}. Run npm run build:cli.`);
    process.exit(2);
  }
  if (state !== 'missing' && state !== 'not used')
    console.error(`deepfaith: ${state} changed since build/cli was built; running the sources through tsx (npm run build:cli rebuilds it).`);
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
