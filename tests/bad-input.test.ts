/**
 * The command line's bad-input corpus (docs/reliability.md, "Command line: bad-input corpus"):
 * one row per case — the command line (or job file), the fixture it needs, the exit code, the
 * message, and what must hold of inputs and outputs afterwards. Every case runs the CLI in this
 * process through `main(argv)` with console.error captured, in a folder of its own holding a copy
 * of the iris demo's model and data, an explanations file and an explainer folder. Unless a case
 * says otherwise it checks that:
 *   - the exit code and the message are the expected ones (never "unexpected error");
 *   - no model was loaded (TargetModel.create not called) — the refusal came before any model call;
 *   - every file in the case's folder has the same bytes afterwards, and nothing new appeared there
 *     (no output, no temporary file).
 *
 * Below the table: a GraphModel end to end, the CSV memory budget of the core parser, and fault
 * injection into the atomic writes (docs/reliability.md, "Fault injection"): `node:fs` is wrapped
 * so that a chosen write or rename fails the way a full disk or a failing device does.
 */
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';

/** Faults to inject into node:fs (null = pass through). */
const faults = vi.hoisted(() => ({
  write: null as null | ((path: string) => boolean),
  rename: null as null | ((from: string, to: string) => boolean),
}));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const fail = (code: string, syscall: string, path: string) =>
    Object.assign(new Error(`${code}: ${code === 'ENOSPC' ? 'no space left on device' : 'i/o error'}, ${syscall} '${path}'`), { code, syscall, path });
  const writeFileSync = ((path: import('node:fs').PathOrFileDescriptor, data: string | NodeJS.ArrayBufferView, ...rest: unknown[]) => {
    if (faults.write?.(String(path))) {
      // a full disk: part of the data lands, then the write fails
      const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      fs.writeFileSync(path, bytes.subarray(0, bytes.length >> 1));
      throw fail('ENOSPC', 'write', String(path));
    }
    return (fs.writeFileSync as (...a: unknown[]) => void)(path, data, ...rest);
  }) as typeof fs.writeFileSync;
  const renameSync = ((from: import('node:fs').PathLike, to: import('node:fs').PathLike) => {
    if (faults.rename?.(String(from), String(to))) throw fail('EIO', 'rename', String(from));
    return fs.renameSync(from, to);
  }) as typeof fs.renameSync;
  return { ...fs, writeFileSync, renameSync, default: { ...fs, writeFileSync, renameSync } };
});

import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { main } from '../src/cli/main';
import { writeFileAtomic, writeFolderAtomic } from '../src/cli/files';
import { TargetModel } from '../src/core/task/model';
import { Explainer, inputStatistics, type ExplainerConfig } from '../src/core/explainer/model';
import { parseCsv, parseCsvStream } from '../src/core/data/csv';
import { isUserError } from '../src/core/errors';
import { useBackend } from './helpers/models';

const IRIS = 'public/demos/iris';
const GRAPH = 'tests/fixtures/models/graph-mlp/model.json';
const GRAPH_CSV = 'tests/fixtures/graph-mlp.csv';
const isRoot = process.getuid?.() === 0;

/** A case's folder: copies of the iris model and data, an explanations file, an explainer, a job. */
interface Fx {
  dir: string;
  data: string;
  modelDir: string;
  model: string;
  weights: string;
  /** explanations of rows 48:56 (integrated-gradients, from `deepfaith attribute`) */
  exp: string;
  explainerDir: string;
  job: string;
  /** default output file and folder (absent before the run) */
  out: string;
  outDir: string;
  /** task flags over the copies */
  task: string[];
}

interface Run {
  code: number;
  err: string;
  out: string;
  /** models loaded (TargetModel.create calls) */
  loads: number;
  ms: number;
}

interface Case {
  name: string;
  argv: (f: Fx) => string[];
  /** a job file written to f.job first */
  job?: (f: Fx) => object;
  /** fixture changes before the run */
  setup?: (f: Fx) => void;
  code: number;
  message: RegExp;
  /** the model was loaded before the refusal (default: refused before any model call) */
  loadsModel?: boolean;
  /** more checks; the folder snapshot check runs unless `changes` */
  check?: (f: Fx, r: Run) => void;
  changes?: boolean;
  skip?: boolean;
}

let root: string;
let shared: string;
let caseCount = 0;
let createSpy: MockInstance;

/** Run the CLI in this process, capturing its messages and counting model loads. */
async function cli(argv: string[]): Promise<Run> {
  const err: string[] = [];
  const out: string[] = [];
  const e = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.map(String).join(' ')));
  const l = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.map(String).join(' ')));
  createSpy.mockClear();
  const t0 = performance.now();
  try {
    const code = await main(argv);
    return { code, err: err.join('\n'), out: out.join('\n'), loads: createSpy.mock.calls.length, ms: performance.now() - t0 };
  } finally {
    e.mockRestore();
    l.mockRestore();
  }
}

async function ok(argv: string[]): Promise<Run> {
  const r = await cli(argv);
  if (r.code !== 0) throw new Error(`deepfaith ${argv.join(' ')} exited ${r.code}:\n${r.err}`);
  return r;
}

