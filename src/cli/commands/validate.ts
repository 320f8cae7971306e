/**
 * `deepfaith validate`: which metric can I trust on this model? (docs/ffidelity.md)
 * Degrades one explanation (computed with --method, or read from --explanations) at noise ratios
 * 0, 0.2, …, 1 (five seeded copies each), scores every degraded set with the chosen metrics (the
 * ten, F-Fidelity FFID± and its baselines, the FEI-inspired AD-INS/AD-DEL) and reports per metric
 * the Spearman correlation of its score with the noise ratio (macro and micro, ± over the copies).
 * With --size, also the explanation-size estimate of F-Fidelity's Theorem 1 (FFID+ on a 1% grid).
 *
 * The F-Fidelity surrogate (`prepareFfidelity`, shared with `deepfaith evaluate`): with
 * `--surrogate <dir>` holding a surrogate's model.json, that one is loaded (checked against the
 * target model's fingerprint and β); otherwise a copy of the model is fine-tuned on every data row
 * of the file with its labels (the FFID params' β and fine-tuning settings, the job seed) and,
 * when --surrogate names a folder, saved there (model.json + weights.bin) for the next run.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../core/errors';
import { getMethod, resolveMethodParams, ATTRIBUTION_METHODS } from '../../core/attribution/registry';
import { METRICS, EXTRA_METRICS, getMetric } from '../../core/metrics/registry';
import { resolveParams, type Params } from '../../core/params';
import { Seeder } from '../../core/rng';
import { targetsFor, type LoadedTask } from '../../core/task/load';
import { sliceBatch, type Batch } from '../../core/task/task';
import { validateMetrics, validationTable, validateDefaults, type ValidationResult } from '../../core/ffidelity/validate';
import { explanationSize, type SizeEstimate } from '../../core/ffidelity/size';
import { ffidFinetuneConfig, type FfidParams } from '../../core/ffidelity/ffid';
import { fineTune, loadSurrogate, surrogateFiles, type FinetuneReport } from '../../core/ffidelity/finetune';
import { attachSurrogate, releaseFfidelity } from '../../core/ffidelity/context';
import { checkOutput, writeFolderAtomic } from '../files';
import { loadTaskFromFlags, parseFlags, parseScopedSets, required, splitList, taskInputs, taskSpecFromFlags, TASK_HELP, TASK_OPTIONS, writeJson, type CliCommand } from '../common';
import { readExplanations } from './evaluate';

/** Every validate default, in one place. */
export const defaults = { metrics: 'all', copies: validateDefaults.copies, levels: validateDefaults.levels };

const FFID_IDS = ['FFID+', 'FFID-'];

/** `--metrics` for commands that take the extras: a comma list of ids, where `all` stands for the ten. */
export function parseMetricIds(spec: string): string[] {
  const known = [...METRICS, ...EXTRA_METRICS].map((m) => m.id as string);
  const items = splitList(spec);
  if (items.length === 0) throw new UserError('--metrics is empty.', `Give metric ids separated by commas (all = the ten): ${known.join(', ')}.`);
  const ids = items.flatMap((id) => (id.toLowerCase() === 'all' ? METRICS.map((m) => m.id as string) : [id]));
  const unknown = ids.filter((id) => !known.includes(id));
  if (unknown.length)
    throw new UserError(`Unknown metric${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')} in --metrics.`, `Use ids from: ${known.join(', ')} (upper case), or all (the ten).`);
  return [...new Set(ids)];
}

/** What the output files record about the surrogate. */
export interface SurrogateInfo {
  /** 'loaded' from --surrogate, or 'fine-tuned' in this run (and saved to --surrogate when given). */
  source: 'loaded' | 'fine-tuned';
  dir?: string;
  saved?: boolean;
  beta: number;
  report?: FinetuneReport;
}

/**
 * The surrogate for the FFID metrics among `ids` (params: their resolved params), attached to the
 * task; undefined when no FFID metric is asked for. See the header for where it comes from.
 */
