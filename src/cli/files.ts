/** Node-only file access for the CLI: models and CSVs from paths, through the core loaders. */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { UserError } from '../core/errors';
import { parseCsv, type CsvOptions, type Dataset } from '../core/data/csv';
import { loadModelFromFiles, type ModelJsonLike, type TargetModel, type TargetModelOptions } from '../core/task/model';

export function readText(path: string, what: string): string {
  if (!existsSync(path)) throw new UserError(`${what} file ${path} does not exist.`, 'Check the path.');
  if (statSync(path).isDirectory()) throw new UserError(`${what} path ${path} is a folder, not a file.`, 'Give the path of the file itself.');
  return readFileSync(path, 'utf8');
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
      const full = join(dir, p);
      if (existsSync(full)) {
        const buf = readFileSync(full);
        shards.set(p, buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
      }
    }
  return loadModelFromFiles(json, shards, basename(dir) + '/' + basename(jsonPath), opts);
}

export function loadCsvFromPath(path: string, opts: CsvOptions): Dataset {
  return parseCsv(readText(path, 'Data'), path, opts);
}

export function listDir(path: string): string[] {
  return readdirSync(path);
}
