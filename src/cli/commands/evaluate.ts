/**
 * `deepfaith evaluate`: score an explanations file (from `deepfaith attribute`) with the
 * faithfulness metrics and write the metrics JSON. `--explanations a.json,b.json,…` scores several
 * files of the same rows and targets in one process and one shared batch (one clean pass, each
 * distinct perturbed input once) and writes `{ "results": [one metrics file per explanations
 * file, in the order given], … }` (docs/cli.md).
 *
 * The target classes and rows come from the explanations file; `--rows` may pick a sub-range of
 * them. `--baseline` and `--output` default to the ones the explanations file records.
 * `--normalise` min–max normalises each explanation to [0, 1] first (a constant one becomes all
 * zeros, METRICS.md "Prior explanations"); by default the values are scored as produced.
 */
import { UserError } from '../../core/errors';
import { METRICS, EXTRA_METRICS, getMetric } from '../../core/metrics/registry';
import { releaseFfidelity } from '../../core/ffidelity/context';
import { scoreExplanations } from '../../core/metrics/evaluate';
import { parseRows } from '../../core/data/csv';
import { Seeder } from '../../core/rng';
import { sliceBatch } from '../../core/task/task';
import { minMaxNormalizeRows, rowFeatureCounts } from '../../core/task/ragged';
import { resolveParams, describeParams } from '../../core/params';
import { checkOutput } from '../files';
import {
  loadTaskFromFlags,
  taskInputs,
  taskSpecFromFlags,
  parseFlags,
  parseScopedSets,
  readJsonFile,
  required,
  splitList,
  TASK_HELP,
  TASK_OPTIONS,
  writeJson,
  type CliCommand,
} from '../common';
import { prepareFfidelity } from './validate';

/** Every evaluate default, in one place. */
export const defaults = {
  metrics: 'all',
  normalise: false,
};

/** The metrics file: the project's metrics format (docs/cli.md), plus what it ran on. */
export interface MetricsFile {
  metrics: Record<
    string,
    {
      direction: 'higher' | 'lower';
      params: Record<string, number | boolean | string>;
      /** One value per row; null where the metric is undefined for the row (e.g. NEG with a misclassified label target). */
      perSample: Float32Array | (number | null)[];
      /** Mean over the rows with a defined value; null if none. */
      mean: number | null;
      /** Rows left out of the mean because their value is undefined. */
      nUndefined: number;
      curves?: (Float32Array | number[])[];
      /** Rows the model evaluated for this metric (each distinct input once, under the first metric that needed it). */
      modelCalls: number;
      /** Rows the metric laid out before inputs were memoised (MetricResult.rowsRequested). */
      rowsRequested: number;
    }
  >;
  modelCalls: number;
  rowsRequested: number;
  ms: number;
  explanations: { file: string; method: string };
  rows: [number, number];
  baseline: string;
  output: string;
  normalise: boolean;
  seed: number;
  backend: string;
}

/** `evaluate --explanations a.json,b.json,…`: one metrics file per explanations file, scored in one shared batch. */
export interface MetricsSetFile {
  /** One entry per explanations file, in the order given; each in the single-file format (its `ms` is the shared call's). */
  results: MetricsFile[];
  /** Rows the model evaluated for all files together (the sum of the results' modelCalls). */
  modelCalls: number;
  /** Rows laid out before inputs were memoised, all files together. */
  rowsRequested: number;
  ms: number;
  rows: [number, number];
  baseline: string;
  output: string;
  normalise: boolean;
  seed: number;
  backend: string;
}

/** An example `--set` taken from the registry, so help and messages name a real parameter. */
function exampleSet(): string {
  const m = METRICS.find((u) => Object.keys(u.defaults).length > 0);
  if (!m) return 'FC.key=value';
  const [k, v] = Object.entries(m.defaults)[0];
  return `${m.id}.${k}=${String(v)}`;
}

export function metricsHelp(): string {
  if (METRICS.length === 0) return '  (no metrics are registered in this build)';
  const w = Math.max(...METRICS.map((m) => m.id.length));
  return METRICS.map((m) => {
    const params = describeParams({ id: m.id, defaults: m.defaults, params: m.params });
    return `  ${m.id.padEnd(w)}  ${m.direction === 'higher' ? '↑' : '↓'} ${m.description}\n${params.map((p) => `  ${' '.repeat(w)}    ${p}`).join('\n')}`;
  }).join('\n');
}

