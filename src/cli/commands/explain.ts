/**
 * `deepfaith explain`: explain rows of a CSV with a trained DeepFaith explainer and write the
 * explanations JSON of `deepfaith attribute` (so `deepfaith evaluate` can score it like any method).
 * Values are the explainer's raw outputs in [0,1] (evaluate scores what it is given).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../core/errors';
import { loadExplainer } from '../../core/explainer/model';
import { checkClassFrame } from '../../core/explainer/train';
import { parseRows } from '../../core/data/csv';
import { sliceBatch } from '../../core/task/task';
import { loadTask, targetsFor, type TaskSpec } from '../../core/task/load';
import type { OutputMode } from '../../core/task/model';
import type { BaselineKind } from '../../core/task/featureSpace';
import { DEMOS_DIR, checkOutput, nodeTaskIO } from '../files';
import { getDemo } from '../../core/data/demos';
import { imageFlags, initCliBackend, parseFlags, parseTargetRule, required, splitList, taskInputs, writeJson, type CliCommand } from '../common';
import type { NormaliseRule } from '../../core/data/images';
import type { ExplanationsFile } from './attribute';

const OPTIONS = {
  explainer: { type: 'string' as const },
  demo: { type: 'string' as const },
  data: { type: 'string' as const },
  label: { type: 'string' as const },
  drop: { type: 'string' as const },
  patch: { type: 'string' as const },
  normalise: { type: 'string' as const },
  vocab: { type: 'string' as const },
  text: { type: 'string' as const },
  'mask-token': { type: 'string' as const },
  rows: { type: 'string' as const },
  model: { type: 'string' as const },
  target: { type: 'string' as const },
  backend: { type: 'string' as const },
  out: { type: 'string' as const },
};

interface TrainedFor {
  model?: string;
  data?: string;
  demo?: string;
  label?: string;
  drop?: string[];
  target?: string;
  output?: string;
  baseline?: string;
  patch?: number;
  normalise?: string;
  blurSigma?: number;
  /** Text tasks: the vocabulary, text column and mask token (docs/text.md). */
  vocab?: string;
  text?: string;
  maskToken?: string;
}

