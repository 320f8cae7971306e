/**
 * The drop zone's sorting of image data (Node has File and Blob): every readEntries batch is read;
 * PNG/JPEG told by their bytes, zips and arrays by name; other files in an image folder passed on
 * for the loader to name; loose images into the named class, adding up; a folder replaces what was
 * staged; the source needs a complete model.
 */
import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { imageSourceOf, readAllEntries, stageDrop, type DroppedItem } from './drop';

const png = PNG.sync.write({ width: 2, height: 2, data: Buffer.from([0, 64, 128, 255]) } as PNG, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
const item = (path: string, body: Uint8Array | string): DroppedItem => ({ path, file: new File([body as BlobPart], path.split('/').pop()!) });
const model = JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['weights.bin'] }] });

describe('image data at the drop zone', () => {
  it('reads every readEntries batch until an empty one', async () => {
    const all = Array.from({ length: 250 }, (_, i) => ({ name: `f${i}`, fullPath: `/d/f${i}`, isFile: true, isDirectory: false }));
    let at = 0;
    let calls = 0;
    const reader = {
      readEntries(ok: (b: typeof all) => void) {
        calls++;
        const b = all.slice(at, at + 100);
        at += b.length;
        setTimeout(() => ok(b), 0);
      },
    };
    expect((await readAllEntries(reader)).map((e) => e.name)).toEqual(all.map((e) => e.name));
    expect(calls).toBe(4); // 100 + 100 + 50 + the empty batch
  });

  it('sorts a drop: images by their bytes, other files of an image folder passed on, a model folder\'s README ignored, loose images into the named class', async () => {
    const items = [
      item('model/model.json', model),
      item('model/weights.bin', new Uint8Array(8)),
      item('model/README.md', 'about the model'),
      item('photos/cat/1.png', png),
      item('photos/cat/notes.png', 'not a picture'),
      item('photos/dog/2.jpg.txt', 'stray'),
      item('photos/.DS_Store', 'x'),
      item('loose.png', png),
    ];
    const s = await stageDrop(items, { shards: [] }, 'dog');
    expect(s.images!.map((e) => e.path)).toEqual(['photos/cat/1.png', 'photos/cat/notes.png', 'photos/dog/2.jpg.txt', 'dog/loose.png']);
    expect(s.modelJson?.name).toBe('model.json');
    expect(s.shards.map((e) => e.name)).toEqual(['weights.bin']);
    expect(s.ignored).toEqual(['README.md']);
    const src = imageSourceOf(s)!;
    expect(src.kind).toBe('images');
    expect(Array.from(new Uint8Array(src.files[0].data))).toEqual(Array.from(png));
  });

  it('loose images add up across drops; a folder, zip or array replaces them; the source waits for a complete model', async () => {
    let s = await stageDrop([item('a.png', png)], { shards: [] }, '3');
    s = await stageDrop([item('b.png', png)], s, '5');
    expect(s.images!.map((e) => e.path)).toEqual(['3/a.png', '5/b.png']);
    expect(imageSourceOf(s)).toBeNull();
    s = await stageDrop([item('model.json', model)], s, '0');
    expect(imageSourceOf(s)).toBeNull(); // weights.bin still missing
    s = await stageDrop([item('digits.zip', new Uint8Array([0x50, 0x4b, 0x03, 0x04]))], s, '0');
    expect(s.images!.map((e) => e.path)).toEqual(['digits.zip']);
    s = await stageDrop([item('weights.bin', new Uint8Array(4)), item('images.npy.gz', new Uint8Array(3)), item('labels.npy.gz', new Uint8Array(3))], s, '0');
    expect(s.images!.map((e) => e.path)).toEqual(['images.npy.gz', 'labels.npy.gz']);
    expect(imageSourceOf(s)?.files.length).toBe(2);
  });

  it('a drop of nothing usable is refused with the drop zone\'s message', async () => {
    await expect(stageDrop([item('notes.png', 'png')], { shards: [] }, '0')).rejects.toThrow(/notes\.png is neither a TensorFlow\.js model file/);
  });
});
