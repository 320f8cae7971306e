/**
 * Image data: a folder of PNG/JPEG files with one sub-folder per class, or an NPY / IDX array of
 * images with a labels file, read into the model's input rows. Pure (no tfjs, no DOM, no Node):
 * file access and PNG/JPEG decoding come through an `ImageIO` (Node: src/cli/files.ts with pngjs and
 * jpeg-js; a browser supplies its own `decodeImage`, e.g. createImageBitmap + OffscreenCanvas).
 *
 * Folder layout: `<root>/<class>/<file>` — every sub-folder of the root is a class (an empty one
 * too: class indices must line up with the model's outputs); files inside a class folder, at any
 * depth, are its images. Class indices: when every sub-folder name is a non-negative integer
 * (`0`, `1`, … `10`) the name is the class index (classes 0..max, gaps named by their number);
 * otherwise the names sorted by code unit ("A" < "B" < "a") are classes 0..K−1. Rows are numbered
 * in sorted path order: the paths `<class>/<file>` relative to the root, sorted by code unit.
 * Hidden files (a name starting with ".") and Thumbs.db / desktop.ini are skipped; any other file
 * must be a PNG or a JPEG (told by its first bytes, not its extension) or it is refused by name.
 *
 * Arrays: an NPY file (`.npy`, version 1–3, C order) or an IDX file (the MNIST format:
 * `train-images-idx3-ubyte`, …) holding [N, H, W] (one channel) or [N, H, W, C] images, of dtype
 * uint8 (pixel values 0–255), uint16 (0–65535) or float32/float64 (values already on the 0–1
 * scale: outside [0, 1] is refused). Labels: a 1-D integer NPY or IDX file of N class indices, given
 * as the task's `label` (e.g. `--label labels.npy`), or found beside the images: `images.npy` →
 * `labels.npy`, `…-images-idx3-ubyte` → `…-labels-idx1-ubyte` (with the same `.gz`). Either file may
 * be gzip-compressed (told by its first bytes; unpacked with DecompressionStream). Class names are
 * the indices `0`..`K−1` (a demo's meta.json names them).
 *
 * What every image goes through, in order (each row is then [inputSize] floats, H, W, C order):
 *  1. checked from its header before anything is decoded or any model runs: a PNG or JPEG at all, at
 *     most MAX_IMAGE_PIXELS pixels, an aspect ratio within MAX_ASPECT_CHANGE of the model's input,
 *     and a channel count the model can take (below). Counts: at most MAX_IMAGES images unless
 *     the task's maxRows says how many to read (then the first maxRows in row order), and a table
 *     of at most `maxTableBytes` (512 MiB) of float32 values.
 *  2. channels fitted to the model's C: alpha is dropped (colour values kept as stored, not
 *     composited); gray → RGB repeats the gray value (C = 3); an RGB image whose R = G = B at every
 *     pixel is gray (C = 1); a colour image for a one-channel model is refused, naming the file.
 *     C = 4 takes RGBA (alpha 255 where the file has none). Other C take arrays only.
 *  3. values put on the 0–1 scale: 8-bit ÷ 255, 16-bit ÷ 65535, float arrays as they are.
 *  4. resized to the model's H×W by bilinear interpolation with half-pixel centres (the same numbers
 *     as tf.image.resizeBilinear(…, alignCorners false, halfPixelCenters true)); no antialiasing,
 *     so shrinking by more than 2× skips pixels: shrink large images beforehand for best results.
 *  5. normalised by the task's rule: `0-1` (v), `-1-1` (2v − 1) or `mean-std`
 *     ((v − mean_c) / std_c with the per-channel mean and population standard deviation over every
 *     pixel of the task's images after resizing; a constant channel keeps std 1). The per-channel
 *     mean and std on the 0–1 scale are recorded for every rule (`ImageInfo.channelMean/Std`).
 * A model with a flat input [batch, n] reads images without resizing: n must be H·W (gray) or
 * H·W·3 (RGB) of the images, which must all have one size.
 */
import { UserError } from '../errors';

export type NormaliseRule = '0-1' | '-1-1' | 'mean-std';
export const NORMALISE_RULES: readonly NormaliseRule[] = ['0-1', '-1-1', 'mean-std'];
export const DEFAULT_NORMALISE: NormaliseRule = '0-1';

/** Images read without a task maxRows: more is refused (the message says how to read fewer). */
export const MAX_IMAGES = 10_000;
/** Files listed in an image folder before it is refused as too big to be a data set. */
export const MAX_LISTED_FILES = 1_000_000;
/** Largest image (width × height) decoded: 40 megapixels (160 MiB as RGBA). */
export const MAX_IMAGE_PIXELS = 40_000_000;
/** Largest change of aspect ratio a resize may make (either way): 2×. */
export const MAX_ASPECT_CHANGE = 2;
/** Default budget of the image table (float32 values), as for CSVs: 512 MiB. */
export const DEFAULT_MAX_IMAGE_TABLE_BYTES = 512 * 1024 * 1024;

/** A decoded image: interleaved 8-bit values, row-major (H, W, then channel). */
export interface DecodedImage {
  width: number;
  height: number;
  /** 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA. */
  channels: number;
  /** [height · width · channels] values 0–255. */
  data: Uint8Array | Uint8ClampedArray;
}

/** Decodes the bytes of a PNG or JPEG file (`name` for messages). */
export type ImageDecoder = (bytes: ArrayBuffer, name: string) => Promise<DecodedImage> | DecodedImage;

/** An entry of a folder listing. */
export interface DirEntry {
  name: string;
  isDirectory: boolean;
}

