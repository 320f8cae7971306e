/**
 * A task: target model + feature space + the conventions every method and metric shares
 * (output mode and baseline). Methods and metrics receive a Task and a Batch of rows.
 */
import { UserError } from '../errors';
import type { Dataset } from '../data/csv';
import { TabularFeatureSpace, rowBaselines, type FeatureSpace, type RowBaselineKind } from './featureSpace';
import type { OutputMode, TargetModel } from './model';

export interface Task {
  model: TargetModel;
  /** Maps features to model-input elements; methods and metrics see only this. */
  space: FeatureSpace;
  /** n: features an explanation scores (space.nFeatures). */
  nFeatures: number;
  /** Model-input values per row (space.inputSize; tabular: = nFeatures). */
  inputSize: number;
  /** Classes of the chosen output mode. */
  nClasses: number;
  featureNames: string[];
  classNames: string[];
  output: OutputMode;
  /** The removal baseline: zero, mean or (image tasks) blur; each row's x° is `rowBaselines(space, baseline)(x)`. */
  baseline: RowBaselineKind;
}

/** Rows handed to a method or metric. */
export interface Batch {
  /** [nRows, inputSize] row-major model inputs */
  x: Float32Array;
  nRows: number;
  /** Global row index of each row (file order) — seeds per-row randomness. */
  rowIndex: Int32Array;
}

export type TargetRule = 'predicted' | 'label';

export type Progress = (done: number, total: number) => void;

export interface TaskOptions {
  output?: OutputMode;
  baseline?: RowBaselineKind;
  /** Rows the mean/noise baselines come from; default all rows of the dataset. */
  reference?: { x: Float32Array; nRows: number };
  /** A feature space other than one feature per column (e.g. feature groups); default tabular over the data's columns. */
  space?: FeatureSpace;
}

export function makeTask(model: TargetModel, data: Dataset, opts: TaskOptions = {}): Task {
  checkWidth(model, data);
  const output = opts.output ?? 'probability';
  const ref = opts.reference ?? { x: data.x, nRows: data.nRows };
  const nClasses = model.nClasses(output);
  const classNames = data.classNames.length === nClasses ? data.classNames : Array.from({ length: nClasses }, (_, i) => data.classNames[i] ?? `class ${i}`);
  const space = opts.space ?? new TabularFeatureSpace(data.featureNames, ref.x, ref.nRows);
  if (space.inputSize !== model.nFeatures) throw new Error(`makeTask: the feature space has ${space.inputSize} input values per row, the model ${model.nFeatures}`);
  rowBaselines(space, opts.baseline ?? 'zero'); // refuses blur on a space without row baselines (tables), with a message
  return {
    model,
    space,
    nFeatures: space.nFeatures,
    inputSize: space.inputSize,
    nClasses,
    featureNames: space.featureNames,
    classNames,
    output,
    baseline: opts.baseline ?? 'zero',
  };
}

export function checkWidth(model: TargetModel, data: Dataset): void {
  if (model.nFeatures !== data.nFeatures)
    throw new UserError(
      `The model expects ${model.nFeatures} features but ${data.source} has ${data.nFeatures} feature columns (${data.featureNames.join(', ')}; label "${data.labelName}").`,
      'Choose the data the model was trained on, pick the right label column, or drop the extra columns.',
    );
}

export function sliceBatch(data: Dataset, a: number, b: number): Batch {
  const n = data.nFeatures; // tabular data: one input value per column
  return { x: data.x.slice(a * n, b * n), nRows: b - a, rowIndex: Int32Array.from({ length: b - a }, (_, i) => a + i) };
}

/** Argmax with ties → lower index. */
export function argmax(v: ArrayLike<number>, offset = 0, len = v.length - offset): number {
  let best = 0;
  for (let i = 1; i < len; i++) if (v[offset + i] > v[offset + best]) best = i;
  return best;
}

/** Target class per row: the model's prediction on the clean input (default) or the label. */
export async function chooseTargets(task: Task, batch: Batch, rule: TargetRule, labels?: Int32Array): Promise<Int32Array> {
  if (rule === 'label') {
    if (!labels || labels.length !== batch.nRows) throw new UserError('Target "label" needs the label of every row.', 'Load data with a label column, or use --target predicted.');
    for (const l of labels)
      if (l < 0 || l >= task.nClasses)
        throw new UserError(`Label ${l} is not a class of the model (it has ${task.nClasses}).`, 'Check that the label column matches the model, or use --target predicted.');
    return labels.slice();
  }
  const p = await task.model.predict(batch.x, batch.nRows, task.output);
  return Int32Array.from({ length: batch.nRows }, (_, r) => argmax(p, r * task.nClasses, task.nClasses));
}