export async function prepareFfidelity(ids: string[], params: Record<string, Params>, loaded: LoadedTask, seed: number, dir: string | undefined, inputs: string[], log: (line: string) => void): Promise<SurrogateInfo | undefined> {
  const ffid = ids.filter((id) => FFID_IDS.includes(id));
  if (!ffid.length) {
    if (dir !== undefined) throw new UserError('--surrogate is given, but no F-Fidelity metric (FFID+, FFID-) is asked for.', 'Add FFID+ or FFID- to --metrics, or drop --surrogate.');
    return undefined;
  }
  const configs = ffid.map((id) => ffidFinetuneConfig(params[id] as unknown as FfidParams));
  const key = (c: (typeof configs)[number]) => JSON.stringify([c.beta, c.epochs, c.learningRate, c.batchSize]);
  if (configs.some((c) => key(c) !== key(configs[0])))
    throw new UserError('FFID+ and FFID- ask for different surrogates (β or fine-tuning settings differ); F-Fidelity evaluates both sides on one.', 'Give both the same beta and finetune* values with --set.');
  const config = configs[0];
  const { task } = loaded;
  if (dir !== undefined && existsSync(join(dir, 'model.json'))) {
    const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    const shards = new Map<string, ArrayBuffer>();
    for (const g of modelJson.weightsManifest ?? [])
      for (const p of g.paths ?? []) {
        const path = join(dir, p);
        if (existsSync(path)) {
          const b = readFileSync(path);
          shards.set(p, b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
        }
      }
    const s = await loadSurrogate(modelJson, shards, task, join(dir, 'model.json'), loaded.fingerprint.model);
    if (Math.abs(s.beta - config.beta) > 1e-12) {
      s.model.dispose();
      throw new UserError(`The surrogate in ${dir} was fine-tuned with β = ${s.beta}, but the FFID metrics ask for β = ${config.beta}.`, `Set --set FFID+.beta=${s.beta} (and FFID-), or use another --surrogate folder.`);
    }
    attachSurrogate(task, s);
    log(`F-Fidelity surrogate loaded from ${dir} (β = ${s.beta})`);
    return { source: 'loaded', dir, beta: s.beta, report: s.report };
  }
  if (dir !== undefined) {
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw new UserError(`--surrogate ${dir} is a file.`, 'Give a folder: the surrogate is loaded from it, or saved into it when it has none.');
    checkOutput(dir, inputs, 'folder', '--surrogate');
  }
  log(`F-Fidelity: fine-tuning a copy of the model on ${loaded.batch.nRows} rows (β = ${config.beta}, ${config.epochs} epochs)…`);
  const s = await fineTune({ task, rows: loaded.batch, labels: loaded.labels, seed, config });
  const r = s.report!;
  log(
    `F-Fidelity surrogate: clean accuracy ${r.before.clean.toFixed(3)} → ${r.after.clean.toFixed(3)}, with ${r.cap} random features removed ${r.before.masked.toFixed(3)} → ${r.after.masked.toFixed(3)} (${r.measuredOn}, ${Math.round(r.ms)} ms)`,
  );
  attachSurrogate(task, s);
  if (dir !== undefined) {
    const files = await surrogateFiles(s, task, loaded.fingerprint);
    await writeFolderAtomic(dir, async (tmp) => {
      writeFileSync(join(tmp, 'model.json'), JSON.stringify(files.modelJson));
      writeFileSync(join(tmp, 'weights.bin'), new Uint8Array(files.weights));
    });
    log(`F-Fidelity surrogate saved to ${dir}`);
  }
  return { source: 'fine-tuned', dir, saved: dir !== undefined, beta: s.beta, report: r };
}

export interface ValidateFile {
  validation: ValidationResult;
  /** The same as a Markdown table. */
  table: string;
  explanation: { method: string; params?: Params; file?: string };
  rows: [number, number];
  baseline: string;
  output: string;
  targetRule?: string;
  seed: number;
  backend: string;
  surrogate?: SurrogateInfo;
  size?: SizeEstimate;
  ms: number;
}

const OPTIONS = {
  ...TASK_OPTIONS,
  method: { type: 'string' as const },
  explanations: { type: 'string' as const },
  metrics: { type: 'string' as const },
  copies: { type: 'string' as const },
  levels: { type: 'string' as const },
  surrogate: { type: 'string' as const },
  size: { type: 'boolean' as const },
};

function parseLevels(v: unknown): number[] {
  if (v === undefined) return [...defaults.levels];
  const items = splitList(String(v)).map(Number);
  if (items.length < 2 || items.some((x) => !(x >= 0 && x <= 1)) || new Set(items).size !== items.length)
    throw new UserError(`--levels "${String(v)}" must be at least two distinct noise ratios in [0, 1].`, 'Write e.g. --levels 0,0.2,0.4,0.6,0.8,1 (the default).');
  return items.sort((a, b) => a - b);
}

function parseCopies(v: unknown): number {
  if (v === undefined) return defaults.copies;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new UserError(`--copies "${String(v)}" is not a whole number from 1 to 100.`, 'Give e.g. --copies 5 (the default).');
  return n;
}

export const command: CliCommand = {
  help: () =>
    [
      'Usage: deepfaith validate (--demo <id> | --model <model.json> --data <file.csv> [--label <column>])',
      '                          (--method <id> | --explanations <file.json>) [--metrics all,FFID+,FFID-,…]',
      '                          [--rows A:B] [--target predicted|label] [--copies 5] [--levels 0,0.2,…,1]',
      '                          [--surrogate <dir>] [--size] [--set ID.key=value]… [--seed N] --out <file.json>',
      '',
      'Degrades one explanation by shuffling the scores of a random fraction r of its features (r = 0, 0.2, …, 1;',
      'five seeded copies per r), scores every degraded set with every chosen metric, and reports per metric the',
      'Spearman correlation of its score with r: macro (the score — for curve metrics its AUC — vs r) and micro',
      '(per curve point, averaged), mean ± sd over the copies, "undefined" where ties make it so. A trustworthy ↑',
      'metric gives −1, a ↓ metric +1; "trust" signs it so that +1 is right for both. Writes JSON and prints the table.',
      '',
      'Options:',
      TASK_HELP,
      '  --method <id>            attribution method whose explanation is degraded (run on --rows)',
      '  --explanations <file>    or: an explanations JSON from deepfaith attribute (its rows and target classes)',
      `  --metrics <ids>          comma-separated; all = the ten; extras: ${EXTRA_METRICS.map((m) => m.id).join(', ')} (default ${defaults.metrics})`,
      '  --set ID.key=value       a metric or method parameter, e.g. --set FFID+.beta=0.2 --set kernel-shap.samples=200',
      '  --target predicted|label class explained and scored (label = the paper\'s F-Fidelity setting; default predicted)',
      `  --copies N               seeded degraded copies per noise ratio (default ${defaults.copies})`,
      `  --levels a,b,…           noise ratios (default ${defaults.levels.join(',')})`,
      '  --surrogate <dir>        F-Fidelity surrogate: loaded from <dir>/model.json, or fine-tuned and saved there',
      '  --size                   also estimate the explanation size (FFID+ on a 1% grid, F-Fidelity Theorem 1)',
      '  --out <file.json>        where to write the validation (- for standard output)',
    ].join('\n'),

  async run(argv) {
    const flags = parseFlags(argv, OPTIONS);
    const out = required(flags, 'out', 'Say where to write the validation with --out path/to/validation.json.');
    const methodId = flags.method as string | undefined;
    const expPath = flags.explanations as string | undefined;
    if ((methodId === undefined) === (expPath === undefined))
      throw new UserError('validate degrades one explanation: give either --method <id> or --explanations <file>.', `Methods: ${ATTRIBUTION_METHODS.map((m) => m.id).join(', ')}.`);
    const method = methodId !== undefined ? getMethod(methodId) : undefined;
    if (methodId !== undefined && !method) throw new UserError(`Unknown method "${methodId}".`, `Use one of: ${ATTRIBUTION_METHODS.map((m) => m.id).join(', ')}.`);
    if (expPath !== undefined && (flags.rows !== undefined || flags.target !== undefined))
      throw new UserError('With --explanations, the rows and target classes come from the file.', 'Drop --rows/--target, or use --method.');
    const ids = parseMetricIds((flags.metrics as string | undefined) ?? defaults.metrics);
    const scopes = [...new Set([...ids, ...(flags.size ? ['FFID+'] : []), ...(method ? [method.id] : [])])];
    const sets = parseScopedSets(flags.set, scopes, 'FFID+.beta=0.2', 'metric or method');
    const levels = parseLevels(flags.levels);
    const copies = parseCopies(flags.copies);
    const unitParams = (id: string, nFeatures?: number) => {
      const u = getMetric(id)!;
      return resolveParams({ id, kind: 'Metric', defaults: u.defaults, params: u.params }, sets[id] ?? {}, nFeatures);
    };
    for (const id of ids) unitParams(id);
    if (method) resolveMethodParams(method, sets[method.id] ?? {});
    const exp = expPath !== undefined ? readExplanations(expPath) : undefined;
    const taskFlags = exp ? { ...flags, baseline: flags.baseline ?? exp.baseline, output: flags.output ?? exp.output } : flags;
    const spec = taskSpecFromFlags(taskFlags);
    const inputs = [...taskInputs(spec), ...(expPath ? [expPath] : [])];
    checkOutput(out, inputs);
    const log = (line: string) => console.error(`deepfaith validate: ${line}`);
    const loaded = await loadTaskFromFlags(taskFlags, spec);
    const { task, seed } = loaded;
    const t0 = performance.now();
    try {
      const params = Object.fromEntries(ids.map((id) => [id, unitParams(id, task.nFeatures)]));
      const n = task.nFeatures;
      let batch: Batch;
      let target: Int32Array;
      let explanation: Float32Array;
      let rows: [number, number];
      let described: ValidateFile['explanation'];
      if (exp) {
        if (exp.nFeatures !== n) throw new UserError(`Explanations file ${expPath} has ${exp.nFeatures} values per row, the task ${n} features.`, 'Validate with the model and data the explanations were computed on.');
        if (exp.rows[1] > loaded.data.nRows) throw new UserError(`Explanations file ${expPath} covers rows ${exp.rows[0]}:${exp.rows[1]}, the data has ${loaded.data.nRows}.`, 'Use the data file the explanations were computed on.');
        rows = exp.rows;
        batch = sliceBatch(loaded.data, rows[0], rows[1]);
        target = exp.target;
        explanation = exp.values;
        described = { method: exp.method, file: expPath };
      } else {
        const why = method!.applicable(task);
        if (why) throw new UserError(`Method ${method!.id} cannot explain this model: ${why}`, 'Choose another method (see deepfaith attribute --help).');
        const mp = resolveMethodParams(method!, sets[method!.id] ?? {}, n);
        rows = loaded.rows;
        batch = loaded.rowBatch;
        target = await targetsFor(loaded, loaded.targetRule, batch);
        log(`${method!.id} on rows ${rows[0]}:${rows[1]} (${batch.nRows} × ${n})…`);
        explanation = await method!.explain(task, batch, target, mp, new Seeder(seed));
        described = { method: method!.id, params: mp };
      }
      const surrogate = await prepareFfidelity(ids, params, loaded, seed, flags.surrogate as string | undefined, inputs, log);
      log(`scoring ${1 + (levels.filter((l) => l > 0).length) * copies} degraded sets on ${ids.join(',')}…`);
      const validation = await validateMetrics({ task, batch, target, explanation, metrics: ids.map((id) => ({ id, params: params[id] })), seeder: new Seeder(seed), levels, copies });
      let size: SizeEstimate | undefined;
      if (flags.size) {
        if (!(surrogate || ids.includes('FFID+'))) await prepareFfidelity(['FFID+'], { 'FFID+': unitParams('FFID+', n) }, loaded, seed, undefined, inputs, log);
        size = await explanationSize(task, batch, target, explanation, new Seeder(seed), (params['FFID+'] ?? unitParams('FFID+', n)) as Partial<FfidParams>);
      }
      const table = validationTable(validation);
      const file: ValidateFile = {
        validation,
        table,
        explanation: described,
        rows,
        baseline: task.baseline,
        output: task.output,
        targetRule: exp ? undefined : loaded.targetRule,
        seed,
        backend: loaded.backend.chosen,
        surrogate,
        size,
        ms: Math.round(performance.now() - t0),
      };
      writeJson(out, file);
      const print = out === '-' ? (s: string) => console.error(s) : (s: string) => console.log(s);
      print(table);
      if (size) print(`Explanation size (FFID+ knee, 1% grid): ${size.size}${size.censored ? ` (censored: c₁ ≥ ${size.capBindsAt}; use a larger β)` : ''} of ${n} features, ${Math.round(size.confidence * 100)}% interval [${size.interval.join(', ')}]`);
      if (out !== '-') log(`→ ${out} in ${file.ms} ms`);
      return 0;
    } finally {
      releaseFfidelity(task);
      task.model.dispose();
    }
  },
};
