/**
 * Dropped image data as the engine's loader reads it: the worker's adapter, never a loader of its
 * own. The studio sends every dropped data file with its path relative to the drop (PNG/JPEG files
 * in class folders, zips of such folders, NPY/IDX arrays); this module
 *  - unpacks zips (fflate) in place, skipping folders, hidden entries and `__MACOSX/`;
 *  - finds what the task's `data` is (`dataLayout`): the folder whose sub-folders are the classes
 *    (the deepest folder holding every file; when all of them lie directly in it, its parent, so a
 *    single dropped class folder is one class), or the array file and its labels file;
 *  - serves the engine's `TaskIO.listDir` / `isDirectory` / `readBinary` from memory
 *    (`droppedImageIO`), so `loadTask` → `readImageFolder` / `readImageArray` does every check,
 *    resize and normalisation exactly as for a folder on disk;
 *  - decodes PNG/JPEG in the worker with `createImageBitmap` + `OffscreenCanvas`
 *    (`decodeWithCanvas`), keeping the file's true channel count from its header (`probeImage`):
 *    a canvas always gives RGBA.
 * Pure but for `decodeWithCanvas` (worker/browser globals), so Node tests drive the rest.
 */
import { unzipSync } from 'fflate';
import { UserError } from '../core/errors';
import { codeUnitOrder, looksLikeArrayFile, probeImage, siblingLabelsPath, type DecodedImage, type DirEntry } from '../core/data/images';

export interface DroppedFile {
  path: string;
  data: ArrayBuffer;
}

/** The folder name given to images dropped without a common folder (e.g. two class folders dropped side by side). */
export const DROP_ROOT = 'dropped images';

/** Largest total a zip may unpack to. */
export const MAX_UNZIPPED_BYTES = 1024 * 1024 * 1024;

const clean = (p: string) => p.replace(/\\/g, '/').replace(/^\/+/, '').replace(/\/+$/, '');
const hiddenPath = (p: string) => p.split('/').some((seg) => seg.startsWith('.') || seg === '__MACOSX');

export function isZip(path: string, data: ArrayBuffer): boolean {
  const b = new Uint8Array(data, 0, Math.min(4, data.byteLength));
  return /\.zip$/i.test(path) || (b.length === 4 && b[0] === 0x50 && b[1] === 0x4b && b[2] === 0x03 && b[3] === 0x04);
}

/**
 * The files of a drop with every zip unpacked where it lay: a zip whose entries share one top folder
 * keeps their paths; otherwise they go into a folder named after the zip (`cats.zip` → `cats/…`).
 */
export function expandZips(files: DroppedFile[]): DroppedFile[] {
  const out: DroppedFile[] = [];
  for (const f of files) {
    const path = clean(f.path);
    if (!isZip(path, f.data)) {
      out.push({ path, data: f.data });
      continue;
    }
    let total = 0;
    let entries: Record<string, Uint8Array>;
    try {
      entries = unzipSync(new Uint8Array(f.data), {
        filter: (e) => {
          if (e.name.endsWith('/') || hiddenPath(clean(e.name))) return false;
          total += e.originalSize;
          if (total > MAX_UNZIPPED_BYTES) throw new UserError(`${path} unpacks to more than ${MAX_UNZIPPED_BYTES / 1024 ** 3} GiB.`, 'Zip fewer or smaller images, or drop the folder itself.');
          return true;
        },
      });
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError(`${path} is not a readable zip file (${(e as Error)?.message ?? String(e)}).`, 'Zip the image folder again (one sub-folder per class), or drop the folder itself.');
    }
    const names = Object.keys(entries).map(clean).filter((n) => n !== '');
    if (names.length === 0) throw new UserError(`${path} holds no files.`, 'Zip the image folder (one sub-folder per class) with its images.');
    const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/') + 1) : '';
    const tops = new Set(names.map((n) => n.split('/')[0]));
    const oneTop = tops.size === 1 && names.every((n) => n.includes('/'));
    const prefix = dir + (oneTop ? '' : `${path.slice(dir.length).replace(/\.zip$/i, '')}/`);
    for (const [name, bytes] of Object.entries(entries)) {
      const n = clean(name);
      if (n) out.push({ path: prefix + n, data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer });
    }
  }
  return out;
}

/** What the dropped data are: a folder of class folders, or an array (+ its labels file when not found beside it by name). */
export type DataLayout = { kind: 'folder'; root: string } | { kind: 'array'; data: string; label?: string };

/**
 * The task's data among the dropped (unzipped) files. Arrays: the one file not named like labels is
 * the images, another array file is its labels (when the loader would not find it by name).
 * Folders: the deepest folder holding every file; when every file lies directly in it, its parent
 * (a dropped class folder is then one class); files at the top of the drop go under DROP_ROOT.
 */