/** Every entry under dir (links as links; large files by size and mtime): path → content digest. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      const key = relative(dir, p);
      if (st.isSymbolicLink()) out[key] = 'link';
      else if (st.isDirectory()) {
        out[key + '/'] = 'dir';
        walk(p);
      } else if (st.size > 2 ** 20) out[key] = `${st.size} bytes, mtime ${st.mtimeMs}`;
      else out[key] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

function fixture(): Fx {
  const dir = join(root, `case-${++caseCount}`);
  mkdirSync(dir);
  const modelDir = join(dir, 'model');
  cpSync(join(IRIS, 'model'), modelDir, { recursive: true });
  copyFileSync(join(IRIS, 'data.csv'), join(dir, 'data.csv'));
  copyFileSync(join(shared, 'exp.json'), join(dir, 'exp.json'));
  cpSync(join(shared, 'explainer'), join(dir, 'explainer'), { recursive: true });
  const f: Fx = {
    dir,
    data: join(dir, 'data.csv'),
    modelDir,
    model: join(modelDir, 'model.json'),
    weights: join(modelDir, 'weights.bin'),
    exp: join(dir, 'exp.json'),
    explainerDir: join(dir, 'explainer'),
    job: join(dir, 'job.json'),
    out: join(dir, 'out.json'),
    outDir: join(dir, 'out'),
    task: [],
  };
  f.task = ['--model', f.model, '--data', f.data, '--label', 'target'];
  return f;
}

/** Overwrite 4 bytes of a file at `offset` with a float32. */
function pokeFloat32(path: string, offset: number, v: number): void {
  const b = readFileSync(path);
  b.writeFloatLE(v, offset);
  writeFileSync(path, b);
}

/** Byte offset of a named weight in a one-group, float32-only manifest. */
function weightOffset(modelJsonPath: string, name: string): number {
  const j = JSON.parse(readFileSync(modelJsonPath, 'utf8')) as { weightsManifest: { weights: { name: string; shape: number[] }[] }[] };
  let off = 0;
  for (const w of j.weightsManifest[0].weights) {
    if (w.name === name) return off;
    off += 4 * w.shape.reduce((a, b) => a * b, 1);
  }
  throw new Error(`no weight ${name}`);
}

/** Replace the cell of data row `row` in column `col` of a CSV. */
function setCell(path: string, row: number, col: number, value: string): void {
  const lines = readFileSync(path, 'utf8').split('\n');
  const cells = lines[row + 1].split(',');
  cells[col] = value;
  lines[row + 1] = cells.join(',');
  writeFileSync(path, lines.join('\n'));
}

function setExpValue(path: string, row: number, feature: number, raw: string): void {
  const j = JSON.parse(readFileSync(path, 'utf8'));
  j.values[row][feature] = 0.123456;
  writeFileSync(path, JSON.stringify(j).replace('0.123456', raw));
}

/** A tiny job on the iris demo (about a second to run), with `over` merged over it section by section (`task` is replaced whole). */
function tinyJob(over: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, Record<string, unknown> | unknown> = {
    task: { demo: 'iris', maxRows: 30 },
    methods: [{ id: 'saliency' }, { id: 'feature-ablation' }],
    metrics: [{ id: 'RP' }, { id: 'DEL' }],
    supervision: { p: 0.3 },
    explainer: { dModel: 8, nHeads: 2, nLayers: 1, dFF: 8, dropout: 0 },
    training: { epochs: 2, batchSize: 8, lcSubsets: 4, evalEvery: 0 },
    seed: 1,
  };
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over))
    out[k] = k !== 'task' && v && typeof v === 'object' && !Array.isArray(v) && base[k] && typeof base[k] === 'object' && !Array.isArray(base[k]) ? { ...(base[k] as object), ...(v as object) } : v;
  return out;
}

/** The same job with its task on the case's copies (paths relative to the job file). */
const fileTask = { task: { model: 'model/model.json', data: 'data.csv', label: 'target', maxRows: 30 } };

const run = (f: Fx) => ['run', f.job, '--out', f.outDir];
const IS_INPUT = /--out .* is also an input \(.*\): writing there would overwrite it\. Choose another (file|folder) for --out\./;
const SETTING = (re: string) => new RegExp(re);

