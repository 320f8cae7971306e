/** Serves dist/ with `vite preview` on a free 127.0.0.1 port and launches one Chromium. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';

export const ARTIFACTS = 'test-artifacts';

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

export async function startServer(): Promise<{ url: string; proc: ChildProcess }> {
  if (!existsSync('dist/index.html')) throw new Error('dist/ is missing: run `npm run build` first.');
  return serve(['preview']);
}

/** The dev server (`vite`, as `npm start` runs it) on a free 127.0.0.1 port; `log` keeps what it prints. */
export async function startDevServer(): Promise<{ url: string; proc: ChildProcess; log: string[] }> {
  const server = await serve([]);
  const log: string[] = [];
  for (const stream of [server.proc.stdout, server.proc.stderr]) stream?.on('data', (d: Buffer) => log.push(String(d)));
  return { ...server, log };
}

async function serve(command: string[]): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['node_modules/vite/bin/vite.js', ...command, '--host', '127.0.0.1', '--port', String(port), '--strictPort'], { stdio: 'pipe' });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(url);
      if (r.ok) return { url, proc };
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  proc.kill();
  throw new Error(`vite ${command[0] ?? 'dev server'} did not start`);
}

export async function launch(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const executablePath = process.env.CHROMIUM_PATH ?? ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((p) => existsSync(p));
  if (!executablePath) throw new Error('Chromium not found: set CHROMIUM_PATH or apt-get install chromium');
  return chromium.launch({
    executablePath,
    args: ['--headless=new', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu'],
  });
}

/**
 * The built studio served and one Chromium, started before the calling file's tests and stopped
 * after them: `const studio = useStudio();` then `studio.browser` and `studio.url` inside tests.
 */
export function useStudio(): { readonly browser: Browser; readonly url: string } {
  let browser: Browser | undefined;
  let server: { url: string; proc: ChildProcess } | undefined;
  beforeAll(async () => {
    server = await startServer();
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    server?.proc.kill();
  });
  return {
    get browser() {
      if (!browser) throw new Error('useStudio: the browser starts in beforeAll');
      return browser;
    },
    get url() {
      if (!server) throw new Error('useStudio: the server starts in beforeAll');
      return server.url;
    },
  };
}
