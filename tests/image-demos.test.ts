/**
 * The image demos (digits, Fashion-MNIST subset): committed data and CNNs load through the one
 * loader, meta.json agrees with them and its test accuracy is the committed model's; the CLI
 * explains and evaluates a demo end to end; the training script's convolution gradient (built from
 * ops the wasm backend has) equals tfjs's own on the cpu backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from './helpers/models';
import { DEMOS, seededSplit, type DemoMeta } from '../src/core/data/demos';
import { loadTask } from '../src/core/task/load';
import { argmax } from '../src/core/task/task';
import { ImageFeatureSpace } from '../src/core/task/featureSpace';
import { nodeTaskIO } from '../src/cli/files';
import { convSame } from '../scripts/train-image-demos';

const root = 'public/demos';
const AIM: Record<string, number> = { digits: 0.97, fashion: 0.85 };
let dir: string;

beforeAll(async () => {
  await useBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'deepfaith-image-demos-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(DEMOS.filter((d) => d.kind === 'image').map((d) => [d.id, d] as const))('image demo %s', (id, demo) => {
  it('loads through the loader; meta.json agrees; its test accuracy is the committed model\'s, at the aim', async () => {
    const meta = JSON.parse(readFileSync(join(root, id, 'meta.json'), 'utf8')) as DemoMeta;
    expect(statSync(join(root, id, 'model', 'weights.bin')).size).toBeLessThan(512 * 1024);
    const loaded = await loadTask({ demo: id, baseline: 'zero', output: 'probability', maxRows: 0 }, nodeTaskIO());
    try {
      const { data, task } = loaded;
      expect(data.nRows).toBe(meta.nRows);
      expect(data.classNames).toEqual(meta.classNames);
      expect([data.image!.height, data.image!.width, data.image!.channels]).toEqual([meta.image!.height, meta.image!.width, meta.image!.channels]);
      expect(task.space).toBeInstanceOf(ImageFeatureSpace);
      expect(task.nFeatures).toBe(id === 'digits' ? 64 : 49);
      expect(demo.description.replace(',', '').startsWith(`${meta.nRows} `)).toBe(true);
      if (id === 'digits') expect(meta.testRowIndices).toEqual(seededSplit(id, meta.nRows, meta.splitSeed, 0.2).test);
      const d = task.inputSize;
      const test = meta.testRowIndices;
      const x = new Float32Array(test.length * d);
      test.forEach((r, i) => x.set(data.x.subarray(r * d, (r + 1) * d), i * d));
      const p = await task.model.predict(x, test.length, 'probability');
      const K = task.nClasses;
      const correct = test.filter((r, i) => argmax(p, i * K, K) === data.labels[r]).length;
      expect(meta.testAccuracy).toBeCloseTo(correct / test.length, 6);
      expect(meta.testAccuracy).toBeGreaterThanOrEqual(AIM[id]);
    } finally {
      loaded.task.model.dispose();
    }
  });
});

describe('the CLI on an image demo', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/deepfaith.mjs', ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, DEEPFAITH_CLI: 'source' } });

  it('attribute --demo digits --method integrated-gradients --rows 0:4 --out - and evaluate work end to end', () => {
    const a = cli('attribute', '--demo', 'digits', '--method', 'integrated-gradients', '--rows', '0:4', '--patch', '2', '--out', '-');
    expect(a.stderr).not.toMatch(/Error/);
    expect(a.status).toBe(0);
    const exp = JSON.parse(a.stdout);
    expect(exp.rows).toEqual([0, 4]);
    expect(exp.values).toHaveLength(4);
    for (const row of exp.values) {
      expect(row).toHaveLength(16); // 8×8 in 2-pixel patches
      expect(row.every((v: unknown) => typeof v === 'number')).toBe(true);
    }
    expect(exp.featureNames[5]).toBe('patch 1,1');
    const expPath = join(dir, 'ig.json');
    writeFileSync(expPath, a.stdout);
    const e = cli('evaluate', '--demo', 'digits', '--patch', '2', '--explanations', expPath, '--out', '-');
    expect(e.status).toBe(0);
    const res = JSON.parse(e.stdout);
    expect(JSON.stringify(res)).toMatch(/"DEL"/);
    expect(JSON.stringify(res)).not.toMatch(/null/);
    // the same explanations on another patch size are refused: they explain 16 patches, not 64
    const bad = cli('evaluate', '--demo', 'digits', '--explanations', expPath, '--out', '-');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/16 values per row/);
  }, 180_000);
});

describe('the training script\'s convolution', () => {
  it('has the gradient of tf.conv2d (stride 1, same) in input and filter', async () => {
    const grads = async (custom: boolean) => {
      const x = tf.randomUniform([2, 5, 4, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
      const w = tf.randomUniform([3, 3, 3, 2], -1, 1, 'float32', 8) as tf.Tensor4D;
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(custom ? convSame(a as tf.Tensor4D, b as tf.Tensor4D) : tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'))));
      const [gx, gw] = g([x, w]);
      const out = [await gx.data(), await gw.data()];
      tf.dispose([x, w, gx, gw]);
      return out;
    };
    await useBackend('cpu');
    tf.env().set('PROD', true);
    const ref = await grads(false);
    await useBackend('wasm');
    const mine = await grads(true);
    for (let k = 0; k < 2; k++) {
      expect(mine[k].length).toBe(ref[k].length);
      for (let i = 0; i < ref[k].length; i++) expect(mine[k][i]).toBeCloseTo(ref[k][i], 3);
    }
  });
});
