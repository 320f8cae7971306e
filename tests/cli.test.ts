/**
 * The `deepfaith` command end to end: spawns `node bin/deepfaith.mjs` on a committed demo model
 * and compares what it writes with the engine called directly in this process.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from './helpers/models';
import { ATTRIBUTION_METHODS, getMethod } from '../src/core/attribution/registry';
import { METRICS, getMetric } from '../src/core/metrics/registry';
import { scoreExplanations } from '../src/core/metrics/evaluate';
import { parseCsv } from '../src/core/data/csv';
import { argmax, chooseTargets, makeTask, sliceBatch, type Task } from '../src/core/task/task';
import { Seeder } from '../src/core/rng';
import { loadModelFromPath } from '../src/cli/files';
import { describeParams } from '../src/core/params';

const DEMO = 'public/demos/iris';
const MODEL = `${DEMO}/model/model.json`;
const DATA = `${DEMO}/data.csv`;
const TASK_FLAGS = ['--model', MODEL, '--data', DATA, '--label', 'target'];

let dir: string;

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/deepfaith.mjs', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same, without blocking: lets the bad-input cases run side by side. */
function cliAsync(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['bin/deepfaith.mjs', ...args], { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
      resolve({ status: code, stdout, stderr });
    });
  });
}

function ok(...args: string[]): void {
  const r = cli(...args);
  if (r.status !== 0) throw new Error(`deepfaith ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
}

function readJson(path: string): any {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** The demo task in this process, as the CLI builds it. */
async function demoTask(baseline: 'zero' | 'mean' = 'zero'): Promise<{ task: Task; labels: Int32Array; data: ReturnType<typeof parseCsv> }> {
  const data = parseCsv(readFileSync(DATA, 'utf8'), DATA, { label: 'target' });
  const model = await loadModelFromPath(MODEL);
  return { task: makeTask(model, data, { baseline }), labels: data.labels, data };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'deepfaith-cli-'));
  await useBackend('wasm');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('deepfaith attribute → evaluate round trip on the iris demo', () => {
  const exp = () => join(dir, 'ig.json');
  const met = () => join(dir, 'metrics.json');

  it('attribute writes the explanations JSON of the issue, equal to the engine called directly', async () => {
    ok('attribute', ...TASK_FLAGS, '--rows', '48:56', '--method', 'integrated-gradients', '--set', 'steps=16', '--baseline', 'mean', '--out', exp());
    const j = readJson(exp());
    expect(Object.keys(j).slice(0, 8)).toEqual(['method', 'params', 'baseline', 'rows', 'target', 'values', 'modelCalls', 'ms']);
    expect(j.method).toBe('integrated-gradients');
    expect(j.params).toEqual({ ...getMethod('integrated-gradients')!.defaults, steps: 16 });
    expect(j.baseline).toBe('mean');
    expect(j.rows).toEqual([48, 56]);
    expect(j.target).toHaveLength(8);
    expect(j.values).toHaveLength(8);
    for (const row of j.values) {
      expect(row).toHaveLength(4);
      for (const v of row) expect(typeof v === 'number' && Number.isFinite(v)).toBe(true);
    }
    expect(j.modelCalls).toBeGreaterThan(0);
    expect(typeof j.ms).toBe('number');

    const { task, data } = await demoTask('mean');
    try {
      const batch = sliceBatch(data, 48, 56);
      // targets: the model's argmax on the clean rows (rows 48..55 straddle setosa → versicolor)
      const p = await task.model.predict(batch.x, batch.nRows, 'probability'); // [8, 3]
      const predicted = Array.from({ length: 8 }, (_, r) => argmax(p, r * 3, 3));
      expect(j.target).toEqual(predicted);
      expect(new Set(predicted).size).toBeGreaterThan(1);
      const method = getMethod('integrated-gradients')!;
      const direct = await method.explain(task, batch, Int32Array.from(predicted), j.params, new Seeder(0)); // [8, 4]
      const fromFile = Float32Array.from(j.values.flat());
      for (let i = 0; i < direct.length; i++) expect(fromFile[i]).toBeCloseTo(direct[i], 6);
      expect(j.modelCalls).toBe(task.model.rowsEvaluated - 8);
    } finally {
      task.model.dispose();
    }
  });

  it('evaluate reads rows and targets from the explanations file and matches scoreExplanations', async () => {
    ok('evaluate', ...TASK_FLAGS, '--explanations', exp(), '--metrics', 'FC,DEL,NEG', '--set', 'FC.nSubsets=20', '--set', 'DEL.stepSize=2', '--seed', '3', '--out', met());
    const j = readJson(met());
    const e = readJson(exp());
    expect(Object.keys(j.metrics)).toEqual(['FC', 'DEL', 'NEG']);
    expect(j.rows).toEqual([48, 56]);
    expect(j.baseline).toBe('mean'); // taken from the explanations file
    expect(j.normalise).toBe(false);

    const { task, data } = await demoTask('mean');
    try {
      const batch = sliceBatch(data, 48, 56);
      const s = Float32Array.from(e.values.flat()); // [8, 4]
      const requests = [
        { id: 'FC', params: { ...getMetric('FC')!.defaults, nSubsets: 20 } },
        { id: 'DEL', params: { ...getMetric('DEL')!.defaults, stepSize: 2 } },
        { id: 'NEG', params: { ...getMetric('NEG')!.defaults } },
      ];
      const [direct] = await scoreExplanations(task, batch, Int32Array.from(e.target), [s], requests, new Seeder(3));
      let total = 0;
      requests.forEach((req, m) => {
        const out = j.metrics[req.id];
        expect(out.direction).toBe(getMetric(req.id)!.direction);
        expect(out.params).toEqual(req.params);
        expect(out.perSample).toHaveLength(8);
        const want = Array.from(direct[m].perSample);
        out.perSample.forEach((v: number | null, r: number) => {
          if (Number.isNaN(want[r])) expect(v).toBeNull();
          else expect(v).toBeCloseTo(want[r], 6);
        });
        const finite = want.filter(Number.isFinite);
        expect(out.mean).toBeCloseTo(finite.reduce((a, b) => a + b, 0) / finite.length, 6);
        expect(out.nUndefined).toBe(8 - finite.length);
        expect(out.modelCalls).toBe(direct[m].modelCalls);
        total += out.modelCalls;
        if (direct[m].curves) {
          expect(out.curves).toHaveLength(8);
          out.curves.forEach((c: number[], r: number) => {
            expect(c).toHaveLength(direct[m].curves![r].length);
            c.forEach((v, t) => expect(v).toBeCloseTo(direct[m].curves![r][t], 6));
          });
        } else expect(out.curves).toBeUndefined();
      });
      expect(j.metrics.DEL.curves[0]).toHaveLength(Math.ceil(4 / 2) + 1); // T + 1 points with k = 2
      expect(j.modelCalls).toBe(total);
      expect(readFileSync(met(), 'utf8')).not.toMatch(/NaN|Infinity/);
    } finally {
      task.model.dispose();
    }
  });

  it('--normalise scores the min–max normalised explanation (INF changes, order-only RP does not)', async () => {
    const norm = join(dir, 'norm.json');
    ok('evaluate', ...TASK_FLAGS, '--explanations', exp(), '--metrics', 'RP,INF', '--set', 'INF.nSubsets=30', '--normalise', '--out', norm);
    const j = readJson(norm);
    expect(j.normalise).toBe(true);
    const e = readJson(exp());
    const { task, data } = await demoTask('mean');
    try {
      const raw = Float32Array.from(e.values.flat()); // [8, 4]
      const s = raw.slice(); // [8, 4] min–max per row
      for (let r = 0; r < 8; r++) {
        const row = s.subarray(r * 4, r * 4 + 4);
        const lo = Math.min(...row);
        const hi = Math.max(...row);
        for (let i = 0; i < 4; i++) row[i] = hi > lo ? (row[i] - lo) / (hi - lo) : 0;
      }
      const requests = [{ id: 'RP' }, { id: 'INF', params: { nSubsets: 30 } }];
      const target = Int32Array.from(e.target);
      const [normed, plain] = await scoreExplanations(task, sliceBatch(data, 48, 56), target, [s, raw], requests, new Seeder(0));
      j.metrics.RP.perSample.forEach((v: number, r: number) => expect(v).toBeCloseTo(normed[0].perSample[r], 6));
      j.metrics.INF.perSample.forEach((v: number, r: number) => expect(v).toBeCloseTo(normed[1].perSample[r], 6));
      // RP depends only on the order π, which min–max keeps; INF's subset sums are not affine in s
      expect(Array.from(plain[0].perSample)).toEqual(Array.from(normed[0].perSample));
      const maxDiff = Math.max(...Array.from(plain[1].perSample, (v, r) => Math.abs(v - normed[1].perSample[r])));
      expect(maxDiff).toBeGreaterThan(1e-3);
    } finally {
      task.model.dispose();
    }
  });

  it('evaluate --rows picks a sub-range of the explanations with the same per-row values (seeded FC)', () => {
    const sub = join(dir, 'sub.json');
    const full = readJson(met());
    ok('evaluate', ...TASK_FLAGS, '--explanations', exp(), '--rows', '51:54', '--metrics', 'FC', '--set', 'FC.nSubsets=20', '--seed', '3', '--out', sub);
    const j = readJson(sub);
    expect(j.rows).toEqual([51, 54]);
    expect(j.metrics.FC.perSample).toEqual(full.metrics.FC.perSample.slice(3, 6));
  });
});

describe('--rows slicing of a seeded method', () => {
  it('lime on rows 3:7 gives the same values for those rows as lime on rows 0:10', () => {
    const all = join(dir, 'lime-all.json');
    const part = join(dir, 'lime-part.json');
    const flags = ['--method', 'lime', '--set', 'samples=64', '--seed', '11'];
    ok('attribute', ...TASK_FLAGS, '--rows', '0:10', ...flags, '--out', all);
    ok('attribute', ...TASK_FLAGS, '--rows', '3:7', ...flags, '--out', part);
    const a = readJson(all);
    const b = readJson(part);
    expect(b.rows).toEqual([3, 7]);
    expect(b.target).toEqual(a.target.slice(3, 7));
    expect(b.values).toEqual(a.values.slice(3, 7));
    // and the seed matters: another seed gives other values
    const other = join(dir, 'lime-other.json');
    ok('attribute', ...TASK_FLAGS, '--rows', '3:7', '--method', 'lime', '--set', 'samples=64', '--seed', '12', '--out', other);
    expect(readJson(other).values).not.toEqual(b.values);
  });
});

describe('--demo and --backend', () => {
  it('--demo wine equals the explicit --model/--data/--label and names the classes from meta.json', () => {
    const a = join(dir, 'demo-a.json');
    const b = join(dir, 'demo-b.json');
    ok('attribute', '--demo', 'wine', '--rows', '60:64', '--method', 'feature-ablation', '--out', a);
    ok('attribute', '--model', 'public/demos/wine/model/model.json', '--data', 'public/demos/wine/data.csv', '--label', 'target', '--rows', '60:64', '--method', 'feature-ablation', '--out', b);
    const ja = readJson(a);
    const jb = readJson(b);
    expect(ja.values).toEqual(jb.values);
    expect(ja.target).toEqual(jb.target);
    expect(ja.classNames).toEqual(readJson('public/demos/wine/meta.json').classNames);
    expect(jb.classNames).toEqual(['0', '1', '2']);
  });

  it('--backend cpu agrees with wasm within 1e-5 on attributions and metrics', () => {
    const runs = ['wasm', 'cpu'].map((backend) => {
      const e = join(dir, `ig-${backend}.json`);
      const m = join(dir, `m-${backend}.json`);
      ok('attribute', ...TASK_FLAGS, '--rows', '60:66', '--method', 'integrated-gradients', '--set', 'steps=16', '--backend', backend, '--out', e);
      ok('evaluate', ...TASK_FLAGS, '--explanations', e, '--metrics', 'FC,DEL,IROF', '--backend', backend, '--out', m);
      return { e: readJson(e), m: readJson(m) };
    });
    expect(runs[1].e.backend).toBe('cpu');
    const flatW = runs[0].e.values.flat();
    runs[1].e.values.flat().forEach((v: number, i: number) => expect(Math.abs(v - flatW[i])).toBeLessThan(1e-5));
    for (const id of ['FC', 'DEL', 'IROF'])
      runs[1].m.metrics[id].perSample.forEach((v: number, r: number) => expect(Math.abs(v - runs[0].m.metrics[id].perSample[r])).toBeLessThan(1e-5));
  });
});

describe('labels', () => {
  it('a file holding only classes 1 and 2 keeps them as the model\'s class indices with --target label', () => {
    const p = join(dir, 'vv.json');
    ok('attribute', '--model', MODEL, '--data', 'tests/fixtures/iris-classes-1-2.csv', '--label', 'target', '--method', 'saliency', '--target', 'label', '--out', p);
    const j = readJson(p);
    const labels = readFileSync('tests/fixtures/iris-classes-1-2.csv', 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',').pop()));
    expect(labels).toEqual([1, 1, 1, 1, 2, 2, 2, 2]);
    expect(j.target).toEqual(labels);
    expect(j.classNames).toEqual(['0', '1', '2']);
  });
});

describe('--help is generated from the registries', () => {
  it('attribute --help lists every method with its description and defaults', () => {
    const r = cli('attribute', '--help');
    expect(r.status).toBe(0);
    expect(ATTRIBUTION_METHODS.length).toBeGreaterThan(0);
    for (const m of ATTRIBUTION_METHODS) {
      expect(r.stdout).toContain(m.id);
      expect(r.stdout).toContain(m.description);
      for (const line of describeParams({ id: m.id, defaults: m.defaults, params: m.params })) expect(r.stdout).toContain(line);
    }
    expect(r.stdout).toContain('steps = 50 (an integer from 1 to 10000): Quadrature nodes along the path');
  });
  it('evaluate --help lists every metric with its direction, description and defaults', () => {
    const r = cli('evaluate', '--help');
    expect(r.status).toBe(0);
    expect(METRICS.length).toBe(10);
    for (const m of METRICS) {
      expect(r.stdout).toContain(`${m.direction === 'higher' ? '↑' : '↓'} ${m.description}`);
      for (const line of describeParams({ id: m.id, defaults: m.defaults, params: m.params })) expect(r.stdout).toContain(line);
    }
    expect(r.stdout).toContain('subsetSize = 0 (an integer from 0 to the number of features): m: features per subset. 0 = max(1, ⌊n/16 + ½⌋).');
  });
});

describe('bad input exits non-zero with a message that says what to change', () => {
  const out = () => join(dir, 'never.json');
  const labelFile = () => join(dir, 'label5.csv');
  const dupFile = () => join(dir, 'dup.csv');
  // an explanations file of rows 48:56 (the round trip above writes the same one; this keeps the block self-contained)
  beforeAll(() => {
    writeFileSync(labelFile(), 'a,b,c,d,target\n1,2,3,4,0\n5,6,7,8,5\n');
    writeFileSync(dupFile(), 'a,a,c,d,target\n1,2,3,4,0\n');
    if (!existsSync(join(dir, 'ig.json')))
      ok('attribute', ...TASK_FLAGS, '--rows', '48:56', '--method', 'integrated-gradients', '--set', 'steps=16', '--baseline', 'mean', '--out', join(dir, 'ig.json'));
  });
  const cases: [string, () => string[], RegExp][] = [
    ['raw penguins file: text column', () => ['attribute', '--model', MODEL, '--data', 'tests/fixtures/penguins-raw.csv', '--label', 'species', '--method', 'saliency', '--out', out()], /penguins-raw\.csv, row 0 \(line 2\), column "island": "Torgersen" is not a number\..*drop the column/],
    ['raw penguins file: NA cell', () => ['attribute', '--model', MODEL, '--data', 'tests/fixtures/penguins-raw.csv', '--label', 'species', '--drop', 'island,sex,year', '--method', 'saliency', '--out', out()], /row 3 \(line 5\), column "bill_length_mm": the cell is missing \("NA"\)/],
    ['unknown label column', () => ['attribute', '--model', MODEL, '--data', DATA, '--label', 'species', '--method', 'saliency', '--out', out()], /has no label column "species"\. Pick one of its columns as the label: sepal length \(cm\),.*target/],
    ['width mismatch between model and data', () => ['attribute', '--model', 'public/demos/wine/model/model.json', '--data', DATA, '--label', 'target', '--method', 'saliency', '--out', out()], /model expects 13 features but .*iris\/data\.csv has 4 feature columns/],
    ['unknown demo', () => ['attribute', '--demo', 'mnist', '--method', 'saliency', '--out', out()], /--demo "mnist" is not a demo\. Use one of: iris, wine, breast-cancer, penguins/],
    ['integer label outside the model\'s classes with --target label', () => ['attribute', ...TASK_FLAGS.slice(0, 2), '--data', labelFile(), '--label', 'target', '--method', 'saliency', '--target', 'label', '--out', out()], /label 5 in column "target" is not a class of the model, which has 3 \(0\.\.2\)/],
    ['duplicate column names', () => ['attribute', ...TASK_FLAGS.slice(0, 2), '--data', dupFile(), '--label', 'target', '--method', 'saliency', '--out', out()], /has more than one column named "a"\. Give every column a distinct name/],
    ['unknown method', () => ['attribute', ...TASK_FLAGS, '--method', 'gradcam', '--out', out()], /Unknown method "gradcam"\. Use one of: saliency,/],
    ['unknown param', () => ['attribute', ...TASK_FLAGS, '--method', 'integrated-gradients', '--set', 'stepz=8', '--out', out()], /Method integrated-gradients has no parameter "stepz"\. Its parameters: steps \(an integer from 1 to 10000, default 50\); rule \(one of gausslegendre, trapezoid, riemann-right, default "gausslegendre"\)/],
    ['param of the wrong type', () => ['attribute', ...TASK_FLAGS, '--method', 'integrated-gradients', '--set', 'steps=many', '--out', out()], /Method integrated-gradients: parameter "steps" is "many", but it must be an integer from 1 to 10000/],
    ['missing --method', () => ['attribute', ...TASK_FLAGS, '--out', out()], /Missing --method\. Choose a method with --method <id>/],
    ['bad --rows', () => ['attribute', ...TASK_FLAGS, '--method', 'saliency', '--rows', '140:160', '--out', out()], /--rows 140:160 is outside the file's 150 data rows.*Use 0 ≤ A < B ≤ 150/],
    ['unknown flag', () => ['attribute', ...TASK_FLAGS, '--method', 'saliency', '--colour', 'red', '--out', out()], /Unknown option '--colour'.*--help/],
    ['missing data file', () => ['attribute', '--model', MODEL, '--data', 'no/such.csv', '--label', 'target', '--method', 'saliency', '--out', out()], /Data file no\/such\.csv does not exist/],
    ['unknown metric', () => ['evaluate', ...TASK_FLAGS, '--explanations', join(dir, 'ig.json'), '--metrics', 'FC,AUC', '--out', out()], /Unknown metric "AUC" in --metrics\. Use ids from: FC, FE, MC/],
    ['metric param without a metric', () => ['evaluate', ...TASK_FLAGS, '--explanations', join(dir, 'ig.json'), '--set', 'nSubsets=3', '--out', out()], /does not say which metric it is for\. Write METRIC\.key=value/],
    ['unknown metric param', () => ['evaluate', ...TASK_FLAGS, '--explanations', join(dir, 'ig.json'), '--metrics', 'DEL', '--set', 'DEL.k=2', '--out', out()], /Metric DEL has no parameter "k"\. Its parameters: stepSize \(an integer from 1 to the number of features, default 1\)/],
    ['explanations of another model', () => ['evaluate', '--model', 'public/demos/wine/model/model.json', '--data', 'public/demos/wine/data.csv', '--label', 'target', '--explanations', join(dir, 'ig.json'), '--out', out()], /has 4 values per row, but the model and .*wine\/data\.csv have 13 features/],
    ['evaluate --rows outside the explanations', () => ['evaluate', ...TASK_FLAGS, '--explanations', join(dir, 'ig.json'), '--rows', '0:10', '--out', out()], /--rows 0:10 is not within the explanations file's rows 48:56/],
    ['--target given to evaluate', () => ['evaluate', ...TASK_FLAGS, '--explanations', join(dir, 'ig.json'), '--target', 'label', '--out', out()], /takes the target classes from the explanations file/],
  ];
  it.concurrent.each(cases)('%s', async (_name, args, message) => {
    const r = await cliAsync(...args());
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/unexpected error/);
  });

  it('a model.json whose weight shard is missing names the shard', () => {
    const m = join(dir, 'no-shard');
    mkdirSync(m, { recursive: true });
    copyFileSync(MODEL, join(m, 'model.json'));
    const r = cli('attribute', '--model', join(m, 'model.json'), '--data', DATA, '--label', 'target', '--method', 'saliency', '--out', out());
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/needs weight file weights\.bin, which was not provided\..*\.bin shard/);
  });

  it('a model file that is not JSON says so', () => {
    const m = join(dir, 'not-json.json');
    writeFileSync(m, 'this is not a model\n');
    const r = cli('attribute', '--model', m, '--data', DATA, '--label', 'target', '--method', 'saliency', '--out', out());
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not-json\.json is not valid JSON, so it is not a TensorFlow\.js model\.json/);
  });

  it('an explanations file whose rows do not match its values is refused', () => {
    const bad = readJson(join(dir, 'ig.json'));
    bad.rows = [48, 60];
    const p = join(dir, 'bad-exp.json');
    writeFileSync(p, JSON.stringify(bad));
    const r = cli('evaluate', ...TASK_FLAGS, '--explanations', p, '--out', out());
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/"values" must hold one row per data row 48:60 \(12\), but it has 8/);
  });

  it('explanations beyond the data rows are refused', () => {
    const e = readJson(join(dir, 'ig.json'));
    const p = join(dir, 'late-exp.json');
    writeFileSync(p, JSON.stringify({ ...e, rows: [145, 153] }));
    const r = cli('evaluate', ...TASK_FLAGS, '--explanations', p, '--out', out());
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/covers rows 145:153, but .*iris\/data\.csv has only 150 data rows/);
  });
});

describe('npx', () => {
  it('`npx deepfaith` runs the project\'s own bin', () => {
    const r = spawnSync('npx', ['--no-install', 'deepfaith', 'evaluate', '--help'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: deepfaith evaluate/);
  });
});

// The engine in this process must not leak across the comparisons above.
describe('in-process comparisons', () => {
  it('load, predict and dispose leave no tensors behind', async () => {
    const before = tf.memory().numTensors;
    const { task, labels, data } = await demoTask();
    const batch = sliceBatch(data, 0, 4);
    await chooseTargets(task, batch, 'label', labels.slice(0, 4));
    task.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
