/**
 * The studio's step-by-step training: a thin driver over the engine's pipeline. `planTraining`
 * (the same plan `trainAndReport` makes for `deepfaith run`) gives the trainer's input; the
 * engine's training generator is pulled one event at a time (pause = stop pulling; every pull gives
 * the worker's message queue a turn, so pause and cancel are read during training); step events go
 * to the page in small batches; after every epoch the watched sample's saliency is recomputed from
 * the epoch checkpoint's weights; at the end `reportTraining` makes the job's table (test split),
 * exactly as `deepfaith run` does.
 */
import { UserError } from '../core/errors';
import { Explainer, loadExplainer } from '../core/explainer/model';
import { checkClassFrame, trainExplainer, type EvalEvent, type StepEvent, type TrainCheckpoint, type TrainEvent, type TrainResult } from '../core/explainer/train';
import { exportPrepared, planTraining, reportTraining, shownExplanation, type JobResult } from '../core/job';
import { yieldNow } from '../core/yield';
import type { Batch } from '../core/task/task';
import type { Post } from './handler';
import type { ResultMap, TrainEval, TrainRequestConfig, TrainStep } from './protocol';
import type { ProgressFn, Session } from './session';

export class Trainer {
  private paused = false;
  private wake: (() => void) | null = null;
  private explainer: Explainer | null = null;

