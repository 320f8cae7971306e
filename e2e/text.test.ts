/**
 * Text tasks in Chromium on the real wasm backend: the sentiment demo loaded (facts, notices, the
 * first texts as the model reads them), explained (each method a row of the same sentence with its
 * tokens highlighted: every token's computed background is the colour map's colour of its value,
 * so the colours differ and follow the values' order; padding never drawn), a sentence typed by
 * the user explained (and an empty one refused), evaluated (the metric inspector shows the sentence
 * at each deletion step, removed tokens replaced by the pad token), the Supervise panel on text
 * rows, the explainer trained for a few steps (its values over the watched sentence; the typed
 * sentence explained by it too), the Report's sentence grid (the priors' INS/DEL = the stored
 * scores); a text model built here with tfjs (an Embedding model saved with tf.io.withSaveHandler),
 * its vocab.json and a CSV dropped through a real drop event, its text column chosen, explained;
 * a vocabulary of the wrong size and a non-UTF-8 CSV refused with the engine's message while the
 * task stays. Screenshots in test-artifacts/.
 */
import * as tf from '@tensorflow/tfjs';
import { color, interpolateOrRd, interpolateRdBu } from 'd3';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {ARTIFACTS, useStudio } from './harness';
import { dropTree, openStudio } from './page';

const studio = useStudio();

const rgb = (css: string) => {
  const c = color(css)!.rgb();
  return [Math.round(c.r), Math.round(c.g), Math.round(c.b)];
};
const luminance = ([r, g, b]: number[]) => 0.2126 * r + 0.7152 * g + 0.0722 * b;

/** Every token span of a sentence: its word, value (data-value) and computed background colour. */
async function spans(page: Page, testId: string): Promise<{ word: string; value: number; bg: number[]; pos: number }[]> {
  const raw = await page.evaluate((id) => {
    const el = document.querySelector(`[data-testid="${id}"]`)!;
    return [...el.querySelectorAll('.token')].map((s) => ({ word: s.textContent ?? '', value: (s as HTMLElement).dataset.value ?? '', bg: getComputedStyle(s).backgroundColor, pos: Number((s as HTMLElement).dataset.pos) }));
  }, testId);
  return raw.map((s) => ({ word: s.word, value: Number(s.value), bg: rgb(s.bg), pos: s.pos }));
}

/**
 * The spans of a sentence on a normalised (sequential OrRd) scale: each background is the map's
 * colour of the token's value, so distinct values have distinct colours, darker as the value grows.
 */
function expectSequential(cells: { value: number; bg: number[] }[]): void {
  for (const c of cells) expect(c.bg).toEqual(rgb(interpolateOrRd(c.value)));
  const sorted = [...cells].sort((a, b) => a.value - b.value);
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i].value > sorted[i - 1].value + 0.02) {
      expect(sorted[i].bg).not.toEqual(sorted[i - 1].bg);
      expect(luminance(sorted[i].bg)).toBeLessThan(luminance(sorted[i - 1].bg));
    }
}