export const command: CliCommand = {
  help: () =>
    [
      'Usage: deepfaith explain --explainer <dir> (--demo <id> | --data <file.csv> [--label <column>] [--drop a,b]) [--rows A:B]',
      '                         [--patch <pixels>] [--normalise 0-1|-1-1|mean-std]   (image tasks)',
      '                         [--vocab <vocab.json> --text <column> [--mask-token <token>]]   (text tasks)',
      '                         [--model <model.json>] [--target predicted|label] [--backend cpu|wasm] --out <file.json>',
      '',
      'Explains the chosen rows with a trained explainer (the explainer/ folder written by deepfaith run) and',
      'writes the `deepfaith attribute` JSON format: { method: "deepfaith", params, baseline, rows, target, values, modelCalls, ms, … }.',
      'The task (demo, or model + data, label, drop, output, baseline, target) defaults to the one the explainer was',
      'trained for, recorded in its model.json; flags given here override it. The target class of each row comes from',
      'the target model — the explainer itself never calls the model (modelCalls counts only the rows evaluated to',
      'choose the targets).',
    ].join('\n'),

  async run(argv) {
    const flags = parseFlags(argv, OPTIONS);
    const dir = required(flags, 'explainer', 'Give the explainer folder with --explainer <dir> (written by deepfaith run).');
    const out = required(flags, 'out', 'Say where to write the explanations with --out path/to/file.json.');
    const jsonPath = existsSync(dir) && statSync(dir).isDirectory() ? join(dir, 'model.json') : dir;
    if (!existsSync(jsonPath)) throw new UserError(`${jsonPath} does not exist.`, 'Give the explainer folder written by deepfaith run.');
    let modelJson: { trainedFor?: TrainedFor; config?: { tokens?: { kind?: string; patch?: number } } };
    try {
      modelJson = JSON.parse(readFileSync(jsonPath, 'utf8'));
    } catch {
      throw new UserError(`${jsonPath} is not valid JSON.`, 'Give the explainer folder written by deepfaith run.');
    }
    const binPath = join(jsonPath.slice(0, jsonPath.lastIndexOf('/') + 1) || '.', 'weights.bin');
    if (!existsSync(binPath)) throw new UserError(`${binPath} does not exist.`, 'Copy the whole explainer folder (model.json and weights.bin).');
    const tf = modelJson.trainedFor ?? {};
    const str = (k: string) => (typeof flags[k] === 'string' && flags[k] !== '' ? (flags[k] as string) : undefined);
    const givenFiles = str('data') !== undefined || str('model') !== undefined;
    const demo = str('demo') ?? (givenFiles ? undefined : tf.demo);
    const spec: TaskSpec = {
      demo,
      // an explainer trained on a demo explains other files with the demo's model unless --model is given
      model: demo ? undefined : (str('model') ?? tf.model ?? (tf.demo && getDemo(tf.demo) ? join(DEMOS_DIR, getDemo(tf.demo)!.model) : undefined)),
      data: demo ? undefined : (str('data') ?? tf.data),
      label: str('label') ?? (demo || str('data') ? undefined : tf.label),
      drop: str('drop') ? splitList(str('drop')!) : demo ? undefined : tf.drop,
      baseline: (tf.baseline ?? 'zero') as BaselineKind,
      output: (tf.output ?? 'probability') as OutputMode,
      maxRows: 0,
    };
    const img = imageFlags(flags);
    // an image explainer reads patches of its own size: that is the task's patch unless --patch says otherwise
    const tokenPatch = modelJson.config?.tokens?.kind === 'patch' ? modelJson.config.tokens.patch : undefined;
    const patch = img.patch ?? tokenPatch ?? (givenFiles || str('demo') ? undefined : tf.patch);
    const blurSigma = img.blurSigma ?? (givenFiles || str('demo') ? undefined : tf.blurSigma);
    if (blurSigma !== undefined) spec.blurSigma = blurSigma;
    const normalise = img.normalise ?? (givenFiles || str('demo') ? undefined : (tf.normalise as NormaliseRule | undefined));
    if (patch !== undefined) spec.patch = patch;
    if (normalise !== undefined) spec.normalise = normalise;
    // text: the vocabulary and text column of the flags, else those the explainer was trained with (its
    // model's vocabulary, also for other --data files; a demo has its own)
    const vocab = str('vocab') ?? (demo ? undefined : tf.vocab);
    const text = str('text') ?? (demo ? undefined : tf.text);
    const maskToken = str('mask-token') ?? (demo || givenFiles ? undefined : tf.maskToken);
    if (vocab !== undefined) spec.vocab = vocab;
    if (text !== undefined) spec.text = text;
    if (maskToken !== undefined) spec.maskToken = maskToken;
    if (!spec.demo && !spec.data) throw new UserError('The rows to explain are not known.', 'Give --data path/to/file.csv (or --demo <id>).');
    if (!spec.demo && !spec.model) throw new UserError('The target class needs the target model.', 'Give --model path/to/model.json.');
    const targetRule = parseTargetRule(str('target') ?? tf.target);
    checkOutput(out, [...taskInputs(spec), jsonPath, binPath]);
    const backend = await initCliBackend(flags.backend);
    const bin = readFileSync(binPath);
    const explainer = loadExplainer(modelJson, bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer, jsonPath);
    try {
      const loaded = await loadTask(spec, nodeTaskIO());
      let target: Int32Array;
      let modelCalls = 0;
      const { data, task } = loaded;
      const n = explainer.config.nFeatures;
      let rows: [number, number];
      try {
        const tokens = explainer.tokens;
        if (tokens.kind === 'patch' && (task.nFeatures !== n || task.inputSize !== explainer.inputWidth))
          throw new UserError(
            `The explainer reads ${tokens.height}×${tokens.width}×${tokens.channels} images in ${tokens.patch}-pixel patches (${n} patches), but ${loaded.source.data} gives ${task.inputSize} input values per row in ${task.nFeatures} patches.`,
            'Choose images of the size the explainer was trained on, and leave out --patch (or give its patch size).',
          );
        if (tokens.kind === 'token-id' && (data.text?.vocabSize !== tokens.vocabSize || data.text?.pad !== tokens.pad))
          throw new UserError(
            `The explainer reads token ids of a ${tokens.vocabSize}-token vocabulary (pad ${tokens.pad}), but ${loaded.source.data} is read ${data.text ? `with a ${data.text.vocabSize}-token vocabulary (pad ${data.text.pad})` : 'as a table, not as texts'}.`,
            'Give the vocabulary the explainer was trained with (--vocab) and the text column (--text).',
          );
        if (task.nFeatures !== n || task.inputSize !== explainer.inputWidth)
          throw new UserError(`The explainer expects ${n} features but ${loaded.source.data} has ${data.nFeatures} (${data.featureNames.join(', ')}).`, 'Choose the data the explainer was trained on (and the same --drop).');
        checkClassFrame(explainer.config.classFrame, task, undefined, explainer.config.nClasses); // a class-frame explainer: probability tasks (two classes for 'sign'; its own number of classes for 'classes')
        rows = parseRows(flags.rows as string | undefined, data.nRows);
        const before = task.model.rowsEvaluated;
        target = await targetsFor(loaded, targetRule, sliceBatch(data, rows[0], rows[1]));
        modelCalls = task.model.rowsEvaluated - before;
      } finally {
        task.model.dispose();
      }
      const batch = sliceBatch(data, rows[0], rows[1]);
      const t0 = performance.now();
      const values = await explainer.explain(batch.x, batch.nRows, target); // [nRows, n] (the target class matters to a class-frame explainer)
      const ms = performance.now() - t0;
      const file: ExplanationsFile = {
        method: 'deepfaith',
        params: { explainer: jsonPath, dModel: explainer.config.dModel, nLayers: explainer.config.nLayers, nHeads: explainer.config.nHeads, dFF: explainer.config.dFF },
        baseline: spec.baseline,
        rows,
        target,
        values: Array.from({ length: batch.nRows }, (_, r) => values.subarray(r * n, (r + 1) * n)),
        modelCalls,
        ms: Math.round(ms * 10) / 10,
        output: spec.output,
        targetRule,
        featureNames: task.featureNames,
        classNames: data.classNames,
        backend: backend.chosen,
        ...(data.text ? { tokens: data.text.tokens.slice(rows[0], rows[1]) } : {}),
      };
      writeJson(out, file);
      if (out !== '-') console.error(`deepfaith explain: rows ${rows[0]}:${rows[1]} (${batch.nRows} × ${n}) → ${out} in ${file.ms} ms`);
      return 0;
    } finally {
      explainer.dispose();
    }
  },
};
