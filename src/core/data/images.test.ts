/**
 * The pure image helpers: bilinear resize (closed forms and tf.image.resizeBilinear with half-pixel
 * centres), channel rules, normalisation closed forms, NPY/IDX parsing (gzipped too), headers,
 * folder listing order and class indices, and the checks on counts.
 */
import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { channelStats, fitChannels, imageRows, isGzip, listImageFolder, maybeGunzip, MAX_IMAGES, normaliseImages, parseIdx, parseNpy, probeImage, readImageArray, readImageFolder, resizeBilinear, siblingLabelsPath, type DirEntry, type ImageIO } from './images';
import { randomRows, useBackend } from '../../../tests/helpers/models';

/** NPY 1.0 bytes of a Float32Array ('<f4') or Uint8Array ('|u1'). */
export function npy(data: Float32Array | Uint8Array, shape: number[]): ArrayBuffer {
  const descr = data instanceof Float32Array ? '<f4' : '|u1';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out.buffer;
}

/** IDX bytes of unsigned bytes. */
function idx(data: Uint8Array, shape: number[]): ArrayBuffer {
  const out = new Uint8Array(4 + 4 * shape.length + data.length);
  out.set([0, 0, 0x08, shape.length]);
  const v = new DataView(out.buffer);
  shape.forEach((s, i) => v.setUint32(4 + 4 * i, s));
  out.set(data, 4 + 4 * shape.length);
  return out.buffer;
}

/** An in-memory IO over a map path → bytes (folders implied by the paths). */
export function memoryIO(files: Map<string, ArrayBuffer>, decode?: ImageIO['decodeImage']): ImageIO & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    async readBinary(p) {
      reads.push(p);
      return files.get(p) ?? null;
    },
    async listDir(p) {
      const prefix = p.replace(/\/+$/, '') + '/';
      const seen = new Map<string, boolean>();
      for (const k of files.keys())
        if (k.startsWith(prefix)) {
          const rest = k.slice(prefix.length);
          const slash = rest.indexOf('/');
          seen.set(slash < 0 ? rest : rest.slice(0, slash), slash >= 0);
        }
      return [...seen].map(([name, isDirectory]): DirEntry => ({ name, isDirectory }));
    },
    decodeImage: decode,
  };
}

describe('bilinear resize (half-pixel centres)', () => {
  it('closed forms: identity at the same size, a constant stays constant, a 2-pixel ramp', () => {
    const src = randomRows(1, 5 * 4 * 3, 'resize');
    expect(Array.from(resizeBilinear(src, 5, 4, 3, 5, 4))).toEqual(Array.from(src));
    for (const v of resizeBilinear(new Float32Array(12).fill(0.25), 2, 2, 3, 7, 5)) expect(v).toBeCloseTo(0.25, 7);
    // width 2 → 4: samples at -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1)
    expect(Array.from(resizeBilinear([0, 8], 1, 2, 1, 1, 4))).toEqual([0, 2, 6, 8]);
    // 4 → 2: each output pixel is the mean of its two source pixels
    expect(Array.from(resizeBilinear([1, 3, 5, 7], 1, 4, 1, 1, 2))).toEqual([2, 6]);
  });

  it('equals tf.image.resizeBilinear(alignCorners false, halfPixelCenters true)', async () => {
    await useBackend('wasm');
    for (const [h, w, H, W] of [[5, 7, 8, 3], [28, 28, 8, 8], [3, 3, 10, 12]]) {
      const src = randomRows(1, h * w * 2, `tf-${h}`);
      const ref = tf.tidy(() => tf.image.resizeBilinear(tf.tensor3d(src, [h, w, 2]), [H, W], false, true));
      const want = await ref.data();
      ref.dispose();
      const got = resizeBilinear(src, h, w, 2, H, W);
      for (let i = 0; i < want.length; i++) expect(got[i]).toBeCloseTo(want[i], 5);
    }
  });
});