/** The extras (F-Fidelity family, internal faithfulness) for --help. */
export function extraMetricsHelp(): string {
  const w = Math.max(...EXTRA_METRICS.map((m) => m.id.length));
  return EXTRA_METRICS.map((m) => {
    const params = describeParams({ id: m.id, defaults: m.defaults, params: m.params });
    return `  ${m.id.padEnd(w)}  ${m.direction === 'higher' ? '↑' : '↓'} ${m.description}\n${params.map((p) => `  ${' '.repeat(w)}    ${p}`).join('\n')}`;
  }).join('\n');
}

/** `--metrics FC,DEL,…|all` → the ids in registry order of `all`, else in the order given. */
export function parseMetricList(spec: string): string[] {
  const known = [...METRICS, ...EXTRA_METRICS].map((m) => m.id as string); // the ten, then the extras (docs/ffidelity.md)
  if (spec.trim().toLowerCase() === 'all') return METRICS.map((m) => m.id as string);
  const ids = splitList(spec);
  if (ids.length === 0) throw new UserError('--metrics is empty.', `Give metric ids separated by commas, or all: ${known.join(', ')}.`);
  const unknown = ids.filter((id) => !known.includes(id));
  if (unknown.length)
    throw new UserError(`Unknown metric${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')} in --metrics.`, `Use ids from: ${known.join(', ') || '(none registered)'} (upper case), or all.`);
  return [...new Set(ids)];
}

/** Min–max normalisation of each row of s ([nRows, n]) to [0, 1]; a constant row becomes zeros. */
export function minMaxRows(s: Float32Array, nRows: number, n: number): Float32Array {
  const out = new Float32Array(s.length); // [nRows, n]
  for (let r = 0; r < nRows; r++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = 0; j < n; j++) {
      const v = s[r * n + j];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const span = hi - lo;
    if (span > 0) for (let j = 0; j < n; j++) out[r * n + j] = (s[r * n + j] - lo) / span;
  }
  return out;
}

const FLOAT32_MAX = 3.4028234663852886e38;

interface ReadExplanations {
  method: string;
  rows: [number, number];
  target: Int32Array;
  /** [nRows, nFeatures] */
  values: Float32Array;
  nFeatures: number;
  baseline?: string;
  output?: string;
  featureNames?: string[];
}

/** Read and check an explanations file on its own (shapes, integers, finite values). */
export function readExplanations(path: string): ReadExplanations {
  const todo = 'Give the JSON file written by deepfaith attribute --out.';
  const j = readJsonFile(path, 'Explanations file', todo) as Record<string, unknown>;
  const bad = (what: string) => new UserError(`Explanations file ${path}: ${what}.`, todo);
  if (!j || typeof j !== 'object' || Array.isArray(j)) throw bad('it is not a JSON object');
  const rows = j.rows;
  if (!Array.isArray(rows) || rows.length !== 2 || !rows.every((v) => Number.isInteger(v) && v >= 0) || rows[0] >= rows[1])
    throw bad('"rows" must be [A, B] with 0 ≤ A < B');
  const nRows = rows[1] - rows[0];
  const values = j.values;
  if (!Array.isArray(values) || values.length !== nRows)
    throw bad(`"values" must hold one row per data row ${rows[0]}:${rows[1]} (${nRows}), but it has ${Array.isArray(values) ? values.length : 'none'}`);
  const n = Array.isArray(values[0]) ? values[0].length : 0;
  if (n === 0) throw bad('"values" rows must be non-empty arrays of numbers');
  const flat = new Float32Array(nRows * n); // [nRows, n]
  values.forEach((row, r) => {
    if (!Array.isArray(row) || row.length !== n) throw bad(`values row ${r} has ${Array.isArray(row) ? row.length : 'no'} entries, the first has ${n}`);
    row.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`values row ${r}, feature ${i} is ${JSON.stringify(v)}, not a finite number`);
      if (Math.abs(v) > FLOAT32_MAX) throw bad(`values row ${r}, feature ${i} is ${v}, beyond the float32 range (±3.4e38) the metrics compute in`);
      flat[r * n + i] = v;
    });
  });
  const target = j.target;
  if (!Array.isArray(target) || target.length !== nRows || !target.every((v) => Number.isInteger(v) && v >= 0))
    throw bad(`"target" must hold one class index (integer ≥ 0) per row (${nRows})`);
  return {
    method: typeof j.method === 'string' ? j.method : '(unknown)',
    rows: [rows[0], rows[1]],
    target: Int32Array.from(target as number[]),
    values: flat,
    nFeatures: n,
    baseline: typeof j.baseline === 'string' ? j.baseline : undefined,
    output: typeof j.output === 'string' ? j.output : undefined,
    featureNames: Array.isArray(j.featureNames) ? (j.featureNames as string[]) : undefined,
  };
}