/** What the image reader needs from the task's IO. */
export interface ImageIO {
  /** The bytes of a file, or null when there is none. */
  readBinary(path: string): Promise<ArrayBuffer | null>;
  /** The entries of a folder (no "." or ".."); needed for image folders. */
  listDir?(path: string): Promise<DirEntry[]>;
  /** PNG/JPEG decoding; needed for image folders. */
  decodeImage?: ImageDecoder;
}

/** What an image task's data are, besides the rows (kept with the Dataset). */
export interface ImageInfo {
  /** 'folder' of PNG/JPEG files, or an 'npy' / 'idx' array. */
  format: 'folder' | 'npy' | 'idx';
  /** The images as the model reads them (after resizing). */
  height: number;
  width: number;
  channels: number;
  /** One row of the model's input: [H, W], [H, W, C] or (flat model) [H·W·C]. */
  inputShape: number[];
  /** Per row: the file it came from (folder: `<class>/<file>` relative to the root; arrays: `file[i]`). */
  files: string[];
  normalise: NormaliseRule;
  /** Per-channel mean and population std of the task's images on the 0–1 scale, after resizing and before normalising. */
  channelMean: number[];
  channelStd: number[];
  /** Images that were resized / changed in channels on the way in. */
  resized: number;
  grayToRgb: number;
  colourToGray: number;
  alphaDropped: number;
  /**
   * [nRows, inputSize] values on the 0–1 scale before normalising: kept for `mean-std` only, so that
   * a task of the first N rows renormalises with the statistics of those rows (see `imageRows`).
   */
  scaled?: Float32Array;
}

/** Where the images must go: the model's input. */
export interface ImageTarget {
  /** The model's input row shape: [H, W], [H, W, C] or [n] (flat). */
  inputShape: number[];
}

export interface ImageReadOptions {
  normalise?: NormaliseRule;
  /** Read only the first maxRows images in row order (0 = all, at most MAX_IMAGES). */
  maxRows?: number;
  maxTableBytes?: number;
  /** The labels file of an array (else found beside it). */
  labels?: string;
}

/** The rows read: model inputs, labels, class names and what was done to get them. */
export interface ImageRows {
  /** [nRows, inputSize] */
  x: Float32Array;
  labels: Int32Array;
  nRows: number;
  classNames: string[];
  labelName: string;
  info: ImageInfo;
}

// ---------------------------------------------------------------------------------------------
// Headers