describe('channels and normalisation', () => {
  it('gray → RGB repeats the value; RGB with R = G = B becomes gray; colour for one channel is refused; alpha dropped or added', () => {
    expect(Array.from(fitChannels([10, 20], 2, 1, 3)!.data)).toEqual([10, 10, 10, 20, 20, 20]);
    expect(fitChannels([10, 20], 2, 1, 3)!.change).toBe('gray-to-rgb');
    expect(Array.from(fitChannels([5, 5, 5, 9, 9, 9], 2, 3, 1)!.data)).toEqual([5, 9]);
    expect(fitChannels([5, 5, 6], 1, 3, 1)).toBeNull();
    expect(Array.from(fitChannels([1, 2, 3, 4], 1, 4, 3)!.data)).toEqual([1, 2, 3]);
    expect(Array.from(fitChannels([7, 200], 1, 2, 1)!.data)).toEqual([7]);
    expect(Array.from(fitChannels([1, 2, 3], 1, 3, 4)!.data)).toEqual([1, 2, 3, 255]);
    expect(fitChannels([1, 2], 1, 2, 5)).toBeNull();
  });

  it('0-1 keeps v, -1-1 gives 2v − 1, mean-std gives per-channel mean 0 and std 1 (a constant channel keeps std 1)', () => {
    const v = Float32Array.from([0, 0.5, 1, 0.5, 0.25, 0.5, 0.75, 0.5]); // 4 pixels × 2 channels; channel 1 constant
    expect(Array.from(normaliseImages(v, 2, '0-1'))).toEqual(Array.from(v));
    expect(Array.from(normaliseImages(v, 2, '-1-1'))).toEqual(Array.from(v, (a) => 2 * a - 1));
    const stats = channelStats(v, 2);
    expect(stats.mean[0]).toBeCloseTo(0.5, 12); // channel 0: 0, 1, 0.25, 0.75
    expect(stats.mean[1]).toBeCloseTo(0.5, 12);
    expect(stats.std[0]).toBeCloseTo(Math.sqrt((0.25 + 0.25 + 0.0625 + 0.0625) / 4), 7);
    expect(stats.std[1]).toBe(0);
    const z = normaliseImages(v, 2, 'mean-std');
    const zs = channelStats(z, 2);
    expect(zs.mean[0]).toBeCloseTo(0, 6);
    expect(zs.std[0]).toBeCloseTo(1, 6);
    expect([z[1], z[3], z[5], z[7]]).toEqual([0, 0, 0, 0]);
  });
});

describe('arrays and headers', () => {
  it('NPY (float32, uint8) and IDX parse to their shapes and values; gzip is unpacked', async () => {
    const f = Float32Array.from([0, 0.25, 0.5, 1, 0.75, 0.125]);
    const a = parseNpy(npy(f, [1, 2, 3]), 'a.npy');
    expect(a.shape).toEqual([1, 2, 3]);
    expect(a.dtype).toBe('float32');
    expect(Array.from(a.data)).toEqual(Array.from(f));
    const u = parseIdx(idx(Uint8Array.of(1, 2, 3, 4), [2, 2]), 'x-idx2-ubyte');
    expect(u.shape).toEqual([2, 2]);
    expect(Array.from(u.data)).toEqual([1, 2, 3, 4]);
    const gz = gzipSync(new Uint8Array(npy(Uint8Array.of(9, 8, 7), [3])));
    expect(isGzip(gz)).toBe(true);
    const back = await maybeGunzip(gz.buffer.slice(gz.byteOffset, gz.byteOffset + gz.byteLength), 'l.npy.gz');
    expect(Array.from(parseNpy(back, 'l.npy').data)).toEqual([9, 8, 7]);
    expect(() => parseNpy(new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 4, 0, 0x7b, 0x7d, 0x20, 0x0a]).buffer, 'bad.npy')).toThrow(/bad\.npy is not a readable NPY file/);
    expect(siblingLabelsPath('d/train-images-idx3-ubyte.gz')).toBe('d/train-labels-idx1-ubyte.gz');
    expect(siblingLabelsPath('d/images.npy')).toBe('d/labels.npy');
  });

  it('reads an NPY array of images with its labels beside it: values ÷ 255, resized to the model', async () => {
    const px = Uint8Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 20);
    const files = new Map([
      ['d/images.npy', npy(px, [3, 2, 2])],
      ['d/labels.npy', npy(Uint8Array.of(2, 0, 1), [3])],
    ]);
    const same = await readImageArray(memoryIO(files), 'd/images.npy', { inputShape: [2, 2, 1] });
    expect(same.nRows).toBe(3);
    expect(Array.from(same.labels)).toEqual([2, 0, 1]);
    expect(same.classNames).toEqual(['0', '1', '2']);
    for (let i = 0; i < px.length; i++) expect(same.x[i]).toBeCloseTo(px[i] / 255, 6);
    const big = await readImageArray(memoryIO(files), 'd/images.npy', { inputShape: [4, 4, 3] }, { maxRows: 2 });
    expect(big.nRows).toBe(2);
    expect(big.x.length).toBe(2 * 48);
    expect(big.info.resized).toBe(2);
    expect(big.info.grayToRgb).toBe(2);
    const noLabels = new Map([['d/images.npy', files.get('d/images.npy')!]]);
    await expect(readImageArray(memoryIO(noLabels), 'd/images.npy', { inputShape: [2, 2, 1] })).rejects.toThrow(/labels file; d\/labels\.npy/);
    const floats = new Map([['d/images.npy', npy(Float32Array.of(0, 2, 0, 0), [1, 2, 2])], ['d/labels.npy', npy(Uint8Array.of(0), [1])]]);
    await expect(readImageArray(memoryIO(floats), 'd/images.npy', { inputShape: [2, 2] })).rejects.toThrow(/0–1 scale/);
  });

  it('mean-std statistics of the first N rows equal reading only N rows', async () => {
    const px = Uint8Array.from({ length: 5 * 9 }, (_, i) => (i * 37) % 256);
    const files = new Map([['d/images.npy', npy(px, [5, 3, 3])], ['d/labels.npy', npy(Uint8Array.of(0, 1, 0, 1, 0), [5])]]);
    const all = await readImageArray(memoryIO(files), 'd/images.npy', { inputShape: [3, 3, 1] }, { normalise: 'mean-std' });
    const three = await readImageArray(memoryIO(files), 'd/images.npy', { inputShape: [3, 3, 1] }, { normalise: 'mean-std', maxRows: 3 });
    const part = imageRows(all.x, all.info, 3);
    expect(Array.from(part.x)).toEqual(Array.from(three.x));
    expect(part.info.channelMean).toEqual(three.info.channelMean);
    expect(part.info.channelStd).toEqual(three.info.channelStd);
  });

  it('headers tell PNG and JPEG from other bytes', () => {
    expect(probeImage(new TextEncoder().encode('hello, not an image'))).toBeNull();
    expect(probeImage(new Uint8Array(0))).toBeNull();
  });
});

