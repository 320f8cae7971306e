/**
 * Closed doors: the built studio (vite preview on dist/) and the dev server run under a strict
 * Content-Security-Policy, reach no origin but their own (page and compute worker), and the
 * studio keeps working with the network off once it has what it needs (docs/studio.md,
 * "Content-Security-Policy and offline").
 *
 * CSP violations are collected from four places: a `securitypolicyviolation` listener the init
 * script puts on every document, the page's console, the worker's console, and the page's
 * DevTools log (Log.entryAdded over CDP). The last one is needed for the worker: Playwright's
 * console events leave out the messages the browser itself logs for a dedicated worker, and a
 * CSP violation in the worker is such a message. A control at the end of the first test makes
 * one violation on purpose in the page and one in the worker and checks that both are caught.
 */
import type { ChildProcess } from 'node:child_process';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, startDevServer, startServer } from './harness';

/** The policy, spelled out here on purpose (not imported from vite.config.ts). */
const POLICY = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; connect-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'";

let browser: Browser;
beforeAll(async () => {
  browser = await launch();
});
afterAll(async () => {
  await browser?.close();
});

interface Watch {
  /** "where: message" for every CSP violation seen outside the page's own listener */
  violations: string[];
  /** every request made by the pages and workers of the context */
  requests: string[];
  /** network requests (not data:/blob:) whose origin is not the studio's */
  foreign: string[];
  failed: string[];
  responses: Response[];
}

const isNetwork = (url: string) => /^(https?|wss?):/.test(url);

async function watch(context: BrowserContext, origin: string): Promise<Watch> {
  const w: Watch = { violations: [], requests: [], foreign: [], failed: [], responses: [] };
  await context.addInitScript(() => {
    const list: string[] = [];
    (window as unknown as { __csp: string[] }).__csp = list;
    document.addEventListener('securitypolicyviolation', (e) => list.push(`${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`), true);
  });
  context.on('request', (r) => {
    w.requests.push(r.url());
    if (isNetwork(r.url()) && new URL(r.url()).origin !== origin) w.foreign.push(r.url());
  });
  context.on('requestfailed', (r) => w.failed.push(`${r.url()} (${r.failure()?.errorText})`));
  context.on('response', (r) => w.responses.push(r));
  return w;
}

const CSP_TEXT = /Content.Security.Policy|unsafe-eval/i;

async function watchedPage(context: BrowserContext, w: Watch): Promise<Page> {
  const page = await context.newPage();
  const note = (where: string, text: string) => {
    if (CSP_TEXT.test(text)) w.violations.push(`${where}: ${text}`);
  };
  page.on('console', (m) => note('page console', m.text()));
  page.on('pageerror', (e) => note('page error', String(e)));
  page.on('worker', (worker) => worker.on('console', (m) => note(`worker console (${worker.url()})`, m.text())));
  const cdp = await context.newCDPSession(page);
  cdp.on('Log.entryAdded', ({ entry }) => note(`log (${entry.source})`, entry.text));
  await cdp.send('Log.enable');
  return page;
}

const pageViolations = (page: Page) => page.evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? []);

/** Opens the studio and waits for the worker's backend; a backend that never comes up fails with the violations seen. */
async function open(page: Page, url: string, w: Watch): Promise<Response> {
  const response = (await page.goto(url))!;
  try {
    await page.getByTestId('backend-chosen').filter({ hasText: 'using' }).waitFor({ timeout: 60_000 });
  } catch (e) {
    throw new Error(`${(e as Error).message}\nCSP violations so far:\n${[...w.violations, ...(await pageViolations(page))].join('\n') || '(none)'}`);
  }
  return response;
}

async function loadIris(page: Page): Promise<void> {
  await page.click('[data-step=task]');
  await page.click('[data-demo=iris]');
  await expect.poll(() => page.getByTestId('accuracy').textContent(), { timeout: 60_000 }).toMatch(/%/);
}

