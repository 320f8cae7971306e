/** Page helpers shared by the browser tests. */
import type { Page } from 'playwright-core';

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