export function dataLayout(files: DroppedFile[]): DataLayout {
  const paths = files.map((f) => clean(f.path)).filter((p) => !hiddenPath(p));
  if (paths.length === 0) throw new UserError('The drop holds no image data.', 'Drop a folder with one sub-folder per class of PNG/JPEG images, a zip of it, or an NPY/IDX array with its labels file.');
  const arrays = paths.filter(looksLikeArrayFile).sort(codeUnitOrder);
  if (arrays.length) {
    const others = paths.filter((p) => !looksLikeArrayFile(p));
    if (others.length)
      throw new UserError(`The drop holds both an array (${arrays[0]}) and other data files (${others.slice(0, 3).join(', ')}${others.length > 3 ? ', …' : ''}).`, 'Drop either an NPY/IDX array with its labels file, or a folder of images.');
    if (arrays.length > 2) throw new UserError(`The drop holds ${arrays.length} array files (${arrays.join(', ')}).`, 'Drop one images array and its labels file.');
    const data = arrays.find((p) => !/label/i.test(p.slice(p.lastIndexOf('/') + 1))) ?? arrays[0];
    const other = arrays.find((p) => p !== data);
    const sibling = siblingLabelsPath(data);
    return { kind: 'array', data, label: other && other !== sibling ? other : undefined };
  }
  const dirs = paths.map((p) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : ''));
  let common = dirs[0].split('/');
  for (const d of dirs) {
    const parts = d.split('/');
    let k = 0;
    while (k < common.length && k < parts.length && common[k] === parts[k]) k++;
    common = common.slice(0, k);
  }
  let root = common.filter((s) => s !== '').join('/');
  if (dirs.every((d) => d === root) && root !== '') root = root.includes('/') ? root.slice(0, root.lastIndexOf('/')) : '';
  return { kind: 'folder', root: root === '' ? DROP_ROOT : root };
}

/** In-memory file access over the dropped files (paths as `dataLayout` names them). */
export function droppedImageIO(files: DroppedFile[], layout: DataLayout): { readBinary(path: string): Promise<ArrayBuffer | null>; isDirectory(path: string): Promise<boolean>; listDir(path: string): Promise<DirEntry[]> } {
  const byPath = new Map<string, ArrayBuffer>();
  const atTop = layout.kind === 'folder' && layout.root === DROP_ROOT;
  for (const f of files) {
    const p = clean(f.path);
    if (!hiddenPath(p)) byPath.set(atTop ? `${DROP_ROOT}/${p}` : p, f.data);
  }
  const dirs = new Map<string, Map<string, boolean>>();
  for (const p of byPath.keys()) {
    const parts = p.split('/');
    for (let i = 0; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!dirs.has(dir)) dirs.set(dir, new Map());
      dirs.get(dir)!.set(parts[i], i < parts.length - 1);
    }
  }
  return {
    async readBinary(path) {
      const b = byPath.get(clean(path));
      return b ? b.slice(0) : null;
    },
    async isDirectory(path) {
      return dirs.has(clean(path)) && clean(path) !== '';
    },
    async listDir(path) {
      const d = dirs.get(clean(path));
      if (!d) throw new UserError(`${path} is not a folder of the drop.`, 'Drop the image folder again.');
      return [...d].map(([name, isDirectory]) => ({ name, isDirectory }));
    },
  };
}

/**
 * RGBA pixels (as a canvas gives them) → the file's own channels: 1 gray (R), 2 gray + alpha,
 * 3 RGB, 4 RGBA. rgba: [nPixels · 4].
 */
export function fromRgba(rgba: ArrayLike<number>, nPixels: number, channels: number): Uint8ClampedArray {
  if (channels === 4) return Uint8ClampedArray.from({ length: nPixels * 4 }, (_, i) => rgba[i]);
  const out = new Uint8ClampedArray(nPixels * channels);
  for (let p = 0; p < nPixels; p++) {
    const o = p * 4;
    if (channels === 1) out[p] = rgba[o];
    else if (channels === 2) {
      out[2 * p] = rgba[o];
      out[2 * p + 1] = rgba[o + 3];
    } else {
      out[3 * p] = rgba[o];
      out[3 * p + 1] = rgba[o + 1];
      out[3 * p + 2] = rgba[o + 2];
    }
  }
  return out;
}

/**
 * PNG/JPEG decoding in a worker (or page): `createImageBitmap` (no premultiplied alpha, no colour
 * space conversion) drawn on an `OffscreenCanvas`, read back with getImageData, and cut to the
 * file's channel count from its header. A canvas keeps 8 bits per channel (16-bit PNGs lose their
 * low byte) and stores colour premultiplied by alpha, so the colour of a semi-transparent pixel
 * can differ by a rounding step from the file's.
 */
export async function decodeWithCanvas(bytes: ArrayBuffer, name: string): Promise<DecodedImage> {
  const head = probeImage(new Uint8Array(bytes));
  if (!head) throw new Error(`${name} is not a PNG or JPEG`);
  const bitmap = await createImageBitmap(new Blob([bytes], { type: head.format === 'png' ? 'image/png' : 'image/jpeg' }), { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  try {
    const { width, height } = bitmap;
    const canvas = new OffscreenCanvas(width, height);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('no 2d canvas in this worker');
    ctx.drawImage(bitmap, 0, 0);
    const rgba = ctx.getImageData(0, 0, width, height).data;
    return { width, height, channels: head.channels, data: fromRgba(rgba, width * height, head.channels) };
  } finally {
    bitmap.close();
  }
}
