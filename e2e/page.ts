/** Page helpers shared by the browser tests. */
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

/** Open the studio (with ?test, which exposes the store as window.__studio) and wait for the backend. */
export async function openStudio(page: Page, baseUrl: string, query = ''): Promise<void> {
  await page.goto(baseUrl + (query ? `${query}&test` : '?test'));
  await page.getByTestId('backend-chosen').filter({ hasText: 'using' }).waitFor({ timeout: 60_000 });
}

/** Drop files (fetched from the page's own origin, or given as text) through a real drop event with a DataTransfer built in the page. */
export async function dropFiles(page: Page, files: { url?: string; name: string; text?: string }[]): Promise<void> {
  await page.evaluate(async (list) => {
    const dt = new DataTransfer();
    for (const f of list) {
      const body = f.url ? await (await fetch(f.url)).blob() : new Blob([f.text ?? '']);
      dt.items.add(new File([body], f.name));
    }
    const zone = document.querySelector('[data-testid=dropzone]')!;
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, files);
}

/**
 * Drop a folder tree through a real drop event. The DataTransfer a page can build holds files
 * only, so its items' `webkitGetAsEntry` is given the tree as the browser's entries API shapes it
 * (FileSystemDirectoryEntry-like readers that hand out at most 100 entries per `readEntries`
 * call, as Chromium's do): the drop zone must call it until it returns an empty batch.
 * files: paths relative to the drop (`digits-png/3/row1.png`) and their bytes (base64).
 */
export async function dropTree(page: Page, files: { path: string; base64: string }[], selector = '[data-testid=dropzone]'): Promise<void> {
  await page.evaluate(
    ({ list, selector }) => {
      type Node = { name: string; fullPath: string; isFile: boolean; isDirectory: boolean; file?: File; children?: Map<string, Node> };
      const root: Node = { name: '', fullPath: '', isFile: false, isDirectory: true, children: new Map() };
      const dt = new DataTransfer();
      for (const f of list) {
        const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
        const parts = f.path.split('/');
        const file = new File([bytes], parts[parts.length - 1]);
        dt.items.add(file);
        let node = root;
        parts.forEach((name, i) => {
          const leaf = i === parts.length - 1;
          if (!node.children!.has(name)) node.children!.set(name, { name, fullPath: `${node.fullPath}/${name}`, isFile: leaf, isDirectory: !leaf, ...(leaf ? { file } : { children: new Map() }) });
          node = node.children!.get(name)!;
        });
      }
      const entry = (n: Node): unknown =>
        n.isFile
          ? { name: n.name, fullPath: n.fullPath, isFile: true, isDirectory: false, file: (ok: (f: File) => void) => ok(n.file!) }
          : {
              name: n.name,
              fullPath: n.fullPath,
              isFile: false,
              isDirectory: true,
              createReader: () => {
                const all = [...n.children!.values()];
                let at = 0;
                return { readEntries: (ok: (b: unknown[]) => void) => setTimeout(() => ok(all.slice(at, (at = Math.min(all.length, at + 100))).map(entry)), 0) };
              },
            };
      const tops = [...root.children!.values()];
      const items = tops.map((n) => ({ kind: 'file', type: '', webkitGetAsEntry: () => entry(n), getAsFile: () => n.file ?? null }));
      const zone = document.querySelector(selector)!;
      for (const type of ['dragover', 'drop']) {
        const ev = new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true });
        Object.defineProperty(ev, 'dataTransfer', { value: { items, files: dt.files, types: ['Files'] } });
        zone.dispatchEvent(ev);
      }
    },
    { list: files, selector },
  );
}

/** What trainTinyIris reads back: each step's losses and the report's explainer row. */
export interface TinyRun {
  steps: { lPC: number; lLC: number }[];
  explainerScores: Record<string, number>;
}

/** A tiny tabular job through the store on the page's backends: iris, 6 rows, 3 methods, 2 metrics, a 1-layer explainer for one epoch. */
export async function trainTinyIris(page: Page): Promise<TinyRun> {
  const r = await page.evaluate(async () => {
    const store = (window as any).__studio;
    const st = () => store.getState();
    await st().loadDemo('iris');
    for (const m of st().methods) st().setMethod(m.id, { enabled: ['saliency', 'integrated-gradients', 'occlusion'].includes(m.id) });
    for (const m of st().metrics) st().setMetric(m.id, { enabled: ['RP', 'DEL'].includes(m.id) });
    st().setRows({ start: 0, count: 6 });
    st().setP(0);
    await st().runExplain();
    await st().runEvaluate();
    st().setTraining({ epochs: 1, batchSize: 4, lcSubsets: 8 });
    st().setExplainerArch({ dModel: 16, nHeads: 2, nLayers: 1, dFF: 32, dropout: 0 });
    const ok = await st().runTrain();
    const row = st().report?.table.find((t: any) => t.isExplainer);
    return { ok, err: st().trainError, steps: st().trainSteps.map((s: any) => ({ lPC: s.lPC, lLC: s.lLC })), explainerScores: row?.scores ?? {} };
  });
  expect(r.err).toBeNull();
  expect(r.ok).toBe(true);
  return r;
}
