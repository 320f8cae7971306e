/** Shared CLI plumbing: flag parsing, backend, loading a task from --model/--data/--label. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../core/errors';
import { initBackend, isBackendRequest, type BackendReport } from '../core/backend';
import { parseRows, type Dataset } from '../core/data/csv';
import { DEMOS, getDemo, type DemoMeta } from '../core/data/demos';
import { makeTask, sliceBatch, type Batch, type Task, type TargetRule } from '../core/task/task';
import { BASELINES, type BaselineKind } from '../core/task/featureSpace';
import { OUTPUT_MODES, type OutputMode } from '../core/task/model';
import { alignIntegerLabels, loadCsvFromPath, loadModelFromPath } from './files';

export interface CliCommand {
  help(): Promise<string> | string;
  /** Returns the exit code. Throws UserError for bad input. */
  run(argv: string[]): Promise<number>;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags every task-based command shares. */
export const TASK_OPTIONS: Options = {
  demo: { type: 'string' },
  model: { type: 'string' },
  data: { type: 'string' },
  label: { type: 'string' },
  drop: { type: 'string' },
  rows: { type: 'string' },
  baseline: { type: 'string' },
  target: { type: 'string' },
  output: { type: 'string' },
  seed: { type: 'string' },
  backend: { type: 'string' },
  out: { type: 'string' },
  set: { type: 'string', multiple: true },
};

export const TASK_HELP = [
  `  --demo <id>              a built-in demo task (${DEMOS.map((d) => d.id).join(', ')}): sets --model, --data and --label`,
  '  --model <model.json>     TensorFlow.js model (LayersModel or GraphModel); shards are read beside it',
  '  --data <file.csv>        CSV with a header row; every column but the label (and --drop) is a feature',
  '  --label <column>         the label column',
  '  --drop <a,b,…>           columns to ignore',
  '  --rows A:B               half-open range of data rows counted from 0 (header not counted); default all',
  `  --baseline zero|mean     removal baseline (default zero; mean = per-feature mean over all data rows of the file)`,
  '  --output probability|logit|raw   model output the scores use (default probability)',
  '  --seed N                 job seed (default 0)',
  '  --backend cpu|wasm       tfjs backend (default wasm)',
].join('\n');

export function parseFlags(argv: string[], options: Options): Record<string, string | string[] | boolean | undefined> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<string, string | string[] | boolean | undefined>;
  } catch (e) {
    throw new UserError(`${(e as Error).message}.`, 'Run with --help to see the accepted options.');
  }
}

export function required(flags: Record<string, unknown>, name: string, hint: string): string {
  const v = flags[name];
  if (typeof v !== 'string' || v === '') throw new UserError(`Missing --${name}.`, hint);
  return v;
}

export function parseSeed(v: unknown): number {
  if (v === undefined) return 0;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UserError(`--seed "${String(v)}" is not an integer.`, 'Give a whole number, e.g. --seed 0.');
  return n;
}

/** `--set key=value` pairs; values become numbers or booleans where they look like one. */
export function parseSets(sets: unknown): Record<string, number | boolean | string> {
  const out: Record<string, number | boolean | string> = {};
  for (const s of (sets as string[] | undefined) ?? []) {
    const i = s.indexOf('=');
    if (i <= 0) throw new UserError(`--set "${s}" is not of the form key=value.`, 'Write e.g. --set steps=32.');
    const key = s.slice(0, i).trim();
    const raw = s.slice(i + 1).trim();
    out[key] = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  }
  return out;
}

/** Merge user params over defaults; unknown keys or wrongly typed values are errors naming the valid keys. */
export function mergeParams<P extends Record<string, number | boolean | string>>(unit: string, defaults: P, given: Record<string, number | boolean | string>): P {
  const out = { ...defaults } as Record<string, number | boolean | string>;
  for (const [k, v] of Object.entries(given)) {
    if (!(k in defaults))
      throw new UserError(`${unit} has no parameter "${k}".`, `Its parameters are: ${Object.keys(defaults).join(', ') || '(none)'}.`);
    const want = typeof defaults[k];
    if (typeof v !== want) throw new UserError(`${unit} parameter "${k}" must be a ${want}, got "${String(v)}".`, `Default: ${k}=${String(defaults[k])}.`);
    out[k] = v;
  }
  return out as P;
}

