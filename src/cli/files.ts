/**
 * Node-only file access for the CLI: the core loader's TaskIO over paths, output paths checked
 * before any compute (writable, not a folder, distinct from every input), and atomic writes
 * (a temporary name in the same folder, then a rename; a whole output folder is written under a
 * temporary name and moved into place).
 *
 * Input sizes are checked from the file system before a file is read: a text file (CSV,
 * model.json) is read whole as one string, so one longer than V8's longest string is refused by
 * name, and a weight shard larger than the model loader's weight budget cannot belong to a model
 * that fits it.
 *
 * Image folders: `listDir` lists a folder (links followed), `decodeImage` decodes PNG (pngjs) and
 * JPEG (jpeg-js), both pure JavaScript, loaded on first use. PNG: 16-bit samples are scaled to 8
 * bits by pngjs; the channel count is the file's (gray 1, gray + alpha 2, RGB 3, RGBA 4, palette 3
 * or 4 with transparency). JPEG: a one-component (gray) file gives 1 channel, others 3 (RGB).
 */
import { createReadStream, accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isUserError, UserError } from '../core/errors';
import { probeImage, type DecodedImage, type DirEntry } from '../core/data/images';
import { parseCsv, type CsvOptions, type Dataset } from '../core/data/csv';
import { DEFAULT_MAX_WEIGHT_BYTES, loadModelFromFiles, type ModelJsonLike, type TargetModel, type TargetModelOptions } from '../core/task/model';
import type { TaskIO } from '../core/task/load';

/** The project's public/demos folder (beside src/, wherever the command is run from). */
export const DEMOS_DIR = fileURLToPath(new URL('../../public/demos/', import.meta.url));

/**
 * The largest text file the CLI reads: V8's longest string is 0x1fffffe8 UTF-16 code units
 * (≈ 512 MiB), and a UTF-8 file of at most that many bytes decodes to at most that many units.
 * A bigger file would fail inside readFileSync with ERR_STRING_TOO_LONG after reading it all.
 */
export const MAX_TEXT_BYTES = 0x1fffffe8;

function fmtSize(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${v < 10 && !Number.isInteger(v) ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** The text of a file; `shown` is how messages name it (the path as the user wrote it). */
export function readText(path: string, what: string, shown = path, maxBytes = MAX_TEXT_BYTES): string {
  if (!existsSync(path)) throw new UserError(`${what} file ${shown} does not exist.`, 'Check the path.');
  const st = statSync(path);
  if (st.isDirectory()) throw new UserError(`${what} path ${shown} is a folder, not a file.`, 'Give the path of the file itself.');
  if (st.size > maxBytes)
    throw new UserError(
      `${what} file ${shown} is ${fmtSize(st.size)}, more than the ${fmtSize(maxBytes)} the command line can read as one text.`,
      what === 'Data'
        ? 'Split the file, or keep only the rows you need (e.g. head -n 100001 big.csv > part.csv keeps the header and 100,000 rows); --rows and task.maxRows pick rows only after the whole file is read.'
        : 'Check the path: a TensorFlow.js model.json is kilobytes to a few megabytes.',
    );
  return readFileSync(path, 'utf8');
}

/** The bytes of a weight shard, or null when there is none; a shard above the weight budget is refused before it is read. */
export function readShard(path: string, shown = path, maxBytes = DEFAULT_MAX_WEIGHT_BYTES, what: 'Weight' | 'Data' = 'Weight'): ArrayBuffer | null {
  if (!existsSync(path)) return null;
  const st = statSync(path);
  if (st.isDirectory()) return null;
  if (st.size > maxBytes)
    throw new UserError(
      what === 'Weight'
        ? `Weight file ${shown} is ${fmtSize(st.size)}, more than the ${fmtSize(maxBytes)} memory budget for all of a model's weights.`
        : `Data file ${shown} is ${fmtSize(st.size)}, more than the ${fmtSize(maxBytes)} read as one file.`,
      what === 'Weight' ? 'Check that the file belongs to this model.json (a copy interrupted or a wrong file), or use a smaller model.' : 'Use a smaller file (fewer images, or images shrunk to the model\'s input size).',
    );
  const b = readFileSync(path);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
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
      return readShard(full(p), p, DEFAULT_MAX_WEIGHT_BYTES, /\.bin$/i.test(p) ? 'Weight' : 'Data');
    },
    /** A data file as a stream (1 MiB chunks): parsed as it is read, and read only as far as maxRows needs. */
    async readTextChunks(p) {
      const f = full(p);
      if (!existsSync(f)) throw new UserError(`Data file ${p} does not exist.`, 'Check the path.');
      const st = statSync(f);
      if (st.isDirectory()) throw new UserError(`Data path ${p} is a folder, not a file.`, 'Give the path of the file itself.');
      return { chunks: createReadStream(f, { encoding: 'utf8', highWaterMark: 1 << 20 }), byteSize: st.size };
    },
    async isDirectory(p) {
      const f = full(p);
      return existsSync(f) && statSync(f).isDirectory();
    },
    async listDir(p) {
      return listDirEntries(full(p), p);
    },
    decodeImage: nodeDecodeImage,
  };
}

