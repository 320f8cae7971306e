/** Shared CLI plumbing: flag parsing, backend, loading a task from --model/--data/--label. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../core/errors';
import { initBackend, initStageBackends, isBackendRequest, type BackendReport, type StageRequests } from '../core/backend';
import { parseRows } from '../core/data/csv';
import { DEMOS, getDemo } from '../core/data/demos';
import { sliceBatch, type Batch, type TargetRule } from '../core/task/task';
import { BASELINES, type RowBaselineKind } from '../core/task/featureSpace';
import { OUTPUT_MODES, type OutputMode } from '../core/task/model';
import { loadTask, type LoadedTask, type TaskSpec } from '../core/task/load';
import { NORMALISE_RULES, type NormaliseRule } from '../core/data/images';
import { nodeTaskIO, writeFileAtomic } from './files';

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
  'max-rows': { type: 'string' },
  patch: { type: 'string' },
  normalise: { type: 'string' },
  'blur-sigma': { type: 'string' },
  vocab: { type: 'string' },
  text: { type: 'string' },
  'mask-token': { type: 'string' },
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
  '  --data <file.csv|dir|images.npy>  CSV with a header row (every column but the label and --drop is a feature);',
  '                           or images: a folder with one sub-folder per class of PNG/JPEG files (rows in sorted',
  '                           path order), or an NPY/IDX array (N, H, W[, C]) with its labels file',
  '  --label <column|file>    the label column of a CSV, or the labels file of an NPY/IDX array (default: beside it)',
  '  --drop <a,b,…>           columns to ignore',
  '  --rows A:B               half-open range of data rows counted from 0 (header not counted); default all',
  '  --max-rows N             the task is the first N data rows (images: needed above 10,000 images); default all',
  '  --patch <pixels>         images: side of the square patches that are the features (default: ≤ 64 patches, e.g. 4 on 28×28)',
  `  --normalise ${NORMALISE_RULES.join('|')}   images: pixel values (0–1 scale) as 0–1, −1–1 or per-channel (v − mean)/std (default 0-1)`,
  '  --blur-sigma <pixels>    images: σ of the blur baseline\'s Gaussian (default: half the patch side)',
  '  --vocab <vocab.json>     text: the vocabulary (docs/text.md); with --text, --data is a CSV of texts and the model takes token ids',
  '  --text <column>          text: the CSV column holding the texts (--label names the label column)',
  '  --mask-token <token>     text: removal writes this token of the vocabulary instead of the pad token',
  `  --baseline zero|mean|blur  removal baseline (default zero; mean = per-feature mean over all data rows of the file;`,
  '                           blur, images only: a Gaussian blur of each image, σ = --blur-sigma)',
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

export async function initCliBackend(v: unknown): Promise<BackendReport> {
  const name = (v as string | undefined) ?? 'wasm';
  if (!isBackendRequest(name) || (name !== 'wasm' && name !== 'cpu'))
    throw new UserError(`--backend "${name}" is not available in the command line.`, 'Use --backend wasm (default) or --backend cpu.');
  // tfjs's cpu backend prints a banner recommending tfjs-node (which cannot install offline) on first use
  if (name === 'cpu') tf.env().set('PROD', true);
  return initBackend(name);
}

/**
 * The per-stage backend flags of `run`: --backend sets both stages, --score-backend and
 * --train-backend set one each (and win over --backend). Checked before anything is read or computed.
 */
export function parseStageBackendFlags(flags: { backend?: unknown; 'score-backend'?: unknown; 'train-backend'?: unknown }): StageRequests {
  const check = (flag: string, v: unknown): 'wasm' | 'cpu' | undefined => {
    if (v === undefined) return undefined;
    const name = String(v);
    if (name !== 'wasm' && name !== 'cpu')
      throw new UserError(`--${flag} "${name}" is not available in the command line (Node has the wasm and cpu backends).`, `Use --${flag} wasm or --${flag} cpu${flag === 'backend' ? '' : ', or leave it out to use --backend (default wasm)'}.`);
    return name;
  };
  const both = check('backend', flags.backend) ?? 'wasm';
  return { score: check('score-backend', flags['score-backend']) ?? both, train: check('train-backend', flags['train-backend']) ?? both };
}

/** Start the stages' backends (parseStageBackendFlags); the report's `stages` has each stage's backend and reason. */
export async function initCliStageBackends(requests: StageRequests): Promise<BackendReport> {
  // tfjs's cpu backend prints a banner recommending tfjs-node (which cannot install offline) on first use
  if (requests.score === 'cpu' || requests.train === 'cpu') tf.env().set('PROD', true);
  return initStageBackends(requests);
}

export interface CliTask extends LoadedTask {
  /** The rows chosen by --rows (global indices into the file). */
  rows: [number, number];
  /** Those rows as a batch. */
  rowBatch: Batch;
  targetRule: TargetRule;
  seed: number;
  backend: BackendReport;
}

