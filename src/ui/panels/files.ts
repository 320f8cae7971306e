/** Dropped or picked files → a task source: model.json + .bin shards and a CSV, or a message. */
import { UserError } from '../../core/errors';
import type { TaskSource } from '../../worker/protocol';

type FilesSource = Extract<TaskSource, { kind: 'files' }>;

export interface Staged {
  modelJson?: { name: string; text: string };
  shards: { name: string; data: ArrayBuffer }[];
  csv?: { name: string; text: string };
}

/** Every file of a drop, walking into dropped folders. */
export async function filesFromDrop(dt: DataTransfer): Promise<File[]> {
  const entries = [...dt.items].map((it) => (it.kind === 'file' ? it.webkitGetAsEntry?.() : null));
  if (entries.some((e) => e?.isDirectory)) {
    const out: File[] = [];
    const walk = async (entry: FileSystemEntry): Promise<void> => {
      if (entry.isFile) out.push(await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej)));
      else if (entry.isDirectory) {
        const reader = (entry as FileSystemDirectoryEntry).createReader();
        for (;;) {
          const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
          if (!batch.length) break;
          for (const e of batch) await walk(e);
        }
      }
    };
    for (const e of entries) if (e) await walk(e);
    return out;
  }
  return [...dt.files];
}

/** Add files to what is staged; throws a UserError for a file that is neither model nor CSV. */
export async function stageFiles(files: File[], staged: Staged): Promise<Staged> {
  const next: Staged = { ...staged, shards: [...staged.shards] };
  const unknown: string[] = [];
  for (const f of files) {
    const name = f.name;
    const lower = name.toLowerCase();
    if (lower.endsWith('.json')) next.modelJson = { name, text: await f.text() };
    else if (lower.endsWith('.bin')) {
      next.shards = next.shards.filter((s) => s.name !== name);
      next.shards.push({ name, data: await f.arrayBuffer() });
    } else if (lower.endsWith('.csv') || lower.endsWith('.tsv') || lower.endsWith('.txt') && (await f.slice(0, 2000).text()).includes(',')) next.csv = { name, text: await f.text() };
    else unknown.push(name);
  }
  if (unknown.length)
    throw new UserError(
      `${unknown.join(', ')} ${unknown.length > 1 ? 'are' : 'is'} neither a TensorFlow.js model file (model.json, .bin) nor a CSV.`,
      'Drop the model folder (model.json with its .bin weight files) and a .csv data file.',
    );
  return next;
}

export function sourceOf(staged: Staged): FilesSource | null {
  if (!staged.modelJson || !staged.csv) return null;
  return { kind: 'files', modelJson: staged.modelJson, shards: staged.shards, csv: staged.csv };
}