/** Clicks something that downloads a file; a download that never starts fails with the violations seen. */
async function download(page: Page, click: () => Promise<void>, w: Watch): Promise<string> {
  try {
    const [d] = await Promise.all([page.waitForEvent('download', { timeout: 20_000 }), click()]);
    return d.suggestedFilename();
  } catch (e) {
    throw new Error(`${(e as Error).message}\nCSP violations so far:\n${[...w.violations, ...(await pageViolations(page))].join('\n') || '(none)'}`);
  }
}

/** Explain (a PNG download of a bar chart: the blob: <img>), Evaluate, train one epoch, Report (a JSON download). */
async function runFlow(page: Page, w: Watch): Promise<void> {
  await page.click('[data-step=explain]');
  await page.fill('[data-testid=rows-count]', '4');
  await page.click('[data-testid=run-explain]');
  const firstPlot = page.locator('[data-testid=bars-grid] figure.plot').first();
  await firstPlot.locator('svg').waitFor({ timeout: 60_000 });
  expect(await download(page, () => firstPlot.getByRole('button', { name: 'PNG' }).click(), w)).toMatch(/\.png$/);
  await page.click('[data-step=evaluate]');
  await page.click('[data-testid=run-evaluate]');
  await page.getByTestId('results-table').waitFor({ timeout: 120_000 });
  expect(await page.locator('[data-testid=results-table] tbody tr').count()).toBeGreaterThanOrEqual(2);
  await page.click('[data-step=train]');
  await page.fill('[data-testid=train-epochs]', '1');
  await page.click('[data-testid=train-start]');
  await page.waitForFunction(() => document.querySelector('[data-testid=train-status]')?.textContent?.startsWith('done') && !document.querySelector('[data-testid=progress]'), null, { timeout: 120_000 });
  expect(await page.locator('[data-testid=train-curves] .series[data-key="α"] circle.pt').count()).toBeGreaterThan(0);
  await page.click('[data-step=report]');
  await page.getByRole('heading', { name: 'Final table' }).waitFor();
  expect(await download(page, () => page.getByRole('button', { name: 'Download results JSON' }).click(), w)).toBe('results.json');
}

