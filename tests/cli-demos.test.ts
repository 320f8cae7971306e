/**
 * The committed demo tasks: data files, meta.json, and target models agree with each other and with
 * the scripts that made them (the training script reproduces the committed bytes).
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Papa from 'papaparse';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from './helpers/models';
import { DEMOS, seededSplit, type DemoMeta } from '../src/core/data/demos';
import { parseCsv } from '../src/core/data/csv';
import { loadModelFromPath } from '../src/cli/files';
import { getMethod } from '../src/core/attribution/registry';
import { argmax, makeTask } from '../src/core/task/task';

const root = 'public/demos';
const readMeta = (id: string): DemoMeta => JSON.parse(readFileSync(join(root, id, 'meta.json'), 'utf8'));

beforeAll(() => useBackend('wasm'));

describe.each(DEMOS.filter((d) => d.kind === 'tabular').map((d) => [d.id, d] as const))('demo %s', (id, demo) => {
  it('data.csv, meta.json and the split agree', () => {
    const meta = readMeta(id);
    const data = parseCsv(readFileSync(join(root, demo.data), 'utf8'), demo.data, { label: demo.label });
    expect(meta.id).toBe(id);
    expect(meta.label).toBe(demo.label);
    expect(meta.featureNames).toEqual(data.featureNames);
    expect(meta.nRows).toBe(data.nRows);
    expect(meta.classNames).toHaveLength(data.classNames.length);
    expect(meta.trainRows + meta.testRows).toBe(data.nRows);
    expect(meta.testRows).toBe(Math.round(0.2 * data.nRows));
    expect(meta.testRowIndices).toEqual(seededSplit(id, data.nRows, meta.splitSeed, 0.2).test);
    expect(demo.description.startsWith(`${data.nRows} `)).toBe(true);
  });

  it('the model is a small Sequential of Dense layers whose frozen first layer standardises with the training split', async () => {
    const meta = readMeta(id);
    const data = parseCsv(readFileSync(join(root, demo.data), 'utf8'), demo.data, { label: demo.label });
    expect(statSync(join(root, id, 'model', 'weights.bin')).size).toBeLessThan(16 * 1024);
    expect(statSync(join(root, id, 'model', 'model.json')).size).toBeLessThan(8 * 1024);
    const before = tf.memory().numTensors;
    const model = await loadModelFromPath(join(root, demo.model));
    try {
      expect(model.nFeatures).toBe(data.nFeatures);
      expect(model.nOutputs).toBe(meta.classNames.length);
      expect(model.head).toBe('softmax');
      const layers = (model.model as tf.LayersModel).layers;
      expect(layers.map((l) => l.getClassName())).toEqual(['Dense', 'Dense', 'Dense', 'Dense']);
      expect(layers[0].trainable).toBe(false);
      const n = data.nFeatures;
      const { train } = seededSplit(id, data.nRows, meta.splitSeed, 0.2);
      const [kernelT, biasT] = layers[0].getWeights();
      const kernel = await kernelT.data(); // [n, n]
      const bias = await biasT.data(); // [n]
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (const r of train) s += data.x[r * n + j];
        const mean = s / train.length;
        let v = 0;
        for (const r of train) v += (data.x[r * n + j] - mean) ** 2;
        const std = Math.sqrt(v / train.length);
        expect(kernel[j * n + j] * std).toBeCloseTo(1, 5);
        expect(bias[j]).toBeCloseTo(-mean / std, 4);
        for (let i = 0; i < n; i++) if (i !== j) expect(kernel[i * n + j]).toBe(0);
      }
      // DeepLIFT's Rescale rule accepts the model
      const task = makeTask(model, data);
      expect(getMethod('deeplift')!.applicable(task)).toBeNull();
      // the recorded test accuracy is the committed model's on the recorded test rows
      const test = meta.testRowIndices;
      const x = new Float32Array(test.length * n); // [nTest, n]
      test.forEach((r, i) => x.set(data.x.subarray(r * n, (r + 1) * n), i * n));
      const p = await model.predict(x, test.length, 'probability'); // [nTest, K]
      const K = model.nOutputs;
      const correct = test.filter((r, i) => argmax(p, i * K, K) === data.labels[r]).length;
      expect(meta.testAccuracy).toBeCloseTo(correct / test.length, 6);
      expect(meta.testAccuracy).toBeGreaterThanOrEqual(0.9);
    } finally {
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('demo data files', () => {
  it('penguins keeps the four measurements and species, dropping exactly the raw rows with a missing cell there', () => {
    const raw = Papa.parse<Record<string, string>>(readFileSync('tests/fixtures/penguins-raw.csv', 'utf8'), { header: true, skipEmptyLines: 'greedy' }).data;
    const cols = ['bill_length_mm', 'bill_depth_mm', 'flipper_length_mm', 'body_mass_g', 'species'];
    const complete = raw.filter((r) => cols.every((c) => r[c] !== 'NA' && r[c] !== ''));
    expect(raw.length).toBe(344);
    const text = readFileSync(join(root, 'penguins', 'data.csv'), 'utf8');
    const rows = Papa.parse<string[]>(text, { skipEmptyLines: 'greedy' }).data;
    expect(rows[0]).toEqual(cols);
    expect(rows.slice(1)).toEqual(complete.map((r) => cols.map((c) => r[c])));
    expect(text).not.toMatch(/\bNA\b/);
  });

  it('the sklearn tables have sklearn feature names and an integer target column', () => {
    const sources = JSON.parse(readFileSync(join(root, 'sources.json'), 'utf8'));
    for (const id of ['iris', 'wine', 'breast-cancer']) {
      const d = parseCsv(readFileSync(join(root, id, 'data.csv'), 'utf8'), id, { label: 'target' });
      expect(d.nRows).toBe(sources[id].nRows);
      expect(d.classNames).toEqual(sources[id].classNames.map((_: string, i: number) => String(i)));
      expect(readMeta(id).classNames).toEqual(sources[id].classNames);
    }
    expect(parseCsv(readFileSync(join(root, 'iris', 'data.csv'), 'utf8'), 'iris', { label: 'target' }).featureNames).toEqual([
      'sepal length (cm)',
      'sepal width (cm)',
      'petal length (cm)',
      'petal width (cm)',
    ]);
    expect(readFileSync(join(root, 'LICENSES.md'), 'utf8')).toMatch(/CC BY 4\.0[\s\S]*CC0[\s\S]*Horst/);
  });
});

describe('scripts/train-demos.ts', () => {
  let out: string;
  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'deepfaith-train-'));
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  it('retraining iris reproduces the committed files byte for byte', () => {
    const r = spawnSync(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'scripts/train-demos.ts', 'iris', '--out-dir', out], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    for (const f of ['model/model.json', 'model/weights.bin', 'meta.json'])
      expect(readFileSync(join(out, 'iris', f)).equals(readFileSync(join(root, 'iris', f))), f).toBe(true);
  });
});
