/**
 * Image data at the drop zone: every dropped file with its path (folders walked through
 * `webkitGetAsEntry`, reading every `readEntries` batch — a reader returns at most 100 entries a
 * call), sorted into model files and CSVs (staged by ../panels/files.ts as before) and image data:
 * PNG/JPEG files (told by their first bytes), zips, NPY/IDX arrays, and any other file inside a
 * dropped folder that holds images (so the engine names it when it is not an image). Image files
 * dropped loose, outside any folder, are put in the class folder the user named for them. The
 * worker decodes and loads them through the engine (src/worker/imageFiles.ts). A drop with a
 * folder, zip or array replaces image data staged before (a new data set); loose images add to them.
 */
import { looksLikeArrayFile, probeImage } from '../../core/data/images';
import type { TaskSource } from '../../worker/protocol';
import { stageFiles, missingShards, type Staged } from '../panels/files';

export interface DroppedItem {
  file: File;
  /** Path relative to the drop: `photos/cat/1.png`, or the file's name when dropped loose. */
  path: string;
}

export interface ImageStaged extends Staged {
  /** Image data with paths, waiting for a model (or loaded with it). */
  images?: { path: string; data: ArrayBuffer }[];
}

type EntryLike = { isFile: boolean; isDirectory: boolean; name: string; fullPath: string };
type DirReader = { readEntries(ok: (batch: EntryLike[]) => void, fail: (e: unknown) => void): void };

/** Every entry of a folder: `readEntries` is called until it returns an empty batch. */
export async function readAllEntries(reader: DirReader): Promise<EntryLike[]> {
  const all: EntryLike[] = [];
  for (;;) {
    const batch = await new Promise<EntryLike[]>((res, rej) => reader.readEntries(res, rej));
    if (!batch.length) return all;
    all.push(...batch);
  }
}

/** The files of a drop with their paths, walking into dropped folders. */
export async function droppedItems(dt: DataTransfer): Promise<DroppedItem[]> {
  const entries = [...dt.items].map((it) => (it.kind === 'file' ? (it.webkitGetAsEntry?.() as unknown as EntryLike | null) : null));
  if (!entries.some((e) => e?.isDirectory)) return [...dt.files].map((file) => ({ file, path: file.name }));
  const out: DroppedItem[] = [];
  const walk = async (entry: EntryLike): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((res, rej) => (entry as unknown as FileSystemFileEntry).file(res, rej));
      out.push({ file, path: entry.fullPath.replace(/^\/+/, '') || file.name });
    } else if (entry.isDirectory) for (const e of await readAllEntries((entry as unknown as FileSystemDirectoryEntry).createReader() as unknown as DirReader)) await walk(e);
  };
  for (const e of entries) if (e) await walk(e);
  return out;
}

/** Picked files (a folder picked with webkitdirectory keeps its relative paths). */
export function pickedItems(files: File[]): DroppedItem[] {
  return files.map((file) => ({ file, path: file.webkitRelativePath || file.name }));
}

const isModelOrTable = (name: string) => /\.(json|bin|csv|tsv)$/i.test(name);
const isDataName = (name: string) => /\.zip$/i.test(name) || looksLikeArrayFile(name);
const isHidden = (path: string) => path.split('/').some((s) => s.startsWith('.') || s === '__MACOSX');

/** Whether the bytes start like a PNG or JPEG. */
async function looksLikeImage(file: File): Promise<boolean> {
  return probeImage(new Uint8Array(await file.slice(0, 4096).arrayBuffer())) !== null;
}

/**
 * Stage a drop: image data are kept with their paths (loose images under `looseClass/`), the rest
 * goes to the model/CSV staging. A drop of image data alone is fine (the model may come next).
 */
export async function stageDrop(items: DroppedItem[], staged: ImageStaged, looseClass: string): Promise<ImageStaged & { ignored: string[] }> {
  const rest: File[] = [];
  // a dropped folder (first path segment) holds image data when any file in it is an image or a zip/array
  const isImage = new Map<DroppedItem, boolean>();
  for (const it of items) isImage.set(it, !isHidden(it.path) && (isDataName(it.path) || (/\.(png|jpe?g)$/i.test(it.path) || !isModelOrTable(it.path) ? await looksLikeImage(it.file) : false)));
  // a folder, zip or array replaces the image data staged before; loose images add to them (class by class)
  const looseOnly = items.every((it) => !isImage.get(it) || (!it.path.includes('/') && !isDataName(it.path)));
  const images: { path: string; data: ArrayBuffer }[] = looseOnly ? [...(staged.images ?? [])] : [];
  const imageFolders = new Set(items.filter((it) => it.path.includes('/') && isImage.get(it)).map((it) => it.path.split('/')[0]));
  const add = async (path: string, file: File) => {
    const i = images.findIndex((e) => e.path === path);
    const entry = { path, data: await file.arrayBuffer() };
    if (i >= 0) images[i] = entry;
    else images.push(entry);
  };
  for (const it of items) {
    if (isHidden(it.path)) continue;
    const inFolder = it.path.includes('/');
    if (isImage.get(it)) await add(inFolder || isDataName(it.path) ? it.path : `${looseClass}/${it.path}`, it.file);
    else if (inFolder && imageFolders.has(it.path.split('/')[0]) && !isModelOrTable(it.path)) await add(it.path, it.file); // the engine names it
    else rest.push(it.file);
  }
  if (rest.length === 0) return { ...staged, shards: [...staged.shards], images, ignored: [] };
  try {
    const next = await stageFiles(rest, staged);
    return { ...next, images };
  } catch (e) {
    if (images.length > (staged.images?.length ?? 0)) return { ...staged, shards: [...staged.shards], images, ignored: rest.map((f) => f.name) };
    throw e;
  }
}

/** The task source of staged image data and a complete model, or null. */
export function imageSourceOf(staged: ImageStaged, maxRows = 0): Extract<TaskSource, { kind: 'images' }> | null {
  if (!staged.modelJson || !staged.images?.length || missingShards(staged).length) return null;
  return { kind: 'images', modelJson: staged.modelJson, shards: staged.shards, files: staged.images, ...(maxRows > 0 ? { maxRows } : {}) };
}
