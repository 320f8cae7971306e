/**
 * Dropped or picked files → a task source: model.json + .bin shards and a CSV (a table), with a
 * vocab.json as well (a text task: docs/text.md), or a message (image data: ../image/drop.ts, which
 * walks dropped folders). Files are only sorted here; the worker's loader checks them.
 */
import { UserError } from '../../core/errors';
import type { TaskSource } from '../../worker/protocol';

type FilesSource = Extract<TaskSource, { kind: 'files' }>;
/** A text task's files before the text column is chosen (the store's TextDraft). */
type TextFiles = Omit<Extract<TaskSource, { kind: 'text' }>, 'text'>;

export interface Staged {
  modelJson?: { name: string; text: string };
  shards: { name: string; data: ArrayBuffer }[];
  /** The CSV as text (tables) and as bytes (texts: the engine checks it is UTF-8). */
  csv?: { name: string; text: string; data?: ArrayBuffer };
  /** A text model's vocabulary (a JSON object with "tokens", not a model.json). */
  vocab?: { name: string; text: string };
}

/** Whether a .json is a vocabulary (an object with "tokens" and no "modelTopology") rather than a model.json; the engine checks the rest. */
export function isVocabJson(text: string): boolean {
  try {
    const j = JSON.parse(text.replace(/^\uFEFF/, ''));
    return !!j && typeof j === 'object' && !Array.isArray(j) && 'tokens' in j && !('modelTopology' in j);
  } catch {
    return false;
  }
}

/**
 * Add files to what is staged. A model.json is checked at once (valid JSON, a TensorFlow.js
 * model); a CSV at once for being empty. Files that are neither model nor CSV are ignored when the
 * drop holds usable files (listed in `ignored`), and refused with a message when it holds none.
 */
export async function stageFiles(files: File[], staged: Staged): Promise<Staged & { ignored: string[] }> {
  const next: Staged = { ...staged, shards: [...staged.shards] };
  const unknown: string[] = [];
  for (const f of files) {
    const name = f.name;
    const lower = name.toLowerCase();
    if (lower.endsWith('.json')) {
      const text = await f.text();
      if (isVocabJson(text)) next.vocab = { name, text };
      else {
        modelManifest(name, text); // throws for a file that is not a model.json
        next.modelJson = { name, text };
      }
    } else if (lower.endsWith('.bin')) {
      next.shards = next.shards.filter((s) => s.name !== name);
      next.shards.push({ name, data: await f.arrayBuffer() });
    } else if (lower.endsWith('.csv') || lower.endsWith('.tsv') || (lower.endsWith('.txt') && (await f.slice(0, 2000).text()).includes(','))) {
      if (f.size === 0 || (await f.slice(0, 4096).text()).trim() === '') throw new UserError(`${name} is empty.`, 'Choose a CSV file with a header row and one row per sample.');
      const data = await f.arrayBuffer();
      next.csv = { name, text: new TextDecoder().decode(data), data };
    } else unknown.push(name);
  }
  if (unknown.length === files.length)
    throw new UserError(
      `${unknown.join(', ')} ${unknown.length > 1 ? 'are' : 'is'} neither a TensorFlow.js model file (model.json, .bin) nor a CSV, nor image data (PNG/JPEG, zip, NPY/IDX).`,
      'Drop the model folder (model.json with its .bin weight files) and a .csv data file, or a folder with one sub-folder per class of images.',
    );
  return { ...next, ignored: unknown };
}

/** The weight files a model.json names (its weightsManifest); a UserError when it is not a TensorFlow.js model.json. */
export function modelManifest(name: string, text: string): string[] {
  let j: { modelTopology?: unknown; weightsManifest?: { paths?: string[] }[] };
  try {
    j = JSON.parse(text);
  } catch {
    throw new UserError(`${name} is not valid JSON, so it is not a TensorFlow.js model.json.`, 'Drop the model.json written by tf.io or tensorflowjs_converter together with its .bin files.');
  }
  if (!j || typeof j !== 'object' || !j.modelTopology)
    throw new UserError(`${name} is not a TensorFlow.js model: it has no "modelTopology".`, 'Drop the model.json written by tf.io or tensorflowjs_converter together with its .bin files (a text model\'s vocabulary is a vocab.json with "tokens": docs/text.md).');
  return (j.weightsManifest ?? []).flatMap((g) => g.paths ?? []).map((p) => p.split('/').pop() ?? p);
}

/** Weight files the staged model.json names that were not dropped (empty when none or no model.json). */
export function missingShards(staged: Staged): string[] {
  if (!staged.modelJson) return [];
  const have = new Set(staged.shards.map((s) => s.name.split('/').pop()));
  return modelManifest(staged.modelJson.name, staged.modelJson.text).filter((p) => !have.has(p));
}

export function sourceOf(staged: Staged): FilesSource | null {
  if (!staged.modelJson || !staged.csv || staged.vocab || missingShards(staged).length) return null;
  return { kind: 'files', modelJson: staged.modelJson, shards: staged.shards, csv: { name: staged.csv.name, text: staged.csv.text } };
}

/** The text task's files (model, shards, vocab.json, CSV bytes) once all are staged, or null. */
export function textSourceOf(staged: Staged): TextFiles | null {
  if (!staged.modelJson || !staged.csv?.data || !staged.vocab || missingShards(staged).length) return null;
  return { kind: 'text', modelJson: staged.modelJson, shards: staged.shards, vocab: staged.vocab, csv: { name: staged.csv.name, data: staged.csv.data } };
}