/** The checks of one explanations file against the loaded task (width, names, rows, classes). */
function checkAgainstTask(path: string, exp: ReadExplanations, nFeatures: number, featureNames: string[], nClasses: number, source: string, dataRows: number): void {
  if (exp.nFeatures !== nFeatures)
    throw new UserError(
      `Explanations file ${path} has ${exp.nFeatures} values per row, but the model and ${source} have ${nFeatures} features.`,
      'Evaluate the explanations with the model and data they were computed on.',
    );
  if (exp.featureNames && exp.featureNames.join('\u0000') !== featureNames.join('\u0000'))
    throw new UserError(
      `Explanations file ${path} explains features ${exp.featureNames.join(', ')}, but ${source} has ${featureNames.join(', ')}.`,
      'Evaluate the explanations with the data file (and --label/--drop) they were computed on.',
    );
  if (exp.rows[1] > dataRows)
    throw new UserError(
      `Explanations file ${path} covers rows ${exp.rows[0]}:${exp.rows[1]}, but ${source} has only ${dataRows} data rows.`,
      'Evaluate the explanations with the data file they were computed on.',
    );
  const bad = Array.from(exp.target).findIndex((c) => c >= nClasses);
  if (bad >= 0)
    throw new UserError(
      `Explanations file ${path}: target class ${exp.target[bad]} of row ${exp.rows[0] + bad} is not a class of the model (it has ${nClasses}).`,
      'Evaluate the explanations with the model they were computed on.',
    );
}

const OPTIONS = {
  ...TASK_OPTIONS,
  explanations: { type: 'string' as const },
  metrics: { type: 'string' as const },
  normalise: { type: 'boolean' as const },
  surrogate: { type: 'string' as const },
};