describe('the sentiment demo in the studio', () => {
  let page: Page;
  let lengths: number[];
  beforeAll(async () => {
    page = await (await studio.browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await openStudio(page, studio.url, '?backend=wasm');
    expect(await page.getByTestId('backend-chosen').textContent()).toContain('wasm');
  });

  it('loads: its vocabulary and sequence length, notices, and the first texts as the model reads them', async () => {
    await page.click('[data-demo=sentiment]');
    await expect.poll(() => page.getByTestId('accuracy').textContent(), { timeout: 60_000 }).toMatch(/%/);
    expect(await page.getByTestId('n-rows').textContent()).toBe('3000');
    expect(await page.getByTestId('text-vocab').textContent()).toBe('sentiment/vocab.json: 1,929 tokens, lower-cased');
    expect(await page.getByTestId('text-length').textContent()).toMatch(/^32 token ids/);
    expect(await page.getByTestId('text-removal').textContent()).toBe('the pad token <pad>');
    expect(await page.getByTestId('task-notices').locator('li').count()).toBe(2);
    expect(await page.getByTestId('task-notices').textContent()).toMatch(/61 texts have more than 32 tokens/);
    // the first text, as the tokenizer read it: no punctuation, lower-cased, no padding drawn
    expect(await page.getByTestId('text-preview').locator('li').first().locator('.token').allTextContents()).toEqual(['a', 'very', 'very', 'very', 'slow', 'moving', 'aimless', 'movie', 'about', 'a', 'distressed', 'drifting', 'young', 'man']);
    expect(await page.getByTestId('setting-baseline').count()).toBe(0); // no mean baseline for text: the removal token instead
    expect(await page.getByTestId('setting-mask').count()).toBe(1);
    lengths = await page.evaluate(() => Array.from((window as any).__studio.getState().info.text.lengths as Int32Array));
    await page.screenshot({ path: `${ARTIFACTS}/e2e-text-task.png`, fullPage: true });
    // before any Explain: the sentence box is there, the rows' view says what to do
    await page.click('[data-step=explain]');
    expect(await page.getByTestId('sentence-box').count()).toBe(1);
    expect(await page.getByTestId('sentence-view').count()).toBe(0);
    await page.screenshot({ path: `${ARTIFACTS}/e2e-text-explain-empty.png`, fullPage: true });
  });

  it('explains rows: each method a row of the same sentence, every token coloured by its value (the map\'s colour, in the values\' order); padding never drawn', async () => {
    await page.evaluate(() => {
      const st = (window as any).__studio.getState();
      st.methods.forEach((m: any) => st.setMethod(m.id, { enabled: ['saliency', 'integrated-gradients', 'occlusion'].includes(m.id) }));
      st.metrics.forEach((m: any) => st.setMetric(m.id, { enabled: ['INS', 'DEL', 'FC', 'RP'].includes(m.id) }));
    });
    await page.click('[data-step=explain]');
    await page.fill('[data-testid=rows-count]', '10');
    await page.click('[data-testid=run-explain]');
    await page.getByTestId('token-rows').waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('bars-grid').count()).toBe(0);
    expect(await page.locator('[data-testid=token-rows] tr').evaluateAll((els) => els.map((e) => e.getAttribute('data-method')))).toEqual(['saliency', 'integrated-gradients', 'occlusion']);
    // a row with a few words: row 3, "Very little music or anything to speak of."
    await page.selectOption('[data-testid=sample-pick]', '3');
    const words = ['very', 'little', 'music', 'or', 'anything', 'to', 'speak', 'of'];
    const stored = await page.evaluate(() => {
      const a = (window as any).__studio.getState().attribution;
      return a.explanations.map((e: any) => ({ id: e.methodId, raw: Array.from(e.values.subarray(3 * 32, 4 * 32)), norm: Array.from(e.normalised.subarray(3 * 32, 4 * 32)) }));
    });
    // raw values: IG is signed → diverging RdBu centred on 0 (±max |v| of the sentence's tokens)
    expect(await page.getByTestId('legend-tokens-integrated-gradients').getAttribute('data-kind')).toBe('diverging');
    expect(await page.getByTestId('legend-tokens-saliency').getAttribute('data-kind')).toBe('sequential');
    for (const e of stored) {
      const cells = await spans(page, `tokens-${e.id}`);
      expect(cells.map((c) => c.word)).toEqual(words);
      expect(cells.length).toBe(lengths[3]);
      cells.forEach((c, t) => expect(c.value).toBeCloseTo(e.raw[t], 5));
      const vals = e.raw.slice(0, 8) as number[];
      if (vals.some((v) => v < 0)) {
        const m = Math.max(...vals.map(Math.abs));
        for (const c of cells) expect(c.bg).toEqual(rgb(interpolateRdBu(0.5 - Math.max(-1, Math.min(1, c.value / m)) / 2)));
        // red for tokens pushing the class strongly (v ≥ m/2), blue for those pushing against it (v ≤ −m/2)
        for (const c of cells) {
          if (c.value >= m / 2) expect(c.bg[0]).toBeGreaterThan(c.bg[2] + 40);
          if (c.value <= -m / 2) expect(c.bg[2]).toBeGreaterThan(c.bg[0] + 40);
        }
        expect(cells.some((c) => Math.abs(c.value) === m)).toBe(true);
      } else {
        const m = Math.max(...vals);
        for (const c of cells) expect(c.bg).toEqual(rgb(interpolateOrRd(Math.min(1, c.value / m))));
      }
    }
    // normalised over the sentence's tokens (as scored): sequential OrRd on [0, 1], colours in the values' order
    await page.selectOption('[data-testid=token-values]', 'normalised');
    for (const e of stored) {
      const cells = await spans(page, `tokens-${e.id}`);
      cells.forEach((c, t) => expect(c.value).toBeCloseTo(e.norm[t], 5));
      expect(Math.min(...cells.map((c) => c.value))).toBe(0);
      expect(Math.max(...cells.map((c) => c.value))).toBe(1);
      expect(new Set(cells.map((c) => c.bg.join(','))).size).toBeGreaterThan(3);
      expectSequential(cells);
    }
    // a row of 32 tokens (truncated): 32 spans, never a padding token, wrapping over lines
    const long = lengths.slice(0, 10).findIndex((T) => T === 32);
    if (long >= 0) {
      await page.selectOption('[data-testid=sample-pick]', String(long));
      const cells = await spans(page, 'tokens-occlusion');
      expect(cells.length).toBe(32);
    }
    await page.selectOption('[data-testid=sample-pick]', '2');
    for (const id of ['saliency', 'occlusion']) {
      const cells = await spans(page, `tokens-${id}`);
      expect(cells.length).toBe(lengths[2]);
      expect(cells.some((c) => c.word === '<pad>')).toBe(false);
    }
    const box = await page.getByTestId('tokens-occlusion').boundingBox();
    expect(box!.height).toBeGreaterThan(40); // 28 tokens wrap onto more than one line
    // hover shows the value
    expect(await page.getByTestId('tokens-occlusion').locator('.token').first().getAttribute('title')).toMatch(/^“attempting” \(token 0\) · normalised attribution [0-9.]+/);
    await page.screenshot({ path: `${ARTIFACTS}/e2e-text-explain.png`, fullPage: true });
  });

  it('explains a typed sentence: its tokens highlighted under every method, unknown words noted; an empty one refused', async () => {
    await page.fill('[data-testid=sentence-input]', 'The food was great, but the service was zzqx slow.');
    await page.click('[data-testid=sentence-run]');
    await page.getByTestId('sentence-rows').waitFor({ timeout: 60_000 });
    expect(await page.locator('[data-testid=sentence-rows] tr').evaluateAll((els) => els.map((e) => e.getAttribute('data-method')))).toEqual(['saliency', 'integrated-gradients', 'occlusion']);
    expect(await page.getByTestId('sentence-notices').textContent()).toBe('1 of its 10 words are not in the vocabulary and read as the unknown token: "zzqx".');
    await page.selectOption('[data-testid=sentence-values]', 'normalised');
    for (const id of ['saliency', 'integrated-gradients', 'occlusion']) {
      const cells = await spans(page, `sentence-${id}`);
      expect(cells.map((c) => c.word)).toEqual(['the', 'food', 'was', 'great', 'but', 'the', 'service', 'was', 'zzqx', 'slow']);
      expectSequential(cells);
    }
    expect(await page.getByTestId('sentence-occlusion').locator('.token.unknown').allTextContents()).toEqual(['zzqx']);
    // a long sentence wraps; its notice says it was truncated
    await page.fill('[data-testid=sentence-input]', Array.from({ length: 45 }, (_, i) => ['good', 'movie', 'but', 'terribly', 'slow', 'plot'][i % 6]).join(' '));
    await page.click('[data-testid=sentence-run]');
    await expect.poll(() => page.getByTestId('sentence-notices').textContent(), { timeout: 60_000 }).toBe('The sentence has 45 tokens; the model reads the first 32.');
    expect((await spans(page, 'sentence-occlusion')).length).toBe(32);
    await page.screenshot({ path: `${ARTIFACTS}/e2e-text-sentence-long.png`, fullPage: true });
    await page.fill('[data-testid=sentence-input]', ' ... ');
    await page.click('[data-testid=sentence-run]');
    await expect.poll(() => page.getByTestId('sentence-error').textContent(), { timeout: 30_000 }).toMatch(/^The sentence has no word to explain \(no letters or digits\)\./);
    expect((await spans(page, 'sentence-occlusion')).length).toBe(32); // the last sentence stays
    await page.fill('[data-testid=sentence-input]', 'The food was great, but the service was zzqx slow.');
    await page.click('[data-testid=sentence-run]');
    await expect.poll(() => page.getByTestId('sentence-error').count(), { timeout: 60_000 }).toBe(0);
    await page.screenshot({ path: `${ARTIFACTS}/e2e-text-sentence.png`, fullPage: true });
  });

  it('evaluates; the inspector shows the sentence at each deletion step, removed tokens replaced by the pad token', async () => {
    await page.click('[data-step=evaluate]');
    await page.click('[data-testid=run-evaluate]');
    await page.getByTestId('results-table').waitFor({ timeout: 180_000 });
    await page.selectOption('[data-testid=insp-method]', 'occlusion');
    await page.selectOption('[data-testid=insp-metric]', 'DEL');
    await expect.poll(() => page.getByTestId('insp-prob').textContent(), { timeout: 30_000 }).not.toBe('…');
    expect(await page.getByTestId('insp-row').count()).toBe(0);
    expect(await page.getByTestId('insp-sentence').getAttribute('data-marked')).toBe('0');
    expect(await page.getByTestId('insp-step').textContent()).toBe(`step 0 / ${lengths[2]}`); // one point per token of row 2
    for (let step = 1; step <= 3; step++) {
      await page.click('[data-testid=insp-next]');
      await expect.poll(() => page.getByTestId('insp-sentence').getAttribute('data-marked')).toBe(String(step));
      expect(await page.locator('[data-testid=insp-perturbed] .token.removed .as').allTextContents()).toEqual(Array(step).fill('<pad>'));
    }
    expect(await page.getByTestId('insp-value').textContent()).toBe(await page.getByTestId('insp-stored').textContent());
    await page.getByTestId('inspector').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${ARTIFACTS}/e2e-text-inspector.png`, fullPage: true });
  });

  it('the Supervise panel works on text rows', async () => {
    await page.click('[data-step=supervise]');
    await page.getByTestId('counts').waitFor({ timeout: 30_000 });
    expect(await page.locator('.strip').count()).toBe(4);
    expect(await page.locator('[data-testid=record] tr').count()).toBe(3);
    await page.screenshot({ path: `${ARTIFACTS}/e2e-text-supervise.png`, fullPage: true });
  });

  it('trains the explainer for a few steps: its values over the watched sentence; the typed sentence is explained by it too', async () => {
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
    const watch = await spans(page, 'watch-sentence');
    expect(watch.length).toBe(lengths[2]);
    expectSequential(watch);
    await page.screenshot({ path: `${ARTIFACTS}/e2e-text-train.png`, fullPage: true });
    await page.click('[data-step=explain]');
    expect(await page.getByTestId('sentence-input').inputValue()).toBe('The food was great, but the service was zzqx slow.'); // the last sentence stays in the box
    await page.click('[data-testid=sentence-run]');
    await page.getByTestId('sentence-deepfaith-explainer').waitFor({ timeout: 60_000 });
    await page.selectOption('[data-testid=sentence-values]', 'normalised');
    const cells = await spans(page, 'sentence-deepfaith-explainer');
    expect(cells.length).toBe(10);
    expectSequential(cells);
    // the explained rows show the explainer's row too
    expect(await page.locator('[data-testid=token-rows] tr[data-method=deepfaith-explainer]').count()).toBe(1);
  });

  it('the Report shows each test sentence under every method and the explainer with its INS and DEL (the priors\' = the stored scores)', async () => {
    await page.click('[data-step=report]');
    await page.locator('[data-testid=report-table] tr[data-method=deepfaith-explainer]').waitFor({ timeout: 60_000 });
    const grid = page.getByTestId('figure5-grid');
    await grid.waitFor({ timeout: 30_000 });
    const rows = await grid.locator('tbody').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-row'))));
    expect(rows.length).toBe(2); // the test split of 10 rows
    expect(await grid.locator(`tbody[data-row="${rows[0]}"] tr`).evaluateAll((els) => els.map((e) => e.getAttribute('data-method')))).toEqual(['saliency', 'integrated-gradients', 'occlusion', 'deepfaith-explainer']);
    await expect.poll(() => grid.locator('[data-metric=INS]').first().textContent(), { timeout: 60_000 }).not.toBe('…');
    const stored = await page.evaluate((rs) => {
      const ev = (window as any).__studio.getState().evaluation;
      return ev.scores.map((e: any) => rs.map((r: number) => ['INS', 'DEL'].map((m) => e.metrics.find((x: any) => x.metricId === m).perSample[ev.rows.indexOf(r)])));
    }, rows);
    for (const [j, id] of ['saliency', 'integrated-gradients', 'occlusion'].entries())
      for (const [i, r] of rows.entries()) {
        const cell = grid.locator(`tr[data-row="${r}"][data-method="${id}"]`);
        expect(Number(await cell.locator('[data-metric=INS]').textContent())).toBeCloseTo(stored[j][i][0], 3);
        expect(Number(await cell.locator('[data-metric=DEL]').textContent())).toBeCloseTo(stored[j][i][1], 3);
        const cells = await spans(page, `fig5-${r}-${id}`);
        expect(cells.length).toBe(lengths[r]);
        expectSequential(cells);
      }
    // the explainer's INS/DEL averaged over the test rows = the final table's (a mean over the same rows)
    const report = await page.evaluate(() => (window as any).__studio.getState().report.table.find((r: any) => r.isExplainer).scores);
    for (const m of ['INS', 'DEL']) {
      let sum = 0;
      for (const r of rows) sum += Number(await grid.locator(`tr[data-row="${r}"][data-method="deepfaith-explainer"] [data-metric=${m}]`).textContent());
      expect(Math.abs(sum / rows.length - report[m])).toBeLessThan(1e-3);
    }
    await page.getByTestId('figure5').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${ARTIFACTS}/e2e-text-report.png`, fullPage: true });
  });
});

