/**
 * `deepfaith attribute`: explain rows of a CSV with one attribution method and write the
 * explanations JSON that `deepfaith evaluate` reads.
 */
import { UserError } from '../../core/errors';
import { ATTRIBUTION_METHODS, getMethod, resolveMethodParams } from '../../core/attribution/registry';
import { describeParams } from '../../core/params';
import { Seeder } from '../../core/rng';
import { targetsFor } from '../../core/task/load';
import { checkOutput } from '../files';
import { loadTaskFromFlags, parseFlags, parseSets, required, taskInputs, taskSpecFromFlags, TASK_HELP, TASK_OPTIONS, writeJson, type CliCommand } from '../common';

/** The explanations file: the project's explanations format (docs/cli.md), then a few fields that let `evaluate` check it. */
export interface ExplanationsFile {
  method: string;
  params: Record<string, number | boolean | string>;
  baseline: string;
  /** Half-open range of data rows [A, B), counted from 0 after the header. */
  rows: [number, number];
  /** Target class per row. */
  target: number[] | Int32Array;
  /** [nRows][nFeatures] attributions, rows in file order, features in column order. */
  values: (number[] | Float32Array)[];
  /** Rows evaluated by the model while explaining (each perturbed input counts one). */
  modelCalls: number;
  /** Wall time of the explanation, milliseconds. */
  ms: number;
  seed?: number;
  output?: string;
  targetRule?: string;
  featureNames?: string[];
  classNames?: string[];
  backend?: string;
  /**
   * Text tasks: the tokens of each row, one per real position (values beyond them are 0), as the
   * tokenizer read them (lower-cased when the vocabulary says so; unknown words as written).
   */
  tokens?: string[][];
}

/** An example `--set` taken from the registry, so the help names a real parameter. */
function exampleSet(): string {
  const m = ATTRIBUTION_METHODS.find((u) => Object.keys(u.defaults).length > 0);
  if (!m) return 'key=value';
  const [k, v] = Object.entries(m.defaults)[0];
  return `${k}=${String(v)} (for ${m.id})`;
}

export function methodsHelp(): string {
  if (ATTRIBUTION_METHODS.length === 0) return '  (no methods are registered in this build)';
  const w = Math.max(...ATTRIBUTION_METHODS.map((m) => m.id.length));
  return ATTRIBUTION_METHODS.map((m) => {
    const params = describeParams({ id: m.id, defaults: m.defaults, params: m.params });
    return `  ${m.id.padEnd(w)}  ${m.description}${m.needs.gradients ? ' [gradients]' : ''}\n${params.length ? params.map((p) => `  ${' '.repeat(w)}    ${p}`).join('\n') : `  ${' '.repeat(w)}    (no parameters)`}`;
  }).join('\n');
}

const OPTIONS = { ...TASK_OPTIONS, method: { type: 'string' as const } };

export const command: CliCommand = {
  help: () =>
    [
      'Usage: deepfaith attribute --model <model.json> --data <file.csv> --label <column> --method <id>',
      '                           [--rows A:B] [--set key=value]… [--baseline zero|mean] [--target predicted|label]',
      '                           [--seed N] [--backend cpu|wasm] --out <file.json>',
      '',
      'Explains every chosen row for its target class and writes',
      '  { "method", "params", "baseline", "rows": [A,B], "target": [int…], "values": [[float × nFeatures] × nRows],',
      '    "modelCalls", "ms", "seed", "output", "targetRule", "featureNames", "classNames", "backend" }',
      '  (text tasks: one value per sequence position, 0 after the last token, and "tokens": [[token…] × nRows])',
      '',
      'Options:',
      TASK_HELP,
      '  --method <id>            attribution method (below)',
      `  --set key=value          a method parameter (repeatable), e.g. --set ${exampleSet()}`,
      '  --target predicted|label class to explain: the model\'s prediction on the clean row (default) or the label',
      '  --out <file.json>        where to write the explanations (- for standard output)',
      '',
      'Methods and their defaults:',
      methodsHelp(),
    ].join('\n'),

  async run(argv) {
    const flags = parseFlags(argv, OPTIONS);
    const methodId = required(flags, 'method', `Choose a method with --method <id>: ${ATTRIBUTION_METHODS.map((m) => m.id).join(', ') || '(none registered)'}.`);
    const method = getMethod(methodId);
    if (!method)
      throw new UserError(`Unknown method "${methodId}".`, `Use one of: ${ATTRIBUTION_METHODS.map((m) => m.id).join(', ') || '(none registered)'} (see deepfaith attribute --help).`);
    const given = parseSets(flags.set);
    resolveMethodParams(method, given); // types and ranges before anything is read
    const out = required(flags, 'out', 'Say where to write the explanations with --out path/to/explanations.json.');
    const spec = taskSpecFromFlags(flags);
    checkOutput(out, taskInputs(spec));
    const loaded = await loadTaskFromFlags(flags, spec);
    const { task, rowBatch: batch, rows, targetRule, seed } = loaded;
    try {
      const params = resolveMethodParams(method, given, task.nFeatures);
      const why = method.applicable(task);
      if (why) throw new UserError(`Method ${method.id} cannot explain this model: ${why}`, 'Choose another method (see deepfaith attribute --help).');
      const target = await targetsFor(loaded, targetRule, batch);
      const before = task.model.rowsEvaluated;
      const t0 = performance.now();
      const values = await method.explain(task, batch, target, params, new Seeder(seed)); // [nRows, nFeatures]
      const ms = performance.now() - t0;
      const n = task.nFeatures;
      if (values.length !== batch.nRows * n) throw new Error(`${method.id} returned ${values.length} values for ${batch.nRows} rows × ${n} features`);
      const file: ExplanationsFile = {
        method: method.id,
        params,
        baseline: task.baseline,
        rows,
        target,
        values: Array.from({ length: batch.nRows }, (_, r) => values.subarray(r * n, (r + 1) * n)),
        modelCalls: task.model.rowsEvaluated - before,
        ms: Math.round(ms * 10) / 10,
        seed,
        output: task.output,
        targetRule,
        featureNames: task.featureNames,
        classNames: task.classNames,
        backend: loaded.backend.chosen,
        ...(loaded.data.text ? { tokens: loaded.data.text.tokens.slice(rows[0], rows[1]) } : {}),
      };
      writeJson(out, file);
      if (out !== '-') console.error(`deepfaith attribute: ${method.id} on rows ${rows[0]}:${rows[1]} (${batch.nRows} × ${n}) → ${out} in ${file.ms} ms`);
      return 0;
    } finally {
      task.model.dispose();
    }
  },
};
