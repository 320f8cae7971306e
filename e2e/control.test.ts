/**
 * Runs that stop when asked, one task at a time, and the studio details of the one-pipeline work:
 * pause stops the step counter and resume continues from the same step; cancel ends training and an
 * Explain of 200,000 rows within a second, leaving no half table; loading another task during a
 * run is refused with the reason; the guided walk performs each step; the inspector lists every
 * metric and plays correlation metrics step by step; the backend note closes on an outside click;
 * the signed head chosen in the Train panel reaches the engine and the Report.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { breakEvenCell, frontierVerdict } from '../src/core/job/markdown';
import type { FrontierPoint } from '../src/core/job/frontier';
import {ARTIFACTS, useStudio } from './harness';
import { dropFiles, openStudio } from './page';

const studio = useStudio();

async function newPage(): Promise<Page> {
  const page = await (await studio.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await openStudio(page, studio.url, '?backend=wasm');
  return page;
}

const state = (page: Page, expr: string) => page.evaluate((e) => new Function('s', `return ${e}`)((window as any).__studio.getState()), expr);

describe('stop means stop', () => {
  it('pause stops the step counter, resume continues from the same step, cancel ends training within 1 s', async () => {
    const page = await newPage();
    await page.click('[data-demo=iris]');
    await page.getByTestId('accuracy').waitFor();
    await page.click('[data-step=explain]');
    await page.click('[data-testid=run-explain]');
    await page.locator('[data-testid=bars-grid] svg').first().waitFor({ timeout: 120_000 });
    await page.click('[data-step=evaluate]');
    await page.click('[data-testid=run-evaluate]');
    await page.getByTestId('results-table').waitFor({ timeout: 120_000 });
    await page.click('[data-step=train]');
    await page.fill('[data-testid=train-epochs]', '5000');
    await page.fill('[data-testid=train-dModel]', '8');
    await page.fill('[data-testid=train-nHeads]', '2');
    await page.fill('[data-testid=train-nLayers]', '1');
    await page.fill('[data-testid=train-dFF]', '16');
    await page.click('[data-testid=train-start]');
    await page.waitForFunction(() => (window as any).__studio.getState().trainSteps.length > 5, null, { timeout: 60_000 });
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.waitForTimeout(400); // steps computed before the pause arrive
    const atPause = (await state(page, 's.trainSteps.length')) as number;
    await page.waitForTimeout(1500);
    expect(await state(page, 's.trainSteps.length')).toBe(atPause);
    expect(await page.getByTestId('train-status').textContent()).toMatch(/^paused/);
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.waitForFunction((n) => (window as any).__studio.getState().trainSteps.length > n + 3, atPause, { timeout: 30_000 });
    const indices = (await state(page, 's.trainSteps.map((t) => t.step)')) as number[];
    expect(indices).toEqual(indices.map((_, i) => i)); // no step lost or repeated across the pause
    const t0 = Date.now();
    await page.getByTestId('train-cancel').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=train-status]')?.textContent?.startsWith('cancelled'), null, { timeout: 5_000 });
    expect(Date.now() - t0).toBeLessThan(1000);
    const n = (await state(page, 's.trainSteps.length')) as number;
    await page.waitForTimeout(800);
    expect(await state(page, 's.trainSteps.length')).toBe(n);
    expect(await state(page, 's.report')).toBeNull(); // no half report
    await page.screenshot({ path: `${ARTIFACTS}/e2e-train-cancelled.png`, fullPage: true });
  });

  it('cancel ends an Explain of 200,000 rows within 1 s and leaves no half table; loading another task meanwhile is refused', async () => {
    const page = await newPage();
    const rows = ['a,b,c,d,label'];
    for (let i = 0; i < 200_000; i++) rows.push(`${(4 + (i % 40) / 10).toFixed(1)},${(2 + (i % 23) / 10).toFixed(1)},${(1 + (i % 60) / 10).toFixed(1)},${((i % 25) / 10).toFixed(1)},${i % 3}`);
    await dropFiles(page, [
      { url: '/demos/iris/model/model.json', name: 'model.json' },
      { url: '/demos/iris/model/weights.bin', name: 'weights.bin' },
      { name: 'big.csv', text: rows.join('\n') },
    ]);
    await expect.poll(() => page.getByTestId('n-rows').textContent(), { timeout: 120_000 }).toBe('200000');
    await page.click('[data-step=explain]');
    await page.fill('[data-testid=rows-count]', '200000');
    // the estimate uses the model's speed measured at load (about a microsecond a row here); as if it were 0.1 ms:
    await page.evaluate(() => (window as any).__studio.setState({ info: { ...(window as any).__studio.getState().info, msPerModelRow: 0.1 } }));
    await page.click('[data-testid=run-explain]');
    // work estimated at more than a minute asks first
    await page.getByTestId('confirm-run').waitFor();
    expect(await page.getByTestId('confirm-run').textContent()).toMatch(/This sends about [\d,]+ rows through the model: about \d+ min/);
    await page.getByTestId('confirm-start').click();
    await page.waitForFunction(() => /explain/.test((window as any).__studio.getState().busy?.stage ?? ''), null, { timeout: 60_000 });
    // another task cannot be loaded while the job runs: the demos are disabled with the reason shown
    await page.click('[data-step=task]');
    expect(await page.locator('[data-demo=wine]').isDisabled()).toBe(true);
    expect(await page.getByTestId('load-locked').textContent()).toMatch(/Explaining is running on the current task/);
    const t0 = Date.now();
    await page.getByTestId('progress').getByRole('button', { name: 'Cancel' }).click();
    await page.waitForFunction(() => (window as any).__studio.getState().busy === null, null, { timeout: 5_000 });
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await state(page, 's.attribution')).toBeNull();
    expect(await page.getByTestId('notice').textContent()).toMatch(/Explaining was cancelled; the results on screen are unchanged/);
    expect(await page.locator('[data-demo=wine]').isDisabled()).toBe(false);
  });
});

describe('studio details', () => {
  it('the guided walk performs each step on Next and never covers the panel\'s controls; the Report shows the ceilings and the cost–faithfulness frontier', async () => {
    const page = await newPage();
    await page.getByTestId('tour-start').click();
    await page.getByTestId('accuracy').waitFor({ timeout: 60_000 });
    const next = async () => {
      await page.getByTestId('tour-next').click();
      await page.waitForFunction(() => (window as any).__studio.getState().busy === null, null, { timeout: 180_000 });
    };
    await next(); // explain
    await page.locator('[data-testid=bars-grid] svg').first().waitFor({ timeout: 60_000 });
    const tour = (await page.getByTestId('tour').boundingBox())!;
    const run = (await page.getByTestId('run-explain').boundingBox())!;
    expect(tour.y + tour.height <= run.y || run.y + run.height <= tour.y || tour.x + tour.width <= run.x || run.x + run.width <= tour.x).toBe(true);
    await next(); // evaluate
    await page.getByTestId('results-table').waitFor();
    await next(); // supervise
    await next(); // train
    await page.waitForFunction(() => document.querySelector('[data-testid=train-status]')?.textContent?.startsWith('done'), null, { timeout: 180_000 });
    await next(); // report
    await page.getByTestId('report-table').locator('tr[data-method=deepfaith-explainer]').waitFor();
    // the ceilings are shown as diagnostics beside the ranked methods
    expect(await page.getByTestId('report-table').locator('tr.diagnostic-row').count()).toBe(3);
    const report = await page.evaluate(() => (window as any).__studio.getState().report);
    // the reachable L_LC (non-negative fit on fresh subsets) is shown with the explainer's distance to it
    const l = report.ceilings.lossLC;
    const pct = (100 * (l.explainer - l.reachable)) / l.reachable;
    expect(await page.getByTestId('lc-reachable').textContent()).toContain(`${l.reachable.toFixed(4)} (${Math.abs(pct).toFixed(1)} % ${pct < 0 ? 'below' : 'above'})`);
    // and the same comparison on the fresh subsets, the optimum fitted to them
    const pctFit = (100 * (l.onFit.explainer - l.onFit.optimum)) / l.onFit.optimum;
    expect(await page.getByTestId('lc-on-fit').textContent()).toContain(`on the ${l.fitSubsets.toLocaleString('en-US')} fresh subsets, with the optimum fitted to them, ${l.onFit.explainer.toFixed(4)} against ${l.onFit.optimum.toFixed(4)} (${Math.abs(pctFit).toFixed(1)} % ${pctFit < 0 ? 'below' : 'above'})`);
    // how much of the ranking is the draw of test rows: the explainer's bootstrap interval and share of firsts
    const ex = report.rankBootstrap.rows.find((r: { method: string }) => r.method === 'deepfaith');
    expect(report.rankBootstrap.resamples).toBe(1000);
    expect(await page.getByTestId('rank-bootstrap').textContent()).toContain(`the explainer ${ex.lo.toFixed(2)}–${ex.hi.toFixed(2)}, first alone in ${(100 * ex.pBest).toFixed(1)} % of them and first or tied in ${(100 * ex.pBestOrTied).toFixed(1)} %`);
    // the cost–faithfulness frontier renders: four budgets of each budgeted prior and the explainer
    await page.getByTestId('run-frontier').click();
    await page.getByTestId('frontier-plot').locator('svg').waitFor({ timeout: 120_000 });
    expect(await page.getByTestId('frontier-table').locator('tbody tr').count()).toBe(4 * 4 + 1); // IG, GradientSHAP, LIME, Kernel SHAP × 4, + the explainer
    expect(await page.getByTestId('frontier-summary').textContent()).toMatch(/Building the explainer took about/);
    // each break-even cell: the rows, or why there are none (less faithful, or not measurably slower per row)
    const frontier = await page.evaluate(() => (window as any).__studio.getState().frontier);
    const cells = await page.getByTestId('frontier-table').locator('tbody tr td:nth-child(5)').allTextContents();
    expect(cells).toEqual([...frontier.points.map((p: FrontierPoint) => breakEvenCell(p, frontier)), '–']);
    expect(await page.getByTestId('frontier-summary').textContent()).toContain(frontierVerdict(frontier));
    await page.screenshot({ path: `${ARTIFACTS}/e2e-walk-report.png`, fullPage: true });

    // the inspector offers every scored metric (RP included) and plays FC step by step
    await page.click('[data-step=evaluate]');
    const options = await page.locator('[data-testid=insp-metric] option').allTextContents();
    expect([...options].sort()).toEqual(['DEL', 'FC', 'FE', 'INF', 'INS', 'IROF', 'MC', 'NEG', 'POS', 'RP']);
    await page.selectOption('[data-testid=insp-metric]', 'FC');
    await page.getByTestId('insp-play').click();
    await expect.poll(() => page.getByTestId('insp-step').textContent(), { timeout: 5_000 }).toMatch(/^random subset [2-9]/);
    await page.selectOption('[data-testid=insp-metric]', 'RP');
    await expect.poll(() => page.getByTestId('insp-value').textContent(), { timeout: 10_000 }).toMatch(/\d/);
    expect(await page.getByTestId('insp-value').textContent()).toBe(await page.getByTestId('insp-stored').textContent());

    // the Evaluate table fits at 1280 px
    const width = await page.evaluate(() => document.querySelector('[data-testid=results-table]')!.getBoundingClientRect().right);
    expect(width).toBeLessThanOrEqual(1280);

    // the backend note closes on an outside click
    await page.locator('.backend-detail summary').click();
    expect(await page.locator('.backend-detail').getAttribute('open')).not.toBeNull();
    await page.locator('h1').click();
    expect(await page.locator('.backend-detail').getAttribute('open')).toBeNull();
  });

  it('the signed head and synthetic rows chosen in the Train panel: the explainer trains with them, draws its watched row normalised, and the Report names its ceiling; the sign class frame is refused on three classes, the classes frame trains, and so do Shapley-kernel L_LC subsets', async () => {
    const page = await newPage();
    await page.evaluate(async () => {
      const st = () => (window as any).__studio.getState();
      await st().loadDemo('iris');
      for (const m of st().methods) st().setMethod(m.id, { enabled: ['saliency', 'integrated-gradients', 'occlusion'].includes(m.id) });
      st().setRows({ start: 0, count: 30 });
      await st().runExplain();
      await st().runEvaluate();
      st().setTraining({ epochs: 3, lcSubsets: 16 });
      st().setExplainerArch({ dModel: 8, nHeads: 2, nLayers: 1, dFF: 16 });
    });
    await page.click('[data-step=train]');
    await page.click('[data-testid=train-more] summary');
    await page.selectOption('[data-testid=train-head]', 'signed');
    // synthetic L_LC rows, typed into their inputs, reach the job the engine trains
    await page.fill('[data-testid=train-lcAugment]', '2');
    await page.fill('[data-testid=train-lcJitter]', '0.4');
    await page.click('[data-testid=train-start]');
    await page.waitForFunction(() => document.querySelector('[data-testid=train-status]')?.textContent?.startsWith('done'), null, { timeout: 120_000 });
    expect(await state(page, 's.exportJob().explainer.head')).toBe('signed');
    expect(await state(page, '[s.report.job.training.lcAugment, s.report.job.training.lcJitter]')).toEqual([2, 0.4]);
    const watched = (await state(page, 'Array.from(s.watchSaliency)')) as number[];
    expect([Math.min(...watched), Math.max(...watched)]).toEqual([0, 1]);
    await page.click('[data-step=report]');
    const l = (await state(page, 's.report.ceilings.lossLC')) as { explainer: number; outOfSample: number };
    const pct = (100 * (l.explainer - l.outOfSample)) / l.outOfSample;
    expect(await page.getByTestId('lc-out-of-sample').textContent()).toContain(`its ceiling is the out-of-sample optimum’s ${l.outOfSample.toFixed(4)} (${Math.abs(pct).toFixed(1)} % ${pct < 0 ? 'below' : 'above'})`);
    // the class frame on a three-class task: refused by name in the Train panel before training, the report kept
    await page.click('[data-step=train]');
    if ((await page.locator('[data-testid=train-more]').getAttribute('open')) === null) await page.click('[data-testid=train-more] summary');
    await page.selectOption('[data-testid=train-classFrame]', 'sign');
    await page.click('[data-testid=train-start]');
    await page.getByTestId('train-error').waitFor({ timeout: 60_000 });
    expect(await page.getByTestId('train-error').textContent()).toMatch(/class frame "sign" .*this task has 3 classes.*Set explainer\.classFrame to "classes" \(any number of classes\) or "none" for this task\./);
    expect(await state(page, 's.report.ceilings.lossLC.explainer')).toBe(l.explainer);
    // the frame for any number of classes trains on the same task: one explanation per class, the watched row drawn normalised
    await page.selectOption('[data-testid=train-classFrame]', 'classes');
    await page.click('[data-testid=train-start]');
    await page.waitForFunction(() => document.querySelector('[data-testid=train-status]')?.textContent?.startsWith('done'), null, { timeout: 120_000 });
    expect(await state(page, 's.report.job.explainer.classFrame')).toBe('classes');
    const framed = (await state(page, 'Array.from(s.watchSaliency)')) as number[];
    expect([Math.min(...framed), Math.max(...framed)]).toEqual([0, 1]);
    expect(await page.getByTestId('train-error').count()).toBe(0);
    // L_LC subsets from the Shapley kernel, chosen in the panel, reach the job the engine trains
    await page.selectOption('[data-testid=train-lcSampling]', 'shapley');
    await page.click('[data-testid=train-start]');
    await page.waitForFunction(() => (window as any).__studio.getState().report?.job.training.lcSampling === 'shapley', null, { timeout: 120_000 });
    expect(await page.locator('[data-testid=train-lcSampling] option:checked').textContent()).toBe('Shapley-kernel pairs');
    await page.screenshot({ path: `${ARTIFACTS}/e2e-train-shapley.png`, fullPage: true });
    expect(await page.getByTestId('train-error').count()).toBe(0);
  });
});
