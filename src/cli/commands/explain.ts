/**
 * `deepfaith explain`: explain rows of a CSV with a trained DeepFaith explainer and write the
 * explanations JSON of `deepfaith attribute` (so `deepfaith evaluate` can score it like any method).
 * Values are the explainer's raw outputs in [0,1] (evaluate scores what it is given).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../core/errors';
import { loadExplainer } from '../../core/explainer/model';
import { parseRows } from '../../core/data/csv';
import { chooseTargets, makeTask, sliceBatch } from '../../core/task/task';
import type { OutputMode } from '../../core/task/model';
import type { BaselineKind } from '../../core/task/featureSpace';
import { loadCsvFromPath, loadModelFromPath } from '../files';
import { initCliBackend, parseFlags, required, writeJson, type CliCommand } from '../common';
import type { ExplanationsFile } from './attribute';

const OPTIONS = {
  explainer: { type: 'string' as const },
  data: { type: 'string' as const },
  label: { type: 'string' as const },
  drop: { type: 'string' as const },
  rows: { type: 'string' as const },
  model: { type: 'string' as const },
  target: { type: 'string' as const },
  backend: { type: 'string' as const },
  out: { type: 'string' as const },
};

export const command: CliCommand = {
  help: () =>
    [
      'Usage: deepfaith explain --explainer <dir> --data <file.csv> --label <column> [--drop a,b] [--rows A:B]',
      '                         [--model <model.json>] [--target predicted|label] [--backend cpu|wasm] --out <file.json>',
      '',
      'Explains the chosen rows with a trained explainer (the explainer/ folder written by deepfaith run) and',
      'writes the `deepfaith attribute` JSON format: { method: "deepfaith", params, baseline, rows, target, values, modelCalls, ms, … }.',
      'The target class of each row comes from the target model (default: the model the explainer was trained',
      'for, recorded in its model.json) — the explainer itself never calls the model (modelCalls counts only the',
      'rows evaluated to choose the targets).',
    ].join('\n'),

  async run(argv) {
    const flags = parseFlags(argv, OPTIONS);
    const dir = required(flags, 'explainer', 'Give the explainer folder with --explainer <dir> (written by deepfaith run).');
    const dataPath = required(flags, 'data', 'Give the data with --data path/to/file.csv.');
    const label = required(flags, 'label', 'Name the label column with --label <column>.');
    const out = required(flags, 'out', 'Say where to write the explanations with --out path/to/file.json.');
    const jsonPath = existsSync(dir) && statSync(dir).isDirectory() ? join(dir, 'model.json') : dir;
    if (!existsSync(jsonPath)) throw new UserError(`${jsonPath} does not exist.`, 'Give the explainer folder written by deepfaith run.');
    const modelJson = JSON.parse(readFileSync(jsonPath, 'utf8')) as { trainedFor?: { model?: string; target?: string; output?: string; baseline?: string } };
    const binPath = join(jsonPath.slice(0, jsonPath.lastIndexOf('/') + 1) || '.', 'weights.bin');
    if (!existsSync(binPath)) throw new UserError(`${binPath} does not exist.`, 'Copy the whole explainer folder (model.json and weights.bin).');
    const backend = await initCliBackend(flags.backend);
    const bin = readFileSync(binPath);
    const explainer = loadExplainer(modelJson, bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer, jsonPath);
    try {
      const drop = typeof flags.drop === 'string' && flags.drop ? flags.drop.split(',').map((s) => s.trim()) : [];
      const data = loadCsvFromPath(dataPath, { label, drop });
      const n = explainer.config.nFeatures;
      if (data.nFeatures !== n)
        throw new UserError(`The explainer expects ${n} features but ${dataPath} has ${data.nFeatures} (${data.featureNames.join(', ')}).`, 'Choose the data the explainer was trained on (and the same --drop).');
      const rows = parseRows(flags.rows as string | undefined, data.nRows);
      const batch = sliceBatch(data, rows[0], rows[1]);
      const modelPath = (flags.model as string | undefined) ?? modelJson.trainedFor?.model;
      if (!modelPath) throw new UserError('The target class needs the target model.', 'Give --model path/to/model.json.');
      const targetRule = ((flags.target as string | undefined) ?? modelJson.trainedFor?.target ?? 'predicted') as 'predicted' | 'label';
      if (targetRule !== 'predicted' && targetRule !== 'label') throw new UserError(`--target "${targetRule}" is not known.`, 'Use predicted or label.');
      const model = await loadModelFromPath(modelPath);
      let target: Int32Array;
      let modelCalls = 0;
      const output = (modelJson.trainedFor?.output ?? 'probability') as OutputMode;
      const baseline = (modelJson.trainedFor?.baseline ?? 'zero') as BaselineKind;
      try {
        const task = makeTask(model, data, { output, baseline });
        const before = model.rowsEvaluated;
        target = await chooseTargets(task, batch, targetRule, data.labels.slice(rows[0], rows[1]));
        modelCalls = model.rowsEvaluated - before;
      } finally {
        model.dispose();
      }
      const t0 = performance.now();
      const values = await explainer.explain(batch.x, batch.nRows); // [nRows, n]
      const ms = performance.now() - t0;
      const file: ExplanationsFile = {
        method: 'deepfaith',
        params: { explainer: jsonPath, dModel: explainer.config.dModel, nLayers: explainer.config.nLayers, nHeads: explainer.config.nHeads, dFF: explainer.config.dFF },
        baseline,
        rows,
        target,
        values: Array.from({ length: batch.nRows }, (_, r) => values.subarray(r * n, (r + 1) * n)),
        modelCalls,
        ms: Math.round(ms * 10) / 10,
        output,
        targetRule,
        featureNames: data.featureNames,
        classNames: data.classNames,
        backend: backend.chosen,
      };
      writeJson(out, file);
      if (out !== '-') console.error(`deepfaith explain: rows ${rows[0]}:${rows[1]} (${batch.nRows} × ${n}) → ${out} in ${file.ms} ms`);
      return 0;
    } finally {
      explainer.dispose();
    }
  },
};