export const command: CliCommand = {
  help: () =>
    [
      'Usage: deepfaith evaluate --model <model.json> --data <file.csv> --label <column> --explanations <file.json>[,<file.json>…]',
      '                          [--rows A:B] [--metrics FC,DEL,…|all] [--set METRIC.key=value]… [--baseline zero|mean]',
      '                          [--normalise] [--seed N] [--backend cpu|wasm] --out <file.json>',
      '',
      'Scores the explanations of a file written by `deepfaith attribute` (its rows and target classes) and writes',
      '  { "metrics": { "<ID>": { "direction", "params", "perSample": [float…], "mean", "nUndefined", "curves"?, "modelCalls", "rowsRequested" } },',
      '    "modelCalls", "rowsRequested", "ms", "explanations", "rows", "baseline", "output", "normalise", "seed", "backend" }',
      '"modelCalls": rows the model evaluated (each distinct input once); "rowsRequested": rows the metrics laid out.',
      'Undefined per-sample values (NaN) are written as null and left out of "mean".',
      'Several explanations files (same rows and targets) are scored in one shared batch and written as',
      '  { "results": [ <the above, one per file, in the order given> ], "modelCalls", "rowsRequested", "ms", "rows",',
      '    "baseline", "output", "normalise", "seed", "backend" }',
      '',
      'Options:',
      TASK_HELP.replace(/--rows A:B {2}.*/, '--rows A:B               a sub-range of the explanations file\'s rows (default: all of them)')
        .replace(/--baseline zero\|mean .*/, '--baseline zero|mean     removal baseline (default: the one the explanations file records, else zero)')
        .replace(/--output probability\|logit\|raw .*/, '--output probability|logit|raw   model output the scores use (default: the explanations file\'s, else probability)'),
      '  --explanations <files>   explanations JSON from deepfaith attribute (gives rows and target classes);',
      '                           several, comma-separated, of the same rows and targets: scored together',
      `  --metrics <ids>|all      metrics to compute, comma-separated (default ${defaults.metrics})`,
      `  --set METRIC.key=value   a metric parameter (repeatable), e.g. --set ${exampleSet()}`,
      `  --normalise              min–max normalise each explanation to [0, 1] first (default ${defaults.normalise ? 'on' : 'off'})`,
      '  --surrogate <dir>        FFID+/FFID-: the fine-tuned surrogate, loaded from <dir>/model.json, or fine-tuned on every',
      '                           data row of the file (with its labels) and saved there; without it, fine-tuned for this run',
      '  --out <file.json>        where to write the scores (- for standard output)',
      '',
      'Metrics (↑ higher is better, ↓ lower is better) and their defaults:',
      metricsHelp(),
      '',
      'Beyond the ten (not in "all"; docs/ffidelity.md): F-Fidelity and its baselines, FEI-inspired internal faithfulness:',
      extraMetricsHelp(),
    ].join('\n'),

  async run(argv) {
    const flags = parseFlags(argv, OPTIONS);
    const expPath = required(flags, 'explanations', 'Give the explanations with --explanations path/to/explanations.json (written by deepfaith attribute).');
    const out = required(flags, 'out', 'Say where to write the scores with --out path/to/metrics.json.');
    if (flags.target !== undefined)
      throw new UserError('evaluate takes the target classes from the explanations file, so --target does not apply.', 'Remove --target (choose it when running deepfaith attribute).');
    const ids = parseMetricList((flags.metrics as string | undefined) ?? defaults.metrics);
    const sets = parseScopedSets(flags.set, [...METRICS, ...EXTRA_METRICS].map((m) => m.id), exampleSet(), 'metric');
    for (const scope of Object.keys(sets))
      if (!ids.includes(scope)) throw new UserError(`--set ${scope}.… is given, but ${scope} is not among --metrics (${ids.join(',')}).`, `Add ${scope} to --metrics or drop the --set.`);
    const unitOf = (id: string) => getMetric(id)!;
    for (const id of ids) resolveParams({ id, kind: 'Metric', defaults: unitOf(id).defaults, params: unitOf(id).params }, sets[id] ?? {});
    const normalise = (flags.normalise as boolean | undefined) ?? defaults.normalise;
    const expPaths = splitList(expPath);
    if (expPaths.length === 0) throw new UserError('--explanations is empty.', 'Give the explanations with --explanations path/to/explanations.json (written by deepfaith attribute).');
    if (new Set(expPaths).size !== expPaths.length) throw new UserError(`--explanations names a file twice (${expPath}).`, 'Give each explanations file once.');
    const exps = expPaths.map((p) => readExplanations(p));
    const exp = exps[0];
    for (let i = 1; i < exps.length; i++) {
      const [p, e] = [expPaths[i], exps[i]];
      const todo = 'evaluate scores several files in one batch when they explain the same rows with the same targets; score the others in separate runs.';
      if (e.rows[0] !== exp.rows[0] || e.rows[1] !== exp.rows[1])
        throw new UserError(`Explanations files ${expPaths[0]} and ${p} cover different rows (${exp.rows.join(':')} and ${e.rows.join(':')}).`, todo);
      const r = e.target.findIndex((c, k) => c !== exp.target[k]);
      if (r >= 0) throw new UserError(`Explanations files ${expPaths[0]} and ${p} explain row ${exp.rows[0] + r} for different target classes (${exp.target[r]} and ${e.target[r]}).`, todo);
      if (e.nFeatures !== exp.nFeatures) throw new UserError(`Explanations files ${expPaths[0]} and ${p} have ${exp.nFeatures} and ${e.nFeatures} values per row.`, 'Evaluate explanations of one task together.');
      for (const key of ['baseline', 'output'] as const)
        if (flags[key] === undefined && e[key] !== exp[key])
          throw new UserError(`Explanations files ${expPaths[0]} and ${p} record different ${key}s (${exp[key] ?? 'none'} and ${e[key] ?? 'none'}).`, `Give --${key} to score them all with one ${key}, or score them in separate runs.`);
    }
    const userRows = flags.rows as string | undefined;
    const taskFlags = { ...flags, rows: undefined, baseline: flags.baseline ?? exp.baseline, output: flags.output ?? exp.output };
    const spec = taskSpecFromFlags(taskFlags);
    checkOutput(out, [...taskInputs(spec), ...expPaths]);
    const loaded = await loadTaskFromFlags(taskFlags, spec);
    const { task, data, seed } = loaded;
    try {
      const requests = ids.map((id) => ({ unit: unitOf(id), params: resolveParams({ id, kind: 'Metric', defaults: unitOf(id).defaults, params: unitOf(id).params }, sets[id] ?? {}, task.nFeatures) }));
      exps.forEach((e, i) => checkAgainstTask(expPaths[i], e, task.nFeatures, task.featureNames, task.nClasses, data.source, data.nRows));
      let [a, b] = exp.rows;
      if (userRows !== undefined) {
        [a, b] = parseRows(userRows, data.nRows);
        if (a < exp.rows[0] || b > exp.rows[1])
          throw new UserError(`--rows ${userRows} is not within the explanations file's rows ${exp.rows[0]}:${exp.rows[1]}.`, `Use a range inside ${exp.rows[0]}:${exp.rows[1]}, or leave --rows out.`);
      }
      const n = task.nFeatures;
      const nRows = b - a;
      const off = a - exp.rows[0];
      const batch = sliceBatch(data, a, b);
      const target = exp.target.slice(off, off + nRows);
      const scored = exps.map((e) => {
        const raw = e.values.slice(off * n, (off + nRows) * n); // [nRows, n]
        if (!normalise) return raw; // [nRows, n]
        const counts = rowFeatureCounts(task, batch); // text: each row over its real tokens only
        return counts ? minMaxNormalizeRows(raw, nRows, n, counts) : minMaxRows(raw, nRows, n);
      });
      // FFID+/FFID-: the surrogate, fine-tuned on every data row of the file or loaded (--surrogate); docs/ffidelity.md
      const ffidParams = Object.fromEntries(requests.map((r) => [r.unit.id, r.params]));
      await prepareFfidelity(ids, ffidParams, loaded, seed, flags.surrogate as string | undefined, taskInputs(spec), (line) => console.error(`deepfaith evaluate: ${line}`));
      const t0 = performance.now();
      const results = await scoreExplanations(task, batch, target, scored, requests.map((r) => ({ id: r.unit.id, params: r.params })), new Seeder(seed));
      const ms = Math.round((performance.now() - t0) * 10) / 10;
      const common = { rows: [a, b] as [number, number], baseline: task.baseline, output: task.output, normalise, seed, backend: loaded.backend.chosen };
      const files: MetricsFile[] = exps.map((e, i) => {
        const metrics: MetricsFile['metrics'] = {};
        let modelCalls = 0;
        let rowsRequested = 0;
        requests.forEach(({ unit, params }, m) => {
          const res = results[i][m];
          let sum = 0;
          let count = 0;
          for (const v of res.perSample)
            if (Number.isFinite(v)) {
              sum += v;
              count++;
            }
          metrics[unit.id] = {
            direction: unit.direction,
            params,
            perSample: res.perSample,
            mean: count ? sum / count : null,
            nUndefined: nRows - count,
            curves: res.curves,
            modelCalls: res.modelCalls,
            rowsRequested: res.rowsRequested ?? res.modelCalls,
          };
          modelCalls += res.modelCalls;
          rowsRequested += res.rowsRequested ?? res.modelCalls;
        });
        return { metrics, modelCalls, rowsRequested, ms, explanations: { file: expPaths[i], method: e.method }, ...common };
      });
      const modelCalls = files.reduce((acc, f) => acc + f.modelCalls, 0);
      if (files.length === 1) writeJson(out, files[0]);
      else {
        const set: MetricsSetFile = { results: files, modelCalls, rowsRequested: files.reduce((acc, f) => acc + f.rowsRequested, 0), ms, ...common };
        writeJson(out, set);
      }
      if (out !== '-') {
        const what = files.length === 1 ? exp.method : `${files.length} explanations files (${exps.map((e) => e.method).join(', ')})`;
        console.error(`deepfaith evaluate: ${ids.join(',')} on rows ${a}:${b} of ${what} → ${out} in ${ms} ms (${modelCalls} model rows)`);
      }
      return 0;
    } finally {
      releaseFfidelity(task);
      task.model.dispose();
    }
  },
};
