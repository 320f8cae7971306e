/**
 * Per-stage backends in the studio: with ?trainBackend=webgpu the explainer trains on WebGPU
 * (SwiftShader here) while the Iris model is scored on wasm, chosen automatically because the
 * model is small; the header and the per-stage panel show each stage's backend and why; the losses
 * and the report's explainer row equal an all-wasm run's within tolerance (an explainer read back
 * from WebGPU synchronously would be zeros).
 */
import { describe, expect, it } from 'vitest';
import {ARTIFACTS, useStudio } from './harness';
import { openStudio, trainTinyIris } from './page';

const studio = useStudio();

describe('per-stage backends', () => {
  it('trains on webgpu and scores on wasm; shows both stages with reasons; equals all-wasm within tolerance', async () => {
    const page = await (await studio.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await openStudio(page, studio.url, '?trainBackend=webgpu');
    const split = await trainTinyIris(page);
    expect(await page.getByTestId('backend-chosen').textContent()).toBe('using wasm to score · webgpu to train');
    await page.locator('[data-testid=backend-stages] summary').click();
    expect(await page.getByTestId('stage-train-backend').textContent()).toBe('webgpu');
    expect(await page.getByTestId('stage-train-reason').textContent()).toBe('Chosen by the user.');
    expect(await page.getByTestId('stage-score-backend').textContent()).toBe('wasm');
    // iris's MLP: 854 FLOPs per row, under the threshold; the reason cites the GPU measurement
    expect(await page.getByTestId('stage-score-reason').textContent()).toMatch(/^Small model \(854 FLOPs per row, under 100 k\).*0\.57× wasm.*7\.4× wasm.*docs\/gpu\.md/);
    expect(await page.getByTestId('stage-score-select').inputValue()).toBe('auto');
    expect(await page.getByTestId('stage-train-select').inputValue()).toBe('webgpu');
    await page.screenshot({ path: `${ARTIFACTS}/e2e-stages.png` });
    await page.context().close();

    const plain = await (await studio.browser.newContext()).newPage();
    await openStudio(plain, studio.url, '?backend=wasm');
    const wasm = await trainTinyIris(plain);
    expect(await plain.getByTestId('backend-chosen').textContent()).toBe('using wasm');
    await plain.context().close();

    expect(split.steps.length).toBeGreaterThan(0);
    expect(split.steps.length).toBe(wasm.steps.length);
    split.steps.forEach((s, i) => {
      expect(Number.isFinite(s.lPC) && Number.isFinite(s.lLC)).toBe(true);
      expect(Math.abs(s.lPC - wasm.steps[i].lPC)).toBeLessThan(2e-3);
      expect(Math.abs(s.lLC - wasm.steps[i].lLC)).toBeLessThan(2e-3);
    });
    // the trained explainer, scored on wasm after training on webgpu: the same row as all-wasm
    expect(Object.keys(split.explainerScores).sort()).toEqual(['DEL', 'RP']);
    for (const [m, v] of Object.entries(wasm.explainerScores)) expect(Math.abs(split.explainerScores[m] - v)).toBeLessThan(2e-3);
  });
});
