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
  const data = parseCsv(readText(path, 'Data'), path, opts);
  const seen = new Set<string>();
  for (const name of [data.labelName, ...data.featureNames]) {
    if (seen.has(name))
      throw new UserError(
        `${path} has more than one column named "${name}"${name === data.labelName ? ' (the label)' : ''}.`,
        'Give every column a distinct name in the header row.',
      );
    seen.add(name);
  }
  return data;
}

/**
 * Read integer labels as class indices of a model with `nClasses` classes. The CSV loader can only
 * see the file: a file holding some of the classes (labels 1 and 2 of 0..2, say) gets its values
 * renumbered 0..K−1. When every label is an integer in [0, nClasses), the labels are the model's
 * class indices and are restored as such; otherwise the data are returned unchanged.
 */
export function alignIntegerLabels(data: Dataset, nClasses: number): Dataset {
  const values = data.classNames.map(Number);
  if (!values.every((v) => Number.isInteger(v) && v >= 0 && v < nClasses)) return data;
  if (values.every((v, i) => v === i) && data.classNames.length === nClasses) return data;
  const labels = Int32Array.from(data.labels, (c) => values[c]);
  return { ...data, labels, classNames: Array.from({ length: nClasses }, (_, i) => String(i)) };
}

export function listDir(path: string): string[] {
  return readdirSync(path);
}
