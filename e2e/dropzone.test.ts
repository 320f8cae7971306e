/**
 * The studio's bad-input corpus at the drop zone: each case is dropped through a real drop event
 * after a good task is loaded; the expected message appears (in the drop zone's or the task's
 * problem box), and the loaded task and its accuracy stay on screen. Listed in docs/reliability.md.
 */
import type { ChildProcess } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, launch, startServer } from './harness';
import { dropFiles, openStudio } from './page';

let browser: Browser;
let server: { url: string; proc: ChildProcess };
let page: Page;

const MODEL = [
  { url: '/demos/iris/model/model.json', name: 'model.json' },
  { url: '/demos/iris/model/weights.bin', name: 'weights.bin' },
];
const HEADER = 'sepal length (cm),sepal width (cm),petal length (cm),petal width (cm),target';

/** [case, files dropped, where the message shows, what it says] */
const CASES: [string, { url?: string; name: string; text?: string }[], 'drop-error' | 'task-error' | 'staged', RegExp][] = [
  ['a 0-byte CSV', [...MODEL, { name: 'empty.csv', text: '' }], 'drop-error', /empty\.csv is empty\. Choose a CSV file with a header row/],
  ['a model.json that is not JSON', [{ name: 'model.json', text: '{ not json' }], 'drop-error', /model\.json is not valid JSON, so it is not a TensorFlow\.js model\.json/],
  ['a JSON file that is not a model', [{ name: 'model.json', text: '{"hello": 1}' }], 'drop-error', /model\.json is not a TensorFlow\.js model: it has no "modelTopology"/],
  ['model.json without its shard, before any CSV', [{ url: '/demos/iris/model/model.json', name: 'model.json' }], 'staged', /Still needed: its weight file weights\.bin and a \.csv data file/],
  ['a cell beyond the float32 range (1e308)', [...MODEL, { name: 'huge.csv', text: `${HEADER}\n5.1,3.5,1.4,0.2,0\n1e308,3.0,1.4,0.2,0\n` }], 'task-error', /huge\.csv, row 1 \(line 3\), column "sepal length \(cm\)".*1e308/],
  ['two columns with one name', [...MODEL, { name: 'dup.csv', text: 'a,a,c,d,target\n1,2,3,4,0\n' }], 'task-error', /dup\.csv has more than one column named "a"/],
  ['a truncated weight file', [{ url: '/demos/iris/model/model.json', name: 'model.json' }, { name: 'weights.bin', text: 'abcd' }, { url: '/demos/iris/data.csv', name: 'data.csv' }], 'task-error', /weights\.bin is 4 bytes/],
  ['a CSV with no label-like column', [...MODEL, { name: 'nolabel.csv', text: 'a,b,c,d,kind\n1,2,3,4,0\n5,6,7,8,1\n' }], 'task-error', /nolabel\.csv has no column named like a label.*Name the label column: one of a, b, c, d, kind/],
  ['a file that is neither model nor CSV', [{ name: 'notes.png', text: 'png' }], 'drop-error', /notes\.png is neither a TensorFlow\.js model file/],
];

beforeAll(async () => {
  server = await startServer();
  browser = await launch();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await openStudio(page, server.url, '?backend=wasm');
  await page.click('[data-demo=iris]');
  await page.getByTestId('accuracy').waitFor({ timeout: 60_000 });
});
afterAll(async () => {
  await browser?.close();
  server?.proc.kill();
});

describe('bad input at the drop zone keeps the loaded task', () => {
  for (const [name, files, where, message] of CASES)
    it(name, async () => {
      const before = await page.getByTestId('accuracy').textContent();
      await dropFiles(page, files);
      await expect.poll(() => page.getByTestId(where).textContent().catch(() => ''), { timeout: 30_000 }).toMatch(message);
      expect(await page.getByTestId('accuracy').textContent()).toBe(before);
      expect(await page.getByTestId('task-info').locator('h3').textContent()).toMatch(/Iris/);
    });

  it('extra files in a good drop are ignored and the task loads; a drop after a failed one clears the old message', async () => {
    await dropFiles(page, [{ name: 'model.json', text: '{ not json' }]);
    await expect.poll(() => page.getByTestId('drop-error').textContent()).toMatch(/not valid JSON/);
    await dropFiles(page, [...MODEL, { url: '/demos/iris/data.csv', name: 'data.csv' }, { name: 'README.md', text: 'notes' }]);
    await expect.poll(() => page.getByTestId('task-info').locator('h3').textContent(), { timeout: 30_000 }).toMatch(/model\.json \+ data\.csv/);
    expect(await page.getByTestId('drop-error').textContent()).toMatch(/Ignored README\.md/);
    expect(await page.getByTestId('task-error').count()).toBe(0);
    await page.screenshot({ path: `${ARTIFACTS}/e2e-drop-ignored.png`, fullPage: true });
  });

  it('two drops in quick succession (the model folder, then its CSV) are taken in order: the second waits for the first and the task loads', async () => {
    await page.evaluate(async () => {
      const drop = async (files: [string, string][]) => {
        const dt = new DataTransfer();
        for (const [url, name] of files) dt.items.add(new File([await (await fetch(url)).blob()], name));
        return dt;
      };
      const first = await drop([['/demos/iris/model/model.json', 'model.json'], ['/demos/iris/model/weights.bin', 'weights.bin']]);
      const second = await drop([['/demos/iris/data.csv', 'quick.csv']]);
      const zone = document.querySelector('[data-testid=dropzone]')!;
      // both events fire before the first drop's files are read
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: first, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: second, bubbles: true, cancelable: true }));
    });
    await expect.poll(() => page.getByTestId('task-info').locator('h3').textContent(), { timeout: 30_000 }).toMatch(/model\.json \+ quick\.csv/);
    expect(await page.getByTestId('drop-error').count()).toBe(0);
    expect(await page.getByTestId('task-error').count()).toBe(0);
  });
});