describe('built studio (vite preview) under its Content-Security-Policy', () => {
  let server: { url: string; proc: ChildProcess };
  let origin: string;
  beforeAll(async () => {
    server = await startServer();
    origin = new URL(server.url).origin;
  });
  afterAll(() => {
    server?.proc.kill();
  });

  it('sends the policy as a header (page and worker script) and as a <meta>; the whole flow runs with no violation and no request off the origin', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const w = await watch(context, origin);
    const page = await watchedPage(context, w);
    const doc = await open(page, server.url, w);
    expect((await doc.allHeaders())['content-security-policy']).toBe(POLICY);
    expect(await page.locator('meta[http-equiv=Content-Security-Policy]').getAttribute('content')).toBe(POLICY);
    const workerScript = w.responses.find((r) => /\/assets\/compute\.worker-[\w-]+\.js$/.test(r.url()));
    expect(workerScript, 'the compute worker script was requested').toBeDefined();
    expect((await workerScript!.allHeaders())['content-security-policy']).toBe(POLICY);

    await loadIris(page);
    await runFlow(page, w);

    expect(w.violations).toEqual([]);
    expect(await pageViolations(page)).toEqual([]);
    expect(w.foreign).toEqual([]);
    expect(w.failed).toEqual([]);
    // the worker's own requests are among those seen: the wasm binary and the demo files it fetches
    const paths = w.requests.filter(isNetwork).map((u) => new URL(u).pathname);
    expect(paths.some((p) => /^\/assets\/tfjs-backend-wasm[\w-]*\.wasm$/.test(p))).toBe(true);
    expect(paths).toEqual(expect.arrayContaining(['/demos/iris/model/model.json', '/demos/iris/model/weights.bin', '/demos/iris/data.csv']));

    // control: a violation made on purpose in the page and one in the worker are both caught
    const worker = page.workers()[0];
    await page.evaluate(() => fetch('http://127.0.0.2:9/page-control').catch(() => null));
    await worker.evaluate(() => fetch('http://127.0.0.2:9/worker-control').catch(() => null));
    await expect.poll(() => w.violations.some((v) => v.startsWith('log (worker)') && v.includes('worker-control'))).toBe(true);
    await expect.poll(async () => (await pageViolations(page)).some((v) => v.startsWith('connect-src blocked http://127.0.0.2:9/page-control'))).toBe(true);
    expect(w.violations.some((v) => v.startsWith('page console') && v.includes('page-control'))).toBe(true);
    await context.close();
  });

  it('webgl and webgpu backends run the Iris model under the policy (no eval, no violation)', async () => {
    for (const backend of ['webgl', 'webgpu']) {
      const context = await browser.newContext();
      const w = await watch(context, origin);
      const page = await watchedPage(context, w);
      await open(page, `${server.url}?backend=${backend}`, w);
      expect(await page.getByTestId('backend-chosen').textContent()).toContain(backend);
      await loadIris(page);
      expect(w.violations, backend).toEqual([]);
      expect(await pageViolations(page), backend).toEqual([]);
      expect(w.foreign, backend).toEqual([]);
      await context.close();
    }
  });

  describe('offline after the first load', () => {
    let context: BrowserContext;
    let page: Page;
    let w: Watch;
    beforeAll(async () => {
      context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      w = await watch(context, origin);
      page = await watchedPage(context, w);
      await open(page, server.url, w); // page, worker and the wasm backend are loaded
    });
    afterAll(async () => {
      await context?.close();
    });

    it('the demos were fetched when the page loaded: with the network off, Iris loads without a request', async () => {
      await context.setOffline(true);
      const from = w.requests.length;
      await page.click('[data-demo=iris]');
      await page.getByTestId('accuracy').waitFor({ timeout: 30_000 });
      expect(w.requests.slice(from).filter(isNetwork)).toEqual([]);
      expect(w.violations).toEqual([]);
    });

    it('once Iris is loaded, Explain, Evaluate, Train and Report run with the network off: no request at all, no violation', async () => {
      await loadIris(page);
      const from = w.requests.length;
      const failedFrom = w.failed.length;
      await runFlow(page, w);
      expect(w.requests.slice(from).filter(isNetwork)).toEqual([]);
      expect(w.failed.slice(failedFrom)).toEqual([]);
      expect(w.violations).toEqual([]);
      expect(await pageViolations(page)).toEqual([]);
      expect(w.foreign).toEqual([]);
    });

    it('an image demo too: with the network off, digits (images and labels fetched when the page loaded) loads, explains and draws its heatmaps without a request', async () => {
      const from = w.requests.length;
      await page.click('[data-step=task]');
      await page.click('[data-demo=digits]');
      await expect.poll(() => page.getByTestId('n-rows').textContent(), { timeout: 60_000 }).toBe('1797');
      await page.click('[data-step=explain]');
      for (const box of await page.locator('[data-method-check]').all()) if ((await box.isChecked()) !== ((await box.getAttribute('data-method-check')) === 'saliency')) await box.click();
      await page.fill('[data-testid=rows-count]', '3');
      await page.click('[data-testid=run-explain]');
      await page.locator('[data-testid=heatmap-saliency] canvas[data-role=overlay]').waitFor({ timeout: 60_000 });
      expect(w.requests.slice(from).filter(isNetwork)).toEqual([]);
      expect(w.violations).toEqual([]);
      expect(await pageViolations(page)).toEqual([]);
    });

    it('the text demo too: with the network off, sentiment (its CSV, vocab.json and model fetched when the page loaded) loads, explains rows and a typed sentence, and draws their tokens without a request', async () => {
      const from = w.requests.length;
      await page.click('[data-step=task]');
      await page.click('[data-demo=sentiment]');
      await expect.poll(() => page.getByTestId('n-rows').textContent(), { timeout: 60_000 }).toBe('3000');
      await page.click('[data-step=explain]');
      for (const box of await page.locator('[data-method-check]').all()) if ((await box.isChecked()) !== ((await box.getAttribute('data-method-check')) === 'occlusion')) await box.click();
      await page.fill('[data-testid=rows-count]', '3');
      await page.click('[data-testid=run-explain]');
      await page.getByTestId('tokens-occlusion').waitFor({ timeout: 60_000 });
      await page.fill('[data-testid=sentence-input]', 'A wonderful little film.');
      await page.click('[data-testid=sentence-run]');
      await page.getByTestId('sentence-occlusion').waitFor({ timeout: 60_000 });
      expect(await page.getByTestId('sentence-occlusion').locator('.token').allTextContents()).toEqual(['a', 'wonderful', 'little', 'film']);
      expect(w.requests.slice(from).filter(isNetwork)).toEqual([]);
      expect(w.violations).toEqual([]);
      expect(await pageViolations(page)).toEqual([]);
    });
  });
});

