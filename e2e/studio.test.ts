import { readFileSync } from 'node:fs';
import { resolveJob } from '../src/core/job';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {ARTIFACTS, useStudio } from './harness';
import { dropFiles, openStudio, trainTinyIris } from './page';

const studio = useStudio();

const open = (page: Page, query = '') => openStudio(page, studio.url, query);

/** Press Tab until the focused element matches `selector`; fails after `max` presses. */
async function tabTo(page: Page, selector: string, max = 80): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((sel) => !!document.activeElement?.matches(sel), selector)) return;
  }
  throw new Error(`Tab never reached ${selector}`);
}

describe('studio end to end (iris)', () => {
  let page: Page;
  beforeAll(async () => {
    page = await (await studio.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await open(page);
  });

  it('(a) runs the iris demo end to end: ten metric columns per method, an explainer row, α points', async () => {
    await page.click('[data-demo=iris]');
    await expect.poll(() => page.getByTestId('accuracy').textContent(), { timeout: 60_000 }).toMatch(/%/);
    await page.click('[data-step=explain]');
    await page.fill('[data-testid=rows-count]', '5');
    await page.click('[data-testid=run-explain]');
    await page.locator('[data-testid=bars-grid] svg').first().waitFor({ timeout: 120_000 });
    await page.click('[data-step=evaluate]');
    await page.click('[data-testid=run-evaluate]');
    await page.getByTestId('results-table').waitFor({ timeout: 180_000 });
    await page.click('[data-step=train]');
    await page.fill('[data-testid=train-epochs]', '2');
    await page.click('[data-testid=train-start]');
    await page.waitForFunction(() => document.querySelector('[data-testid=train-status]')?.textContent?.startsWith('done') && !document.querySelector('[data-testid=progress]'), null, { timeout: 180_000 });
    const alphaPoints = await page.locator('[data-testid=train-curves] .series[data-key="α"] circle.pt').count();
    expect(alphaPoints).toBeGreaterThan(0);
    // the trainer's held-out evaluation events (the job's test split) are shown
    expect(await page.locator('[data-testid=train-evals] tbody tr').count()).toBeGreaterThan(0);
    // the step axis has integer ticks only; each held-out row's step is a step index on that axis (the last of its epoch)
    const ticks = await page.locator('[data-testid=train-curves] .x-axis .tick text').allTextContents();
    expect(ticks.length).toBeGreaterThan(1);
    for (const t of ticks) expect(t).toMatch(/^-?\d+$/);
    const nSteps = await page.locator('[data-testid=train-curves] .series[data-key="α"] circle.pt').count();
    for (const tr of await page.locator('[data-testid=train-evals] tbody tr').all()) {
      const [epoch, step] = (await tr.locator('td').allTextContents()).map(Number);
      expect(step).toBe((epoch * nSteps) / 2 - 1); // 2 epochs of nSteps / 2 steps each
    }
    await page.screenshot({ path: `${ARTIFACTS}/e2e-a-train.png`, fullPage: true });
    // the final table (Report) scores the explainer beside the priors on the job's test rows, as deepfaith run
    await page.click('[data-step=report]');
    const table = page.getByTestId('report-table');
    await table.locator('tr[data-method=deepfaith-explainer]').waitFor({ timeout: 60_000 });
    expect(await table.locator('caption').textContent()).toMatch(/Mean over the \d+ test rows of the job’s seeded split/);
    expect(await table.locator('thead th.metric-col').count()).toBe(10);
    const rows = table.locator('tbody tr');
    const nRows = await rows.count();
    expect(nRows).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < nRows; i++) {
      const cells = await rows.nth(i).locator('td[data-metric]').allTextContents();
      expect(cells).toHaveLength(10);
      expect(cells.some((c) => /\d/.test(c))).toBe(true);
    }
    await page.screenshot({ path: `${ARTIFACTS}/e2e-a-report.png`, fullPage: true });
    // the Evaluate table holds the priors' stored scores on every explained row
    await page.click('[data-step=evaluate]');
    expect(await page.getByTestId('results-table').locator('caption').textContent()).toMatch(/Mean over all 5 explained rows/);
  });

  it('the downloaded job JSON and the copied link are jobs the engine accepts (resolveJob), with the studio settings', async () => {
    await page.click('[data-step=report]');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download job JSON' }).click()]);
    const text = readFileSync((await download.path())!, 'utf8');
    const job = resolveJob(JSON.parse(text));
    expect(job.task.demo).toBe('iris');
    expect(job.task.maxRows).toBe(5);
    expect(job.training.epochs).toBe(2);
    expect(Array.isArray(job.metrics) && job.metrics.length).toBe(10);
    await page.click('[data-testid=copy-link]');
    const hash = await page.evaluate(() => location.hash);
    const m = /job=([A-Za-z0-9_-]+)/.exec(hash)!;
    const fromLink = resolveJob(JSON.parse(Buffer.from(m[1], 'base64url').toString('utf8')));
    expect(fromLink).toEqual(job);
  });

  it('runs the ablations from the Report panel: five modes × ten metrics with mean ranks', async () => {
    await page.click('[data-step=report]');
    await page.click('[data-testid=run-ablations]');
    await page.getByTestId('ablation-table').waitFor({ timeout: 200_000 });
    const rows = page.locator('[data-testid=ablation-table] tbody tr');
    expect(await rows.count()).toBe(5);
    expect(await page.locator('[data-testid=ablation-table] tbody tr[data-mode]').evaluateAll((els) => els.map((e) => e.getAttribute('data-mode')))).toEqual(['full', 'pc-only', 'lc-only', 'dedup-only', 'filter-only']);
    for (let i = 0; i < 5; i++) {
      expect(await rows.nth(i).locator('td[data-metric]').count()).toBe(10);
      expect(Number(await rows.nth(i).locator('td.mean-rank').textContent())).toBeGreaterThanOrEqual(1);
    }
    await page.screenshot({ path: `${ARTIFACTS}/e2e-ablations.png`, fullPage: true });
    await page.click('[data-step=evaluate]');
  });

  it('(f) the metric inspector steps through a deletion curve; the shown probability matches the curve point', async () => {
    await page.selectOption('[data-testid=insp-metric]', 'DEL');
    for (let step = 0; step < 3; step++) {
      if (step > 0) await page.click('[data-testid=insp-next]');
      await expect.poll(() => page.getByTestId('insp-step').textContent()).toContain(`step ${step} /`);
      await expect.poll(() => page.getByTestId('insp-prob').textContent(), { timeout: 30_000 }).not.toBe('…');
      const shown = Number(await page.getByTestId('insp-prob').textContent());
      const curve = Number(await page.getByTestId('insp-curve').textContent());
      expect(Number.isFinite(shown)).toBe(true);
      expect(Math.abs(shown - curve)).toBeLessThan(2e-4);
    }
    expect(await page.locator('[data-testid=insp-row] tr.baselined').count()).toBe(2);
    // the row is replayed through DEL's own kernel: its value equals the stored score
    await expect.poll(() => page.getByTestId('insp-value').textContent()).not.toBe('…');
    const value = Number(await page.getByTestId('insp-value').textContent());
    const stored = Number(await page.getByTestId('insp-stored').textContent());
    expect(Number.isFinite(value)).toBe(true);
    expect(Math.abs(value - stored)).toBeLessThan(2e-4);
    await page.screenshot({ path: `${ARTIFACTS}/e2e-f-inspector.png`, fullPage: true });
    // INS and IROF go through the same replay: step 1's probability (IROF: its ratio to p_c(x)) is the stored curve's point
    for (const metric of ['INS', 'IROF']) {
      await page.selectOption('[data-testid=insp-metric]', metric);
      await expect.poll(() => page.getByTestId('insp-value').textContent(), { timeout: 30_000 }).not.toBe('…');
      await page.click('[data-testid=insp-next]');
      await expect.poll(() => page.getByTestId('insp-step').textContent()).toContain('step 1 /');
      const shown = Number(await page.getByTestId(metric === 'IROF' ? 'insp-ratio' : 'insp-prob').textContent());
      expect(Math.abs(shown - Number(await page.getByTestId('insp-curve').textContent()))).toBeLessThan(2e-4);
      expect(Math.abs(Number(await page.getByTestId('insp-value').textContent()) - Number(await page.getByTestId('insp-stored').textContent()))).toBeLessThan(2e-4);
    }
    await page.selectOption('[data-testid=insp-metric]', 'DEL');
  });

  it('the metric inspector replays FC and FE: the shown Δ equals p(x) − the shown probability; the value equals the stored score', async () => {
    for (const metric of ['FC', 'FE']) {
      await page.selectOption('[data-testid=insp-metric]', metric);
      for (let step = 0; step < 3; step++) {
        if (step > 0) await page.click('[data-testid=insp-next]');
        await expect.poll(() => page.getByTestId('insp-prob').textContent(), { timeout: 30_000 }).not.toBe('…');
        await expect.poll(() => page.getByTestId('insp-step').textContent()).toMatch(new RegExp(`^[\\w ]+ ${step + 1} / `));
        const p = Number(await page.getByTestId('insp-prob').textContent());
        const p0 = Number(await page.getByTestId('insp-pclean').textContent());
        const d = Number(await page.getByTestId('insp-delta').textContent());
        expect(Number.isFinite(d)).toBe(true);
        expect(Math.abs(d - (p0 - p))).toBeLessThan(2e-4);
        expect(await page.locator('[data-testid=insp-row] tr.baselined').count()).toBeGreaterThan(0);
      }
      const value = Number(await page.getByTestId('insp-value').textContent());
      const stored = Number((await page.getByTestId('insp-value').locator('xpath=..').textContent())!.match(/stored score (-?[\d.]+)/)![1]);
      expect(Math.abs(value - stored)).toBeLessThan(2e-3);
      expect(await page.locator('[data-testid=insp-scatter] circle.pt').count()).toBeGreaterThan(1);
    }
    await page.screenshot({ path: `${ARTIFACTS}/e2e-f-inspector-fc.png`, fullPage: true });
    await page.selectOption('[data-testid=insp-metric]', 'DEL');
  });

  it('"Which metric can I trust?" validates the ten metrics and FFID± on a spoiled explanation: one row each, a trust value, a plot', async () => {
    await page.locator('[data-testid=validation] > summary').click();
    await page.selectOption('[data-testid=validate-method]', 'occlusion');
    await page.check('[data-testid=validate-fidelity]');
    // a metric chosen beyond the ten is validated too
    await page.locator('[data-testid=beyond-ten] > summary').click();
    await page.check('[data-testid=metric-AD-DEL]');
    await page.click('[data-testid=run-validate]');
    await page.locator('[data-testid=validation-table], [data-testid=validate-error]').first().waitFor({ timeout: 60_000 }).catch(async (e) => { await page.screenshot({ path: `${ARTIFACTS}/e2e-validation-fail.png`, fullPage: true }); throw e; });
    expect(await page.getByTestId('validate-error').count(), (await page.getByTestId('validate-error').allTextContents()).join(' ')).toBe(0);
    const ids = await page.locator('[data-testid=validation-table] tbody tr').evaluateAll((els) => els.map((e) => e.getAttribute('data-metric')));
    expect(ids).toEqual(['FC', 'FE', 'MC', 'INF', 'RP', 'INS', 'DEL', 'NEG', 'POS', 'IROF', 'AD-DEL', 'FFID+', 'FFID-']);
    for (const cell of await page.locator('[data-testid=validation-table] tbody tr td:first-of-type').allTextContents()) expect(cell).toMatch(/^(-?[01]\.\d\d (good|weak|bad)|undefined)$/);
    expect(await page.locator('[data-testid=validation-plot] svg path').count()).toBeGreaterThan(0);
    await page.getByTestId('validation').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${ARTIFACTS}/e2e-validation.png`, fullPage: true });
    await page.uncheck('[data-testid=metric-AD-DEL]');
  });

  it('(c) a bad file shows its message while the earlier results remain', async () => {
    await page.click('[data-step=task]');
    await dropFiles(page, [
      { name: 'model.json', text: JSON.stringify({ hello: 'not a model' }) },
      { url: '/demos/iris/data.csv', name: 'data.csv' },
    ]);
    await expect.poll(() => page.getByTestId('drop-error').textContent(), { timeout: 30_000 }).toMatch(/not a TensorFlow\.js model/);
    await dropFiles(page, [{ name: 'notes.png', text: 'png' }]);
    await expect.poll(() => page.getByTestId('drop-error').textContent()).toMatch(/neither a TensorFlow\.js model file/);
    expect(await page.getByTestId('accuracy').textContent()).toMatch(/%/);
    await page.screenshot({ path: `${ARTIFACTS}/e2e-c-bad-file.png`, fullPage: true });
    await page.click('[data-step=report]');
    expect(await page.locator('[data-testid=report-table] tr[data-method=deepfaith-explainer]').count()).toBe(1);
  });

  it('a CSV with a bad cell and one with the wrong width each name file, row/column and the fix; earlier results remain', async () => {
    await page.click('[data-step=task]');
    const model = [
      { url: '/demos/iris/model/model.json', name: 'model.json' },
      { url: '/demos/iris/model/weights.bin', name: 'weights.bin' },
    ];
    await dropFiles(page, [...model, { name: 'bad-cell.csv', text: 'a,b,c,d,label\n1,2,3,4,0\n5,oops,7,8,1\n' }]);
    await expect.poll(() => page.getByTestId('task-error').textContent(), { timeout: 30_000 }).toMatch(/bad-cell\.csv, row 1 \(line 3\), column "b": "oops" is not a number/);
    expect(await page.getByTestId('task-error').textContent()).toMatch(/encode text columns as numbers, or drop the column/);
    expect(await page.getByTestId('accuracy').textContent()).toMatch(/%/);
    await dropFiles(page, [...model, { name: 'narrow.csv', text: 'a,b,c,label\n1,2,3,0\n4,5,6,1\n' }]);
    await expect.poll(() => page.getByTestId('task-error').textContent(), { timeout: 30_000 }).toMatch(/expects 4 features but narrow\.csv has 3 feature columns \(a, b, c; label "label"\)/);
    expect(await page.getByTestId('task-error').textContent()).toMatch(/Choose the data the model was trained on/);
    expect(await page.getByTestId('staged').textContent()).toMatch(/^These files could not be loaded \(see the problem below\)\./);
    expect(await page.getByTestId('staged').textContent()).not.toMatch(/All files present/);
    expect(await page.getByTestId('accuracy').textContent()).toMatch(/%/);
    await page.screenshot({ path: `${ARTIFACTS}/e2e-c-bad-csv.png`, fullPage: true });
    await page.click('[data-step=report]');
    expect(await page.locator('[data-testid=report-table] tr[data-method=deepfaith-explainer]').count()).toBe(1);
  });

  it('(e) reload restores the last results', async () => {
    // "Copy link" left the job in the address bar (opening a link applies its job): reload the plain page
    await page.evaluate(() => history.replaceState(null, '', location.pathname));
    await page.reload();
    await page.getByTestId('restored').waitFor({ timeout: 60_000 });
    await page.click('[data-step=evaluate]');
    await page.getByTestId('results-table').waitFor({ timeout: 30_000 });
    await page.click('[data-step=report]');
    const table = page.getByTestId('report-table');
    await table.waitFor({ timeout: 30_000 });
    expect(await table.locator('tr[data-method=deepfaith-explainer]').count()).toBe(1);
    expect(await table.locator('thead th.metric-col').count()).toBe(10);
    await page.screenshot({ path: `${ARTIFACTS}/e2e-e-restored.png`, fullPage: true });
    // the restored explainer is back in the worker: it explains a row it never saw in this session
    await page.click('[data-step=explain]');
    await page.fill('[data-testid=explain-any-row]', '120');
    await page.click('[data-testid=explain-any-run]');
    const bars = page.locator('[data-testid=explain-any-plot] svg');
    await bars.waitFor({ timeout: 30_000 });
    expect(await bars.getAttribute('aria-label')).toContain('row 120');
  });
});

describe('changing the row count', () => {
  it('explaining a new N clears the old table and the Evaluate panel offers the re-run with N rows; one click gives an N-row table', async () => {
    const page = await (await studio.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await open(page);
    await page.click('[data-demo=iris]');
    await expect.poll(() => page.getByTestId('accuracy').textContent(), { timeout: 60_000 }).toMatch(/%/);
    await page.evaluate(() => {
      const st = (window as any).__studio.getState();
      st.methods.forEach((m: any) => st.setMethod(m.id, { enabled: ['saliency', 'occlusion'].includes(m.id) }));
      st.metrics.forEach((m: any) => st.setMetric(m.id, { enabled: ['RP', 'DEL'].includes(m.id) }));
    });
    await page.click('[data-step=explain]');
    await page.fill('[data-testid=rows-count]', '4');
    await page.click('[data-testid=run-explain]');
    await page.locator('[data-testid=bars-grid] svg').first().waitFor({ timeout: 60_000 });
    await page.click('[data-step=evaluate]');
    await page.click('[data-testid=run-evaluate]');
    await page.getByTestId('results-table').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('stale').count()).toBe(0);
    const evalRows = () => page.evaluate(() => (window as any).__studio.getState().evaluation?.rows.length ?? null);
    expect(await evalRows()).toBe(4);
    // a new N typed but not explained yet: Evaluate says the explanations are for the old N
    await page.click('[data-step=explain]');
    await page.fill('[data-testid=rows-count]', '7');
    await page.click('[data-step=evaluate]');
    await expect.poll(() => page.getByTestId('stale').textContent()).toMatch(/row count is now 7, but the explanations .* cover 4 rows/);
    // explain the new N: the 4-row table is gone and the panel asks for Evaluate on 7 rows
    await page.click('[data-step=explain]');
    await page.click('[data-testid=run-explain]');
    await page.click('[data-step=evaluate]');
    await expect.poll(() => page.getByTestId('stale').textContent(), { timeout: 60_000 }).toMatch(/re-run on 7 rows, so the table for 4 rows was cleared/);
    expect(await page.getByTestId('results-table').count()).toBe(0);
    expect(await page.getByTestId('rerun-stale').textContent()).toBe('Evaluate 7 rows again');
    await page.screenshot({ path: `${ARTIFACTS}/e2e-stale-evaluate.png` });
    await page.click('[data-testid=rerun-stale]');
    await page.getByTestId('results-table').waitFor({ timeout: 60_000 });
    expect(await evalRows()).toBe(7);
    expect(await page.getByTestId('stale').count()).toBe(0);
    await page.context().close();
  });
});

describe('dropped files', () => {
  it('(b) a model folder and a CSV dropped through a real drop event load and show the accuracy', async () => {
    const page = await (await studio.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await open(page);
    await dropFiles(page, [
      { url: '/demos/iris/model/model.json', name: 'model.json' },
      { url: '/demos/iris/model/weights.bin', name: 'weights.bin' },
    ]);
    await expect.poll(() => page.getByTestId('staged').textContent()).toMatch(/^Still needed: a \.csv data file\./);
    await dropFiles(page, [{ url: '/demos/iris/data.csv', name: 'data.csv' }]);
    await expect.poll(() => page.getByTestId('accuracy').textContent(), { timeout: 60_000 }).toMatch(/%/);
    const acc = Number((await page.getByTestId('accuracy').textContent())!.replace('%', ''));
    expect(acc).toBeGreaterThan(80);
    expect(await page.getByTestId('n-rows').textContent()).toBe('150');
    // the label column can be chosen from the CSV's columns even though "label" was recognised
    const options = await page.locator('[data-testid=label-pick] option').allTextContents();
    const header = (await (await fetch(studio.url + 'demos/iris/data.csv')).text()).split('\n')[0].split(',');
    expect(options).toEqual(header);
    expect(await page.locator('[data-testid=label-pick]').inputValue()).toBe(header[header.length - 1]);
    await page.screenshot({ path: `${ARTIFACTS}/e2e-b-dropped.png` });
    await page.context().close();
  });
});

describe('webgpu', () => {
  /** A few training steps through the store on one backend; returns the steps' losses. */
  async function trainSteps(backend: string): Promise<{ lPC: number; lLC: number }[]> {
    const page = await (await studio.browser.newContext()).newPage();
    await open(page, `?backend=${backend}`);
    expect(await page.getByTestId('backend-chosen').textContent()).toContain(backend);
    const run = await trainTinyIris(page);
    await page.context().close();
    return run.steps;
  }

  it('(d) a few training steps on webgpu give finite losses equal to wasm within tolerance', async () => {
    const gpu = await trainSteps('webgpu');
    const wasm = await trainSteps('wasm');
    expect(gpu.length).toBeGreaterThan(0);
    expect(gpu.length).toBe(wasm.length);
    gpu.forEach((s, i) => {
      expect(Number.isFinite(s.lPC) && Number.isFinite(s.lLC)).toBe(true);
      expect(Math.abs(s.lPC - wasm[i].lPC)).toBeLessThan(2e-3);
      expect(Math.abs(s.lLC - wasm[i].lLC)).toBeLessThan(2e-3);
    });
  });
});

describe('keyboard', () => {
  it('Tab reaches the stepper, the demo picker and the run buttons; Enter activates them', async () => {
    const page = await (await studio.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await open(page);
    await tabTo(page, '[data-demo=iris]');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('accuracy').textContent(), { timeout: 60_000 }).toMatch(/%/);
    await tabTo(page, '[data-step=explain]');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('h2').first().textContent()).toContain('Explain');
    await page.fill('[data-testid=rows-count]', '3');
    await page.evaluate(() => (window as any).__studio.getState().methods.forEach((m: any) => (window as any).__studio.getState().setMethod(m.id, { enabled: m.id === 'saliency' })));
    await page.focus('[data-testid=rows-count]');
    await tabTo(page, '[data-testid=run-explain]');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid=bars-grid] svg').first().waitFor({ timeout: 60_000 });
    await tabTo(page, '[data-testid=next-step]');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('h2').first().textContent()).toContain('Evaluate');
    await tabTo(page, '[data-testid=run-evaluate]');
    await page.keyboard.press('Enter');
    await page.getByTestId('results-table').waitFor({ timeout: 120_000 });
    await page.context().close();
  });
});
