/**
 * Supervision sharded elsewhere opens in the studio: two `deepfaith supervise --shard i/2`
 * processes and `deepfaith merge` write prepared.json; "Open merged results…" loads its job's demo,
 * applies its settings and shows its scores as the Evaluate table (cell = the file's per-row mean),
 * ready for Train; a file that is not one, or one made on other rows, is refused by name and the
 * loaded results stay.
 */
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, launch, startServer } from './harness';
import { openStudio } from './page';

let browser: Browser;
let server: { url: string; proc: ChildProcess };
let dir: string;

beforeAll(async () => {
  server = await startServer();
  browser = await launch();
  dir = mkdtempSync(join(tmpdir(), 'df-prepared-'));
});
afterAll(async () => {
  await browser?.close();
  server?.proc.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe('merged supervision in the studio', () => {
  it('opens a deepfaith merge file as the Evaluate table of its job; a wrong file is refused and the table stays', async () => {
    const job = { task: { demo: 'iris', maxRows: 24, baseline: 'mean' }, methods: [{ id: 'saliency' }, { id: 'occlusion' }, { id: 'feature-ablation' }], metrics: [{ id: 'FC' }, { id: 'DEL' }, { id: 'INS' }], seed: 2 };
    const jobPath = join(dir, 'job.json');
    writeFileSync(jobPath, JSON.stringify(job));
    const exec = promisify(execFile);
    await Promise.all([0, 1].map((i) => exec(process.execPath, ['bin/deepfaith.mjs', 'supervise', jobPath, '--shard', `${i}/2`, '--out', join(dir, 'shards') + '/'])));
    const merged = join(dir, 'prepared.json');
    await exec(process.execPath, ['bin/deepfaith.mjs', 'merge', join(dir, 'shards'), '--out', merged]);
    const cache = JSON.parse(readFileSync(merged, 'utf8'));

    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await openStudio(page, server.url, '?backend=wasm');
    await page.setInputFiles('[data-testid=import-prepared]', merged);
    await page.click('[data-step=evaluate]');
    await page.getByTestId('results-table').waitFor({ timeout: 60_000 });
    const rows = page.locator('[data-testid=results-table] tbody tr');
    expect(await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-method')))).toEqual(cache.ranIds);
    // each cell is the file's mean over the rows (no NaN in these metrics)
    for (const [j, id] of (cache.ranIds as string[]).entries())
      for (const [k, m] of (cache.scores.metricIds as string[]).entries()) {
        const v = cache.scores.perSample[j][k] as number[];
        const mean = v.reduce((a, b) => a + b, 0) / v.length;
        const shown = Number((await page.locator(`[data-testid=results-table] tr[data-method="${id}"] td[data-metric="${m}"]`).textContent())!.trim().split(/\s/)[0]);
        expect(Math.abs(shown - mean), `${id} ${m}`).toBeLessThan(6e-4);
      }
    expect(await page.evaluate(() => (window as any).__studio.getState().seed)).toBe(2);
    await page.screenshot({ path: `${ARTIFACTS}/e2e-prepared.png`, fullPage: true });
    // a job file is not a merged file: refused by name, the table stays
    await page.click('[data-step=task]');
    await page.setInputFiles('[data-testid=import-prepared]', jobPath);
    await expect.poll(() => page.getByTestId('task-error').textContent()).toMatch(/job\.json: it is not a merged prepared-job file/);
    await page.click('[data-step=evaluate]');
    expect(await rows.count()).toBe(cache.ranIds.length);
    // the same job's file made on other rows (its fingerprint is not the loaded rows'): refused by the engine, the table stays
    const otherRows = join(dir, 'other-rows.json');
    writeFileSync(otherRows, JSON.stringify({ ...cache, fingerprint: { ...cache.fingerprint, data: '0'.repeat(64) } }));
    await page.click('[data-step=task]');
    await page.setInputFiles('[data-testid=import-prepared]', otherRows);
    await expect.poll(() => page.getByTestId('task-error').textContent()).toMatch(/The cached priors were computed on other data rows than the job's rows loaded now/);
    await page.getByTestId('task-error').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${ARTIFACTS}/e2e-prepared-other-rows.png` });
    await page.click('[data-step=evaluate]');
    expect(await rows.count()).toBe(cache.ranIds.length);
  }, 180_000);
});
