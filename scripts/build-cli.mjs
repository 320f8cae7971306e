#!/usr/bin/env node
/**
 * Builds the command line into one ES module, build/cli/deepfaith.mjs, so that `deepfaith` starts
 * without transpiling TypeScript (bin/deepfaith.mjs runs the bundle when it is there and up to
 * date, else the sources through tsx). Run by `npm install` / `npm ci` (the `prepare` script) and
 * by `npm run build:cli`; offline: esbuild is installed with tsx.
 *
 * - '@tensorflow/tfjs' is aliased to scripts/cli-tfjs.mjs: tfjs-core (+ its gradients and chained
 *   ops), -layers, -converter and -backend-cpu, without the WebGL backend and tfjs-data, which
 *   Node never uses; the wasm backend is imported by the sources themselves. Packages are taken
 *   as ES modules ("module" before "main") so unused code is left out.
 * - '@tensorflow/tfjs-backend-webgpu' (imported only when a user picks webgpu, which the CLI
 *   refuses) is replaced by a module that throws.
 * - The bundle sits two folders below the repository root, like src/cli/files.ts, so its
 *   `new URL('../../public/demos/', import.meta.url)` finds the demos; the wasm backend looks
 *   for its .wasm files next to the bundle, so they are copied there.
 * - build/cli/inputs.json lists the project files the bundle was built from, with their sizes and
 *   modification times: bin/deepfaith.mjs falls back to the sources when one of them changed.
 *
 * Never fails an install: without esbuild it says so and exits 0 (the command then runs through tsx).
 */
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(ROOT, 'package.json'));

async function loadEsbuild() {
  try {
    return await import('esbuild');
  } catch {
    // esbuild comes with tsx (a dependency); npm may have nested it under tsx
    const fromTsx = createRequire(require.resolve('tsx/package.json'));
    return fromTsx('esbuild');
  }
}

const BANNER = [
  "import { createRequire as __dfCreateRequire } from 'node:module';",
  "import { fileURLToPath as __dfFileURLToPath } from 'node:url';",
  "import { dirname as __dfDirname } from 'node:path';",
  'const require = __dfCreateRequire(import.meta.url);',
  'const __filename = __dfFileURLToPath(import.meta.url);',
  'const __dirname = __dfDirname(__filename);',
].join('\n');

/** Build the CLI bundle into `outdir` (default build/cli). Returns { outfile, inputs, ms }. */
export async function buildCli({ outdir = join(ROOT, 'build', 'cli'), quiet = false } = {}) {
  const t0 = performance.now();
  const esbuild = await loadEsbuild();
  const tmp = `${outdir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    return await buildInto(esbuild, tmp, outdir, quiet, t0);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function buildInto(esbuild, tmp, outdir, quiet, t0) {
  const result = await esbuild.build({
    entryPoints: [join(ROOT, 'src/cli/main.ts')],
    outfile: join(tmp, 'deepfaith.mjs'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    mainFields: ['module', 'main'],
    alias: {
      '@tensorflow/tfjs': join(ROOT, 'scripts/cli-tfjs.mjs'),
      '@tensorflow/tfjs-backend-webgpu': join(ROOT, 'scripts/cli-no-webgpu.mjs'),
    },
    banner: { js: BANNER },
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'external',
    sourcemap: 'linked',
    metafile: true,
    logLevel: quiet ? 'error' : 'warning',
    absWorkingDir: ROOT,
  });
  for (const f of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'])
    copyFileSync(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist', f), join(tmp, f));
  // the project's own files (not node_modules) the bundle depends on
  const inputs = Object.keys(result.metafile.inputs)
    .filter((p) => !p.includes('node_modules/'))
    .map((p) => {
      const st = statSync(join(ROOT, p));
      return { path: p, size: st.size, mtimeMs: st.mtimeMs };
    });
  writeFileSync(join(tmp, 'inputs.json'), JSON.stringify({ builtAt: new Date().toISOString(), node: process.version, inputs }) + '\n');
  rmSync(outdir, { recursive: true, force: true });
  renameSync(tmp, outdir);
  const outfile = join(outdir, 'deepfaith.mjs');
  const ms = performance.now() - t0;
  if (!quiet) console.log(`deepfaith: built ${relative(ROOT, outfile)} (${(statSync(outfile).size / 1e6).toFixed(1)} MB, ${inputs.length} source files) in ${(ms / 1000).toFixed(1)} s`);
  return { outfile, inputs, ms };
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  try {
    await buildCli();
  } catch (e) {
    // an install must not fail for this: the command runs from the sources through tsx
    const first = e && Array.isArray(e.errors) && e.errors[0] ? `${e.errors[0].location ? `${e.errors[0].location.file}:${e.errors[0].location.line}: ` : ''}${e.errors[0].text}` : e && e.message ? e.message.split('\n')[0] : String(e);
    console.warn(`deepfaith: the command-line bundle was not built (${first}); \`deepfaith\` will run the TypeScript sources through tsx.`);
    rmSync(join(ROOT, 'build', 'cli', 'inputs.json'), { force: true });
  }
}
