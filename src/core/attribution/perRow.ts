/**
 * Every registered method, made to work on tasks whose rows have their own feature counts (text;
 * core/task/ragged.ts) and, for gradient methods on text, on the embedded tokens
 * (core/task/embedding.ts). On any other task the wrapper calls the method as it is.
 *
 * On a text task: the rows are grouped by their number of tokens T; each group is explained on the
 * task seen through its first T features (`prefixTask`), with parameters bounded by the feature
 * count capped at T; the scores go back to their rows with 0 at every padded position. Gradient
 * methods and DeepLIFT run on the embedded sequence v = e − e° (the model split at its Embedding;
 * DeepLIFT's reference is then e° = the pad embedding at every position), so a method's
 * element scores are per (position, embedding dimension) and sum to one score per token. Model rows
 * evaluated on the split model are added to the task model's counts.
 * `applicable` is judged on the longest row of the task (`maxRowFeatures`), and for gradient methods
 * on the split model (a model with no Embedding to split at gets the reason).
 */
import type { Task } from '../task/task';
import { TextFeatureSpace } from '../task/textSpace';
import { capParams, groupByCount, maxRowFeatures, pickRows, prefixTask, rowFeatureCounts } from '../task/ragged';
import { EmbeddedSpace, embedRows, embeddedStructure, embeddedView } from '../task/embedding';
import type { AttributionMethod } from './types';
import type { ParamSpec, Params } from '../params';

/** Methods that read the model's layers on a differentiable input without taking gradients (DeepLIFT's multipliers). */
const READS_LAYERS = new Set(['deeplift']);

/** Whether the method runs on the embedded tokens of this task (gradient methods and DeepLIFT on text). */
function onEmbeddings(method: AttributionMethod<any>, task: Task): task is Task & { space: TextFeatureSpace } {
  return (method.needs.gradients || READS_LAYERS.has(method.id)) && task.space instanceof TextFeatureSpace;
}

export function perRowFeatures<P extends Params>(method: AttributionMethod<P>): AttributionMethod<P> {
  return {
    ...method,
    applicable(task) {
      if (!task.space.rowFeatures) return method.applicable(task);
      const longest = prefixTask(task, maxRowFeatures(task));
      if (onEmbeddings(method, task)) {
        const split = embeddedStructure(task.model, task.space.nFeatures);
        if (typeof split === 'string') return `gradients of a text model are taken with respect to its embedded tokens, but ${split}. Perturbation methods (occlusion, feature-ablation, lime, kernel-shap, shapley-exact) work on any text model.`;
        return method.applicable({ ...longest, model: split });
      }
      return method.applicable(longest);
    },
    async explain(task, batch, target, params, seeder, onProgress, signal) {
      const counts = rowFeatureCounts(task, batch);
      if (!counts) return method.explain(task, batch, target, params, seeder, onProgress, signal);
      const n = task.nFeatures;
      const d = task.inputSize;
      const out = new Float32Array(batch.nRows * n); // [nRows, n]: 0 at padded positions
      let base = task;
      let embed: ((ids: Float32Array, rows: number) => Float32Array) | undefined;
      let split: Task['model'] | undefined;
      if (onEmbeddings(method, task)) {
        const view = await embeddedView(task.model, task.space.nFeatures, task.space.pad);
        // DeepLIFT computes its own forward pass through the layers: it reads e itself, with reference e°
        const absolute = READS_LAYERS.has(method.id);
        const space = new EmbeddedSpace(view, task.featureNames, absolute);
        split = absolute ? view.absoluteModel : view.model;
        base = { ...task, model: split, space, inputSize: space.inputSize };
        embed = (ids, rows) => embedRows(view, ids, rows, absolute);
      }
      const rows0 = split?.rowsEvaluated ?? 0;
      const passes0 = split?.forwardPasses ?? 0;
      let done = 0;
      try {
        for (const [k, positions] of groupByCount(counts)) {
          if (k === 0) {
            done += positions.length;
            continue;
          }
          const sub = pickRows(batch, positions, d);
          const group = { ...sub, x: embed ? embed(sub.x, sub.nRows) : sub.x };
          const t = prefixTask(base, k);
          const p = capParams(params, method.params as unknown as Record<string, ParamSpec>, k);
          const before = done;
          const vals = await method.explain(t, group, Int32Array.from(positions, (r) => target[r]), p, seeder, onProgress ? (g) => onProgress(before + g, batch.nRows) : undefined, signal); // [rows, k]
          positions.forEach((r, i) => out.set(vals.subarray(i * k, (i + 1) * k), r * n));
          done += positions.length;
        }
      } finally {
        if (split) {
          task.model.rowsEvaluated += split.rowsEvaluated - rows0;
          task.model.forwardPasses += split.forwardPasses - passes0;
        }
      }
      onProgress?.(batch.nRows, batch.nRows);
      return out;
    },
  };
}