describe('dev server (vite, as npm start runs it) under the policy', () => {
  let server: { url: string; proc: ChildProcess; log: string[] };
  beforeAll(async () => {
    server = await startDevServer();
  });
  afterAll(() => {
    server?.proc.kill();
  });

  it('sends the policy plus a per-start style nonce; no inline script; the HMR socket connects; Iris loads with no violation', async () => {
    const origin = new URL(server.url).origin;
    const context = await browser.newContext();
    const w = await watch(context, origin);
    const page = await watchedPage(context, w);
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    const viteConnected = page.waitForEvent('console', { predicate: (m) => m.text().includes('[vite] connected'), timeout: 60_000 });
    // The dev server reloads the page when it optimises a new dependency or a source file changes
    // under it: start again after such a reload.
    let loads = 0;
    page.on('load', () => loads++);
    let doc: Response | null = null;
    for (let attempt = 0; ; attempt++) {
      const before = loads;
      try {
        doc = await open(page, server.url, w);
        await loadIris(page);
        break;
      } catch (e) {
        if (attempt >= 2 || loads <= before + 1) throw new Error(`${(e as Error).message}\nvite said:\n${server.log.join('')}`);
      }
    }
    await viteConnected;
    const nonce = await page.evaluate(() => (document.querySelector('meta[property=csp-nonce]') as HTMLMetaElement | null)?.nonce ?? '');
    expect(nonce).toMatch(/^[A-Za-z0-9+/]{16,}={0,2}$/);
    expect((await doc!.allHeaders())['content-security-policy']).toBe(`${POLICY}; style-src 'self' 'nonce-${nonce}'`);
    // the dev worker script carries the same policy
    const workerScript = w.responses.find((r) => r.url().includes('/src/worker/compute.worker.ts'));
    expect(workerScript, 'the compute worker script was requested').toBeDefined();
    expect((await workerScript!.allHeaders())['content-security-policy']).toBe(`${POLICY}; style-src 'self' 'nonce-${nonce}'`);
    // no inline script (the React-refresh preamble is served as a module); the injected CSS applies
    expect(await page.evaluate(() => [...document.scripts].filter((s) => !s.src).length)).toBe(0);
    const styles = await page.evaluate(() => [...document.querySelectorAll('style')].map((s) => ({ nonce: s.nonce === '' ? null : 'set', rules: s.sheet?.cssRules.length ?? 0 })));
    expect(styles.length).toBeGreaterThan(0);
    for (const s of styles) expect(s.nonce === 'set' && s.rules > 0, JSON.stringify(styles)).toBe(true);
    expect(sockets.length).toBeGreaterThan(0);
    for (const s of sockets) expect(new URL(s).host).toBe(new URL(server.url).host);
    expect(w.violations).toEqual([]);
    expect(await pageViolations(page)).toEqual([]);
    expect(w.foreign).toEqual([]);
    await context.close();
  });
});
