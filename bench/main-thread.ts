/**
 * P4 — the longest main-thread task while the studio works (goal < 100 ms): the built
 * studio (`npm run build` first) in Debian's Chromium, a demo explained, evaluated and trained for
 * --epochs epochs, with a PerformanceObserver of 'longtask' entries (tasks over 50 ms on the page's
 * main thread) installed before the page loads. Reports, per stage, the number of long tasks and the
 * longest, and the same for a page left idle as a reference, side by side in one run:
 *
 *   npx tsx bench/main-thread.ts [--demo wine] [--epochs 20] [--backends wasm,webgl]
 *
 * Results: bench/results/main-thread.json. All compute runs in the worker; what the main thread does
 * is React rendering, the d3 plots and the store — this measures that.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { launch, startServer } from '../e2e/harness';
import { openStudio } from '../e2e/page';

const { values } = parseArgs({ options: { demo: { type: 'string', default: 'wine' }, epochs: { type: 'string', default: '20' }, backends: { type: 'string', default: 'wasm,webgl' }, json: { type: 'string', default: 'bench/results/main-thread.json' } } });

interface Stage {
  stage: string;
  ms: number;
  longTasks: number;
  longestMs: number;
}

async function drain(page: Page): Promise<number[]> {
  return page.evaluate(() => {
    const w = window as unknown as { __long: number[] };
    const out = w.__long.slice();
    w.__long.length = 0;
    return out;
  });
}

/** Click a run button; say yes when the studio asks first (long work); wait until `done` shows. */
async function runAndWait(page: Page, button: string, done: string): Promise<void> {
  await page.click(button);
  const ask = page.getByTestId('confirm-run');
  for (;;) {
    if (await page.locator(done).first().isVisible()) return;
    if (await ask.isVisible()) await ask.getByRole('button').first().click();
    await page.waitForTimeout(100);
  }
}

async function stage(page: Page, name: string, run: () => Promise<void>): Promise<Stage> {
  await drain(page);
  const t0 = performance.now();
  await run();
  const ms = performance.now() - t0;
  const long = await drain(page);
  return { stage: name, ms: Math.round(ms), longTasks: long.length, longestMs: Math.round(Math.max(0, ...long)) };
}

async function main() {
  const server = await startServer();
  const browser = await launch();
  const results: { backend: string; stages: Stage[] }[] = [];
  try {
    for (const backend of values.backends!.split(',')) {
      const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
      await page.addInitScript(() => {
        const w = window as unknown as { __long: number[] };
        w.__long = [];
        new PerformanceObserver((list) => list.getEntries().forEach((e) => w.__long.push(e.duration))).observe({ type: 'longtask', buffered: true });
      });
      await openStudio(page, server.url, `?backend=${backend}`);
      const stages: Stage[] = [];
      stages.push(await stage(page, 'idle 3 s (reference)', () => page.waitForTimeout(3000)));
      stages.push(
        await stage(page, `load ${values.demo}`, async () => {
          await page.click(`[data-demo=${values.demo}]`);
          await page.getByTestId('accuracy').waitFor({ timeout: 60_000 });
        }),
      );
      stages.push(
        await stage(page, 'explain (paper methods, all rows)', async () => {
          await page.click('[data-step=explain]');
          await runAndWait(page, '[data-testid=run-explain]', '[data-testid=bars-grid] svg');
        }),
      );
      stages.push(
        await stage(page, 'evaluate (ten metrics)', async () => {
          await page.click('[data-step=evaluate]');
          await runAndWait(page, '[data-testid=run-evaluate]', '[data-testid=results-table]');
        }),
      );
      stages.push(
        await stage(page, `train ${values.epochs} epochs (live curves)`, async () => {
          await page.click('[data-step=train]');
          await page.fill('[data-testid=train-epochs]', values.epochs!);
          await page.click('[data-testid=train-start]');
          await page.waitForFunction(() => document.querySelector('[data-testid=train-status]')?.textContent?.startsWith('done') && !document.querySelector('[data-testid=progress]'), null, { timeout: 900_000 });
        }),
      );
      const chosen = (await page.getByTestId('backend-chosen').textContent())?.trim() ?? backend;
      results.push({ backend: chosen, stages });
      await page.context().close();
    }
  } finally {
    await browser.close();
    server.proc.kill();
  }
  console.log(`Longest main-thread task (ms) and long tasks (> 50 ms), ${values.demo}, ${values.epochs} epochs:`);
  const names = results[0]?.stages.map((s) => s.stage) ?? [];
  console.log(['stage', ...results.map((r) => r.backend)].join(' | '));
  for (const n of names) console.log([n, ...results.map((r) => { const s = r.stages.find((x) => x.stage === n)!; return `${s.longestMs} ms (${s.longTasks} long, ${(s.ms / 1000).toFixed(1)} s)`; })].join(' | '));
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(values.json!, JSON.stringify({ date: new Date().toISOString(), demo: values.demo, epochs: Number(values.epochs), results }, null, 1) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
