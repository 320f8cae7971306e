import { createHash, randomBytes } from 'node:crypto';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * The studio's Content-Security-Policy (docs/studio.md, "Content-Security-Policy and offline").
 * Scripts, styles, workers and fetches come from the page's own origin only; 'wasm-unsafe-eval'
 * lets tfjs's wasm backend compile its bundled WebAssembly (no 'unsafe-eval': nothing in the
 * bundles calls eval or new Function). img-src adds two schemes: blob:, because a plot's PNG
 * download rasterises the SVG through a blob: URL in an <img>, and data:, for the empty favicon
 * (`<link rel="icon" href="data:,">` in index.html, which spares a /favicon.ico request).
 * The styles React and d3 set on elements go through the CSSOM (element.style), which CSP does not
 * govern, so there is no 'unsafe-inline' anywhere. worker-src also allows blob: workers (such as
 * Vite's inline workers), although nothing in the studio makes one today.
 */
export const CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; connect-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'";

/**
 * `vite` (dev) needs two things the built studio does not:
 * - its client injects each imported CSS file as a <style> element. Vite puts `html.cspNonce` on
 *   those elements (read from a <meta property="csp-nonce">), so the dev policy adds
 *   `style-src 'self' 'nonce-…'` with a nonce drawn once per server start.
 * - @vitejs/plugin-react injects its React-refresh preamble as an inline module script. The
 *   plugin below moves every inline module script of the dev index.html into a module served by
 *   the dev server, so script-src stays exactly the built one (no nonce, no hash).
 * The HMR websocket (ws://same host:port) is covered by connect-src 'self'.
 */
function devPolicy(nonce: string): string {
  return `${CSP}; style-src 'self' 'nonce-${nonce}'`;
}

const INLINE_PREFIX = '/@studio-csp/inline-';

function studioCsp(): Plugin {
  const inlineModules = new Map<string, string>();
  return {
    name: 'studio:csp',
    // dev: inline <script type="module"> → <script type="module" src="/@studio-csp/inline-<hash>.js">
    transformIndexHtml: {
      order: 'post',
      handler(html, ctx) {
        if (ctx.server) {
          return html.replace(/<script type="module"([^>]*)>([\s\S]*?)<\/script>/g, (tag, attrs: string, code: string) => {
            if (/\bsrc=/.test(attrs) || !code.trim()) return tag;
            const id = `${INLINE_PREFIX}${createHash('sha256').update(code).digest('hex').slice(0, 16)}.js`;
            inlineModules.set(id, code);
            return `<script type="module"${attrs} src="${id}"></script>`;
          });
        }
        // build: the same policy as a <meta> so that a static host without headers enforces it too
        // (right after <meta charset>, before any script or stylesheet)
        const meta = `<meta http-equiv="Content-Security-Policy" content="${CSP}" />`;
        return /<meta charset[^>]*>/i.test(html) ? html.replace(/(<meta charset[^>]*>)/i, `$1\n    ${meta}`) : html.replace(/<head>/i, `<head>\n    ${meta}`);
      },
    },
    resolveId(id) {
      if (id.startsWith(INLINE_PREFIX) && inlineModules.has(id)) return id;
    },
    load(id) {
      if (id.startsWith(INLINE_PREFIX)) return inlineModules.get(id);
    },
  };
}

export default defineConfig(({ command, isPreview }) => {
  const dev = command === 'serve' && !isPreview;
  const nonce = randomBytes(18).toString('base64');
  return {
    plugins: [react(), studioCsp()],
    worker: { format: 'es' },
    // The worker's dependencies are found only when the worker first loads; pre-bundle them when the
    // dev server starts so `npm start` does not reload the page under the user's first click.
    optimizeDeps: {
      include: ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu', 'd3-array', 'papaparse', 'seedrandom'],
    },
    // dev only: the nonce Vite puts on the <style> elements its client injects
    html: dev ? { cspNonce: nonce } : {},
    server: { host: '127.0.0.1', strictPort: true, headers: { 'Content-Security-Policy': devPolicy(nonce) } },
    preview: { host: '127.0.0.1', strictPort: true, headers: { 'Content-Security-Policy': CSP } },
    build: { target: 'es2022', chunkSizeWarningLimit: 4000 },
  };
});
