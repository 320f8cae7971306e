/**
 * Node-only file access for the CLI: the core loader's TaskIO over paths, output paths checked
 * before any compute (writable, not a folder, distinct from every input), and atomic writes
 * (a temporary name in the same folder, then a rename; a whole output folder is written under a
 * temporary name and moved into place).
 */
import { accessSync, constants, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../core/errors';
import { parseCsv, type CsvOptions, type Dataset } from '../core/data/csv';
import { loadModelFromFiles, type ModelJsonLike, type TargetModel, type TargetModelOptions } from '../core/task/model';
import type { TaskIO } from '../core/task/load';

/** The project's public/demos folder (beside src/, wherever the command is run from). */
export const DEMOS_DIR = fileURLToPath(new URL('../../public/demos/', import.meta.url));

/** The text of a file; `shown` is how messages name it (the path as the user wrote it). */
export function readText(path: string, what: string, shown = path): string {
  if (!existsSync(path)) throw new UserError(`${what} file ${shown} does not exist.`, 'Check the path.');
  if (statSync(path).isDirectory()) throw new UserError(`${what} path ${shown} is a folder, not a file.`, 'Give the path of the file itself.');
  return readFileSync(path, 'utf8');
}

/**
 * The loader's file access in Node. Relative paths are read from `baseDir` (a job file's folder,
 * or the working directory); demo files from public/demos.
 */
export function nodeTaskIO(baseDir = process.cwd()): TaskIO {
  const full = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  return {
    demoPath: (rel) => join(DEMOS_DIR, rel),
    async readText(p) {
      const what = /\.json$/i.test(p) ? 'Model' : 'Data';
      return readText(full(p), what, p);
    },
    async readBinary(p) {
      const f = full(p);
      if (!existsSync(f) || statSync(f).isDirectory()) return null;
      const b = readFileSync(f);
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    },
    async isDirectory(p) {
      const f = full(p);
      return existsSync(f) && statSync(f).isDirectory();
    },
  };
}

/** Load a model from a model.json path (or a folder holding model.json); shards are read beside it. */
export async function loadModelFromPath(path: string, opts: TargetModelOptions = {}): Promise<TargetModel> {
  let jsonPath = path;
  if (existsSync(path) && statSync(path).isDirectory()) jsonPath = join(path, 'model.json');
  const text = readText(jsonPath, 'Model');
  let json: ModelJsonLike;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UserError(`${jsonPath} is not valid JSON, so it is not a TensorFlow.js model.json.`, 'Give the model.json written by tf.io or tensorflowjs_converter.');
  }
  const dir = dirname(jsonPath);
  const shards = new Map<string, ArrayBuffer>();
  for (const group of json.weightsManifest ?? [])
    for (const p of group.paths) {
      const f = join(dir, p);
      if (existsSync(f)) {
        const buf = readFileSync(f);
        shards.set(p, buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
      }
    }
  return loadModelFromFiles(json, shards, basename(dir) + '/' + basename(jsonPath), opts);
}

/** A CSV from a path, through the core parser (benches and tests; commands use the task loader). */
export function loadCsvFromPath(path: string, opts: CsvOptions): Dataset {
  return parseCsv(readText(path, 'Data'), path, opts);
}

export function listDir(path: string): string[] {
  return readdirSync(path);
}

function realOrResolved(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
}

/**
 * Check an output path before any compute: not one of the inputs (compared after resolving links),
 * of the right kind (a file, or a folder for `kind: 'folder'`), and in a folder this process can
 * write to (created if missing). `inputs` lists every file the command reads.
 */
export function checkOutput(out: string, inputs: (string | undefined)[], kind: 'file' | 'folder' = 'file', flag = '--out'): void {
  if (out === '-') return;
  const target = realOrResolved(out);
  for (const input of inputs) {
    if (!input) continue;
    if (realOrResolved(input) === target)
      throw new UserError(`${flag} ${out} is also an input (${input}): writing there would overwrite it.`, `Choose another ${kind === 'folder' ? 'folder' : 'file'} for ${flag}.`);
  }
  if (existsSync(out)) {
    const isDir = statSync(out).isDirectory();
    if (kind === 'file' && isDir) throw new UserError(`${flag} ${out} is a folder.`, 'Give a file path for the JSON output, e.g. --out results/out.json.');
    if (kind === 'folder' && !isDir) throw new UserError(`${flag} ${out} is a file.`, 'Give a folder (it is created if missing).');
    if (kind === 'folder')
      for (const input of inputs)
        if (input && realOrResolved(input).startsWith(target + '/'))
          throw new UserError(`${flag} ${out} holds an input of this command (${input}); the folder is replaced when the run completes.`, `Choose another folder for ${flag}.`);
  }
  const parent = kind === 'folder' ? dirname(resolve(out)) : dirname(resolve(out));
  try {
    mkdirSync(parent, { recursive: true });
    accessSync(parent, constants.W_OK);
    if (existsSync(out) && kind === 'file') accessSync(out, constants.W_OK);
  } catch (e) {
    throw new UserError(`${flag} ${out} cannot be written (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`, `Choose a folder you can write to for ${flag}.`);
  }
}

/** Write a file atomically: a temporary file beside it, then a rename over the target. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(resolve(path)), { recursive: true });
  const tmp = join(dirname(resolve(path)), `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new UserError(`Could not write ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`, 'Check the free space and the permissions of the folder; an earlier file there is left as it was.');
  }
}

/**
 * Write a whole output folder atomically: `fill(tmpDir)` writes into a fresh temporary folder
 * beside `out`, which then replaces `out` (an earlier `out` is moved aside and removed only after
 * the new one is in place). An interrupted run leaves the earlier folder untouched.
 */
export async function writeFolderAtomic(out: string, fill: (dir: string) => Promise<void>): Promise<void> {
  const target = resolve(out);
  const parent = dirname(target);
  mkdirSync(parent, { recursive: true });
  const tmp = join(parent, `.${basename(target)}.tmp-${process.pid}-${Date.now()}`);
  const old = join(parent, `.${basename(target)}.old-${process.pid}-${Date.now()}`);
  mkdirSync(tmp);
  try {
    await fill(tmp);
    writeFileSync(join(tmp, 'complete'), new Date().toISOString() + '\n');
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const hadOld = existsSync(target);
  if (hadOld) renameSync(target, old);
  try {
    renameSync(tmp, target);
  } catch (e) {
    if (hadOld) renameSync(old, target);
    rmSync(tmp, { recursive: true, force: true });
    throw new UserError(`Could not move the results into ${out} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`, 'Check the permissions of the folder.');
  }
  if (hadOld) rmSync(old, { recursive: true, force: true });
}
