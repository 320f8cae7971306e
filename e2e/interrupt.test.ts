/**
 * Interruptions: a worker that stops answering is reported within 5 s and replaced, with the task
 * and results loaded back into the new one; a reload in the middle of a training offers to resume
 * it from its last checkpoint; a lost WebGPU device falls back to wasm and resumes from the last
 * checkpoint; a save that fails for lack of storage (a CDP quota override) is reported and the
 * results on screen stay.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {ARTIFACTS, useStudio } from './harness';
import { openStudio } from './page';

const studio = useStudio();

const state = (page: Page, expr: string) => page.evaluate((e) => new Function('s', `return ${e}`)((window as any).__studio.getState()), expr);
const idle = (page: Page, timeout = 120_000) => page.waitForFunction(() => (window as any).__studio.getState().busy === null, null, { timeout });

/** Iris explained and scored with four quick methods and a tiny explainer. */
async function scoredIris(page: Page, epochs: number, rows = 60): Promise<void> {
  await page.click('[data-demo=iris]');
  await page.getByTestId('accuracy').waitFor({ timeout: 60_000 });
  await page.evaluate(([ep, n]) => {
    const s = (window as any).__studio.getState();
    for (const m of s.methods) s.setMethod(m.id, { enabled: ['saliency', 'occlusion', 'feature-ablation', 'integrated-gradients'].includes(m.id) });
    s.setRows({ count: n });
    s.setExplainerArch({ dModel: 8, nHeads: 2, nLayers: 1, dFF: 16 });
    s.setTraining({ epochs: ep, batchSize: 32, evalEvery: 0 });
  }, [epochs, rows]);
  await page.evaluate(() => (window as any).__studio.getState().runExplain());
  await page.evaluate(() => (window as any).__studio.getState().runEvaluate());
  await idle(page);
}

describe('interruptions', () => {
  it('a worker that stops answering is reported within 5 s and replaced; the results stay and work goes on', async () => {
    const page = await (await studio.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await openStudio(page, studio.url, '?backend=wasm');
    await scoredIris(page, 3);
    const scores = await state(page, 's.evaluation.scores.map((e) => e.metrics.map((m) => m.mean))');
    const t0 = Date.now();
    await page.evaluate(() => (window as any).__studioClient.call({ type: 'testHook', hook: 'crash' }).promise);
    await page.getByTestId('notice').filter({ hasText: 'The compute worker stopped' }).waitFor({ timeout: 8_000 });
    expect(Date.now() - t0).toBeLessThan(5_500);
    await page.waitForFunction(() => (window as any).__studioClient.restarts === 1);
    await idle(page);
    expect(await state(page, 's.evaluation.scores.map((e) => e.metrics.map((m) => m.mean))')).toEqual(scores);
    // the new worker holds the task and the priors: supervision and training run on it
    await page.click('[data-step=train]');
    await page.click('[data-testid=train-start]');
    await page.waitForFunction(() => document.querySelector('[data-testid=train-status]')?.textContent?.startsWith('done'), null, { timeout: 120_000 });
    await page.screenshot({ path: `${ARTIFACTS}/e2e-worker-restarted.png`, fullPage: true });
  });

  it('a reload in the middle of a training offers to resume it from its last checkpoint, and the resumed run finishes', async () => {
    const context = await studio.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await openStudio(page, studio.url, '?backend=wasm');
    await scoredIris(page, 4000);
    await page.click('[data-step=train]');
    await page.click('[data-testid=train-start]');
    await page.waitForFunction(() => ((window as any).__studio.getState().checkpoint?.checkpoint.epoch ?? 0) >= 2, null, { timeout: 60_000 });
    await page.waitForTimeout(2500); // the checkpoint reaches IndexedDB at most every 2 s
    await page.reload();
    await page.getByTestId('restored').waitFor({ timeout: 60_000 });
    await page.click('[data-step=train]');
    const button = page.getByTestId('train-resume-checkpoint');
    await button.waitFor({ timeout: 30_000 });
    const step = Number((await button.textContent())!.match(/\d+/)![0]);
    expect(step).toBeGreaterThan(0);
    expect(await page.getByTestId('train-error').textContent()).toMatch(new RegExp(`interrupted at step ${step} \\(epoch \\d+ of 4000\\)`));
    await page.evaluate(() => (window as any).__studio.getState().setTraining({}));
    await button.click();
    await page.waitForFunction((n) => (window as any).__studio.getState().trainSteps.length > n + 3, step, { timeout: 60_000 });
    const steps = (await state(page, 's.trainSteps.map((t) => t.step)')) as number[];
    expect(steps).toEqual(steps.map((_, i) => i)); // the resumed run continues the step numbering
    await page.getByTestId('train-cancel').click();
    await context.close();
  });

  it('a lost WebGPU device falls back to wasm and resumes the training from the last checkpoint', async () => {
    const page = await (await studio.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await openStudio(page, studio.url, '?backend=webgpu');
    expect(await page.getByTestId('backend-chosen').textContent()).toMatch(/using webgpu/);
    await scoredIris(page, 12);
    await page.click('[data-step=train]');
    await page.click('[data-testid=train-start]');
    await page.waitForFunction(() => ((window as any).__studio.getState().checkpoint?.checkpoint.epoch ?? 0) >= 1, null, { timeout: 120_000 });
    await page.evaluate(() => (window as any).__studioClient.call({ type: 'testHook', hook: 'loseDevice' }).promise);
    await page.getByTestId('notice').filter({ hasText: 'The WebGPU device was lost, so the studio switched to the wasm backend and resumed the training from step' }).waitFor({ timeout: 60_000 });
    await page.getByTestId('backend-chosen').filter({ hasText: 'using wasm' }).waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid=train-status]')?.textContent?.startsWith('done'), null, { timeout: 120_000 });
    const steps = (await state(page, 's.trainSteps.map((t) => t.step)')) as number[];
    expect(steps).toEqual(steps.map((_, i) => i));
    expect(await state(page, 's.report !== null')).toBe(true);
  });

  it('a save that fails for lack of storage (a CDP quota override) is reported and the results on screen stay', async () => {
    // Chromium enforces the override on storage created after it, so the origin starts full here;
    // that an earlier save is kept when a later one fails is tested in src/store/store.test.ts
    const context = await studio.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(studio.url).origin, quotaSize: 1 });
    await openStudio(page, studio.url, '?backend=wasm');
    await page.click('[data-demo=iris]');
    await page.getByTestId('accuracy').waitFor({ timeout: 60_000 });
    await page.click('[data-step=explain]');
    await page.click('[data-testid=run-explain]');
    await page.getByTestId('notice').filter({ hasText: 'could not be saved in this browser (storage is full); the earlier saved results are kept' }).waitFor({ timeout: 60_000 });
    expect(await state(page, 's.attribution.rows.length')).toBe(150); // the new results stay on screen
    await page.screenshot({ path: `${ARTIFACTS}/e2e-quota.png`, fullPage: true });
    await context.close();
  });
});
