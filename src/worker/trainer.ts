/**
 * Adapter from the studio's train request to the engine's trainer (src/core/explainer/train.ts):
 * builds Z and D from the session's task, pulls the training generator one event at a time
 * (so pause simply stops pulling), streams step events in small batches, and after every epoch
 * refreshes the watched sample's saliency from the epoch checkpoint's weights.
 */
import { UserError } from '../core/errors';
import { Explainer, inputStatistics, loadExplainer, type ExplainerConfig } from '../core/explainer/model';
import { trainExplainer, type TrainEvent, type TrainResult } from '../core/explainer/train';
import { buildSupervision, supervisionOptionsFor } from '../core/supervision/supervision';
import { supervisionInput } from './pipeline';
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
    const { task } = this.session.requireTask();
    const n = task.nFeatures;
    const { settings } = c;
    // Z and the held-out pairs from the engine's split and supervision (as trainAndReport builds them)
    const { sup, positions } = supervisionInput(this.session, c.input);
    const options = supervisionOptionsFor(settings.mode, c.input.delta, c.input.p);
    const zTrain = buildSupervision({ ...sup, use: positions.train }, options);
    const zTest = buildSupervision({ ...sup, use: positions.test }, options);
    const trainRows = positions.train.map((p) => c.input.rows[p]);
    const testRows = positions.test.map((p) => c.input.rows[p]);
    if (trainRows.length === 0) throw new UserError('There are no training rows.', 'Explain and score more rows first.');
    const samples = this.session.batchOf(trainRows);
    const held = this.session.batchOf(testRows);
    const explainerConfig: ExplainerConfig = { nFeatures: n, ...settings.explainer, seed: c.input.seed, ...inputStatistics(samples.x, samples.nRows, n) };
    const z = zTrain;
    const gen = trainExplainer({
      task,
      explainer: explainerConfig,
      config: settings.training,
      mode: settings.mode,
      seed: c.input.seed,
      z,
      samples: { x: samples.x, nRows: samples.nRows, rowIndex: samples.rowIndex, target: this.session.targetsOf(trainRows) },
      heldOut: testRows.length ? { z: zTest, samples: { x: held.x, nRows: held.nRows, rowIndex: held.rowIndex, target: this.session.targetsOf(testRows) } } : undefined,
      checkpointEvery: 1,
      signal,
    });
    const c2 = { lossMode: settings.mode, batchSize: settings.training.batchSize, epochs: settings.training.epochs };
    const stepsPerEpoch = Math.max(1, Math.ceil((c2.lossMode === 'lc-only' && z.nPairs === 0 ? samples.nRows : z.nPairs) / c2.batchSize));
    const totalSteps = stepsPerEpoch * c2.epochs;
    const pendingEvals: TrainEval[] = [];
    const allEvals: TrainEval[] = [];
    const pendingSteps: TrainStep[] = [];
    let lastPost = 0;
    let wasConverged = false;
    const t0 = performance.now();
    let nSteps = 0;
    const watchX = this.session.batchOf([c.watchRow]).x;
    const flush = (watchSaliency?: Float32Array) => {
      const elapsed = (performance.now() - t0) / 1000;
      this.post({ type: 'train', id: this.requestId, steps: pendingSteps.splice(0), evals: pendingEvals.splice(0), stepsPerSecond: elapsed > 0 ? nSteps / elapsed : 0, watchSaliency });
      lastPost = performance.now();
    };
    let result: TrainResult;
    try {
      for (;;) {
        await this.waitWhilePaused(signal);
        signal.throwIfAborted();
        const r = await gen.next();
        if (r.done) {
          result = r.value;
          break;
        }
        const ev: TrainEvent = r.value;
        if (ev.type === 'step') {
          nSteps++;
          const event = ev.converged && !wasConverged ? 'converged' : !ev.converged && wasConverged ? 'reset' : undefined;
          wasConverged = ev.converged;
          pendingSteps.push({ step: ev.step, lPC: ev.lossPC, lLC: ev.lossLC, alpha: ev.alpha, converged: ev.converged, event });
          progress('training', nSteps, totalSteps);
          if (performance.now() - lastPost > 150) flush();
        } else if (ev.type === 'eval') {
          // the engine's eval step counts the steps done; the chart's x is each step's 0-based index
          const e: TrainEval = { step: ev.step - 1, epoch: ev.epoch, lPC: ev.lossPC, lLC: ev.lossLC };
          pendingEvals.push(e);
          allEvals.push(e);
        } else if (ev.type === 'checkpoint') {
          const snap = new Explainer(ev.checkpoint.explainer, new Map(Object.entries(ev.checkpoint.weights).map(([k, v]) => [k, Float32Array.from(v)])));
          try {
            flush(await snap.explain(watchX, 1));
          } finally {
            snap.dispose();
          }
        }
      }
    } catch (e) {
      await gen.return?.(undefined as never).catch(() => undefined);
      throw e;
    }
    if (pendingSteps.length || pendingEvals.length) flush();
    this.explainer?.dispose();
    this.explainer = result.explainer;
    const explainerSaliency = await this.explain(c.explainRows);
    const artifacts = await result.explainer.serialize();
    return { steps: result.steps, evals: allEvals, nPairs: z.nPairs, explainerSaliency, artifacts };
  }

  /** A saved explainer (model.json + weights) loaded back, so it can explain new rows after a reload. */
  static restore(session: Session, artifacts: { modelJson: unknown; weights: ArrayBuffer }, post: Post): Trainer {
    const t = new Trainer(session, -1, null as unknown as TrainRequestConfig, post);
    t.explainer = loadExplainer(artifacts.modelJson, artifacts.weights);
    if (t.explainer.config.nFeatures !== session.requireTask().task.nFeatures) {
      t.dispose();
      throw new UserError('The saved explainer was trained for another number of features.', 'Train a new explainer for this task.');
    }
    return t;
  }

  async explain(rows: number[]): Promise<Float32Array> {
    if (!this.explainer) throw new UserError('No explainer has been trained in this session.', 'Train one in the Train panel first.');
    const b = this.session.batchOf(rows);
    return this.explainer.explain(b.x, b.nRows);
  }

  dispose(): void {
    this.explainer?.dispose();
    this.explainer = null;
  }
}
