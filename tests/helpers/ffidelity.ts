/**
 * Tasks for the F-Fidelity tests: a subset-sum model g(x) = Σ_{i∈I} x_i (raw output), whose output
 * depends only on the features in I, used as its own surrogate (no fine-tuning) so that every
 * FFID point has a closed form.
 */
import { attachSurrogate } from '../../src/core/ffidelity/context';
import type { Task } from '../../src/core/task/task';
import { additiveTask } from './models';

/** g(x) = Σ_{i∈informative} x_i on rows of all ones (zero baseline): the drop = informative features removed. */
export function subsetSumTask(n: number, informative: number[], nRows: number, value = 1): Task {
  const w = Array.from({ length: n }, (_, i) => (informative.includes(i) ? 1 : 0));
  const x = new Float32Array(nRows * n).fill(value);
  return additiveTask(w, 0, x, nRows);
}

/** Use the task's own model as the FFID surrogate with this β (not owned: the task disposes it). */
export function selfSurrogate(task: Task, beta: number): Task {
  attachSurrogate(task, { model: task.model, beta, owned: false });
  return task;
}

/** An explanation ranking `first` on top (in that order), the others below in index order: [nRows, n]. */
export function rankingExplanation(n: number, nRows: number, first: number[]): Float32Array {
  const row = new Float32Array(n);
  for (let i = 0; i < n; i++) row[i] = -i / n;
  first.forEach((f, k) => (row[f] = 2 * n - k));
  const out = new Float32Array(nRows * n);
  for (let r = 0; r < nRows; r++) out.set(row, r * n);
  return out;
}
