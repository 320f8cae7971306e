/**
 * Image tasks through the one loader in Node: a folder of PNG files (made here with pngjs) with one
 * sub-folder per class and a small CNN saved to disk load into rows that equal the decoded pixels,
 * with the patch space, the class folders as labels and the normalisation chosen; bad files are
 * refused by name before the model's weights are read; taskRows of an image task equals loading
 * fewer rows; the job schema takes patch / normalise and a table refuses them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { useBackend } from './helpers/models';
import { nodeDecodeImage, nodeTaskIO } from '../src/cli/files';
import { declaredInputShape, loadTask, taskRows, type TaskIO, type TaskSpec } from '../src/core/task/load';
import { ImageFeatureSpace } from '../src/core/task/featureSpace';
import { probeImage } from '../src/core/data/images';
import { resolveJob } from '../src/core/job/schema';
import { jobDiff } from '../src/core/job/diff';
import { DEFAULTS } from '../src/core/job/schema';

let dir: string;
const H = 6;
const W = 6;

/** PNG bytes of an 8-bit image: channels 1 (gray), 3 (RGB) or 4 (RGBA), interleaved. */
function pngBytes(width: number, height: number, channels: 1 | 3 | 4, data: number[] | Uint8Array): Buffer {
  const colorType = channels === 1 ? 0 : channels === 3 ? 2 : 6;
  return PNG.sync.write({ width, height, data: Buffer.from(data) } as PNG, { colorType, inputColorType: colorType, inputHasAlpha: channels === 4 });
}

function pixels(width: number, height: number, channels: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: width * height * channels }, (_, i) => (i * 37 + seed * 101) % 256);
}

async function saveModel(model: tf.LayersModel, to: string): Promise<void> {
  mkdirSync(to, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      writeFileSync(join(to, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] }));
      writeFileSync(join(to, 'weights.bin'), new Uint8Array(a.weightData as ArrayBuffer));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

function cnn(channels: number): tf.Sequential {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [H, W, channels], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }));
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.globalAveragePooling2d({}));
  m.add(tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  return m;
}

const spec = (data: string, model = 'gray-model', extra: Partial<TaskSpec> = {}): TaskSpec => ({ model: join(dir, model), data: join(dir, data), baseline: 'zero', output: 'probability', maxRows: 0, ...extra });

/** The Node IO, counting reads of weight files. */
function countingIO(): TaskIO & { weightReads: () => number } {
  const io = nodeTaskIO(dir);
  let n = 0;
  return {
    ...io,
    async readBinary(p) {
      if (p.endsWith('.bin')) n++;
      return io.readBinary(p);
    },
    weightReads: () => n,
  };
}

beforeAll(async () => {
  await useBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'deepfaith-images-'));
  await saveModel(cnn(1), join(dir, 'gray-model'));
  await saveModel(cnn(3), join(dir, 'rgb-model'));
  // gray images 6×6 in classes cat, dog, (empty) zebra; one 12×12 image that is resized
  const put = (rel: string, bytes: Buffer | string) => {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), bytes);
  };
  put('gray/dog/b.png', pngBytes(W, H, 1, pixels(W, H, 1, 1)));
  put('gray/cat/a.png', pngBytes(W, H, 1, pixels(W, H, 1, 2)));
  put('gray/cat/c.png', pngBytes(12, 12, 1, pixels(12, 12, 1, 3)));
  mkdirSync(join(dir, 'gray/zebra'), { recursive: true });
  put('colour/x/a.png', pngBytes(W, H, 3, pixels(W, H, 3, 4)));
  put('notimage/x/a.png', 'this is text, not a PNG');
  put('stretched/x/a.png', pngBytes(30, 6, 1, pixels(30, 6, 1, 5)));
  put('truncated/x/a.png', pngBytes(W, H, 1, pixels(W, H, 1, 6)).subarray(0, 40));
  put('jpeg/x/a.jpg', jpeg.encode({ width: W, height: H, data: Buffer.from(pixels(W, H, 4, 7)) }, 95).data);
  mkdirSync(join(dir, 'empty'), { recursive: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PNG decoding in Node', () => {
  it('gives back the pixels written, with the file\'s channel count', async () => {
    for (const c of [1, 3, 4] as const) {
      const px = pixels(5, 3, c, c);
      const bytes = pngBytes(5, 3, c, px);
      expect(probeImage(bytes)).toEqual({ format: 'png', width: 5, height: 3, channels: c });
      const img = await nodeDecodeImage(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, 'x.png');
      expect([img.width, img.height, img.channels]).toEqual([5, 3, c]);
      expect(Array.from(img.data)).toEqual(Array.from(px));
    }
    const j = jpeg.encode({ width: 4, height: 2, data: Buffer.alloc(32, 90) }, 90).data;
    expect(probeImage(j)).toEqual({ format: 'jpeg', width: 4, height: 2, channels: 3 });
  });
});