describe('image folders', () => {
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).buffer; // a signature only: listing never reads

  it('rows in sorted path order; class indices from sorted names, or from numeric folder names', async () => {
    const files = new Map(['root/b/2.png', 'root/a/z.png', 'root/a/sub/1.png', 'root/b/10.png', 'root/.DS_Store', 'root/a/.hidden.png'].map((p) => [p, png]));
    const { classNames, images } = await listImageFolder(memoryIO(files), 'root');
    expect(classNames).toEqual(['a', 'b']);
    expect(images.map((i) => i.rel)).toEqual(['a/sub/1.png', 'a/z.png', 'b/10.png', 'b/2.png']);
    expect(images.map((i) => i.classIndex)).toEqual([0, 0, 1, 1]);
    const numeric = new Map(['r/10/a.png', 'r/2/a.png', 'r/0/a.png'].map((p) => [p, png]));
    const n = await listImageFolder(memoryIO(numeric), 'r/');
    expect(n.classNames.length).toBe(11);
    expect(n.images.map((i) => [i.rel, i.classIndex])).toEqual([['0/a.png', 0], ['10/a.png', 10], ['2/a.png', 2]]);
  });

  it('refuses an empty folder, loose files beside the class folders, and class folders without images', async () => {
    await expect(listImageFolder(memoryIO(new Map()), 'empty')).rejects.toThrow(/The image folder empty is empty/);
    await expect(listImageFolder(memoryIO(new Map([['r/x.png', png], ['r/a/y.png', png]])), 'r')).rejects.toThrow(/r\/x\.png lies directly in the image folder/);
    await expect(listImageFolder(memoryIO(new Map([['r/a/.keep', png]])), 'r')).rejects.toThrow(/no image in any of them/);
  });

  it(`refuses more than ${MAX_IMAGES.toLocaleString('en')} images without maxRows, before reading any`, async () => {
    const files = new Map(Array.from({ length: MAX_IMAGES + 1 }, (_, i) => [`r/c/${i}.png`, png] as [string, ArrayBuffer]));
    const io = memoryIO(files);
    await expect(readImageFolder(io, 'r', { inputShape: [8, 8, 1] })).rejects.toThrow(/10,001 images, more than the 10,000 read without a row limit/);
    expect(io.reads).toEqual([]);
  });
});