export interface ImageHeader {
  format: 'png' | 'jpeg';
  width: number;
  height: number;
  /** Channels the file stores: 1 gray, 2 gray + alpha, 3 RGB (and palette), 4 RGBA (and palette with transparency). */
  channels: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The header of a PNG or JPEG file (size and channel count), or null when the bytes are neither. */
export function probeImage(bytes: Uint8Array): ImageHeader | null {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return probePng(bytes);
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return probeJpeg(bytes);
  return null;
}

function probePng(b: Uint8Array): ImageHeader | null {
  // IHDR is the first chunk: length(4) "IHDR"(4) width(4) height(4) depth(1) colorType(1)
  if (b.length < 33 || String.fromCharCode(b[12], b[13], b[14], b[15]) !== 'IHDR') return null;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const width = v.getUint32(16);
  const height = v.getUint32(20);
  const colorType = b[25];
  let channels: number;
  if (colorType === 0) channels = 1;
  else if (colorType === 2) channels = 3;
  else if (colorType === 4) channels = 2;
  else if (colorType === 6) channels = 4;
  else if (colorType === 3) channels = pngHasTransparency(b) ? 4 : 3;
  else return null;
  return { format: 'png', width, height, channels };
}

/** Whether a palette PNG has a tRNS chunk before its image data. */
function pngHasTransparency(b: Uint8Array): boolean {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let o = 8;
  while (o + 8 <= b.length) {
    const len = v.getUint32(o);
    const type = String.fromCharCode(b[o + 4], b[o + 5], b[o + 6], b[o + 7]);
    if (type === 'tRNS') return true;
    if (type === 'IDAT' || type === 'IEND') return false;
    o += 12 + len;
  }
  return false;
}

function probeJpeg(b: Uint8Array): ImageHeader | null {
  let o = 2;
  while (o + 4 <= b.length) {
    if (b[o] !== 0xff) {
      o++;
      continue;
    }
    const marker = b[o + 1];
    if (marker === 0xff) {
      o++;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      o += 2;
      continue;
    }
    const len = (b[o + 2] << 8) | b[o + 3];
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (o + 10 > b.length) return null;
      const height = (b[o + 5] << 8) | b[o + 6];
      const width = (b[o + 7] << 8) | b[o + 8];
      const comps = b[o + 9];
      return { format: 'jpeg', width, height, channels: comps === 1 ? 1 : 3 };
    }
    if (marker === 0xda || marker === 0xd9) return null;
    o += 2 + len;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Pure pixel operations

/**
 * Bilinear resize with half-pixel centres of an h×w×c image (row-major, channels last) to H×W:
 * output pixel (i, j) samples the source at ((i + ½)·h/H − ½, (j + ½)·w/W − ½), clamped to the
 * image, and interpolates its four neighbours — tf.image.resizeBilinear with halfPixelCenters.
 * src: [h·w·c] → [H·W·c]. The same size returns a copy.
 */
export function resizeBilinear(src: ArrayLike<number>, h: number, w: number, c: number, H: number, W: number): Float32Array {
  const out = new Float32Array(H * W * c);
  if (h === H && w === W) {
    for (let i = 0; i < out.length; i++) out[i] = src[i];
    return out;
  }
  const sy = h / H;
  const sx = w / W;
  const x0s = new Int32Array(W);
  const x1s = new Int32Array(W);
  const fxs = new Float64Array(W);
  for (let j = 0; j < W; j++) {
    const fx = Math.min(w - 1, Math.max(0, (j + 0.5) * sx - 0.5));
    x0s[j] = Math.floor(fx);
    x1s[j] = Math.min(w - 1, x0s[j] + 1);
    fxs[j] = fx - x0s[j];
  }
  for (let i = 0; i < H; i++) {
    const fy = Math.min(h - 1, Math.max(0, (i + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(h - 1, y0 + 1);
    const ty = fy - y0;
    for (let j = 0; j < W; j++) {
      const tx = fxs[j];
      for (let k = 0; k < c; k++) {
        const a = src[(y0 * w + x0s[j]) * c + k];
        const b = src[(y0 * w + x1s[j]) * c + k];
        const cc = src[(y1 * w + x0s[j]) * c + k];
        const d = src[(y1 * w + x1s[j]) * c + k];
        const top = a + (b - a) * tx;
        const bottom = cc + (d - cc) * tx;
        out[(i * W + j) * c + k] = top + (bottom - top) * ty;
      }
    }
  }
  return out;
}

/** What `fitChannels` did. */
export type ChannelChange = 'none' | 'gray-to-rgb' | 'colour-to-gray' | 'alpha-dropped' | 'alpha-added';

/**
 * Values of an image with `have` channels (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) as `want`
 * channels, by the rules in the header comment; null when the image is in colour and one channel is
 * wanted, or when the counts cannot be matched. src: [nPixels · have] → [nPixels · want].
 */
export function fitChannels(src: ArrayLike<number>, nPixels: number, have: number, want: number, opaque = 255): { data: Float32Array; change: ChannelChange } | null {
  const out = new Float32Array(nPixels * want);
  if (have === want) {
    for (let i = 0; i < out.length; i++) out[i] = src[i];
    return { data: out, change: 'none' };
  }
  const colour = have >= 3;
  const alpha = have === 2 || have === 4;
  if (want === 1) {
    if (colour)
      for (let p = 0; p < nPixels; p++) {
        const o = p * have;
        if (src[o] !== src[o + 1] || src[o] !== src[o + 2]) return null;
      }
    for (let p = 0; p < nPixels; p++) out[p] = src[p * have];
    return { data: out, change: colour ? 'colour-to-gray' : alpha ? 'alpha-dropped' : 'none' };
  }
  if (want === 3 || want === 4) {
    if (have > 4) return null;
    for (let p = 0; p < nPixels; p++) {
      const o = p * have;
      const q = p * want;
      if (colour) {
        out[q] = src[o];
        out[q + 1] = src[o + 1];
        out[q + 2] = src[o + 2];
      } else out[q] = out[q + 1] = out[q + 2] = src[o];
      if (want === 4) out[q + 3] = alpha ? src[o + have - 1] : opaque;
    }
    return { data: out, change: !colour ? 'gray-to-rgb' : want === 3 ? 'alpha-dropped' : 'alpha-added' };
  }
  return null;
}

/**
 * Per-channel mean and population standard deviation (float64 sums) of nRows images of
 * `pixels` pixels × `channels` values on the 0–1 scale. scaled: [nRows · pixels · channels].
 */
export function channelStats(scaled: Float32Array, channels: number): { mean: number[]; std: number[] } {
  const n = scaled.length / channels;
  const sum = new Float64Array(channels);
  for (let i = 0; i < scaled.length; i++) sum[i % channels] += scaled[i];
  const mean = Array.from(sum, (s) => (n > 0 ? s / n : 0));
  const sq = new Float64Array(channels);
  for (let i = 0; i < scaled.length; i++) {
    const dv = scaled[i] - mean[i % channels];
    sq[i % channels] += dv * dv;
  }
  const std = Array.from(sq, (s) => (n > 0 ? Math.sqrt(s / n) : 0));
  return { mean, std };
}

/**
 * Normalise values on the 0–1 scale by a rule: `0-1` → v, `-1-1` → 2v − 1,
 * `mean-std` → (v − mean_c) / std_c (std 0 → 1). scaled: [nRows · pixels · channels] (channels last).
 */
export function normaliseImages(scaled: Float32Array, channels: number, rule: NormaliseRule, stats = channelStats(scaled, channels)): Float32Array {
  if (rule === '0-1') return scaled.slice();
  if (rule === '-1-1') return Float32Array.from(scaled, (v) => 2 * v - 1);
  const { mean, std } = stats;
  const s = std.map((v) => (v > 0 ? v : 1));
  return Float32Array.from(scaled, (v, i) => (v - mean[i % channels]) / s[i % channels]);
}

// ---------------------------------------------------------------------------------------------
// Arrays: gzip, NPY, IDX

/** Whether bytes start with the gzip magic number. */
export function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** The bytes, gunzipped when they are gzip (DecompressionStream: browsers and Node ≥ 18). */
export async function maybeGunzip(buf: ArrayBuffer, name: string): Promise<ArrayBuffer> {
  if (!isGzip(new Uint8Array(buf))) return buf;
  try {
    const stream = new Blob([buf]).stream().pipeThrough(new DecompressionStream('gzip'));
    return await new Response(stream).arrayBuffer();
  } catch (e) {
    throw new UserError(`${name} starts like a gzip file but does not unpack (${(e as Error).message}).`, 'Copy the file again in full, or give it uncompressed.');
  }
}

export type ArrayDType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'int64' | 'uint64' | 'float32' | 'float64';

/** An n-dimensional array read from a file: values as float64 (exact for every dtype read here but 64-bit integers beyond 2^53). */
export interface NdArray {
  shape: number[];
  dtype: ArrayDType;
  data: Float64Array | Float32Array | Uint8Array;
}

const NPY_MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function isNpy(b: Uint8Array): boolean {
  return b.length >= 6 && NPY_MAGIC.every((v, i) => b[i] === v);
}

/** An IDX file starts with two zero bytes, a type code and the number of dimensions. */
export function isIdx(b: Uint8Array): boolean {
  return b.length >= 4 && b[0] === 0 && b[1] === 0 && [0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e].includes(b[2]) && b[3] >= 1 && b[3] <= 4;
}

const NPY_DTYPES: Record<string, { dtype: ArrayDType; size: number }> = {
  u1: { dtype: 'uint8', size: 1 },
  i1: { dtype: 'int8', size: 1 },
  u2: { dtype: 'uint16', size: 2 },
  i2: { dtype: 'int16', size: 2 },
  u4: { dtype: 'uint32', size: 4 },
  i4: { dtype: 'int32', size: 4 },
  u8: { dtype: 'uint64', size: 8 },
  i8: { dtype: 'int64', size: 8 },
  f4: { dtype: 'float32', size: 4 },
  f8: { dtype: 'float64', size: 8 },
  b1: { dtype: 'uint8', size: 1 },
};

function readNumbers(view: DataView, offset: number, count: number, dtype: ArrayDType, little: boolean): Float64Array | Float32Array | Uint8Array {
  if (dtype === 'uint8') return new Uint8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + count));
  if (dtype === 'float32') {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, little);
    return out;
  }
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const o = offset;
    switch (dtype) {
      case 'int8':
        out[i] = view.getInt8(o + i);
        break;
      case 'uint16':
        out[i] = view.getUint16(o + 2 * i, little);
        break;
      case 'int16':
        out[i] = view.getInt16(o + 2 * i, little);
        break;
      case 'uint32':
        out[i] = view.getUint32(o + 4 * i, little);
        break;
      case 'int32':
        out[i] = view.getInt32(o + 4 * i, little);
        break;
      case 'uint64':
        out[i] = Number(view.getBigUint64(o + 8 * i, little));
        break;
      case 'int64':
        out[i] = Number(view.getBigInt64(o + 8 * i, little));
        break;
      case 'float64':
        out[i] = view.getFloat64(o + 8 * i, little);
        break;
    }
  }
  return out;
}

/** Parse an NPY file (format versions 1–3, C order). */
export function parseNpy(buf: ArrayBuffer, name: string): NdArray {
  const b = new Uint8Array(buf);
  const bad = (what: string) => new UserError(`${name} is not a readable NPY file: ${what}.`, 'Save the array with numpy.save (C order, a numeric dtype).');
  if (!isNpy(b)) throw bad('it does not start with \\x93NUMPY');
  const view = new DataView(buf);
  const major = b[6];
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (![1, 2, 3].includes(major) || start + headerLen > b.length) throw bad(`unknown format version ${major}.${b[7]}`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(b.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw bad('its header has no descr, fortran_order or shape');
  if (fortran === 'True') throw bad('it is stored in Fortran order');
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`its shape (${shapeText}) is not a list of sizes`);
  const m = /^([<>|=])([a-z])(\d+)$/.exec(descr);
  const t = m ? NPY_DTYPES[m[2] + m[3]] : undefined;
  if (!m || !t) throw bad(`its dtype ${descr} is not a number type this reader takes (uint8, uint16, int8–int64, float32, float64)`);
  const little = m[1] !== '>';
  const count = shape.reduce((a, d) => a * d, 1);
  const offset = start + headerLen;
  if (offset + count * t.size > b.length) throw bad(`it holds ${b.length - offset} bytes of data where shape (${shape.join(', ')}) of ${descr} needs ${count * t.size} (truncated?)`);
  return { shape, dtype: t.dtype, data: readNumbers(view, offset, count, t.dtype, little) };
}

const IDX_TYPES: Record<number, { dtype: ArrayDType; size: number }> = {
  0x08: { dtype: 'uint8', size: 1 },
  0x09: { dtype: 'int8', size: 1 },
  0x0b: { dtype: 'int16', size: 2 },
  0x0c: { dtype: 'int32', size: 4 },
  0x0d: { dtype: 'float32', size: 4 },
  0x0e: { dtype: 'float64', size: 8 },
};

/** Parse an IDX file (MNIST format: big-endian sizes and values). */
export function parseIdx(buf: ArrayBuffer, name: string): NdArray {
  const b = new Uint8Array(buf);
  const bad = (what: string) => new UserError(`${name} is not a readable IDX file: ${what}.`, 'Give an IDX file as MNIST ships them (e.g. train-images-idx3-ubyte), or an NPY file.');
  if (!isIdx(b)) throw bad('it does not start with 0, 0, a type code and a dimension count');
  const t = IDX_TYPES[b[2]];
  const nd = b[3];
  if (b.length < 4 + 4 * nd) throw bad('it ends inside its header');
  const view = new DataView(buf);
  const shape = Array.from({ length: nd }, (_, i) => view.getUint32(4 + 4 * i));
  const count = shape.reduce((a, d) => a * d, 1);
  const offset = 4 + 4 * nd;
  if (offset + count * t.size > b.length) throw bad(`it holds ${b.length - offset} bytes of data where shape (${shape.join(', ')}) needs ${count * t.size} (truncated?)`);
  return { shape, dtype: t.dtype, data: readNumbers(view, offset, count, t.dtype, false) };
}

/** Whether a data path names an array file (by its bytes when given, else by its name). */
export function looksLikeArrayFile(path: string): boolean {
  return /\.npy(\.gz)?$/i.test(path) || /idx\d-u?byte(\.gz)?$/i.test(path) || /\.idx(\.gz)?$/i.test(path);
}

/** Read an NPY or IDX file (gzipped or not); `name` for messages. */
export async function readArrayFile(io: ImageIO, path: string, name = path): Promise<NdArray & { format: 'npy' | 'idx' }> {
  const raw = await io.readBinary(path);
  if (raw === null) throw new UserError(`${name} does not exist.`, 'Check the path.');
  const buf = await maybeGunzip(raw, name);
  const b = new Uint8Array(buf);
  if (isNpy(b)) return { ...parseNpy(buf, name), format: 'npy' };
  if (isIdx(b)) return { ...parseIdx(buf, name), format: 'idx' };
  throw new UserError(`${name} is neither an NPY nor an IDX file (nor gzip of one).`, 'Give images as an NPY file (numpy.save) or an IDX file, or a folder of PNG/JPEG files with one sub-folder per class.');
}

/** The labels file beside an images file, by name: images.npy → labels.npy, …-images-idx3-ubyte → …-labels-idx1-ubyte. */
export function siblingLabelsPath(path: string): string | undefined {
  const slash = path.lastIndexOf('/') + 1;
  const dir = path.slice(0, slash);
  const base = path.slice(slash);
  if (/images-idx3-ubyte/i.test(base)) return dir + base.replace(/images-idx3-ubyte/i, 'labels-idx1-ubyte');
  if (/images/i.test(base) && /\.npy(\.gz)?$/i.test(base)) return dir + base.replace(/images/i, 'labels');
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Reading a task's images

/** The model's input as an image: H, W, C, and whether the model is flat. */
interface TargetImage {
  height: number;
  width: number;
  channels: number;
  flat: boolean;
}

function targetOf(inputShape: number[]): { height: number; width: number; channels: number } | 'flat' {
  if (inputShape.length === 1) return 'flat';
  if (inputShape.length === 2) return { height: inputShape[0], width: inputShape[1], channels: 1 };
  if (inputShape.length === 3) return { height: inputShape[0], width: inputShape[1], channels: inputShape[2] };
  throw new UserError(`The model's input rows have shape [${inputShape.join(', ')}]; images need [H, W], [H, W, C] or a flat [n].`, 'Use a model with an image input (channels last).');
}

/** The image target for a flat model of n inputs and images of h×w. */
function flatTarget(n: number, h: number, w: number, name: string): TargetImage {
  if (n === h * w) return { height: h, width: w, channels: 1, flat: true };
  if (n === h * w * 3) return { height: h, width: w, channels: 3, flat: true };
  throw new UserError(
    `The model takes flat rows of ${n} values, but ${name} is ${h}×${w} (${h * w} pixels, or ${h * w * 3} RGB values).`,
    'Give images whose pixel count (gray) or 3 × pixel count (RGB) is the model\'s input width, or a model with an image input [H, W, C] (images are then resized to it).',
  );
}

function fmtMiB(n: number): string {
  return `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MiB`;
}

/** Refuse a size that cannot be resized to the target (more than MAX_ASPECT_CHANGE of aspect change). */
function checkResizable(h: number, w: number, t: TargetImage, name: string): void {
  if (h < 1 || w < 1) throw new UserError(`${name} is ${w}×${h} pixels: it has no pixels.`, 'Remove the file or replace it with a real image.');
  const change = (h / w) / (t.height / t.width);
  if (change > MAX_ASPECT_CHANGE || change < 1 / MAX_ASPECT_CHANGE)
    throw new UserError(
      `${name} is ${w}×${h} pixels (width × height); resizing it to the model's ${t.width}×${t.height} would stretch it ${Math.max(change, 1 / change).toFixed(1)}× (more than ${MAX_ASPECT_CHANGE}×).`,
      `Crop the image to the model's aspect ratio (${t.width}:${t.height}) first, or remove it from the data.`,
    );
}

function channelWord(c: number): string {
  return c === 1 ? 'gray (1 channel)' : c === 2 ? 'gray + alpha (2 channels)' : c === 3 ? 'RGB (3 channels)' : c === 4 ? 'RGBA (4 channels)' : `${c} channels`;
}

/** Refuse channel counts that cannot reach the target from a PNG/JPEG header (colour vs gray is checked on the pixels). */
function checkFileChannels(have: number, t: TargetImage, name: string): void {
  if (t.channels === 1 || t.channels === 3 || t.channels === 4) return;
  throw new UserError(
    `${name} is ${channelWord(have)}, but the model takes images with ${t.channels} channels, which PNG/JPEG files cannot hold.`,
    'Give the images as an NPY array with that many channels, or use a model with 1 (gray), 3 (RGB) or 4 (RGBA) input channels.',
  );
}

function colourError(name: string): UserError {
  return new UserError(
    `${name} is in colour (its R, G and B differ), but the model takes gray images (1 channel).`,
    'Convert the images to grayscale first, or use a model with 3 input channels.',
  );
}

function limitError(count: number, what: string): UserError {
  return new UserError(
    `${what} holds ${count.toLocaleString('en')} images, more than the ${MAX_IMAGES.toLocaleString('en')} read without a row limit.`,
    `Set how many to read: the task's maxRows (job "task": {"maxRows": ${Math.min(MAX_IMAGES, count)}} or --max-rows ${Math.min(MAX_IMAGES, count)}; in the studio, "Read at most … images" under the drop zone; rows are taken in sorted path order), or use a folder with fewer images.`,
  );
}

function tableBudgetError(nRows: number, rowValues: number, budget: number, what: string, copies: number): UserError {
  return new UserError(
    `${what}: ${nRows.toLocaleString('en')} images of ${rowValues.toLocaleString('en')} values need ${fmtMiB(nRows * rowValues * 4 * copies)} as float32, more than the ${fmtMiB(budget)} budget for the data.`,
    `Read fewer images (task maxRows / --max-rows ${Math.max(1, Math.floor(budget / (rowValues * 4 * copies)))}; in the studio, "Read at most … images" under the drop zone), or use a model with a smaller input.`,
  );
}

/** How many rows to read of `count`, within the image limit and the memory budget. */
function rowsToRead(count: number, maxRows: number, rowValues: number, budget: number, what: string, copies: number): number {
  if (maxRows <= 0 && count > MAX_IMAGES) throw limitError(count, what);
  const n = maxRows > 0 ? Math.min(count, maxRows) : count;
  if (n * rowValues * 4 * copies > budget) throw tableBudgetError(n, rowValues, budget, what, copies);
  return n;
}

function elementNames(shape: { height: number; width: number; channels: number }): string[] {
  const { height, width, channels } = shape;
  const names: string[] = new Array(height * width * channels);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++) names[(y * width + x) * channels + c] = channels === 1 ? `pixel ${y},${x}` : `pixel ${y},${x},${c}`;
  return names;
}

/** Names of the input values of an image task (`pixel y,x` or `pixel y,x,c`): the Dataset's columns. */
export function imageElementNames(info: Pick<ImageInfo, 'height' | 'width' | 'channels'>): string[] {
  return elementNames(info);
}

const SKIPPED_FILES = new Set(['thumbs.db', 'desktop.ini']);

/** One image file of a folder task. */
export interface FolderImage {
  /** Path relative to the root: `<class>/<…>/<file>`. */
  rel: string;
  classIndex: number;
}

/**
 * The images of a class folder tree, in row order (sorted relative paths), with class names and
 * indices (see the header comment). Refuses an empty folder, a folder without class sub-folders,
 * and files beside the class folders.
 */
export async function listImageFolder(io: ImageIO, root: string): Promise<{ classNames: string[]; images: FolderImage[] }> {
  if (!io.listDir) throw new UserError(`${root} is a folder, and this loader cannot list folders.`, 'Give the images as one NPY or IDX file, or use the command line.');
  const base = root.replace(/\/+$/, '');
  const top = (await io.listDir(base)).filter((e) => !skipped(e.name));
  const loose = top.filter((e) => !e.isDirectory);
  const classDirs = top.filter((e) => e.isDirectory).map((e) => e.name);
  if (top.length === 0) throw new UserError(`The image folder ${root} is empty.`, 'Put the images in one sub-folder per class (e.g. cat/1.png, dog/2.png).');
  if (loose.length)
    throw new UserError(
      `${base}/${loose[0].name} lies directly in the image folder ${root}${loose.length > 1 ? ` (with ${loose.length - 1} other file${loose.length > 2 ? 's' : ''})` : ''}; an image's class is the sub-folder it is in.`,
      'Move the images into one sub-folder per class (e.g. cat/1.png, dog/2.png), or remove the other files.',
    );
  const numeric = classDirs.every((n) => /^(0|[1-9]\d{0,5})$/.test(n));
  let classNames: string[];
  let indexOf: (name: string) => number;
  if (numeric) {
    const max = Math.max(...classDirs.map(Number));
    classNames = Array.from({ length: max + 1 }, (_, i) => String(i));
    indexOf = (n) => Number(n);
  } else {
    classNames = [...classDirs].sort(codeUnitOrder);
    indexOf = (n) => classNames.indexOf(n);
  }
  const images: FolderImage[] = [];
  const walk = async (rel: string, classIndex: number, depth: number): Promise<void> => {
    if (depth > 32) throw new UserError(`${base}/${rel} is nested more than 32 folders deep.`, 'Flatten the class folders.');
    for (const e of await io.listDir!(`${base}/${rel}`)) {
      if (skipped(e.name)) continue;
      const p = `${rel}/${e.name}`;
      if (e.isDirectory) await walk(p, classIndex, depth + 1);
      else images.push({ rel: p, classIndex });
      if (images.length > MAX_LISTED_FILES) throw new UserError(`${root} holds more than ${MAX_LISTED_FILES.toLocaleString('en')} files.`, 'Use a smaller folder.');
    }
  };
  for (const d of classDirs) await walk(d, indexOf(d), 1);
  if (images.length === 0)
    throw new UserError(`The image folder ${root} has class folders (${classDirs.sort(codeUnitOrder).join(', ')}) but no image in any of them.`, 'Put PNG or JPEG files into the class folders.');
  images.sort((a, b) => codeUnitOrder(a.rel, b.rel));
  return { classNames, images };
}

function skipped(name: string): boolean {
  return name.startsWith('.') || SKIPPED_FILES.has(name.toLowerCase());
}

/** Plain code-unit order (not locale): the same on every machine. */
export function codeUnitOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Whole-table steps shared by folders and arrays: stats, normalisation, info. */
function finish(
  scaled: Float32Array,
  t: TargetImage,
  inputShape: number[],
  rule: NormaliseRule,
  base: Omit<ImageInfo, 'height' | 'width' | 'channels' | 'inputShape' | 'normalise' | 'channelMean' | 'channelStd' | 'scaled'>,
): { x: Float32Array; info: ImageInfo } {
  const stats = channelStats(scaled, t.channels);
  const x = normaliseImages(scaled, t.channels, rule, stats);
  return {
    x,
    info: {
      ...base,
      height: t.height,
      width: t.width,
      channels: t.channels,
      inputShape: [...inputShape],
      normalise: rule,
      channelMean: stats.mean,
      channelStd: stats.std,
      ...(rule === 'mean-std' ? { scaled } : {}),
    },
  };
}

/**
 * Read a folder of class sub-folders of PNG/JPEG images into model-input rows (see the header
 * comment for every step and check). All files are checked from their headers before any is
 * decoded; the model is not called.
 */
export async function readImageFolder(io: ImageIO, root: string, target: ImageTarget, opts: ImageReadOptions = {}): Promise<ImageRows> {
  const { classNames, images } = await listImageFolder(io, root);
  const base = root.replace(/\/+$/, '');
  const rule = opts.normalise ?? DEFAULT_NORMALISE;
  const budget = opts.maxTableBytes ?? DEFAULT_MAX_IMAGE_TABLE_BYTES;
  const shape = targetOf(target.inputShape);
  const copies = rule === 'mean-std' ? 2 : 1;

  // 1. headers, before any decoding
  const headers: ImageHeader[] = [];
  let t: TargetImage | undefined = shape === 'flat' ? undefined : { ...shape, flat: false };
  // row count first (a rough table size check needs the model's row size, known for image models)
  const nRows = rowsToRead(images.length, opts.maxRows ?? 0, t ? t.height * t.width * t.channels : target.inputShape[0], budget, `The image folder ${root}`, copies);
  for (let r = 0; r < nRows; r++) {
    const name = `${base}/${images[r].rel}`;
    const bytes = await io.readBinary(name);
    if (bytes === null) throw new UserError(`${name} could not be read.`, 'Check that the file exists and is readable.');
    const h = probeImage(new Uint8Array(bytes));
    if (!h) throw notImageError(name, bytes);
    if (h.width * h.height > MAX_IMAGE_PIXELS)
      throw new UserError(`${name} is ${h.width}×${h.height} pixels, more than the ${MAX_IMAGE_PIXELS / 1e6} megapixels decoded per image.`, 'Shrink the image first (the model reads a small input anyway), or remove it.');
    if (!t) t = flatTarget(target.inputShape[0], h.height, h.width, name);
    if (t.flat && (h.height !== t.height || h.width !== t.width))
      throw new UserError(`${name} is ${h.width}×${h.height} pixels; the other images are ${t.width}×${t.height}, and a model with flat input rows cannot read images of another size.`, 'Give images of one size (or a model with an image input [H, W, C]).');
    checkResizable(h.height, h.width, t, name);
    checkFileChannels(h.channels, t, name);
    headers.push(h);
  }
  if (!io.decodeImage) throw new UserError(`This loader cannot decode PNG/JPEG files (needed for ${root}).`, 'Give the images as an NPY or IDX array.');
  const target2 = t!;

  // 2. decode, fit channels, scale, resize
  const rowValues = target2.height * target2.width * target2.channels;
  const scaled = new Float32Array(nRows * rowValues);
  const counts = { resized: 0, grayToRgb: 0, colourToGray: 0, alphaDropped: 0 };
  for (let r = 0; r < nRows; r++) {
    const name = `${base}/${images[r].rel}`;
    const bytes = (await io.readBinary(name))!;
    let img: DecodedImage;
    try {
      img = await io.decodeImage(bytes, name);
    } catch (e) {
      throw new UserError(`${name} could not be decoded as a ${headers[r].format.toUpperCase()} image (${(e as Error).message}).`, 'Replace the file with an intact image, or remove it.');
    }
    const fitted = fitChannels(img.data, img.width * img.height, img.channels, target2.channels);
    if (!fitted) throw target2.channels === 1 ? colourError(name) : new UserError(`${name} has ${img.channels} channels; the model takes ${target2.channels}.`, 'Use images with the model\'s channel count.');
    if (fitted.change === 'gray-to-rgb') counts.grayToRgb++;
    else if (fitted.change === 'colour-to-gray') counts.colourToGray++;
    else if (fitted.change === 'alpha-dropped') counts.alphaDropped++;
    const v = fitted.data;
    for (let i = 0; i < v.length; i++) v[i] /= 255;
    if (img.height !== target2.height || img.width !== target2.width) counts.resized++;
    scaled.set(resizeBilinear(v, img.height, img.width, target2.channels, target2.height, target2.width), r * rowValues);
  }
  const labels = Int32Array.from({ length: nRows }, (_, r) => images[r].classIndex);
  const { x, info } = finish(scaled, target2, [...target.inputShape], rule, { format: 'folder', files: images.slice(0, nRows).map((i) => i.rel), ...counts });
  return { x, labels, nRows, classNames, labelName: 'class folder', info };
}

function notImageError(name: string, bytes: ArrayBuffer): UserError {
  const b = new Uint8Array(bytes.slice(0, 16));
  const what = b.length === 0 ? 'it is empty' : /^(GIF8|RIFF|BM|II\*|MM\*)/.test(String.fromCharCode(...b.subarray(0, 4))) ? 'it is another image format (GIF, WebP, BMP or TIFF)' : 'its first bytes are not a PNG or JPEG signature';
  return new UserError(`${name} is not a PNG or JPEG image: ${what}.`, 'Convert it to PNG, or remove it from the image folder.');
}

/** Values of an array image as the 0–1 scale: uint8 ÷ 255, uint16 ÷ 65535, floats as they are (must lie in [0, 1]). */
function arrayScale(a: NdArray, name: string): number {
  if (a.dtype === 'uint8') return 1 / 255;
  if (a.dtype === 'uint16') return 1 / 65535;
  if (a.dtype === 'float32' || a.dtype === 'float64') return 1;
  throw new UserError(`${name} holds ${a.dtype} values; images must be uint8 (0–255), uint16 (0–65535) or float (0–1).`, 'Save the images as uint8 pixel values, or as floats scaled to 0–1.');
}

/** Read class labels from a 1-D integer array file. */
async function readLabels(io: ImageIO, path: string, nImages: number, imagesName: string): Promise<Int32Array> {
  const a = await readArrayFile(io, path);
  if (a.shape.length !== 1 && !(a.shape.length === 2 && a.shape[1] === 1))
    throw new UserError(`The labels file ${path} has shape (${a.shape.join(', ')}); one class index per image, shape (N,), is needed.`, 'Save the labels as a 1-D integer array.');
  if (a.shape[0] !== nImages)
    throw new UserError(`The labels file ${path} has ${a.shape[0]} labels but ${imagesName} has ${nImages} images.`, 'Give the labels file that belongs to these images.');
  const out = new Int32Array(nImages);
  for (let i = 0; i < nImages; i++) {
    const v = a.data[i];
    if (!Number.isInteger(v) || v < 0 || v > 1e6)
      throw new UserError(`The labels file ${path}: label ${i} is ${v}, not a class index (an integer ≥ 0).`, 'Save the labels as integer class indices 0..K−1.');
    out[i] = v;
  }
  return out;
}

/**
 * Read an NPY or IDX array of images (+ its labels file) into model-input rows: the same checks,
 * channel rules, resize and normalisation as folders (see the header comment).
 */
export async function readImageArray(io: ImageIO, path: string, target: ImageTarget, opts: ImageReadOptions = {}): Promise<ImageRows> {
  const a = await readArrayFile(io, path);
  const rule = opts.normalise ?? DEFAULT_NORMALISE;
  const budget = opts.maxTableBytes ?? DEFAULT_MAX_IMAGE_TABLE_BYTES;
  if (a.shape.length !== 3 && a.shape.length !== 4)
    throw new UserError(`${path} has shape (${a.shape.join(', ')}); images need (N, H, W) or (N, H, W, C).`, 'Save the images as one array of shape (N, H, W) or (N, H, W, C), channels last.');
  const [count, h, w] = a.shape;
  const have = a.shape.length === 4 ? a.shape[3] : 1;
  if (count === 0) throw new UserError(`${path} holds no images (shape (${a.shape.join(', ')})).`, 'Give an array with at least one image.');
  const scale = arrayScale(a, path);
  const shape = targetOf(target.inputShape);
  const t: TargetImage = shape === 'flat' ? flatTarget(target.inputShape[0], h, w, `${path} (each image)`) : { ...shape, flat: false };
  checkResizable(h, w, t, `${path} (each image)`);
  if (have !== t.channels && !(have <= 4 && (t.channels === 1 || t.channels === 3 || t.channels === 4)))
    throw new UserError(`${path} holds ${channelWord(have)} images; the model takes ${channelWord(t.channels)}.`, 'Give images with the model\'s channel count.');
  const copies = rule === 'mean-std' ? 2 : 1;
  const rowValues = t.height * t.width * t.channels;
  const nRows = rowsToRead(count, opts.maxRows ?? 0, rowValues, budget, path, copies);
  const labelsPath = opts.labels ?? siblingLabelsPath(path);
  if (!labelsPath) throw new UserError(`${path} comes without a labels file.`, 'Give the labels file (one class index per image, NPY or IDX) as the label: --label labels.npy (job: "label").');
  if (!opts.labels && (await io.readBinary(labelsPath)) === null)
    throw new UserError(`${path} needs a labels file; ${labelsPath} (where it would be) does not exist.`, 'Give the labels file (one class index per image, NPY or IDX) as the label: --label labels.npy (job: "label").');
  const allLabels = await readLabels(io, labelsPath, count, path);

  const per = h * w * have;
  const scaled = new Float32Array(nRows * rowValues);
  const counts = { resized: 0, grayToRgb: 0, colourToGray: 0, alphaDropped: 0 };
  for (let r = 0; r < nRows; r++) {
    const src = new Float32Array(per);
    for (let i = 0; i < per; i++) {
      const v = a.data[r * per + i] * scale;
      if (scale === 1 && !(v >= 0 && v <= 1))
        throw new UserError(`${path}: image ${r} holds the value ${a.data[r * per + i]}; float images must be on the 0–1 scale.`, 'Scale the images to 0–1 (or save them as uint8 0–255) before saving.');
      src[i] = v;
    }
    const fitted = fitChannels(src, h * w, have, t.channels, 1);
    if (!fitted) throw colourError(`${path} (image ${r})`);
    if (fitted.change === 'gray-to-rgb') counts.grayToRgb++;
    else if (fitted.change === 'colour-to-gray') counts.colourToGray++;
    else if (fitted.change === 'alpha-dropped') counts.alphaDropped++;
    if (h !== t.height || w !== t.width) counts.resized++;
    scaled.set(resizeBilinear(fitted.data, h, w, t.channels, t.height, t.width), r * rowValues);
  }
  const labels = allLabels.slice(0, nRows);
  const nClasses = Math.max(...allLabels) + 1;
  const classNames = Array.from({ length: nClasses }, (_, i) => String(i));
  const { x, info } = finish(scaled, t, [...target.inputShape], rule, { format: a.format, files: Array.from({ length: nRows }, (_, r) => `${path.slice(path.lastIndexOf('/') + 1)}[${r}]`), ...counts });
  return { x, labels, nRows, classNames, labelName: labelsPath, info };
}

/**
 * The first nRows of image rows as their own task's rows: with `mean-std` the statistics (and so
 * every value) come from those rows, from the kept 0–1 values — the same numbers reading only
 * nRows images gives. x: [≥ nRows, inputSize].
 */
export function imageRows(x: Float32Array, info: ImageInfo, nRows: number): { x: Float32Array; info: ImageInfo } {
  const d = info.height * info.width * info.channels;
  const files = info.files.slice(0, nRows);
  if (info.normalise !== 'mean-std' || !info.scaled) {
    const part = info.scaled?.slice(0, nRows * d);
    const stats = channelStats(part ?? unscale(x.subarray(0, nRows * d), info), info.channels);
    return { x: x.slice(0, nRows * d), info: { ...info, files, channelMean: stats.mean, channelStd: stats.std } };
  }
  const scaled = info.scaled.slice(0, nRows * d);
  const stats = channelStats(scaled, info.channels);
  return { x: normaliseImages(scaled, info.channels, 'mean-std', stats), info: { ...info, files, channelMean: stats.mean, channelStd: stats.std, scaled } };
}

/** Values back on the 0–1 scale from `0-1` / `-1-1` normalised rows (for statistics only). */
function unscale(x: Float32Array, info: ImageInfo): Float32Array {
  return info.normalise === '-1-1' ? Float32Array.from(x, (v) => (v + 1) / 2) : x;
}
