/**
 * Image tasks in Chromium on the real wasm backend: the digits demo explained (heatmaps drawn over
 * the images: the overlay canvas read back pixel by pixel), its pixel maps, evaluated (the metric
 * inspector shows the perturbed image), the Supervise panel on image rows, the explainer trained
 * for a few steps (its map of the watched row drawn), the Report's final table and Figure 5 grid
 * (the priors' INS/DEL equal to the stored scores, the explainer's column scored); a folder of PNGs with class sub-folders (made here
 * with pngjs, one class folder larger than one readEntries batch) dropped through a real drop event
 * loads with the right rows, classes and pixels; a zip of it and an NPY array load too; a bad image
 * file in a dropped folder shows the engine's message and the earlier task stays. Screenshots in
 * test-artifacts/.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { PNG } from 'pngjs';
import { zipSync } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseNpy } from '../src/core/data/images';
import {ARTIFACTS, useStudio } from './harness';
import { dropFiles, dropTree, openStudio } from './page';

const studio = useStudio();

const npy = (path: string) => {
  const b = gunzipSync(readFileSync(path));
  return parseNpy(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer, path);
};
const digits = npy('public/demos/digits/images.npy.gz');
const digitLabels = npy('public/demos/digits/labels.npy.gz');
const b64 = (b: Uint8Array | Buffer) => Buffer.from(b).toString('base64');
/** An NPY file of uint8 values (version 1.0 header, padded to 64 bytes), as numpy.save writes it. */
const npyBytes = (shape: number[], body: Uint8Array) => {
  let header = `{'descr': '|u1', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  return Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0, header.length & 255, header.length >> 8]), Buffer.from(header, 'latin1'), Buffer.from(body)]);
};
const modelFiles = [
  { path: 'model/model.json', base64: b64(readFileSync('public/demos/digits/model/model.json')) },
  { path: 'model/weights.bin', base64: b64(readFileSync('public/demos/digits/model/weights.bin')) },
];

/** Digit r as an 8×8 gray PNG (pngjs) and its pixels. */
function digitPng(r: number): { png: Buffer; px: Uint8Array } {
  const px = Uint8Array.from(digits.data.subarray(r * 64, (r + 1) * 64) as ArrayLike<number>, (v) => Math.round(v * 255));
  return { png: PNG.sync.write({ width: 8, height: 8, data: Buffer.from(px) } as PNG, { colorType: 0, inputColorType: 0, inputHasAlpha: false }), px };
}

/** Pixels of the image and overlay canvases of one heatmap (read back from the canvases). */
async function canvasPixels(page: Page, testId: string): Promise<{ image: number[]; overlay: number[]; w: number; h: number }> {
  return page.evaluate((id) => {
    const fig = document.querySelector(`[data-testid="${id}"]`)!;
    const read = (role: string) => {
      const c = fig.querySelector(`canvas[data-role=${role}]`) as HTMLCanvasElement;
      return { px: Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data), w: c.width, h: c.height };
    };
    const image = read('image');
    return { image: image.px, overlay: read('overlay').px, w: image.w, h: image.h };
  }, testId);
}

describe('the digits demo in the studio', () => {
  let page: Page;
  beforeAll(async () => {
    page = await (await studio.browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await openStudio(page, studio.url, '?backend=wasm');
    expect(await page.getByTestId('backend-chosen').textContent()).toContain('wasm');
  });

  it('loads with its image facts and settings', async () => {
    await page.click('[data-demo=digits]');
    await expect.poll(() => page.getByTestId('accuracy').textContent(), { timeout: 60_000 }).toMatch(/%/);
    expect(await page.getByTestId('n-rows').textContent()).toBe('1797');
    expect(await page.getByTestId('image-shape').textContent()).toMatch(/^8×8 px, gray, normalised 0–1/);
    expect(await page.locator('[data-testid=setting-patch]').inputValue()).toBe('1');
    await page.screenshot({ path: `${ARTIFACTS}/e2e-img-task.png`, fullPage: true });
  });

  it('explains rows: each method\'s map drawn over the image (overlay pixels read back), opacity, legend, pixel maps', async () => {
    await page.selectOption('[data-testid=setting-patch]', '2');
    await expect.poll(() => page.locator('.facts dd').filter({ hasText: '4×4 = 16' }).count(), { timeout: 30_000 }).toBe(1);
    await page.evaluate(() => {
      const st = (window as any).__studio.getState();
      st.methods.forEach((m: any) => st.setMethod(m.id, { enabled: ['saliency', 'integrated-gradients', 'occlusion'].includes(m.id) }));
      st.metrics.forEach((m: any) => st.setMetric(m.id, { enabled: ['INS', 'DEL', 'RP', 'FC'].includes(m.id) }));
    });
    await page.click('[data-step=explain]');
    await page.fill('[data-testid=rows-count]', '10');
    await page.click('[data-testid=run-explain]');
    await page.locator('[data-testid=heatmap-saliency] canvas[data-role=overlay]').waitFor({ timeout: 120_000 });
    expect(await page.locator('[data-testid=heatmaps] figure.heatmap').count()).toBe(3);
    expect(await page.getByTestId('bars-grid').count()).toBe(0);

    for (const id of ['saliency', 'integrated-gradients', 'occlusion']) {
      const { image, overlay, w, h } = await canvasPixels(page, `heatmap-${id}`);
      expect([w, h]).toEqual([8, 8]);
      let differ = 0;
      const colours = new Set<string>();
      for (let p = 0; p < w * h; p++) {
        expect(overlay[4 * p + 3]).toBe(153); // opacity 0.6 on every pixel
        colours.add(overlay.slice(4 * p, 4 * p + 3).join(','));
        if (overlay.slice(4 * p, 4 * p + 3).some((v, k) => v !== image[4 * p + k])) differ++;
      }
      expect(differ).toBeGreaterThan(32);
      expect(colours.size).toBeGreaterThan(1); // a map, not a flat colour: one colour per patch value
      // the image canvas is the digit: row 0's pixels × 255, gray
      const row0 = Array.from(digits.data.subarray(0, 64) as ArrayLike<number>, (v) => Math.round(v * 255));
      expect(Array.from({ length: 64 }, (_, p) => image[4 * p])).toEqual(row0);
    }
    // signed raw values (IG) get the diverging legend, saliency's non-negative ones a sequential one
    expect(await page.getByTestId('legend-integrated-gradients').getAttribute('data-kind')).toBe('diverging');
    expect(await page.getByTestId('legend-saliency').getAttribute('data-kind')).toBe('sequential');
    await page.getByTestId('heatmap-opacity').fill('0.3');
    await expect.poll(async () => (await canvasPixels(page, 'heatmap-saliency')).overlay[3]).toBe(77);
    await page.screenshot({ path: `${ARTIFACTS}/e2e-img-explain.png`, fullPage: true });

    // pixel maps for gradient methods; occlusion keeps its patch map and says so
    await page.selectOption('[data-testid=heatmap-level]', 'pixel');
    await expect.poll(() => page.getByTestId('heatmap-saliency').locator('.heatmap-note').textContent(), { timeout: 60_000 }).toBe('per pixel');
    await expect.poll(() => page.getByTestId('heatmap-integrated-gradients').locator('.heatmap-note').textContent(), { timeout: 60_000 }).toBe('per pixel');
    expect(await page.getByTestId('heatmap-occlusion').locator('.heatmap-note').textContent()).toMatch(/patch map/);
    const px = await canvasPixels(page, 'heatmap-saliency');
    const perPixel = new Set(Array.from({ length: 64 }, (_, p) => px.overlay.slice(4 * p, 4 * p + 3).join(',')));
    expect(perPixel.size).toBeGreaterThan(16); // more colours than the 16 patches have
    await page.getByTestId('heatmap-opacity').fill('0.6');
    await page.screenshot({ path: `${ARTIFACTS}/e2e-img-explain-pixels.png`, fullPage: true });
    await page.selectOption('[data-testid=heatmap-level]', 'patch');
  });

  it('evaluates; the inspector shows the perturbed image at each deletion step', async () => {
    await page.click('[data-step=evaluate]');
    await page.click('[data-testid=run-evaluate]');
    await page.getByTestId('results-table').waitFor({ timeout: 180_000 });
    await page.selectOption('[data-testid=insp-metric]', 'DEL');
    await expect.poll(() => page.getByTestId('insp-prob').textContent(), { timeout: 30_000 }).not.toBe('…');
    expect(await page.getByTestId('insp-row').count()).toBe(0);
    expect(await page.getByTestId('insp-image').getAttribute('data-marked')).toBe('0');
    for (let step = 1; step <= 3; step++) {
      await page.click('[data-testid=insp-next]');
      await expect.poll(() => page.getByTestId('insp-image').getAttribute('data-marked')).toBe(String(step));
      expect(await page.locator('[data-testid=insp-perturbed] rect.outlined').count()).toBe(step);
    }
    // the image the model saw differs from the original where the patches were replaced
    const seen = await canvasPixels(page, 'insp-perturbed');
    const orig = await canvasPixels(page, 'insp-original');
    expect(seen.image).not.toEqual(orig.image);
    await page.getByTestId('inspector').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${ARTIFACTS}/e2e-img-inspector.png`, fullPage: true });
  });

  it('the Supervise panel shows its strips and cosine matrix on image rows', async () => {
    await page.click('[data-step=supervise]');
    await page.getByTestId('counts').waitFor({ timeout: 30_000 });
    expect(await page.locator('.strip').count()).toBe(4);
    expect(await page.locator('[data-testid=record] tr').count()).toBe(3);
    await page.screenshot({ path: `${ARTIFACTS}/e2e-img-supervise.png`, fullPage: true });
  });

  it('trains the image explainer for a few steps: live losses and its map of the watched row drawn over the image', async () => {
    await page.click('[data-step=train]');
    await page.evaluate(() => {
      const st = (window as any).__studio.getState();
      st.setTraining({ epochs: 2, batchSize: 8, lcSubsets: 8 });
      st.setExplainerArch({ dModel: 16, nHeads: 2, nLayers: 1, dFF: 32 });
    });
    await page.click('[data-testid=train-start]');
    await page.waitForFunction(() => /^(done|error)/.test(document.querySelector('[data-testid=train-status]')?.textContent ?? '') && !document.querySelector('[data-testid=progress]'), null, { timeout: 180_000 });
    expect(await page.evaluate(() => (window as any).__studio.getState().trainError)).toBeNull();
    const steps = await page.evaluate(() => (window as any).__studio.getState().trainSteps.map((x: any) => [x.lPC, x.lLC]));
    expect(steps.length).toBeGreaterThan(0);
    for (const [pc, lc] of steps) expect(Number.isFinite(pc) && Number.isFinite(lc)).toBe(true);
    const { image, overlay } = await canvasPixels(page, 'watch-heatmap');
    expect(Array.from({ length: 64 }, (_, p) => overlay[4 * p + 3]).every((a) => a === 153)).toBe(true);
    expect(Array.from({ length: 64 }, (_, p) => overlay.slice(4 * p, 4 * p + 3).join(',') !== image.slice(4 * p, 4 * p + 3).join(',')).filter(Boolean).length).toBeGreaterThan(32);
    await page.screenshot({ path: `${ARTIFACTS}/e2e-img-train.png`, fullPage: true });
  });

  it('the Report shows the Figure 5 grid: samples × methods and the explainer, each with its INS and DEL (the priors\' = the stored scores)', async () => {
    await page.click('[data-step=report]');
    await page.locator('[data-testid=report-table] tr[data-method=deepfaith-explainer]').waitFor({ timeout: 60_000 });
    const grid = page.getByTestId('figure5-grid');
    await grid.waitFor({ timeout: 30_000 });
    expect(await grid.locator('thead th[data-method]').evaluateAll((els) => els.map((e) => e.getAttribute('data-method')))).toEqual(['saliency', 'integrated-gradients', 'occlusion', 'deepfaith-explainer']);
    const rows = await grid.locator('tbody tr').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-row'))));
    expect(rows.length).toBe(2); // the test split of 10 rows
    await expect.poll(() => grid.locator('[data-metric=INS]').first().textContent(), { timeout: 60_000 }).not.toBe('…');
    const stored = await page.evaluate((rs) => {
      const st = (window as any).__studio.getState();
      const ev = st.evaluation;
      return ev.scores.map((e: any) => rs.map((r: number) => ['INS', 'DEL'].map((m) => e.metrics.find((x: any) => x.metricId === m).perSample[ev.rows.indexOf(r)])));
    }, rows);
    for (const [j, id] of ['saliency', 'integrated-gradients', 'occlusion'].entries())
      for (const [i, r] of rows.entries()) {
        const cell = grid.locator(`tr[data-row="${r}"] td[data-method="${id}"]`);
        expect(Number(await cell.locator('[data-metric=INS]').textContent())).toBeCloseTo(stored[j][i][0], 3);
        expect(Number(await cell.locator('[data-metric=DEL]').textContent())).toBeCloseTo(stored[j][i][1], 3);
        const { overlay } = await canvasPixels(page, `fig5-${r}-${id}`);
        expect(overlay.some((v, k) => k % 4 === 3 && v > 0)).toBe(true);
      }
    // the explainer's cells: its map and its INS/DEL, scored in the worker; the grid holds every test
    // row, so their means are the final table's explainer scores (a mean over the same test rows)
    const report = await page.evaluate(() => (window as any).__studio.getState().report.table.find((r: any) => r.isExplainer).scores);
    for (const m of ['INS', 'DEL']) {
      let sum = 0;
      for (const r of rows) sum += Number(await grid.locator(`tr[data-row="${r}"] td[data-method="deepfaith-explainer"] [data-metric=${m}]`).textContent());
      expect(Math.abs(sum / rows.length - report[m])).toBeLessThan(1e-3);
    }
    for (const r of rows) {
      const { overlay } = await canvasPixels(page, `fig5-${r}-deepfaith-explainer`);
      expect(overlay.some((v, k) => k % 4 === 3 && v > 0)).toBe(true);
    }
    await page.getByTestId('figure5').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${ARTIFACTS}/e2e-img-figure5.png`, fullPage: true });
  });
});

describe('image data dropped on the studio', () => {
  let page: Page;
  // 101 images of class 1 (more than one readEntries batch of 100) and 3 of every other class
  const chosen: number[] = [];
  for (let r = 0; r < 1797 && chosen.length < 128; r++) {
    const label = digitLabels.data[r];
    const have = chosen.filter((c) => digitLabels.data[c] === label).length;
    if (have < (label === 1 ? 101 : 3)) chosen.push(r);
  }
  const tree = chosen.map((r) => ({ path: `digits-png/${digitLabels.data[r]}/row${String(r).padStart(4, '0')}.png`, ...digitPng(r) }));

  beforeAll(async () => {
    page = await (await studio.browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await openStudio(page, studio.url, '?backend=wasm');
  });

  it('a folder of PNGs with class sub-folders loads: rows, classes, and the decoded pixels of every row', async () => {
    expect(chosen.length).toBe(128);
    await dropTree(page, [...modelFiles, ...tree.map((t) => ({ path: t.path, base64: b64(t.png) }))]);
    await expect.poll(() => page.getByTestId('accuracy').textContent(), { timeout: 60_000 }).toMatch(/%/);
    expect(await page.getByTestId('n-rows').textContent()).toBe('128');
    expect(await page.locator('.facts dt:text-is("Classes") + dd').textContent()).toBe('0, 1, 2, 3, 4, 5, 6, 7, 8, 9');
    expect(await page.getByTestId('task-info').locator('h3').textContent()).toBe('model.json + digits-png/');
    expect(Number((await page.getByTestId('accuracy').textContent())!.replace('%', ''))).toBeGreaterThan(90);
    // rows in sorted path order; each row = the PNG's pixels / 255, decoded in the worker (createImageBitmap + OffscreenCanvas)
    const { x, labels } = await page.evaluate(() => {
      const info = (window as any).__studio.getState().info;
      return { x: Array.from(info.x as Float32Array), labels: Array.from(info.labels as Int32Array) };
    });
    const sorted = [...tree].sort((a, b) => (a.path < b.path ? -1 : 1));
    sorted.forEach((t, r) => {
      expect(x.slice(r * 64, (r + 1) * 64)).toEqual(Array.from(t.px, (v) => Math.fround(v / 255)));
      expect(labels[r]).toBe(Number(t.path.split('/')[1]));
    });
    await page.screenshot({ path: `${ARTIFACTS}/e2e-img-drop-folder.png`, fullPage: true });
  });

  it('a bad image file in a dropped folder shows the engine\'s message naming it, and the earlier task stays', async () => {
    const bad = [...tree.slice(0, 10).map((t) => ({ path: t.path.replace('digits-png', 'more-digits'), base64: b64(t.png) })), { path: 'more-digits/3/notes.png', base64: b64(Buffer.from('these are notes, not a picture')) }];
    await dropTree(page, [...modelFiles, ...bad]);
    await expect.poll(() => page.getByTestId('task-error').textContent().catch(() => ''), { timeout: 30_000 }).toMatch(/more-digits\/3\/notes\.png is not a PNG or JPEG image: its first bytes are not a PNG or JPEG signature\..*Convert it to PNG, or remove it/);
    expect(await page.getByTestId('n-rows').textContent()).toBe('128');
    expect(await page.getByTestId('task-info').locator('h3').textContent()).toBe('model.json + digits-png/');
    await page.screenshot({ path: `${ARTIFACTS}/e2e-img-drop-bad.png`, fullPage: true });
  });

  it('a zip of the folder and an NPY array with its labels load as well', async () => {
    const zip = zipSync(Object.fromEntries(tree.slice(0, 40).map((t) => [t.path, new Uint8Array(t.png)])));
    await dropFiles(page, [
      { url: '/demos/digits/model/model.json', name: 'model.json' },
      { url: '/demos/digits/model/weights.bin', name: 'weights.bin' },
    ]);
    await page.evaluate((data) => {
      const dt = new DataTransfer();
      dt.items.add(new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], 'digits-png.zip'));
      const zone = document.querySelector('[data-testid=dropzone]')!;
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, b64(zip));
    await expect.poll(() => page.getByTestId('n-rows').textContent(), { timeout: 60_000 }).toBe('40');
    expect(await page.getByTestId('task-info').locator('h3').textContent()).toBe('model.json + digits-png/');
    await dropFiles(page, [
      { url: '/demos/digits/model/model.json', name: 'model.json' },
      { url: '/demos/digits/model/weights.bin', name: 'weights.bin' },
      { url: '/demos/digits/images.npy.gz', name: 'images.npy.gz' },
      { url: '/demos/digits/labels.npy.gz', name: 'labels.npy.gz' },
    ]);
    await expect.poll(() => page.getByTestId('n-rows').textContent(), { timeout: 60_000 }).toBe('1797');
    expect(await page.getByTestId('image-shape').textContent()).toMatch(/^8×8 px, gray/);
  });

  it('an array of more than 10,000 images is refused with a message naming the drop zone\'s limit; set, "Load the dropped images again" reads the first N', async () => {
    const n = 10_001;
    // pixels of a fixed pattern (any 8×8 gray image does), labels r mod 10
    const px = Uint8Array.from({ length: n * 64 }, (_, i) => (i * 37 + (i >> 6)) % 256);
    const images = npyBytes([n, 8, 8], px);
    const labels = npyBytes([n], Uint8Array.from({ length: n }, (_, r) => r % 10));
    await page.getByTestId('image-limit').fill('');
    await page.evaluate(
      async ({ files }) => {
        const dt = new DataTransfer();
        for (const f of files) dt.items.add(new File([f.url ? await (await fetch(f.url)).blob() : Uint8Array.from(atob(f.data!), (c) => c.charCodeAt(0))], f.name));
        document.querySelector('[data-testid=dropzone]')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      },
      {
        files: [
          { url: '/demos/digits/model/model.json', name: 'model.json' },
          { url: '/demos/digits/model/weights.bin', name: 'weights.bin' },
          { name: 'big-images.npy', data: b64(images) },
          { name: 'big-labels.npy', data: b64(labels) },
        ],
      },
    );
    await expect.poll(() => page.getByTestId('task-error').textContent().catch(() => ''), { timeout: 30_000 }).toMatch(/big-images\.npy holds 10,001 images, more than the 10,000 read without a row limit\..*"Read at most … images" under the drop zone/);
    expect(await page.getByTestId('n-rows').textContent()).toBe('1797');
    await page.getByTestId('image-limit').fill('250');
    await page.getByTestId('dropzone').screenshot({ path: `${ARTIFACTS}/e2e-img-drop-limit.png` });
    await page.getByTestId('image-reload').click();
    await expect.poll(() => page.getByTestId('n-rows').textContent(), { timeout: 60_000 }).toBe('250');
    const got = await page.evaluate(() => {
      const info = (window as any).__studio.getState().info;
      return { x: Array.from((info.x as Float32Array).subarray(0, 250 * 64)), labels: Array.from(info.labels as Int32Array), job: (window as any).__studio.getState().exportJob().task };
    });
    expect(got.labels).toEqual(Array.from({ length: 250 }, (_, r) => r % 10));
    expect(got.x).toEqual(Array.from(px.subarray(0, 250 * 64), (v) => Math.fround(v / 255)));
    expect(got.job.maxRows).toBe(250);
    await page.getByTestId('image-limit').fill('');
  });
});

describe('a 196-patch explainer trains through WebGPU', () => {
  let files: { model: string; weights: string; images: string; labels: string };

  beforeAll(async () => {
    // a small 28×28 gray classifier (flatten → dense softmax, seeded) saved as a tfjs Layers model, and
    // Fashion-MNIST's first 8 demo images: quick to load on a software GPU, where the demo CNN's
    // forward over 2,000 images takes minutes
    const tf = await import('@tensorflow/tfjs');
    await tf.setBackend('cpu');
    const model = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [28, 28, 1] }), tf.layers.dense({ units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) })] });
    let art: any;
    await model.save(tf.io.withSaveHandler(async (a) => ((art = a), { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } })));
    model.dispose();
    const json = JSON.stringify({ format: art.format, generatedBy: art.generatedBy, convertedBy: null, modelTopology: art.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: art.weightSpecs }] });
    const fashion = npy('public/demos/fashion/images.npy.gz');
    const labels = npy('public/demos/fashion/labels.npy.gz');
    const px = Uint8Array.from(fashion.data.subarray(0, 8 * 784) as ArrayLike<number>, (v) => (fashion.dtype === 'uint8' ? v : Math.round(v * 255)));
    files = { model: Buffer.from(json).toString('base64'), weights: b64(new Uint8Array(art.weightData)), images: b64(npyBytes([8, 28, 28], px)), labels: b64(npyBytes([8], Uint8Array.from(labels.data.subarray(0, 8) as ArrayLike<number>))) };
  });

  /** The images at 2×2-pixel patches (196 tokens, the paper's count): explained and scored on a few rows, then two epochs of a small explainer. */
  async function trainSteps(backend: string): Promise<{ steps: { lPC: number; lLC: number }[]; tokens: number }> {
    const page = await (await studio.browser.newContext()).newPage();
    await openStudio(page, studio.url, `?backend=${backend}`);
    expect(await page.getByTestId('backend-chosen').textContent()).toContain(backend);
    const out = await page.evaluate(async (f) => {
      const bytes = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0)).buffer;
      const store = (window as any).__studio;
      const st = () => store.getState();
      st().setImageSettings({ patch: 2 });
      await st().loadImages({ kind: 'images', modelJson: { name: 'model.json', text: atob(f.model) }, shards: [{ name: 'weights.bin', data: bytes(f.weights) }], files: [{ path: 'images.npy', data: bytes(f.images) }, { path: 'labels.npy', data: bytes(f.labels) }] });
      for (const m of st().methods) st().setMethod(m.id, { enabled: ['saliency', 'integrated-gradients', 'occlusion'].includes(m.id) });
      for (const m of st().metrics) st().setMetric(m.id, { enabled: ['RP', 'DEL'].includes(m.id) });
      st().setRows({ start: 0, count: 8 });
      st().setP(0);
      await st().runExplain();
      await st().runEvaluate();
      st().setTraining({ epochs: 2, batchSize: 4, lcSubsets: 4 });
      st().setExplainerArch({ dModel: 16, nHeads: 2, nLayers: 1, dFF: 32, dropout: 0 });
      const ok = await st().runTrain();
      return { ok, err: st().trainError ?? st().taskError, tokens: st().info?.nFeatures, steps: st().trainSteps.map((s: any) => ({ lPC: s.lPC, lLC: s.lLC })) };
    }, files);
    await page.context().close();
    expect(out.err).toBeNull();
    expect(out.ok).toBe(true);
    return { steps: out.steps, tokens: out.tokens };
  }

  it('28×28 images at 2×2 patches: the same steps on webgpu and wasm, finite and equal within tolerance', async () => {
    const gpu = await trainSteps('webgpu');
    const wasm = await trainSteps('wasm');
    expect(gpu.tokens).toBe(196);
    expect(gpu.steps.length).toBeGreaterThan(0);
    expect(gpu.steps.length).toBe(wasm.steps.length);
    gpu.steps.forEach((s, i) => {
      expect(Number.isFinite(s.lPC) && Number.isFinite(s.lLC)).toBe(true);
      expect(Math.abs(s.lPC - wasm.steps[i].lPC)).toBeLessThan(2e-3);
      expect(Math.abs(s.lLC - wasm.steps[i].lLC)).toBeLessThan(2e-3);
    });
  });
});