/** A folder's entries, links followed (a broken link is listed as a file, and refused when read). */
export function listDirEntries(path: string, shown = path): DirEntry[] {
  if (!existsSync(path)) throw new UserError(`Folder ${shown} does not exist.`, 'Check the path.');
  return readdirSync(path, { withFileTypes: true }).map((e) => {
    let isDirectory = e.isDirectory();
    if (e.isSymbolicLink())
      try {
        isDirectory = statSync(join(path, e.name)).isDirectory();
      } catch {
        isDirectory = false;
      }
    return { name: e.name, isDirectory };
  });
}

let pngjs: typeof import('pngjs') | undefined;
let jpegjs: typeof import('jpeg-js') | undefined;

/** Decode PNG (pngjs) or JPEG (jpeg-js) bytes to 8-bit interleaved pixels with the file's own channel count. */
export async function nodeDecodeImage(bytes: ArrayBuffer, name: string): Promise<DecodedImage> {
  const b = new Uint8Array(bytes);
  const header = probeImage(b);
  if (!header) throw new UserError(`${name} is not a PNG or JPEG image.`, 'Convert it to PNG, or remove it.');
  if (header.format === 'png') {
    pngjs ??= await import('pngjs');
    const png = pngjs.PNG.sync.read(Buffer.from(b.buffer, b.byteOffset, b.byteLength)); // RGBA, 8-bit
    const c = header.channels;
    const n = png.width * png.height;
    const data = new Uint8Array(n * c);
    for (let p = 0; p < n; p++) {
      const o = p * 4;
      if (c === 1) data[p] = png.data[o];
      else if (c === 2) {
        data[2 * p] = png.data[o];
        data[2 * p + 1] = png.data[o + 3];
      } else for (let k = 0; k < c; k++) data[p * c + k] = png.data[o + k];
    }
    return { width: png.width, height: png.height, channels: c, data };
  }
  jpegjs ??= (await import('jpeg-js')) as typeof import('jpeg-js');
  const decode = (jpegjs as unknown as { decode?: typeof import('jpeg-js').decode; default?: { decode: typeof import('jpeg-js').decode } }).decode ?? (jpegjs as unknown as { default: { decode: typeof import('jpeg-js').decode } }).default.decode;
  const img = decode(b, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: 100, maxMemoryUsageInMB: 1024 }); // RGB
  const n = img.width * img.height;
  if (header.channels === 1) {
    const data = new Uint8Array(n);
    for (let p = 0; p < n; p++) data[p] = img.data[3 * p];
    return { width: img.width, height: img.height, channels: 1, data };
  }
  return { width: img.width, height: img.height, channels: 3, data: img.data };
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
      const bytes = readShard(join(dir, p));
      if (bytes) shards.set(p, bytes);
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

