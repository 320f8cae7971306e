/**
 * Adapter from the studio's train request to the engine's trainer (src/core/explainer/train.ts):
 * builds Z and D from the session's task, pulls the training generator one event at a time
 * (so pause simply stops pulling), streams step events in small batches, and after every epoch
 * refreshes the watched sample's saliency from the epoch checkpoint's weights.
 */
import { UserError } from '../core/errors';
import { Explainer, inputStatistics, type ExplainerConfig } from '../core/explainer/model';
import { defaults as trainDefaults, trainExplainer, type TrainEvent, type TrainResult } from '../core/explainer/train';
import type { Post } from './handler';
import type { ResultMap, TrainRequestConfig, TrainStep } from './protocol';
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
    if (c.rows.length === 0) throw new UserError('There are no training rows.', 'Explain and score some rows first.');
    const samples = this.session.batchOf(c.rows);
    const z = { x: new Float32Array(c.pairs.length * n), s: new Float32Array(c.pairs.length * n), nPairs: c.pairs.length };
    const rowX = this.session.batchOf(c.pairs.map((p) => p.row)).x;
    z.x.set(rowX);
    c.pairs.forEach((p, i) => z.s.set(p.s, i * n));
    const stats = inputStatistics(samples.x, samples.nRows, n);
    const explainerConfig: ExplainerConfig = {
      nFeatures: n,
      dModel: c.dModel,
      nHeads: c.nHeads,
      nLayers: c.nLayers,
      dFF: 2 * c.dModel,
      dropout: 0,
      seed: c.seed,
      ...stats,
    };
    const gen = trainExplainer({
      task,
      explainer: explainerConfig,
      config: { ...trainDefaults, epochs: c.epochs, batchSize: c.batchSize, learningRate: c.learningRate, lcSubsets: c.nSubsets, evalEvery: 0, weightDecay: 0 },
      mode: c.lossMode,
      seed: c.seed,
      z,
      samples: { x: samples.x, nRows: samples.nRows, rowIndex: samples.rowIndex, target: this.session.targetsOf(c.rows) },
      checkpointEvery: 1,
      signal,
    });
    const stepsPerEpoch = Math.max(1, Math.ceil((c.lossMode === 'lc-only' && z.nPairs === 0 ? samples.nRows : z.nPairs) / c.batchSize));
    const totalSteps = stepsPerEpoch * c.epochs;
    const pendingSteps: TrainStep[] = [];
    let lastPost = 0;
    let wasConverged = false;
    const t0 = performance.now();
    let nSteps = 0;
    const watchX = this.session.batchOf([c.watchRow]).x;
    const flush = (watchSaliency?: Float32Array) => {
      const elapsed = (performance.now() - t0) / 1000;
      this.post({ type: 'train', id: this.requestId, steps: pendingSteps.splice(0), stepsPerSecond: elapsed > 0 ? nSteps / elapsed : 0, watchSaliency });
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
    if (pendingSteps.length) flush();
    this.explainer?.dispose();
    this.explainer = result.explainer;
    const explainerSaliency = await this.explain(c.explainRows);
    const artifacts = await result.explainer.serialize();
    return { steps: result.steps, explainerSaliency, artifacts };
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