/** The image settings of the flags: --patch (a whole number of pixels), --normalise and --blur-sigma (pixels ≥ 0). */
export function imageFlags(flags: Record<string, unknown>): { patch?: number; normalise?: NormaliseRule; blurSigma?: number } {
  const out: { patch?: number; normalise?: NormaliseRule; blurSigma?: number } = {};
  const sigma = flags['blur-sigma'];
  if (typeof sigma === 'string' && sigma !== '') {
    const v = Number(sigma);
    if (!Number.isFinite(v) || v < 0 || v > 4096) throw new UserError(`--blur-sigma "${sigma}" is not a number of pixels from 0 to 4096.`, 'Give the blur baseline\'s σ in pixels, e.g. --blur-sigma 2 (0 = no blur).');
    out.blurSigma = v;
  }
  const patch = flags.patch;
  if (typeof patch === 'string' && patch !== '') {
    const v = Number(patch);
    if (!Number.isInteger(v) || v < 1) throw new UserError(`--patch "${patch}" is not a whole number of pixels ≥ 1.`, 'Give the patch side in pixels, e.g. --patch 4.');
    out.patch = v;
  }
  const norm = flags.normalise;
  if (typeof norm === 'string' && norm !== '') {
    if (!(NORMALISE_RULES as readonly string[]).includes(norm)) throw new UserError(`--normalise "${norm}" is not known.`, `Use one of: ${NORMALISE_RULES.join(', ')}.`);
    out.normalise = norm as NormaliseRule;
  }
  return out;
}

/** --max-rows N (0 or absent = all rows). */
export function parseMaxRows(v: unknown): number {
  if (v === undefined || v === '') return 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UserError(`--max-rows "${String(v)}" is not a whole number ≥ 0.`, 'Give how many data rows the task has, e.g. --max-rows 1000 (0 = all).');
  return n;
}

/** The task spec of the task flags (--demo, or --model --data [--label] [--drop]; --baseline, --output; images: --patch, --normalise). */
export function taskSpecFromFlags(flags: Record<string, unknown>): TaskSpec {
  const str = (k: string) => (typeof flags[k] === 'string' && flags[k] !== '' ? (flags[k] as string) : undefined);
  const baseline = str('baseline') ?? 'zero';
  if (!(BASELINES as readonly string[]).includes(baseline)) throw new UserError(`--baseline "${baseline}" is not known.`, `Use one of: ${BASELINES.join(', ')}.`);
  const output = str('output') ?? 'probability';
  if (!(OUTPUT_MODES as readonly string[]).includes(output)) throw new UserError(`--output "${output}" is not known.`, `Use one of: ${OUTPUT_MODES.join(', ')}.`);
  const demo = str('demo');
  if (demo === undefined) {
    required(flags, 'model', 'Give the model with --model path/to/model.json, or a demo with --demo <id>.');
    required(flags, 'data', 'Give the data with --data path/to/file.csv.');
  } else if (!getDemo(demo)) throw new UserError(`--demo "${demo}" is not a demo.`, `Use one of: ${DEMOS.map((d) => d.id).join(', ')}.`);
  else if (str('model') || str('data')) throw new UserError(`--demo ${demo} and --model/--data name two tasks.`, 'Give either --demo or --model and --data.');
  return {
    demo,
    model: str('model'),
    data: str('data'),
    label: str('label'),
    drop: str('drop') ? splitList(str('drop')!) : undefined,
    baseline: baseline as RowBaselineKind,
    output: output as OutputMode,
    maxRows: parseMaxRows(flags['max-rows']),
    ...imageFlags(flags),
    ...(str('vocab') !== undefined ? { vocab: str('vocab') } : {}),
    ...(str('text') !== undefined ? { text: str('text') } : {}),
    ...(str('mask-token') !== undefined ? { maskToken: str('mask-token') } : {}),
  };
}

export function parseTargetRule(v: unknown): TargetRule {
  const target = (v as string | undefined) ?? 'predicted';
  if (target !== 'predicted' && target !== 'label') throw new UserError(`--target "${target}" is not known.`, 'Use --target predicted (default) or --target label.');
  return target;
}

/** The files a task spec reads (for --out checks). */
export function taskInputs(spec: TaskSpec): string[] {
  if (spec.demo) return [];
  const model = spec.model!;
  const modelJson = existsSync(model) && statSync(model).isDirectory() ? join(model, 'model.json') : model;
  const inputs = [spec.data!, modelJson];
  if (spec.vocab) inputs.push(spec.vocab);
  if (spec.label && /[\\/.]/.test(spec.label) && existsSync(spec.label)) inputs.push(spec.label); // the labels file of an image array
  try {
    const json = JSON.parse(readFileSync(modelJson, 'utf8')) as { weightsManifest?: { paths: string[] }[] };
    for (const g of json.weightsManifest ?? []) for (const p of g.paths ?? []) inputs.push(join(dirname(modelJson), p));
  } catch {
    /* the loader reports a bad model.json */
  }
  return inputs;
}

/** Check the flags, then load the task (the core loader) with the whole file as its rows; --rows picks the rows to work on. */
export async function loadTaskFromFlags(flags: Record<string, unknown>, spec: TaskSpec = taskSpecFromFlags(flags)): Promise<CliTask> {
  const targetRule = parseTargetRule(flags.target);
  const seed = parseSeed(flags.seed);
  const backend = await initCliBackend(flags.backend);
  const loaded = await loadTask(spec, nodeTaskIO());
  for (const n of loaded.notices ?? []) console.error(`deepfaith: ${n}`);
  try {
    const rows = parseRows(flags.rows as string | undefined, loaded.data.nRows);
    return { ...loaded, rows, rowBatch: sliceBatch(loaded.data, rows[0], rows[1]), targetRule, seed, backend };
  } catch (e) {
    loaded.task.model.dispose();
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

/** Write JSON to a file atomically (checked beforehand with `checkOutput`), or to standard output for "-". */
export function writeJson(path: string, value: unknown): void {
  const text = toJson(value) + '\n';
  if (path === '-') {
    process.stdout.write(text);
    return;
  }
  writeFileAtomic(path, text);
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