export async function initCliBackend(v: unknown): Promise<BackendReport> {
  const name = (v as string | undefined) ?? 'wasm';
  if (!isBackendRequest(name) || (name !== 'wasm' && name !== 'cpu'))
    throw new UserError(`--backend "${name}" is not available in the command line.`, 'Use --backend wasm (default) or --backend cpu.');
  // tfjs's cpu backend prints a banner recommending tfjs-node (which cannot install offline) on first use
  if (name === 'cpu') tf.env().set('PROD', true);
  return initBackend(name);
}

export interface LoadedTask {
  task: Task;
  data: Dataset;
  /** The rows chosen by --rows. */
  batch: Batch;
  rows: [number, number];
  targetRule: TargetRule;
  seed: number;
  backend: BackendReport;
}

/** The project's public/demos folder (beside src/, wherever the command is run from). */
export const DEMOS_DIR = fileURLToPath(new URL('../../public/demos/', import.meta.url));

/**
 * `--demo <id>`: fill --model, --data and --label from the demo registry (flags given explicitly win)
 * and return the demo's class names from its meta.json.
 */
export function applyDemoFlags(flags: Record<string, unknown>): { flags: Record<string, unknown>; classNames?: string[] } {
  if (flags.demo === undefined) return { flags };
  const demo = getDemo(String(flags.demo));
  if (!demo) throw new UserError(`--demo "${String(flags.demo)}" is not a demo.`, `Use one of: ${DEMOS.map((d) => d.id).join(', ')}.`);
  const meta = JSON.parse(readFileSync(join(DEMOS_DIR, demo.meta), 'utf8')) as DemoMeta;
  return {
    flags: { ...flags, model: flags.model ?? join(DEMOS_DIR, demo.model), data: flags.data ?? join(DEMOS_DIR, demo.data), label: flags.label ?? demo.label },
    classNames: meta.classNames,
  };
}

