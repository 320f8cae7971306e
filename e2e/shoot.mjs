// Dev helper: screenshots of every panel after an iris run, at 1280×800 and 1920×1080.
// node e2e/shoot.mjs URL   (serve dist/ with vite preview first)
import { chromium } from 'playwright-core';
const url = process.argv[2];
const b = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/lib/chromium/chromium', args: ['--headless=new', '--no-sandbox', '--enable-unsafe-webgpu'] });
const p = await b.newPage({ viewport: { width: 1280, height: 800 } });
p.on('console', (m) => m.type() === 'error' && console.log('console:', m.text()));
await p.goto(url);
await p.getByText('using ', { exact: false }).waitFor();
const st = (fn) => p.evaluate(fn);
await p.click('[data-demo=iris]');
await p.getByTestId('accuracy').waitFor();
await p.click('[data-step=explain]');
await p.fill('[data-testid=rows-count]', '10');
await p.click('[data-testid=run-explain]');
await p.locator('[data-testid=bars-grid] svg').first().waitFor({ timeout: 120000 });
await p.click('[data-step=evaluate]');
await p.click('[data-testid=run-evaluate]');
await p.getByTestId('results-table').waitFor({ timeout: 200000 });
await p.click('[data-step=train]');
await p.fill('[data-testid=train-epochs]', '4');
await p.click('[data-testid=train-start]');
await p.waitForFunction(() => document.querySelector('[data-testid=train-status]')?.textContent?.startsWith('done') && !document.querySelector('[data-testid=progress]'), null, { timeout: 200000 });
await p.click('[data-step=report]');
await p.click('[data-testid=run-ablations]');
await p.getByTestId('ablation-table').waitFor({ timeout: 300000 });
void st;
// the Task panel with an inline error: a model and a CSV one column too narrow, dropped through a real drop event
await p.click('[data-step=task]');
await p.evaluate(async () => {
  const dt = new DataTransfer();
  for (const [name, body] of [['model.json', await (await fetch('/demos/iris/model/model.json')).blob()], ['weights.bin', await (await fetch('/demos/iris/model/weights.bin')).blob()], ['narrow.csv', new Blob(['a,b,c,label\n1,2,3,0\n4,5,6,1\n'])]]) dt.items.add(new File([body], name));
  const zone = document.querySelector('[data-testid=dropzone]');
  zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
});
await p.getByTestId('task-error').waitFor({ timeout: 30000 });
for (const [w, h] of [[1280, 800], [1920, 1080]]) {
  await p.setViewportSize({ width: w, height: h });
  for (const step of ['task', 'explain', 'evaluate', 'supervise', 'train', 'report']) {
    await p.click(`[data-step=${step}]`);
    await p.waitForTimeout(400);
    await p.screenshot({ path: `test-artifacts/shot-${step}-${w}.png`, fullPage: true });
  }
  await p.click('[data-step=evaluate]');
  await p.selectOption('[data-testid=insp-metric]', 'FC');
  await p.getByTestId('insp-scatter').waitFor({ timeout: 30000 });
  await p.getByTestId('inspector').screenshot({ path: `test-artifacts/shot-inspector-fc-${w}.png` });
  await p.selectOption('[data-testid=insp-metric]', 'DEL');
  await p.click('[data-testid=insp-next]');
  await p.click('[data-testid=insp-next]');
  await p.waitForTimeout(400);
  await p.getByTestId('inspector').screenshot({ path: `test-artifacts/shot-inspector-del-${w}.png` });
}
await b.close();
