/**
 * Dropped image data in the studio's worker, in Node: the worker adapts the drop (class folders,
 * zips, arrays) to the engine's loader and never loads on its own, so a dropped folder (or a zip of
 * it) gives exactly the task `loadTask` gives for the same folder on disk (rows, labels, classes,
 * fingerprints); where the data sit in a drop (`dataLayout`); a bad file keeps the loaded task; the
 * demo prefetch holds an image demo's labels; a gradient method's pixel map sums to its patch map;
 * the Figure 5 scores of the priors equal their stored INS and DEL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { zipSync } from 'fflate';
import { useBackend } from './helpers/models';
import { nodeDecodeImage, nodeTaskIO } from '../src/cli/files';
import { loadTask } from '../src/core/task/load';
import { UserError } from '../src/core/errors';
import { Session } from '../src/worker/session';
import { DROP_ROOT, dataLayout, droppedImageIO, expandZips, fromRgba, type DroppedFile } from '../src/worker/imageFiles';
import type { JobInput } from '../src/core/job';
import type { TaskSource } from '../src/worker/protocol';

const ab = (b: Uint8Array | Buffer): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
const f = (path: string, text = 'x'): DroppedFile => ({ path, data: ab(new TextEncoder().encode(text)) });

describe('where the data sit in a drop', () => {
  it('a folder of class folders is the root; class folders dropped side by side go under one folder; a single class folder is one class', () => {
    expect(dataLayout([f('photos/cat/1.png'), f('photos/dog/a/2.png')])).toEqual({ kind: 'folder', root: 'photos' });
    expect(dataLayout([f('cat/1.png'), f('dog/2.png')])).toEqual({ kind: 'folder', root: DROP_ROOT });
    expect(dataLayout([f('cat/1.png'), f('cat/2.png')])).toEqual({ kind: 'folder', root: DROP_ROOT });
    expect(dataLayout([f('data/photos/cat/1.png'), f('data/photos/dog/2.png'), f('data/photos/.DS_Store')])).toEqual({ kind: 'folder', root: 'data/photos' });
    // a loose file beside class folders keeps the root (the engine then names it)
    expect(dataLayout([f('photos/cat/1.png'), f('photos/notes.txt')])).toEqual({ kind: 'folder', root: 'photos' });
  });

  it('arrays: the images file and, when not named as its sibling, the other file as labels; mixing and extra arrays are refused', () => {
    expect(dataLayout([f('images.npy.gz'), f('labels.npy.gz')])).toEqual({ kind: 'array', data: 'images.npy.gz', label: undefined });
    expect(dataLayout([f('t10k-labels-idx1-ubyte'), f('t10k-images-idx3-ubyte')])).toEqual({ kind: 'array', data: 't10k-images-idx3-ubyte', label: undefined });
    expect(dataLayout([f('x.npy'), f('y_labels.npy')])).toEqual({ kind: 'array', data: 'x.npy', label: 'y_labels.npy' });
    expect(() => dataLayout([f('x.npy'), f('cat/1.png')])).toThrow(/both an array \(x\.npy\) and other data files \(cat\/1\.png\)/);
    expect(() => dataLayout([f('a.npy'), f('b.npy'), f('c.npy')])).toThrow(/3 array files/);
    expect(() => dataLayout([])).toThrow(UserError);
  });

  it('the in-memory folders list every entry once, folders marked', async () => {
    const io = droppedImageIO([f('photos/cat/1.png'), f('photos/cat/2.png'), f('photos/dog/x/3.png')], { kind: 'folder', root: 'photos' });
    expect(await io.listDir('photos')).toEqual([{ name: 'cat', isDirectory: true }, { name: 'dog', isDirectory: true }]);
    expect(await io.listDir('photos/dog')).toEqual([{ name: 'x', isDirectory: true }]);
    expect(await io.isDirectory('photos')).toBe(true);
    expect(await io.isDirectory('photos/cat/1.png')).toBe(false);
    expect(new TextDecoder().decode((await io.readBinary('photos/cat/2.png'))!)).toBe('x');
    expect(await io.readBinary('photos/cat/9.png')).toBeNull();
  });

  it('zips unpack in place: one top folder keeps its paths, loose entries go into a folder named after the zip; __MACOSX and folders are skipped', () => {
    const one = zipSync({ 'photos/': new Uint8Array(0), 'photos/cat/1.png': new Uint8Array([1]), 'photos/dog/2.png': new Uint8Array([2]), '__MACOSX/photos/._x': new Uint8Array([9]) });
    expect(expandZips([{ path: 'photos.zip', data: ab(one) }]).map((e) => e.path).sort()).toEqual(['photos/cat/1.png', 'photos/dog/2.png']);
    const loose = zipSync({ 'cat/1.png': new Uint8Array([1]), 'dog/2.png': new Uint8Array([2]) });
    const out = expandZips([{ path: 'pets.zip', data: ab(loose) }]);
    expect(out.map((e) => e.path).sort()).toEqual(['pets/cat/1.png', 'pets/dog/2.png']);
    expect(Array.from(new Uint8Array(out.find((e) => e.path === 'pets/dog/2.png')!.data))).toEqual([2]);
    expect(() => expandZips([{ path: 'broken.zip', data: ab(new Uint8Array([0x50, 0x4b, 0x03, 0x04, 1, 2, 3])) }])).toThrow(/broken\.zip is not a readable zip file/);
  });

  it('RGBA from a canvas is cut to the file\'s own channels', () => {
    const rgba = [10, 20, 30, 40, 50, 60, 70, 80];
    expect(Array.from(fromRgba(rgba, 2, 1))).toEqual([10, 50]);
    expect(Array.from(fromRgba(rgba, 2, 2))).toEqual([10, 40, 50, 80]);
    expect(Array.from(fromRgba(rgba, 2, 3))).toEqual([10, 20, 30, 50, 60, 70]);
    expect(Array.from(fromRgba(rgba, 2, 4))).toEqual(rgba);
  });
});

describe('the worker loads dropped images through the engine', () => {
  let dir: string;
  let session: Session;
  const N = 24;
  const files: DroppedFile[] = [];
  const pngs = new Map<string, Uint8Array>();
  const model = { name: 'model.json', text: readFileSync('public/demos/digits/model/model.json', 'utf8') };
  const shards = [{ name: 'weights.bin', data: ab(readFileSync('public/demos/digits/model/weights.bin')) }];
  const settings = { output: 'probability' as const, baseline: 'mean' as const, target: 'predicted' as const };
  const source = (list: DroppedFile[]): TaskSource => ({ kind: 'images', modelJson: model, shards, files: list });

  beforeAll(async () => {
    await useBackend('wasm');
    dir = mkdtempSync(join(tmpdir(), 'df-drop-'));
    // the first N digits as 8×8 gray PNGs in class folders named by their labels
    const demo = await loadTask({ demo: 'digits', baseline: 'zero', output: 'probability', maxRows: N }, nodeTaskIO());
    demo.task.model.dispose();
    for (let r = 0; r < N; r++) {
      const px = Uint8Array.from(demo.data.x.subarray(r * 64, (r + 1) * 64), (v) => Math.round(v * 255));
      const png = PNG.sync.write({ width: 8, height: 8, data: Buffer.from(px) } as PNG, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
      const rel = `digits-png/${demo.labels[r]}/row${String(r).padStart(2, '0')}.png`;
      mkdirSync(join(dir, rel, '..'), { recursive: true });
      writeFileSync(join(dir, rel), png);
      files.push({ path: rel, data: ab(png) });
      pngs.set(rel, px);
    }
    session = new Session(async (path) => {
      const p = join('public', path);
      return existsSync(p) ? new Response(readFileSync(p)) : new Response(null, { status: 404 });
    }, {}, nodeDecodeImage);
  });
  afterAll(() => {
    session?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a dropped folder gives the task loadTask gives for the folder on disk: same rows (the PNG pixels / 255), labels, classes and fingerprints', async () => {
    const info = await session.loadTask(source(files), { ...settings, patch: 2 });
    const cli = await loadTask({ model: 'public/demos/digits/model/model.json', data: join(dir, 'digits-png'), baseline: 'mean', output: 'probability', maxRows: 0, patch: 2 }, nodeTaskIO());
    cli.task.model.dispose();
    expect(info.nRows).toBe(N);
    expect(Array.from(info.x)).toEqual(Array.from(cli.data.x));
    expect(Array.from(info.labels)).toEqual(Array.from(cli.labels));
    expect(info.classNames).toEqual(cli.task.classNames);
    expect(info.dataSha256).toBe(cli.fingerprint.data);
    expect(info.modelSha256).toBe(cli.fingerprint.model);
    expect(info.image).toMatchObject({ data: 'digits-png', format: 'folder', height: 8, width: 8, channels: 1, normalise: '0-1', patch: 2, gridRows: 4, gridCols: 4 });
    expect(info.nFeatures).toBe(16);
    expect(info.sourceLabel).toBe('model.json + digits-png/');
    // rows in sorted path order, each the decoded pixels on the 0–1 scale
    const sorted = [...pngs.keys()].sort();
    sorted.forEach((rel, r) => expect(Array.from(info.x.subarray(r * 64, (r + 1) * 64))).toEqual(Array.from(pngs.get(rel)!, (v) => Math.fround(v / 255))));
  });

  it('a limit on the images read (the drop zone\'s "Read at most") gives the task of the job\'s maxRows: the first rows in sorted path order', async () => {
    const info = await session.loadTask({ ...source(files), maxRows: 7 } as TaskSource, { ...settings, patch: 2 });
    const cli = await loadTask({ model: 'public/demos/digits/model/model.json', data: join(dir, 'digits-png'), baseline: 'mean', output: 'probability', maxRows: 7, patch: 2 }, nodeTaskIO());
    cli.task.model.dispose();
    expect(info.nRows).toBe(7);
    expect(Array.from(info.x)).toEqual(Array.from(cli.data.x));
    expect(Array.from(info.labels)).toEqual(Array.from(cli.labels));
    const sorted = [...pngs.keys()].sort().slice(0, 7);
    sorted.forEach((rel, r) => expect(Array.from(info.x.subarray(r * 64, (r + 1) * 64))).toEqual(Array.from(pngs.get(rel)!, (v) => Math.fround(v / 255))));
  });

  it('a zip of the folder gives the same task; mean-std normalisation is applied as the engine does', async () => {
    const zip = zipSync(Object.fromEntries(files.map((e) => [e.path, new Uint8Array(e.data)])));
    const info = await session.loadTask(source([{ path: 'digits-png.zip', data: ab(zip) }]), { ...settings, normalise: 'mean-std' });
    const cli = await loadTask({ model: 'public/demos/digits/model/model.json', data: join(dir, 'digits-png'), baseline: 'mean', output: 'probability', maxRows: 0, normalise: 'mean-std' }, nodeTaskIO());
    cli.task.model.dispose();
    expect(Array.from(info.x)).toEqual(Array.from(cli.data.x));
    expect(info.dataSha256).toBe(cli.fingerprint.data);
    expect(info.image?.normalise).toBe('mean-std');
  });

  it('bad files (not an image, colour for a gray model, an impossible resize, too many images, an empty zip) get the engine\'s message naming them, and the loaded task stays', async () => {
    await session.loadTask(source(files), settings);
    const before = session.info;
    const bad = [...files, { path: 'digits-png/3/notes.png', data: ab(new TextEncoder().encode('not a picture')) }];
    await expect(session.loadTask(source(bad), settings)).rejects.toThrow(/digits-png\/3\/notes\.png is not a PNG or JPEG image: its first bytes are not a PNG or JPEG signature/);
    expect(session.info).toBe(before);
    // an RGB picture for the gray model is refused by name too
    const rgb = PNG.sync.write({ width: 8, height: 8, data: Buffer.from(Uint8Array.from({ length: 8 * 8 * 3 }, (_, i) => (i * 53) % 256)) } as PNG, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
    await expect(session.loadTask(source([...files, { path: 'digits-png/1/colour.png', data: ab(rgb) }]), settings)).rejects.toThrow(/digits-png\/1\/colour\.png is in colour/);
    expect(session.info).toBe(before);
    // a size that cannot be resized to the model's 8×8 (20×8: a 2.5× stretch), and more than 10,000 images
    const wide = PNG.sync.write({ width: 20, height: 8, data: Buffer.alloc(160, 90) } as PNG, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
    await expect(session.loadTask(source([...files, { path: 'digits-png/2/wide.png', data: ab(wide) }]), settings)).rejects.toThrow(/digits-png\/2\/wide\.png is 20×8 pixels .* would stretch it 2\.5×/);
    const many = Array.from({ length: 10_001 }, (_, i) => ({ path: `many/${i % 10}/${i}.png`, data: files[0].data }));
    await expect(session.loadTask(source(many), settings)).rejects.toThrow(/many holds 10,001 images, more than the 10,000 read without a row limit/);
    // an empty zip
    await expect(session.loadTask(source([{ path: 'empty.zip', data: ab(zipSync({ 'empty/': new Uint8Array(0) })) }]), settings)).rejects.toThrow(/empty\.zip holds no files/);
    expect(session.info).toBe(before);
  });

  it('the demo prefetch holds an image demo\'s labels, so digits loads with the network gone', async () => {
    let online = true;
    const s = new Session(async (path) => {
      if (!online) throw new TypeError('Failed to fetch');
      const p = join('public', path);
      return existsSync(p) ? new Response(readFileSync(p)) : new Response(null, { status: 404 });
    });
    await s.prefetchDemos();
    online = false;
    const info = await s.loadTask({ kind: 'demo', demoId: 'digits' }, settings);
    expect(info.nRows).toBe(1797);
    expect(info.image?.format).toBe('npy');
    s.dispose();
  });

  it('a gradient method\'s pixel map sums per patch to its patch map; the Figure 5 scores of the priors equal their stored INS and DEL', async () => {
    await session.loadTask(source(files), { ...settings, patch: 2 });
    const job: JobInput = { task: { model: 'model.json', data: 'digits-png', baseline: 'mean', patch: 2, maxRows: 10 }, methods: [{ id: 'saliency' }, { id: 'integrated-gradients', params: { steps: 8 } }, { id: 'occlusion' }], metrics: [{ id: 'INS' }, { id: 'DEL' }, { id: 'FC' }], seed: 3 };
    const before = tf.memory().numTensors;
    const att = await session.attribute(job);
    const ev = await session.evaluate(job);
    const rows = [att.rows[1], att.rows[4], att.rows[7]];
    for (const id of ['saliency', 'integrated-gradients']) {
      const px = await session.pixelMap(job, id, rows);
      expect(px.values.length).toBe(rows.length * 64);
      const patch = att.explanations.find((e) => e.methodId === id)!.values;
      rows.forEach((r, i) => {
        const pos = att.rows.indexOf(r);
        for (let q = 0; q < 16; q++) {
          const gr = Math.floor(q / 4);
          const gc = q % 4;
          let sum = 0;
          for (let y = 2 * gr; y < 2 * gr + 2; y++) for (let x = 2 * gc; x < 2 * gc + 2; x++) sum += px.values[i * 64 + y * 8 + x];
          expect(sum).toBeCloseTo(patch[pos * 16 + q], 5);
        }
      });
    }
    await expect(session.pixelMap(job, 'occlusion', rows)).rejects.toThrow(/scores whole patches/);
    const cols = ev.scores.map((e) => ({ id: e.methodId, values: Float32Array.from(rows.flatMap((r) => Array.from(e.scored.subarray(att.rows.indexOf(r) * 16, (att.rows.indexOf(r) + 1) * 16)))) }));
    const fig = await session.figureScores(job, rows, cols);
    expect(fig.metricIds).toEqual(['INS', 'DEL']);
    for (const c of fig.scores) {
      const stored = ev.scores.find((e) => e.methodId === c.id)!.metrics;
      ['INS', 'DEL'].forEach((m, k) => rows.forEach((r, i) => expect(c.perSample[k][i]).toBeCloseTo(stored.find((x) => x.metricId === m)!.perSample[att.rows.indexOf(r)], 6)));
    }
    await expect(session.pixelMap(job, 'saliency', [N + 5])).rejects.toThrow(/not among the explained rows/);
    // a job with another normalisation than the task loaded is refused
    await expect(session.attribute({ ...job, task: { ...job.task, normalise: '-1-1' } })).rejects.toThrow(/normalises the pixels by -1-1, but the task was loaded with 0-1/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
