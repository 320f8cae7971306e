import type { Seeder } from '../rng';
import type { Batch, Progress, Task } from '../task/task';
import type { ParamSchema, Params } from '../params';

export type { ParamValue, Params } from '../params';

export interface AttributionMethod<P extends Params = Params> {
  /** Stable kebab-case id, e.g. 'integrated-gradients'. */
  id: string;
  label: string;
  /** One line for the UI and `--help`. */
  description: string;
  needs: { gradients: boolean };
  /** The ONLY place this method's defaults live. */
  defaults: P;
  /** Type, range or choices and meaning of each parameter (core/params.ts resolves and checks them). */
  params: ParamSchema<P>;
  /** null when the method can run on the task, else a sentence saying why not and what to do. */
  applicable(task: Task): string | null;
  /**
   * Checks of resolved parameters that need the task (e.g. a layer name against the model's
   * layers): throws a UserError naming the problem and the allowed values. Optional; called by the
   * job checks before any model call (and by `explain` itself).
   */
  validate?(task: Task, params: P): void;
  /**
   * Explain every row of `batch` for its target class. Returns [nRows, nFeatures] row-major.
   * All model evaluations are batched. Randomness only from `seeder.rng(id, rowIndex)`.
   */
  explain(task: Task, batch: Batch, target: Int32Array, params: P, seeder: Seeder, onProgress?: Progress, signal?: AbortSignal): Promise<Float32Array>;
}