export async function loadTaskFromFlags(givenFlags: Record<string, unknown>): Promise<LoadedTask> {
  const { flags, classNames } = applyDemoFlags(givenFlags);
  const backend = await initCliBackend(flags.backend);
  const modelPath = required(flags, 'model', 'Give the model with --model path/to/model.json.');
  const dataPath = required(flags, 'data', 'Give the data with --data path/to/file.csv.');
  const label = required(flags, 'label', 'Name the label column with --label <column>.');
  const baseline = (flags.baseline as string | undefined) ?? 'zero';
  if (!(BASELINES as readonly string[]).includes(baseline))
    throw new UserError(`--baseline "${baseline}" is not known.`, `Use one of: ${BASELINES.join(', ')}.`);
  const output = (flags.output as string | undefined) ?? 'probability';
  if (!(OUTPUT_MODES as readonly string[]).includes(output))
    throw new UserError(`--output "${output}" is not known.`, `Use one of: ${OUTPUT_MODES.join(', ')}.`);
  const target = (flags.target as string | undefined) ?? 'predicted';
  if (target !== 'predicted' && target !== 'label') throw new UserError(`--target "${target}" is not known.`, 'Use --target predicted (default) or --target label.');
  const drop = typeof flags.drop === 'string' && flags.drop ? flags.drop.split(',').map((s) => s.trim()) : [];
  const csv = loadCsvFromPath(dataPath, { label, drop });
  const model = await loadModelFromPath(modelPath);
  try {
    const nClasses = model.nClasses(output as OutputMode);
    const loadedData = alignIntegerLabels(csv, nClasses);
    const outside = csv.classNames.find((c) => Number.isInteger(Number(c)) && Number(c) >= nClasses);
    if (target === 'label' && loadedData === csv && outside !== undefined && csv.classNames.every((c) => Number.isInteger(Number(c))))
      throw new UserError(
        `${csv.source}: label ${outside} in column "${label}" is not a class of the model, which has ${nClasses} (0..${nClasses - 1}).`,
        'Check that the label column matches the model, or use --target predicted.',
      );
    // a demo's label column holds class indices; its meta.json names them
    const useDemoNames = classNames !== undefined && givenFlags.data === undefined && classNames.length === loadedData.classNames.length;
    const data = useDemoNames ? { ...loadedData, classNames } : loadedData;
    const task = makeTask(model, data, { output: output as OutputMode, baseline: baseline as BaselineKind });
    const rows = parseRows(flags.rows as string | undefined, data.nRows);
    return { task, data, batch: sliceBatch(data, rows[0], rows[1]), rows, targetRule: target, seed: parseSeed(flags.seed), backend };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * The shortest decimal that reads back as the same float32 (so a Float32Array written and read
 * again is bit-identical, and the file shows 0.1 rather than 0.10000000149011612). Non-finite → null.
 */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return 'null';
  const f = Math.fround(v);
  for (let p = 1; p <= 9; p++) {
    const t = Number(f.toPrecision(p));
    if (Math.fround(t) === f) return String(t);
  }
  return String(f);
}

function isTyped(v: unknown): v is Float32Array | Float64Array | Int32Array {
  return v instanceof Float32Array || v instanceof Float64Array || v instanceof Int32Array;
}

/**
 * JSON text with objects indented and arrays of numbers on one line (a [nRows, nFeatures] table
 * is one line per row). Float32Array elements are written with formatFloat32; NaN and ±Infinity
 * become null, as JSON has no such numbers.
 */
export function toJson(value: unknown, indent = ''): string {
  const inner = indent + '  ';
  if (value instanceof Float32Array) return '[' + Array.from(value, formatFloat32).join(', ') + ']';
  if (isTyped(value)) return '[' + Array.from(value, (v) => (Number.isFinite(v) ? String(v) : 'null')).join(', ') + ']';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const flat = value.every((v) => v === null || typeof v !== 'object');
    const items = value.map((v) => toJson(v === undefined ? null : v, inner));
    return flat ? '[' + items.join(', ') + ']' : '[\n' + items.map((t) => inner + t).join(',\n') + '\n' + indent + ']';
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    return '{\n' + entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${toJson(v, inner)}`).join(',\n') + '\n' + indent + '}';
  }
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  return JSON.stringify(value) ?? 'null';
}

export function writeJson(path: string, value: unknown): void {
  if (path !== '-' && existsSync(path) && statSync(path).isDirectory())
    throw new UserError(`--out ${path} is a folder.`, 'Give a file path for the JSON output, e.g. --out results/out.json.');
  const text = toJson(value) + '\n';
  if (path === '-') {
    process.stdout.write(text);
    return;
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** Parse a JSON file meant for people to hand in; `what` names it in messages. */
export function readJsonFile(path: string, what: string, todo: string): unknown {
  if (!existsSync(path)) throw new UserError(`${what} ${path} does not exist.`, todo);
  if (statSync(path).isDirectory()) throw new UserError(`${what} ${path} is a folder, not a file.`, todo);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UserError(`${what} ${path} is not valid JSON (${(e as Error).message}).`, todo);
  }
}

/** A comma-separated flag value as a list of trimmed, non-empty items. */
export function splitList(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * `--set SCOPE.key=value` pairs grouped by scope (e.g. a metric id): { SCOPE: { key: value } }.
 * `scopes` lists the valid scopes; an unknown or missing scope is an error saying which exist.
 */
export function parseScopedSets(sets: unknown, scopes: readonly string[], example: string, noun = 'unit'): Record<string, Record<string, number | boolean | string>> {
  const flat = parseSets(sets);
  const out: Record<string, Record<string, number | boolean | string>> = {};
  for (const [key, v] of Object.entries(flat)) {
    const dot = key.indexOf('.');
    if (dot <= 0 || dot === key.length - 1)
      throw new UserError(`--set "${key}=${String(v)}" does not say which ${noun} it is for.`, `Write ${noun.toUpperCase()}.key=value, e.g. --set ${example}; scopes: ${scopes.join(', ')}.`);
    const scope = key.slice(0, dot);
    if (!scopes.includes(scope)) throw new UserError(`--set "${key}": "${scope}" is not a ${noun} (${scopes.join(', ')}).`, `Write ${noun.toUpperCase()}.key=value with one of those, e.g. --set ${example}.`);
    (out[scope] ??= {})[key.slice(dot + 1)] = v;
  }
  return out;
}

/** "k=v, k=v" for help texts and messages. */
export function formatParams(params: Record<string, unknown>): string {
  const entries = Object.entries(params);
  return entries.length ? entries.map(([k, v]) => `${k}=${String(v)}`).join(', ') : '(no parameters)';
}