describe('a folder of class folders through loadTask', () => {
  it('rows equal the decoded pixels ÷ 255 in sorted path order; classes are the sub-folders; the space is patches', async () => {
    expect(declaredInputShape(JSON.parse(await nodeTaskIO(dir).readText('gray-model/model.json')))).toEqual([H, W, 1]);
    const loaded = await loadTask(spec('gray', 'gray-model', { patch: 3 }), nodeTaskIO(dir));
    try {
      const { data, task } = loaded;
      expect(data.nRows).toBe(3);
      expect(data.image!.files).toEqual(['cat/a.png', 'cat/c.png', 'dog/b.png']);
      expect(data.classNames).toEqual(['cat', 'dog', 'zebra']);
      expect(Array.from(data.labels)).toEqual([0, 0, 1]);
      const a = pixels(W, H, 1, 2);
      for (let i = 0; i < H * W; i++) expect(data.x[i]).toBeCloseTo(a[i] / 255, 6);
      const b = pixels(W, H, 1, 1);
      for (let i = 0; i < H * W; i++) expect(data.x[2 * H * W + i]).toBeCloseTo(b[i] / 255, 6);
      expect(data.image!.resized).toBe(1);
      expect(task.space).toBeInstanceOf(ImageFeatureSpace);
      expect(task.nFeatures).toBe(4);
      expect(task.inputSize).toBe(H * W);
      expect(task.featureNames).toEqual(['patch 0,0', 'patch 0,1', 'patch 1,0', 'patch 1,1']);
      expect(loaded.columns).toEqual([]);
      expect(loaded.fingerprint.data).toMatch(/^[0-9a-f]{64}$/);
      // the default patch of a 6×6 image is 1 pixel (36 patches)
      const def = taskRows(loaded, 0, { patch: 2 });
      expect(def.task.nFeatures).toBe(9);
    } finally {
      loaded.task.model.dispose();
    }
  });

  it('gray images for an RGB model repeat the gray value; -1-1 and mean-std normalise', async () => {
    const rgb = await loadTask(spec('gray', 'rgb-model', { normalise: '-1-1' }), nodeTaskIO(dir));
    try {
      expect(rgb.data.image!.grayToRgb).toBe(3);
      const a = pixels(W, H, 1, 2);
      for (let p = 0; p < H * W; p++) for (let c = 0; c < 3; c++) expect(rgb.data.x[p * 3 + c]).toBeCloseTo((2 * a[p]) / 255 - 1, 5);
    } finally {
      rgb.task.model.dispose();
    }
    const z = await loadTask(spec('gray', 'gray-model', { normalise: 'mean-std' }), nodeTaskIO(dir));
    try {
      const { mean, std } = { mean: z.data.image!.channelMean[0], std: z.data.image!.channelStd[0] };
      let m = 0;
      for (const v of z.data.x) m += v;
      expect(m / z.data.x.length).toBeCloseTo(0, 5);
      expect(std).toBeGreaterThan(0);
      expect(mean).toBeGreaterThan(0);
      // the first two rows as a task = loading two rows (statistics of those rows)
      const two = await loadTask(spec('gray', 'gray-model', { normalise: 'mean-std', maxRows: 2 }), nodeTaskIO(dir));
      try {
        const sub = taskRows(z, 2);
        expect(Array.from(sub.data.x)).toEqual(Array.from(two.data.x));
        expect(Array.from((sub.task.space as ImageFeatureSpace).means)).toEqual(Array.from((two.task.space as ImageFeatureSpace).means));
      } finally {
        two.task.model.dispose();
      }
    } finally {
      z.task.model.dispose();
    }
  });

  const bad: [string, string, string, RegExp][] = [
    ['not an image', 'notimage', 'gray-model', /notimage\/x\/a\.png is not a PNG or JPEG image.*Convert it to PNG, or remove it/s],
    ['colour for a gray model', 'colour', 'gray-model', /colour\/x\/a\.png is in colour.*Convert the images to grayscale first/s],
    ['a size that cannot be resized', 'stretched', 'gray-model', /stretched\/x\/a\.png is 30×6 pixels.*stretch it 5\.0×.*Crop the image/s],
    ['an empty folder', 'empty', 'gray-model', /The image folder .*empty is empty.*one sub-folder per class/s],
    ['a truncated PNG', 'truncated', 'gray-model', /truncated\/x\/a\.png could not be decoded as a PNG image/],
  ];
  for (const [what, data, model, msg] of bad)
    it(`refuses ${what} by name, with the fix`, async () => {
      const io = countingIO();
      await expect(loadTask(spec(data, model), io)).rejects.toThrow(msg);
      if (what !== 'a truncated PNG') expect(io.weightReads()).toBe(0); // refused before the model's weights were read
    });

  it('a JPEG is read (colour for an RGB model); a label or drop for a folder is refused', async () => {
    const loaded = await loadTask(spec('jpeg', 'rgb-model'), nodeTaskIO(dir));
    try {
      expect(loaded.data.nRows).toBe(1);
      expect(loaded.data.x.length).toBe(H * W * 3);
    } finally {
      loaded.task.model.dispose();
    }
    await expect(loadTask(spec('gray', 'gray-model', { label: 'y' }), nodeTaskIO(dir))).rejects.toThrow(/classes are its sub-folders/);
    await expect(loadTask(spec('gray', 'gray-model', { drop: ['a'] }), nodeTaskIO(dir))).rejects.toThrow(/names CSV columns/);
  });

  it('a table refuses patch and normalise', async () => {
    await expect(loadTask({ demo: 'iris', baseline: 'zero', output: 'probability', maxRows: 0, patch: 2 }, nodeTaskIO(dir))).rejects.toThrow(/applies to image tasks only/);
  });
});

describe('jobs with image fields', () => {
  it('patch and normalise are validated, kept when given and written back by jobDiff', () => {
    const job = resolveJob({ task: { model: 'm/model.json', data: 'imgs', patch: 4, normalise: 'mean-std' } });
    expect(job.task.patch).toBe(4);
    expect(job.task.normalise).toBe('mean-std');
    expect(resolveJob(jobDiff(job, DEFAULTS)).task).toEqual(job.task);
    expect(resolveJob({ task: { demo: 'iris' } }).task.patch).toBeUndefined();
    expect(() => resolveJob({ task: { model: 'm/model.json', data: 'imgs', patch: 0 } })).toThrow(/parameter "patch" is 0/);
    expect(() => resolveJob({ task: { model: 'm/model.json', data: 'imgs', normalise: '0-255' as '0-1' } })).toThrow(/normalise/);
  });
});