const cases: Case[] = [
  // ── --out is an input ──────────────────────────────────────────────────────────────────────────
  { name: 'attribute --out = the CSV', argv: (f) => ['attribute', ...f.task, '--method', 'saliency', '--out', f.data], code: 2, message: IS_INPUT },
  { name: 'attribute --out = model.json', argv: (f) => ['attribute', ...f.task, '--method', 'saliency', '--out', f.model], code: 2, message: IS_INPUT },
  { name: 'attribute --out = the weight shard', argv: (f) => ['attribute', ...f.task, '--method', 'saliency', '--out', f.weights], code: 2, message: IS_INPUT },
  {
    name: 'attribute --model <folder> --out = the weight shard in it',
    argv: (f) => ['attribute', '--model', f.modelDir, '--data', f.data, '--label', 'target', '--method', 'saliency', '--out', f.weights],
    code: 2,
    message: IS_INPUT,
  },
  {
    name: 'attribute --out = a link to the CSV',
    setup: (f) => symlinkSync(f.data, join(f.dir, 'link.json')),
    argv: (f) => ['attribute', ...f.task, '--method', 'saliency', '--out', join(f.dir, 'link.json')],
    code: 2,
    message: IS_INPUT,
  },
  {
    name: 'attribute --out = the CSV written another way (model/../data.csv)',
    argv: (f) => ['attribute', ...f.task, '--method', 'saliency', '--out', join(f.modelDir, '..', 'data.csv')],
    code: 2,
    message: IS_INPUT,
  },
  { name: 'evaluate --out = the explanations file', argv: (f) => ['evaluate', ...f.task, '--explanations', f.exp, '--metrics', 'DEL', '--out', f.exp], code: 2, message: IS_INPUT },
  {
    name: 'evaluate --out = the explanations file (relative --explanations, absolute --out)',
    argv: (f) => ['evaluate', ...f.task, '--explanations', relative(process.cwd(), f.exp), '--metrics', 'DEL', '--out', f.exp],
    code: 2,
    message: IS_INPUT,
  },
  { name: 'evaluate --out = the CSV', argv: (f) => ['evaluate', ...f.task, '--explanations', f.exp, '--metrics', 'DEL', '--out', f.data], code: 2, message: IS_INPUT },
  { name: 'explain --out = the explainer\'s weights.bin', argv: (f) => ['explain', '--explainer', f.explainerDir, '--rows', '0:4', '--out', join(f.explainerDir, 'weights.bin')], code: 2, message: IS_INPUT },
  { name: 'explain --out = the explainer\'s model.json', argv: (f) => ['explain', '--explainer', f.explainerDir, '--rows', '0:4', '--out', join(f.explainerDir, 'model.json')], code: 2, message: IS_INPUT },
  { name: 'supervise --out = the job file', job: () => tinyJob(), argv: (f) => ['supervise', f.job, '--out', f.job], code: 2, message: IS_INPUT },
  {
    name: 'supervise --out = the CSV (flags)',
    argv: (f) => ['supervise', '--model', f.model, '--data', f.data, '--label', 'target', '--methods', 'saliency', '--out', f.data],
    code: 2,
    message: IS_INPUT,
  },
  { name: 'run --out = the job file', job: () => tinyJob(), argv: (f) => ['run', f.job, '--out', f.job], code: 2, message: IS_INPUT },
  {
    name: 'run --out = a folder holding the job\'s CSV and model',
    job: () => tinyJob(fileTask),
    argv: (f) => ['run', f.job, '--out', f.dir],
    code: 2,
    message: /--out .* holds an input of this command \(.*\); the folder is replaced when the run completes\. Choose another folder for --out\./,
  },
  {
    name: 'run --out = the model\'s folder',
    job: () => tinyJob(fileTask),
    argv: (f) => ['run', f.job, '--out', f.modelDir],
    code: 2,
    message: /--out .*model holds an input of this command \(.*model\.json\)/,
  },
  {
    name: 'run --out = the folder holding the job file (demo task)',
    job: () => tinyJob(),
    argv: (f) => ['run', f.job, '--out', f.dir],
    code: 2,
    message: /--out .* holds an input of this command \(.*job\.json\)/,
  },

  // ── --out that cannot be written (checked before any model call) ──────────────────────────────
  {
    name: 'attribute --out under a file',
    setup: (f) => writeFileSync(join(f.dir, 'afile'), 'x'),
    argv: (f) => ['attribute', ...f.task, '--method', 'saliency', '--out', join(f.dir, 'afile', 'x.json')],
    code: 2,
    message: /--out .*afile\/x\.json cannot be written: .*afile is a file, not a folder\. Choose a path in a folder you can write to/,
  },
  {
    name: 'attribute --out under a file, two folders deep',
    setup: (f) => writeFileSync(join(f.dir, 'afile'), 'x'),
    argv: (f) => ['attribute', ...f.task, '--method', 'saliency', '--out', join(f.dir, 'afile', 'a', 'b', 'x.json')],
    code: 2,
    message: /cannot be written: .*afile is a file, not a folder/,
  },
  {
    name: 'attribute --out in /proc (root is not exempt)',
    argv: (f) => ['attribute', ...f.task, '--method', 'saliency', '--out', '/proc/deepfaith-bad-input.json'],
    code: 2,
    message: /--out \/proc\/deepfaith-bad-input\.json cannot be written: (ENOENT|EACCES|EPERM), its folder does not take new files/,
    check: () => expect(existsSync('/proc/deepfaith-bad-input.json')).toBe(false),
  },
  {
    name: 'evaluate --out in /sys',
    argv: (f) => ['evaluate', ...f.task, '--explanations', f.exp, '--out', '/sys/deepfaith-bad-input.json'],
    code: 2,
    message: /--out \/sys\/deepfaith-bad-input\.json cannot be written: E[A-Z]+, its folder does not take new files/,
  },
  {
    name: 'run --out a folder in /proc (no progress line before the refusal)',
    job: () => tinyJob(),
    argv: (f) => ['run', f.job, '--out', '/proc/deepfaith-bad-input'],
    code: 2,
    message: /--out \/proc\/deepfaith-bad-input cannot be written: E[A-Z]+, its folder does not take new folders/,
    check: (_f, r) => {
      expect(r.err).not.toMatch(/deepfaith run: load/);
      expect(r.err.split('\n')).toHaveLength(1);
    },
  },
  {
    name: 'attribute --out in a read-only folder (not as root: root ignores permission bits)',
    skip: isRoot,
    setup: (f) => {
      mkdirSync(join(f.dir, 'ro'));
      chmodSync(join(f.dir, 'ro'), 0o555);
    },
    argv: (f) => ['attribute', ...f.task, '--method', 'saliency', '--out', join(f.dir, 'ro', 'x.json')],
    code: 2,
    message: /cannot be written: EACCES/,
  },
  {
    name: 'attribute --out is a folder',
    setup: (f) => mkdirSync(join(f.dir, 'somewhere')),
    argv: (f) => ['attribute', ...f.task, '--method', 'saliency', '--out', join(f.dir, 'somewhere')],
    code: 2,
    message: /--out .*somewhere is a folder\. Give a file path/,
  },
  { name: 'run --out is a file', job: () => tinyJob(), argv: (f) => ['run', f.job, '--out', f.data], code: 2, message: /--out .*data\.csv is a file\. Give a folder/ },

  // ── NaN / Inf in model files ──────────────────────────────────────────────────────────────────
  {
    name: 'model weight NaN (hidden1/kernel[0])',
    setup: (f) => pokeFloat32(f.weights, 0, NaN),
    argv: (f) => ['attribute', ...f.task, '--method', 'saliency', '--out', f.out],
    code: 2,
    message: /model\.json: weight "hidden1\/kernel" \(layer hidden1\), shape \[4, 16\] in weights\.bin, holds 1 NaN value \(first at element 0\)\..*diverged training run/,
  },
  {
    name: 'model weight +Infinity (probabilities/bias[2])',
    setup: (f) => pokeFloat32(f.weights, weightOffset(f.model, 'probabilities/bias') + 8, Infinity),
    argv: (f) => ['evaluate', ...f.task, '--explanations', f.exp, '--out', f.out],
    code: 2,
    message: /weight "probabilities\/bias" \(layer probabilities\), shape \[3\] in weights\.bin, holds 1 infinite value \(first at element 2\)/,
  },
  {
    name: 'job whose model has a NaN weight',
    job: () => tinyJob(fileTask),
    setup: (f) => pokeFloat32(f.weights, weightOffset(f.model, 'hidden2/kernel') + 4 * 17, NaN),
    argv: run,
    code: 2,
    message: /weight "hidden2\/kernel" \(layer hidden2\).*holds 1 NaN value \(first at element 17\)/,
  },
  {
    name: 'explainer weight NaN given to explain',
    setup: (f) => pokeFloat32(join(f.explainerDir, 'weights.bin'), weightOffset(join(f.explainerDir, 'model.json'), 'layer0/ffn/w1') + 12, NaN),
    argv: (f) => ['explain', '--explainer', f.explainerDir, '--rows', '0:4', '--out', f.out],
    code: 2,
    message: /explainer\/model\.json: weight "layer0\/ffn\/w1" \(shape \[8, 8\]\) holds 1 NaN value \(first at element 3\)\..*train it again/,
  },
  {
    name: 'explainer weight -Infinity given to explain',
    setup: (f) => pokeFloat32(join(f.explainerDir, 'weights.bin'), weightOffset(join(f.explainerDir, 'model.json'), 'head/b'), -Infinity),
    argv: (f) => ['explain', '--explainer', f.explainerDir, '--rows', '0:4', '--out', f.out],
    code: 2,
    message: /weight "head\/b" \(shape \[1\]\) holds 1 infinite value/,
  },
  {
    name: 'explainer whose manifest lacks a weight its config needs',
    setup: (f) => {
      const p = join(f.explainerDir, 'model.json');
      writeFileSync(p, readFileSync(p, 'utf8').replace('"layer0/attn/wq"', '"layer0/attn/wq_old"'));
    },
    argv: (f) => ['explain', '--explainer', f.explainerDir, '--rows', '0:4', '--out', f.out],
    code: 2,
    message: /the weights manifest lacks weight layer0\/attn\/wq that its config \(1 layer, dModel 8\) needs/,
  },
  {
    name: 'explainer with a null inputStd',
    setup: (f) => {
      const p = join(f.explainerDir, 'model.json');
      const j = JSON.parse(readFileSync(p, 'utf8'));
      j.config.inputStd[1] = null;
      writeFileSync(p, JSON.stringify(j));
    },
    argv: (f) => ['explain', '--explainer', f.explainerDir, '--rows', '0:4', '--out', f.out],
    code: 2,
    message: /explainer\/model\.json: Explainer inputStd\[1\] is null, not a positive finite number\. Rebuild the explainer/,
  },

  // ── job settings, all checked before the task is loaded ───────────────────────────────────────
  {
    name: 'training.learningRate "fast"',
    job: () => tinyJob({ training: { learningRate: 'fast' } }),
    argv: run,
    code: 2,
    message: SETTING('Job section training: parameter "learningRate" is "fast", but it must be a number > 0 and ≤ 1\\. Set learningRate to'),
  },
  { name: 'training.epochs -1', job: () => tinyJob({ training: { epochs: -1 } }), argv: run, code: 2, message: /Job section training: parameter "epochs" is -1, but it must be an integer from 0 to 100000/ },
  { name: 'training.epochs "3" (a string)', job: () => tinyJob({ training: { epochs: '3' } }), argv: run, code: 2, message: /Job section training: parameter "epochs" is "3", but it must be an integer from 0 to 100000/ },
  {
    name: 'explainer.nHeads 3 with dModel 8',
    job: () => tinyJob({ explainer: { dModel: 8, nHeads: 3 } }),
    argv: run,
    code: 2,
    message: /Job explainer\.dModel = 8 is not a multiple of explainer\.nHeads = 3\. Pick a width that is a multiple of the number of heads/,
  },
  { name: 'task.maxRows -5', job: () => tinyJob({ task: { demo: 'iris', maxRows: -5 } }), argv: run, code: 2, message: /Job section task: parameter "maxRows" is -5, but it must be an integer from 0 to 100000000/ },
  { name: 'metrics: []', job: () => tinyJob({ metrics: [] }), argv: run, code: 2, message: /Job field "metrics" is an empty list: nothing would be scored\. Name at least one metric \(FC, FE, MC, INF, RP, INS, DEL, NEG, POS, IROF\), or use "all"/ },
  {
    name: 'task with both demo and model/data',
    job: () => tinyJob({ task: { demo: 'iris', model: 'model/model.json', data: 'data.csv' } }),
    argv: run,
    code: 2,
    message: /The job's task names both the demo "iris" and files \(model\/model\.json, data\.csv\)\. Give either task\.demo or task\.model \+ task\.data, not both/,
  },
  {
    name: 'metrics FC.nSubsets 1e9 in the job',
    job: () => tinyJob({ metrics: [{ id: 'FC', params: { nSubsets: 1e9 } }] }),
    argv: run,
    code: 2,
    message: /Metric FC: parameter "nSubsets" is 1000000000, but it must be an integer from \d+ to \d+\. Set nSubsets to/,
  },
  {
    name: 'evaluate --set FC.nSubsets=1000000000',
    argv: (f) => ['evaluate', ...f.task, '--explanations', f.exp, '--metrics', 'FC', '--set', 'FC.nSubsets=1000000000', '--out', f.out],
    code: 2,
    message: /Metric FC: parameter "nSubsets" is 1000000000, but it must be an integer from \d+ to \d+/,
  },
  {
    name: 'misspelled metric parameter FC.nSubset',
    job: () => tinyJob({ metrics: [{ id: 'FC', params: { nSubset: 5 } }] }),
    argv: run,
    code: 2,
    message: /Metric FC has no parameter "nSubset"\. Its parameters: nSubsets \(an integer from \d+ to \d+, default 100\); subsetSize/,
  },
  {
    name: 'misspelled method parameter integrated-gradients.step',
    job: () => tinyJob({ methods: [{ id: 'integrated-gradients', params: { step: 4 } }] }),
    argv: run,
    code: 2,
    message: /Method integrated-gradients has no parameter "step"\. Its parameters: steps \(an integer from 1 to 10000, default 50\); rule \(one of gausslegendre, trapezoid, riemann-right/,
  },
  { name: 'unknown method id in a job', job: () => tinyJob({ methods: [{ id: 'gradcam' }] }), argv: run, code: 2, message: /Job methods\[0\]: "gradcam" is not an attribution method\. Use one of: saliency, / },
  { name: 'unknown method id in attribute', argv: (f) => ['attribute', ...f.task, '--method', 'gradcam', '--out', f.out], code: 2, message: /Unknown method "gradcam"\. Use one of: saliency, / },
  { name: 'unknown metric id in a job', job: () => tinyJob({ metrics: [{ id: 'AUC' }] }), argv: run, code: 2, message: /Job metrics\[0\]: "AUC" is not a metric\. Use one of: FC, FE/ },
  { name: 'misspelled job field', job: () => ({ ...tinyJob(), trainig: { epochs: 3 } }), argv: run, code: 2, message: /Job field "trainig" is not known\. Known fields: task, methods, metrics/ },
  {
    name: 'supervise with a bad job setting',
    job: () => tinyJob({ supervision: { p: 2 } }),
    argv: (f) => ['supervise', f.job, '--out', f.out],
    code: 2,
    message: /Job section supervision: parameter "p" is 2, but it must be/,
  },
  { name: 'job file that is not JSON', setup: (f) => writeFileSync(f.job, '{ "task": '), argv: run, code: 2, message: /Job file .*job\.json is not valid JSON/ },
  {
    name: 'training that diverges (learningRate 1) over an earlier output folder',
    job: () => tinyJob({ training: { learningRate: 1, epochs: 30 } }),
    setup: (f) => {
      mkdirSync(join(f.outDir, 'explainer'), { recursive: true });
      writeFileSync(join(f.outDir, 'results.json'), '{"earlier": true}\n');
      writeFileSync(join(f.outDir, 'explainer', 'model.json'), '{"earlier": true}\n');
      writeFileSync(join(f.outDir, 'complete'), 'earlier\n');
    },
    argv: run,
    code: 2,
    loadsModel: true,
    message: /Training diverged at step \d+ \(epoch \d+\): L_PC = NaN, L_LC = NaN with learning rate 1\. Nothing was saved\. Lower training\.learningRate/,
  },

  // ── numbers out of float32 range ──────────────────────────────────────────────────────────────
  {
    name: 'CSV cell 1e39',
    setup: (f) => setCell(f.data, 5, 1, '1e39'),
    argv: (f) => ['attribute', ...f.task, '--method', 'saliency', '--out', f.out],
    code: 2,
    message: /data\.csv, row 5 \(line 7\), column "sepal width \(cm\)": 1e39 is too large for the 32-bit floats the models compute with \(largest magnitude 3\.4028235e38\)\. Rescale the column/,
  },
  {
    name: 'CSV cell 1e39 with --baseline mean',
    setup: (f) => setCell(f.data, 5, 1, '1e39'),
    argv: (f) => ['attribute', ...f.task, '--baseline', 'mean', '--method', 'saliency', '--out', f.out],
    code: 2,
    message: /data\.csv, row 5 \(line 7\), column "sepal width \(cm\)": 1e39 is too large/,
  },
  {
    name: 'CSV cell -1e308 (evaluate)',
    setup: (f) => setCell(f.data, 140, 3, '-1e308'),
    argv: (f) => ['evaluate', ...f.task, '--explanations', f.exp, '--out', f.out],
    code: 2,
    message: /data\.csv, row 140 \(line 142\), column "petal width \(cm\)": -1e308 is too large/,
  },
  {
    name: 'CSV cell 1e39 in a job\'s data',
    job: () => tinyJob(fileTask),
    setup: (f) => setCell(f.data, 2, 0, '1e39'),
    argv: run,
    code: 2,
    message: /data\.csv, row 2 \(line 4\), column "sepal length \(cm\)": 1e39 is too large/,
  },
  { name: 'CSV cell Infinity', setup: (f) => setCell(f.data, 7, 2, 'Infinity'), argv: (f) => ['attribute', ...f.task, '--method', 'saliency', '--out', f.out], code: 2, message: /row 7 \(line 9\), column "petal length \(cm\)": "Infinity" is not a number/ },
  {
    name: 'explanation value 1e39',
    setup: (f) => setExpValue(f.exp, 2, 1, '1e39'),
    argv: (f) => ['evaluate', ...f.task, '--explanations', f.exp, '--out', f.out],
    code: 2,
    message: /Explanations file .*exp\.json: values row 2, feature 1 is 1e\+39, beyond the float32 range \(±3\.4e38\) the metrics compute in/,
  },
  {
    name: 'explanation value null (a NaN written by another tool)',
    setup: (f) => setExpValue(f.exp, 0, 3, 'null'),
    argv: (f) => ['evaluate', ...f.task, '--explanations', f.exp, '--out', f.out],
    code: 2,
    message: /values row 0, feature 3 is null, not a finite number/,
  },

  // ── files over the memory budgets (sparse files: nothing is read) ─────────────────────────────
  {
    name: 'a 600 MiB file of zero bytes (sparse): refused as binary from its first chunk, not read whole',
    setup: (f) => {
      writeFileSync(join(f.dir, 'big.csv'), '');
      truncateSync(join(f.dir, 'big.csv'), 600 * 2 ** 20);
    },
    argv: (f) => ['attribute', '--model', f.model, '--data', join(f.dir, 'big.csv'), '--label', 'target', '--method', 'saliency', '--out', f.out],
    code: 2,
    message: /big\.csv is not a text CSV file \(it contains binary data\)\. Choose a comma-separated text file/,
  },
  {
    name: 'weight shard larger than the weight budget (3 GiB, sparse)',
    setup: (f) => truncateSync(f.weights, 3 * 2 ** 30),
    argv: (f) => ['attribute', ...f.task, '--method', 'saliency', '--out', f.out],
    code: 2,
    message: /Weight file .*model\/weights\.bin is 3 GiB, more than the 1 GiB memory budget for all of a model's weights\. Check that the file belongs to this model\.json/,
  },
];

beforeAll(async () => {
  await useBackend('wasm');
  root = mkdtempSync(join(tmpdir(), 'deepfaith-bad-'));
  shared = join(root, 'shared');
  mkdirSync(shared);
  createSpy = vi.spyOn(TargetModel, 'create');
  await ok(['attribute', '--model', `${IRIS}/model/model.json`, '--data', `${IRIS}/data.csv`, '--label', 'target', '--rows', '48:56', '--method', 'integrated-gradients', '--set', 'steps=8', '--out', join(shared, 'exp.json')]);
  // a tiny untrained explainer for the iris demo, in the folder layout `deepfaith run` writes
  const x = parseCsv(readFileSync(`${IRIS}/data.csv`, 'utf8'), 'iris', { label: 'target' });
  const config: ExplainerConfig = { nFeatures: 4, dModel: 8, nHeads: 2, nLayers: 1, dFF: 8, dropout: 0, seed: 1, ...inputStatistics(x.x, x.nRows, 4) };
  const explainer = new Explainer(config);
  try {
    const { modelJson, weights } = await explainer.serialize();
    mkdirSync(join(shared, 'explainer'));
    writeFileSync(join(shared, 'explainer', 'model.json'), JSON.stringify({ ...modelJson, trainedFor: { demo: 'iris', target: 'predicted', output: 'probability', baseline: 'zero' } }));
    writeFileSync(join(shared, 'explainer', 'weights.bin'), new Uint8Array(weights));
  } finally {
    explainer.dispose();
  }
});
afterAll(() => {
  faults.write = null;
  faults.rename = null;
  rmSync(root, { recursive: true, force: true });
});

describe('bad-input corpus: exit 2, a message naming the problem, inputs untouched, nothing written', () => {
  it('the fixtures are good: the same commands succeed on them', async () => {
    const f = fixture();
    await ok(['attribute', ...f.task, '--rows', '0:4', '--method', 'saliency', '--out', f.out]);
    await ok(['evaluate', ...f.task, '--explanations', f.exp, '--metrics', 'DEL', '--out', join(f.dir, 'm.json')]);
    const r = await ok(['explain', '--explainer', f.explainerDir, '--rows', '0:4', '--out', join(f.dir, 'e.json')]);
    expect(r.loads).toBe(1);
    const e = JSON.parse(readFileSync(join(f.dir, 'e.json'), 'utf8'));
    for (const row of e.values) for (const v of row) expect(Number.isFinite(v)).toBe(true);
  });

  // a case that cannot be made on this machine (a read-only folder, as root) is not registered at all
  for (const c of cases.filter((x) => !x.skip))
    it(c.name, async () => {
      const f = fixture();
      if (c.job) writeFileSync(f.job, JSON.stringify(c.job(f), null, 1));
      c.setup?.(f);
      const before = snapshot(f.dir);
      const r = await cli(c.argv(f));
      expect(r.err).not.toMatch(/unexpected error/);
      expect(r.code, r.err).toBe(c.code);
      expect(r.err).toMatch(c.message);
      if (!c.loadsModel) expect(r.loads, 'refused before any model was loaded').toBe(0);
      if (!c.changes) expect(snapshot(f.dir)).toEqual(before);
      c.check?.(f, r);
    });
});

describe('a tfjs GraphModel end to end (tests/fixtures/models/graph-mlp: 3 inputs, 3 classes)', () => {
  it('attribute (saliency, integrated-gradients) and evaluate (all ten metrics) run on it', async () => {
    const dir = mkdtempSync(join(root, 'graph-'));
    const task = ['--model', GRAPH, '--data', GRAPH_CSV, '--label', 'label'];
    for (const method of ['saliency', 'integrated-gradients']) {
      const exp = join(dir, `${method}.json`);
      await ok(['attribute', ...task, '--method', method, ...(method === 'integrated-gradients' ? ['--set', 'steps=16'] : []), '--out', exp]);
      const e = JSON.parse(readFileSync(exp, 'utf8'));
      expect(e.rows).toEqual([0, 12]);
      expect(e.featureNames).toEqual(['x0', 'x1', 'x2']);
      expect(e.values).toHaveLength(12);
      for (const row of e.values) {
        expect(row).toHaveLength(3);
        for (const v of row) expect(Number.isFinite(v)).toBe(true);
      }
      expect(e.values.flat().some((v: number) => v !== 0)).toBe(true);
      expect(e.modelCalls).toBeGreaterThan(0);
      for (const t of e.target) expect([0, 1, 2]).toContain(t);
      const met = join(dir, `${method}-metrics.json`);
      await ok(['evaluate', ...task, '--explanations', exp, '--out', met]);
      const m = JSON.parse(readFileSync(met, 'utf8'));
      expect(Object.keys(m.metrics)).toEqual(['FC', 'FE', 'MC', 'INF', 'RP', 'INS', 'DEL', 'NEG', 'POS', 'IROF']);
      for (const [id, s] of Object.entries(m.metrics) as [string, { perSample: (number | null)[]; mean: number | null }][]) {
        expect(s.perSample, id).toHaveLength(12);
        expect(s.mean === null || Number.isFinite(s.mean), id).toBe(true);
      }
      expect(m.modelCalls).toBeGreaterThan(0);
    }
  });

  it('integrated-gradients on the graph is complete: Σ attributions ≈ p(x) − p(baseline) per row', async () => {
    const dir = mkdtempSync(join(root, 'graph-ig-'));
    const exp = join(dir, 'ig.json');
    await ok(['attribute', '--model', GRAPH, '--data', GRAPH_CSV, '--label', 'label', '--method', 'integrated-gradients', '--set', 'steps=64', '--out', exp]);
    const e = JSON.parse(readFileSync(exp, 'utf8'));
    const model = await (await import('../src/cli/files')).loadModelFromPath(GRAPH);
    try {
      const csv = parseCsv(readFileSync(GRAPH_CSV, 'utf8'), GRAPH_CSV, { label: 'label' });
      const p = await model.predict(csv.x, csv.nRows, 'probability'); // [12, 3]
      const p0 = await model.predict(new Float32Array(3), 1, 'probability'); // [1, 3] zero baseline
      for (let r = 0; r < 12; r++) {
        const c = e.target[r];
        const sum = e.values[r].reduce((a: number, b: number) => a + b, 0);
        expect(Math.abs(sum - (p[r * 3 + c] - p0[c]))).toBeLessThan(2e-2);
      }
    } finally {
      model.dispose();
    }
  });
});

describe('files over the CSV memory budget (core parser; the CLI case above refuses by file size)', () => {
  const text = 'a,b,c,d,target\n' + Array.from({ length: 200 }, (_, i) => `${i},1,2,3,${i % 2}`).join('\n') + '\n';
  it('parseCsv stops at maxTableBytes with a message naming the file, the budget and what to do', () => {
    let msg = '';
    try {
      parseCsv(text, 'big.csv', { label: 'target', maxTableBytes: 1024 });
    } catch (e) {
      expect(isUserError(e)).toBe(true);
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/big\.csv is too large to load whole: its first 64 data rows already fill the 1 KiB allowed for the feature table \(4 features × 4 bytes per row\)\. Load only the rows you need/);
  });
  it('parseCsvStream estimates the whole file from its size', async () => {
    const chunks = (function* () {
      for (let i = 0; i < text.length; i += 100) yield text.slice(i, i + 100);
    })();
    await expect(parseCsvStream(chunks, 'big.csv', { label: 'target', maxTableBytes: 1024, byteSize: text.length })).rejects.toThrow(/the whole file holds about \d+ rows/);
    // with maxRows below the budget the same file loads
    const d = await parseCsvStream([text], 'big.csv', { label: 'target', maxTableBytes: 1024, maxRows: 50 });
    expect(d.nRows).toBe(50);
  });
});

describe('fault injection: atomic writes leave earlier results as they were', () => {
  const tmpLeft = (dir: string) => readdirSync(dir).filter((n) => /\.tmp-|\.old-|deepfaith-probe/.test(n));

  it('writeFileAtomic: a full disk while writing the temporary file leaves the earlier file and no temporary file', () => {
    const dir = mkdtempSync(join(root, 'wfa-'));
    const p = join(dir, 'out.json');
    writeFileSync(p, 'earlier\n');
    faults.write = (path) => path.includes('.tmp-');
    try {
      expect(() => writeFileAtomic(p, 'x'.repeat(10_000))).toThrow(/Could not write .*out\.json \(ENOSPC\)\. .*an earlier file there is left as it was/);
    } finally {
      faults.write = null;
    }
    expect(readFileSync(p, 'utf8')).toBe('earlier\n');
    expect(readdirSync(dir)).toEqual(['out.json']);
  });

  it('writeFileAtomic: a failing rename leaves the earlier file and no temporary file', () => {
    const dir = mkdtempSync(join(root, 'wfa-'));
    const p = join(dir, 'out.json');
    writeFileSync(p, 'earlier\n');
    faults.rename = (from) => from.includes('.tmp-');
    try {
      expect(() => writeFileAtomic(p, 'new')).toThrow(/Could not write .*\(EIO\)/);
    } finally {
      faults.rename = null;
    }
    expect(readFileSync(p, 'utf8')).toBe('earlier\n');
    expect(readdirSync(dir)).toEqual(['out.json']);
  });

  it('attribute: a full disk at the final write exits 2 and leaves the earlier --out file', async () => {
    const f = fixture();
    writeFileSync(f.out, '{"earlier": true}\n');
    const before = snapshot(f.dir);
    faults.write = (path) => path.includes('.out.json.tmp-');
    let r: Run;
    try {
      r = await cli(['attribute', ...f.task, '--rows', '0:4', '--method', 'saliency', '--out', f.out]);
    } finally {
      faults.write = null;
    }
    expect(r.code, r.err).toBe(2);
    expect(r.loads).toBe(1); // the fault hit after the compute
    expect(r.err).toMatch(/deepfaith attribute: Could not write .*out\.json \(ENOSPC\)/);
    expect(snapshot(f.dir)).toEqual(before);
  });

  /** An earlier output folder: results, explainer, marker and a stray file. */
  function earlierFolder(out: string): void {
    mkdirSync(join(out, 'explainer'), { recursive: true });
    writeFileSync(join(out, 'results.json'), '{"earlier": true}\n');
    writeFileSync(join(out, 'report.md'), '# earlier\n');
    writeFileSync(join(out, 'explainer', 'model.json'), '{"earlier": true}\n');
    writeFileSync(join(out, 'complete'), 'earlier\n');
    writeFileSync(join(out, 'stray.txt'), 'from an earlier run\n');
  }

  it('writeFolderAtomic: fill() throwing half-way leaves the earlier folder and no temporary folder', async () => {
    const parent = mkdtempSync(join(root, 'wdir-'));
    const out = join(parent, 'out');
    earlierFolder(out);
    const before = snapshot(parent);
    await expect(
      writeFolderAtomic(out, async (dir) => {
        writeFileSync(join(dir, 'results.json'), '{"new": true}\n');
        throw new Error('boom in fill');
      }),
    ).rejects.toThrow(/boom in fill/);
    expect(snapshot(parent)).toEqual(before);
    expect(tmpLeft(parent)).toEqual([]);
  });

  it('writeFolderAtomic: a full disk inside fill() is a UserError and leaves the earlier folder', async () => {
    const parent = mkdtempSync(join(root, 'wdir-'));
    const out = join(parent, 'out');
    earlierFolder(out);
    const before = snapshot(parent);
    faults.write = (path) => path.endsWith('report.md');
    try {
      await expect(
        writeFolderAtomic(out, async (dir) => {
          writeFileSync(join(dir, 'results.json'), '{"new": true}\n');
          writeFileSync(join(dir, 'report.md'), '# new\n');
        }),
      ).rejects.toThrow(/Could not write the results into .*out \(ENOSPC: .*the earlier .*out is left as it was/);
    } finally {
      faults.write = null;
    }
    expect(snapshot(parent)).toEqual(before);
  });

  it('writeFolderAtomic: a failing final rename puts the earlier folder back', async () => {
    const parent = mkdtempSync(join(root, 'wdir-'));
    const out = join(parent, 'out');
    earlierFolder(out);
    const before = snapshot(parent);
    faults.rename = (from, to) => from.includes('.out.tmp-') && to === out;
    try {
      await expect(writeFolderAtomic(out, async (dir) => writeFileSync(join(dir, 'results.json'), '{"new": true}\n'))).rejects.toThrow(
        /Could not move the results into .*out \(EIO\).*the earlier .*out is left as it was/,
      );
    } finally {
      faults.rename = null;
    }
    expect(snapshot(parent)).toEqual(before);
  });

  it('writeFolderAtomic: a failure moving the earlier folder aside leaves it in place', async () => {
    const parent = mkdtempSync(join(root, 'wdir-'));
    const out = join(parent, 'out');
    earlierFolder(out);
    const before = snapshot(parent);
    faults.rename = (_from, to) => to.includes('.out.old-');
    try {
      await expect(writeFolderAtomic(out, async (dir) => writeFileSync(join(dir, 'results.json'), '{"new": true}\n'))).rejects.toThrow(/Could not move the results/);
    } finally {
      faults.rename = null;
    }
    expect(snapshot(parent)).toEqual(before);
  });

  it('run into an existing folder replaces it as a whole and writes the complete marker', async () => {
    const f = fixture();
    writeFileSync(f.job, JSON.stringify(tinyJob()));
    earlierFolder(f.outDir);
    const r = await ok(['run', f.job, '--out', f.outDir]);
    expect(r.err).toMatch(/deepfaith run: wrote .*results\.json/);
    expect(readdirSync(f.outDir).sort()).toEqual(['complete', 'explainer', 'report.md', 'results.json']);
    expect(readdirSync(join(f.outDir, 'explainer')).sort()).toEqual(['model.json', 'weights.bin']);
    const results = JSON.parse(readFileSync(join(f.outDir, 'results.json'), 'utf8'));
    expect(results.earlier).toBeUndefined();
    expect(results.table.map((t: { method: string }) => t.method)).toContain('deepfaith');
    expect(JSON.parse(readFileSync(join(f.outDir, 'explainer', 'model.json'), 'utf8')).format).toBe('deepfaith-explainer');
    expect(readFileSync(join(f.outDir, 'complete'), 'utf8')).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(tmpLeft(f.dir)).toEqual([]);
    // and the explainer it wrote is accepted by explain
    await ok(['explain', '--explainer', join(f.outDir, 'explainer'), '--rows', '0:4', '--out', join(f.dir, 'e.json')]);
  });

  it('run: a full disk while writing report.md exits 2 and leaves the earlier folder as it was', async () => {
    const f = fixture();
    writeFileSync(f.job, JSON.stringify(tinyJob()));
    earlierFolder(f.outDir);
    const before = snapshot(f.dir);
    faults.write = (path) => path.endsWith('report.md') && path.includes('.out.tmp-');
    let r: Run;
    try {
      r = await cli(['run', f.job, '--out', f.outDir]);
    } finally {
      faults.write = null;
    }
    expect(r.code, r.err).toBe(2);
    expect(r.err).toMatch(/deepfaith run: Could not write the results into .*out \(ENOSPC: .*the earlier .*out is left as it was/);
    expect(snapshot(f.dir)).toEqual(before);
  });

  it('runs that fail after the model is loaded leave no tensors behind', async () => {
    const failing = async () => {
      const f = fixture();
      // diverges mid-training (explainer and optimizer live), a full disk after the compute, a setting refused once the task is known
      writeFileSync(f.job, JSON.stringify(tinyJob({ training: { learningRate: 1, epochs: 30 } })));
      expect((await cli(['run', f.job, '--out', f.outDir])).code).toBe(2);
      faults.write = (path) => path.includes('.out.json.tmp-');
      try {
        expect((await cli(['attribute', ...f.task, '--rows', '0:4', '--method', 'integrated-gradients', '--set', 'steps=4', '--out', f.out])).code).toBe(2);
      } finally {
        faults.write = null;
      }
      const r = await cli(['evaluate', ...f.task, '--explanations', f.exp, '--metrics', 'FC', '--set', 'FC.subsetSize=9', '--out', f.out]);
      expect(r.code).toBe(2);
      expect(r.loads).toBe(1);
      expect(r.err).toMatch(/Metric FC: parameter "subsetSize" is 9, but .*it must be an integer from 0 to 4/);
    };
    await failing();
    const before = tf.memory().numTensors;
    await failing();
    await failing();
    expect(tf.memory().numTensors).toBe(before);
  });
});