  constructor(
    readonly session: Session,
    readonly requestId: number,
    readonly config: TrainRequestConfig,
    private readonly post: Post,
  ) {}

  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
    this.wake?.();
    this.wake = null;
  }

  private async waitWhilePaused(signal: AbortSignal): Promise<void> {
    while (this.paused && !signal.aborted) {
      await new Promise<void>((res) => {
        this.wake = res;
        signal.addEventListener('abort', () => res(), { once: true });
      });
    }
  }

  async run(signal: AbortSignal, progress: ProgressFn): Promise<ResultMap['train']> {
    const c = this.config;
    const job = this.session.resolve(c.job);
    const prep = this.session.preparedJob(job);
    const plan = planTraining(prep, { checkpointEvery: 1, resume: c.resume });
    if (c.resume && (c.resume.mode !== plan.mode || c.resume.seed !== plan.trainSeed || JSON.stringify(c.resume.config) !== JSON.stringify(plan.job.training)))
      throw new UserError('The checkpoint is from a training with other settings.', 'Start the training again (the interrupted one cannot be continued with these settings).');
    const gen = trainExplainer({ ...plan.input, signal });
    const pendingEvals: TrainEval[] = [];
    const allEvals: TrainEval[] = [];
    const pendingSteps: TrainStep[] = [];
    const steps: StepEvent[] = [];
    const evals: EvalEvent[] = [];
    let lastPost = 0;
    let wasConverged = false;
    const t0 = performance.now();
    const watchRows = this.session.batchOf([c.watchRow]);
    let watchTarget: Promise<Int32Array> | undefined; // the watched row's class, asked once (a class-frame explainer needs it)
    const flush = (watchSaliency?: Float32Array, checkpoint?: TrainCheckpoint) => {
      const elapsed = (performance.now() - t0) / 1000;
      this.post({ type: 'train', id: this.requestId, steps: pendingSteps.splice(0), evals: pendingEvals.splice(0), stepsPerSecond: elapsed > 0 ? steps.length / elapsed : 0, watchSaliency, checkpoint });
      lastPost = performance.now();
    };
    let trained: TrainResult;
    try {
      for (;;) {
        // a turn of the event loop before every pull: pause, resume and cancel arrive here
        await yieldNow(signal);
        const lost = this.session.deviceLostError();
        if (lost) throw lost;
        if (this.paused && (pendingSteps.length || pendingEvals.length)) flush(); // the page shows every step done before the pause
        await this.waitWhilePaused(signal);
        signal.throwIfAborted();
        const r = await gen.next();
        if (r.done) {
          trained = r.value;
          break;
        }
        const ev: TrainEvent = r.value;
        if (ev.type === 'step') {
          steps.push(ev);
          const event = ev.converged && !wasConverged ? 'converged' : !ev.converged && wasConverged ? 'reset' : undefined;
          wasConverged = ev.converged;
          pendingSteps.push({ step: ev.step, lPC: ev.lossPC, lLC: ev.lossLC, alpha: ev.alpha, converged: ev.converged, event });
          progress('training', steps.length, plan.totalSteps);
          if (performance.now() - lastPost > 150) flush();
        } else if (ev.type === 'eval') {
          evals.push(ev);
          // the engine's eval step counts the steps done; the chart's x is each step's 0-based index
          const e: TrainEval = { step: ev.step - 1, epoch: ev.epoch, lPC: ev.lossPC, lLC: ev.lossLC, ...(ev.kept ? { kept: true as const } : {}) };
          pendingEvals.push(e);
          allEvals.push(e);
        } else if (ev.type === 'checkpoint') {
          const snap = new Explainer(ev.checkpoint.explainer, new Map(Object.entries(ev.checkpoint.weights).map(([k, v]) => [k, Float32Array.from(v)])));
          try {
            flush(shownExplanation(plan.input.task, watchRows, snap.config, await snap.explain(watchRows.x, 1, snap.needsTargets ? await (watchTarget ??= this.session.targetsOf(watchRows)) : undefined)), packCheckpoint(ev.checkpoint));
          } finally {
            snap.dispose();
          }
        }
      }
    } catch (e) {
      await gen.return?.(undefined as never).catch(() => undefined);
      // a GPU read can fail before the device's `lost` promise settles: give it a moment to say so
      if (!signal.aborted && this.session.backend?.chosen === 'webgpu')
        for (let i = 0; i < 40 && !this.session.deviceLost; i++) await new Promise((r) => setTimeout(r, 25));
      throw this.session.deviceLostError() ?? e;
    }
    if (pendingSteps.length || pendingEvals.length) flush();
    let result: JobResult;
    try {
      progress('scoring the explainer', 0, 1);
      result = await reportTraining(plan, trained, { steps, evals, ms: performance.now() - t0 }, undefined, signal);
    } catch (e) {
      trained.explainer.dispose();
      throw e;
    }
    this.explainer?.dispose();
    this.explainer = trained.explainer;
    this.session.lastReport = result;
    const explainerSaliency = await this.explain(c.explainRows);
    const artifacts = await this.explainer.serialize();
    return { steps: steps.length, evals: allEvals, nPairs: plan.zTrain.nPairs, explainerSaliency, artifacts, result, prepared: exportPrepared(prep) };
  }

  /** A saved explainer (model.json + weights) loaded back, so it can explain new rows after a reload. */
  static restore(session: Session, artifacts: { modelJson: unknown; weights: ArrayBuffer }, post: Post): Trainer {
    const t = new Trainer(session, -1, null as unknown as TrainRequestConfig, post);
    t.explainer = loadExplainer(artifacts.modelJson, artifacts.weights);
    const task = session.requireTask().full.task;
    if (t.explainer.config.nFeatures !== task.nFeatures) {
      t.dispose();
      throw new UserError('The saved explainer was trained for another number of features.', 'Train a new explainer for this task.');
    }
    try {
      checkClassFrame(t.explainer.config.classFrame, task, undefined, t.explainer.config.nClasses); // a class-frame explainer fits only a model with its classes
    } catch (e) {
      t.dispose();
      throw e;
    }
    return t;
  }

  /** The held explainer on these rows, as the studio draws them (core/job `shownExplanation`). */
  private async shown(e: Explainer, b: Batch, targets?: Int32Array): Promise<Float32Array> {
    const t = e.needsTargets ? (targets ?? (await this.session.targetsOf(b))) : undefined; // a class-frame explainer explains each row's target class
    return shownExplanation(this.session.requireTask().full.task, b, e.config, await e.explain(b.x, b.nRows, t));
  }

  async explain(rows: number[]): Promise<Float32Array> {
    if (!this.explainer) throw new UserError('No explainer has been trained in this session.', 'Train one in the Train panel first.');
    return this.shown(this.explainer, this.session.batchOf(rows));
  }

  /** Whether a trained (or restored) explainer is held. */
  hasExplainer(): boolean {
    return this.explainer !== null;
  }

  /** The explainer on model-input rows that are not rows of the data (a sentence typed by the user). */
  async explainInputs(x: Float32Array, nRows: number, targets?: Int32Array): Promise<Float32Array> {
    if (!this.explainer) throw new UserError('No explainer has been trained in this session.', 'Train one in the Train panel first.');
    return this.shown(this.explainer, { x, nRows, rowIndex: new Int32Array(nRows) }, targets);
  }

  dispose(): void {
    this.explainer?.dispose();
    this.explainer = null;
  }
}

/**
 * The checkpoint with its weights, Adam moments and early stopping's best weights as Float32Arrays (the engine's numbers are
 * float32, so nothing changes): it crosses to the main thread and into IndexedDB every epoch, and
 * structured clone copies typed arrays as blocks, where number[] costs a long main-thread task per
 * epoch (381 ms on wine, bench/main-thread.ts). The engine's resume reads either form.
 */
export function packCheckpoint(c: TrainCheckpoint): TrainCheckpoint {
  return {
    ...c,
    weights: Object.fromEntries(Object.entries(c.weights).map(([k, v]) => [k, Float32Array.from(v)])) as unknown as TrainCheckpoint['weights'],
    optimizer: c.optimizer.map((o) => ({ ...o, values: Float32Array.from(o.values) as unknown as number[] })),
    ...(c.earlyStop && {
      earlyStop: {
        ...c.earlyStop,
        bestWeights: c.earlyStop.bestWeights && (Object.fromEntries(Object.entries(c.earlyStop.bestWeights).map(([k, v]) => [k, Float32Array.from(v)])) as unknown as Record<string, number[]>),
      },
    }),
  };
}