describe('a text model, its vocabulary and a CSV dropped on the studio', () => {
  let page: Page;
  const V = 12;
  const L = 8;
  const vocab = { tokens: ['<pad>', '<unk>', 'good', 'bad', 'film', 'very', 'not', 'great', 'boring', 'plot', 'acting', 'fun'], pad: 0, unk: 1, lowercase: true, maxLength: L };
  const b64 = (b: Uint8Array | string) => Buffer.from(b).toString('base64');
  const csv = ['phrase,y', '"A very good film, great fun",1', 'Not good at all,0', '"bad, boring plot",0', 'very good acting,1', '"Great acting, never boring",1', 'boring film and bad acting,0', '"fun, fun, fun: a great film",1', 'bad plot,0'].join('\n') + '\n';
  let modelFiles: { path: string; base64: string }[];

  beforeAll(async () => {
    await tf.setBackend('cpu');
    // an Embedding → average → softmax classifier with weights from a closed form (no training)
    const m = tf.sequential();
    m.add(tf.layers.embedding({ inputDim: V, outputDim: 3, inputLength: L, inputShape: [L] }));
    m.add(tf.layers.globalAveragePooling1d());
    m.add(tf.layers.dense({ units: 2, activation: 'softmax' }));
    const polarity = [0, 0, 1, -1, 0, 0.3, -1.5, 1.2, -1, -0.2, 0.2, 0.9];
    m.setWeights([tf.tensor2d(polarity.flatMap((p, i) => [p, Math.sin(i), 0.1 * i]), [V, 3]), tf.tensor2d([-2, 2, 0, 0, 0, 0], [3, 2]), tf.tensor1d([0, 0])]);
    await m.save(
      tf.io.withSaveHandler(async (a) => {
        modelFiles = [
          { path: 'model.json', base64: b64(JSON.stringify({ format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] })) },
          { path: 'weights.bin', base64: b64(new Uint8Array(a.weightData as ArrayBuffer)) },
        ];
        return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
      }),
    );
    m.dispose();
    page = await (await studio.browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await openStudio(page, studio.url, '?backend=wasm');
  });

  it('loads after its text column is chosen, and explains its sentences', async () => {
    await dropTree(page, [...modelFiles, { path: 'vocab.json', base64: b64(JSON.stringify(vocab)) }, { path: 'texts.csv', base64: b64(csv) }]);
    await expect.poll(() => page.getByTestId('task-error').textContent().catch(() => ''), { timeout: 30_000 }).toMatch(/texts\.csv has no column named like a text .*Choose the column that holds the texts: one of phrase, y\./);
    expect(await page.getByTestId('staged').textContent()).toMatch(/^All files present: choose the text column below\. \(have: model\.json, weights\.bin, vocab\.json, texts\.csv\)/);
    await page.screenshot({ path: `${ARTIFACTS}/e2e-text-drop-pick.png`, fullPage: true });
    await page.selectOption('[data-testid=text-pick]', 'phrase');
    await expect.poll(() => page.getByTestId('n-rows').textContent(), { timeout: 60_000 }).toBe('8');
    expect(await page.getByTestId('staged').count()).toBe(0);
    expect(await page.getByTestId('task-error').count()).toBe(0);
    expect(await page.getByTestId('task-info').locator('h3').textContent()).toBe('model.json + vocab.json + texts.csv');
    expect(await page.getByTestId('text-vocab').textContent()).toBe('vocab.json: 12 tokens, lower-cased');
    expect(await page.locator('.facts dt:text-is("Label column") + dd').textContent()).toBe('y');
    expect(await page.getByTestId('accuracy').textContent()).toBe('100.0 %');
    expect(await page.getByTestId('text-preview').locator('li').nth(1).locator('.token').allTextContents()).toEqual(['not', 'good', 'at', 'all']);
    expect(await page.getByTestId('text-preview').locator('li').nth(1).locator('.token.unknown').allTextContents()).toEqual(['at', 'all']);
    expect(await page.evaluate(() => (window as any).__studio.getState().exportJob().task)).toEqual({ model: 'model.json', data: 'texts.csv', vocab: 'vocab.json', text: 'phrase', label: 'y', baseline: 'zero', output: 'probability', target: 'predicted', maxRows: 8 });
    await page.screenshot({ path: `${ARTIFACTS}/e2e-text-drop.png`, fullPage: true });
    await page.evaluate(() => {
      const st = (window as any).__studio.getState();
      st.methods.forEach((m: any) => st.setMethod(m.id, { enabled: ['occlusion', 'shapley-exact'].includes(m.id) }));
    });
    await page.click('[data-step=explain]');
    await page.click('[data-testid=run-explain]');
    await page.getByTestId('token-rows').waitFor({ timeout: 60_000 });
    await page.selectOption('[data-testid=token-values]', 'normalised');
    for (const id of ['occlusion', 'shapley-exact']) {
      const cells = await spans(page, `tokens-${id}`);
      expect(cells.map((c) => c.word)).toEqual(['a', 'very', 'good', 'film', 'great', 'fun']);
      expectSequential(cells);
    }
    // exact Shapley values of an increasing function of the sum of the tokens' polarities keep the
    // polarities' order: great (1.2) > good (1) > fun (0.9) > very (0.3) > a, film (0)
    const shapley = await spans(page, 'tokens-shapley-exact');
    expect([...shapley].sort((a, b) => b.value - a.value).slice(0, 4).map((c) => c.word)).toEqual(['great', 'good', 'fun', 'very']);
    await page.click('[data-step=task]');
  });

  it('a vocabulary of the wrong size and a non-UTF-8 CSV are refused with the engine\'s message, and the loaded task stays', async () => {
    await page.click('[data-step=task]');
    await dropTree(page, [...modelFiles, { path: 'vocab.json', base64: b64(JSON.stringify({ ...vocab, tokens: [...vocab.tokens, 'extra'] })) }, { path: 'texts.csv', base64: b64(csv.replace('phrase', 'review')) }]);
    await expect.poll(() => page.getByTestId('task-error').textContent().catch(() => ''), { timeout: 30_000 }).toMatch(/^vocab\.json has 13 tokens but the model's Embedding \(model\.json\) takes 12 token ids\..*Give the vocabulary the model was trained with/);
    expect(await page.getByTestId('n-rows').textContent()).toBe('8');
    expect(await page.getByTestId('task-info').locator('h3').textContent()).toBe('model.json + vocab.json + texts.csv');
    await page.screenshot({ path: `${ARTIFACTS}/e2e-text-drop-bad-vocab.png`, fullPage: true });
    const latin1 = Buffer.concat([Buffer.from('review,y\nun film tr'), Buffer.from([0xe8]), Buffer.from('s bon,1\n')]);
    await dropTree(page, [...modelFiles, { path: 'vocab.json', base64: b64(JSON.stringify(vocab)) }, { path: 'latin1.csv', base64: b64(latin1) }]);
    await expect.poll(() => page.getByTestId('task-error').textContent().catch(() => ''), { timeout: 30_000 }).toMatch(/^latin1\.csv is not UTF-8 text \(byte 19 is not valid UTF-8: 0xe8\)\..*iconv/);
    expect(await page.getByTestId('n-rows').textContent()).toBe('8');
    expect(await page.evaluate(() => (window as any).__studio.getState().attribution?.rows.length)).toBe(8);
  });
});