/** The path itself if it exists, else its nearest existing ancestor. */
function nearestExisting(p: string): string {
  let cur = resolve(p);
  while (!existsSync(cur)) {
    const up = dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  return cur;
}

/**
 * Check an output path before any compute: not one of the inputs (compared after resolving links),
 * of the right kind (a file, or a folder for `kind: 'folder'`), and writable: an entry like the
 * temporary file (or folder) the write will make is created and removed in the nearest existing
 * folder on the way to `out`. That probe notices what permission bits do not show, and what root
 * is not exempt from: read-only mounts, pseudo file systems (/proc, /sys) and a path under a file.
 * Nothing is left behind (missing folders are created only when the result is written).
 * `inputs` lists every file the command reads.
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
  const parent = dirname(resolve(out));
  const base = nearestExisting(parent);
  const cannot = (why: string) => new UserError(`${flag} ${out} cannot be written: ${why}.`, `Choose a path in a folder you can write to for ${flag}.`);
  if (!statSync(base).isDirectory()) throw cannot(`${base} is a file, not a folder`);
  const probe = join(base, `.deepfaith-probe-${process.pid}-${Date.now()}`);
  try {
    if (kind === 'folder' || base !== parent) {
      mkdirSync(probe);
      rmdirSync(probe);
    } else {
      closeSync(openSync(probe, 'wx'));
      unlinkSync(probe);
    }
    if (existsSync(out) && kind === 'file') accessSync(out, constants.W_OK);
  } catch (e) {
    rmSync(probe, { recursive: true, force: true });
    const code = (e as NodeJS.ErrnoException).code;
    throw cannot(`${code ? `${code}, ` : ''}${base === parent ? 'its folder' : base} does not take new ${kind === 'folder' || base !== parent ? 'folders' : 'files'}`);
  }
}

/** An I/O error while writing results as a UserError (exit 2 with what happened), UserErrors as they are. */
function writeError(e: unknown, what: string, kept: string): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (isUserError(e) || typeof code !== 'string') return e;
  return new UserError(`Could not write ${what} (${code}: ${(e as Error).message}).`, `Check the free space and the permissions of the folder; ${kept}`);
}

/**
 * Write a file atomically: a temporary file beside it, then a rename over the target. A failure
 * (no space, no permission) removes the temporary file and leaves an earlier file as it was.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = join(dirname(resolve(path)), `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
  try {
    mkdirSync(dirname(resolve(path)), { recursive: true });
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new UserError(`Could not write ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`, 'Check the free space and the permissions of the folder; an earlier file there is left as it was.');
  }
}

/**
 * Write a whole output folder atomically: `fill(tmpDir)` writes into a fresh temporary folder
 * beside `out`, then a `complete` marker is written, and the folder replaces `out` (an earlier
 * `out` is moved aside and removed only after the new one is in place). A failure at any point —
 * in `fill`, in the marker, in either rename — removes the temporary folder and leaves an earlier
 * `out` as it was; an I/O error becomes a UserError naming it.
 */
export async function writeFolderAtomic(out: string, fill: (dir: string) => Promise<void>): Promise<void> {
  const target = resolve(out);
  const parent = dirname(target);
  const stamp = `${process.pid}-${Date.now()}`;
  const tmp = join(parent, `.${basename(target)}.tmp-${stamp}`);
  const old = join(parent, `.${basename(target)}.old-${stamp}`);
  const kept = existsSync(target) ? `the earlier ${out} is left as it was.` : `nothing was written to ${out}.`;
  try {
    mkdirSync(parent, { recursive: true });
    mkdirSync(tmp);
    await fill(tmp);
    writeFileSync(join(tmp, 'complete'), new Date().toISOString() + '\n');
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw writeError(e, `the results into ${out}`, kept);
  }
  let hadOld = false;
  try {
    if (existsSync(target)) {
      renameSync(target, old);
      hadOld = true;
    }
    renameSync(tmp, target);
  } catch (e) {
    if (hadOld) renameSync(old, target);
    rmSync(tmp, { recursive: true, force: true });
    throw new UserError(`Could not move the results into ${out} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`, `Check the permissions of the folder; ${kept}`);
  }
  if (hadOld) rmSync(old, { recursive: true, force: true });
}
