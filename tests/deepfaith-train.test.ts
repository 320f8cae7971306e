import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { augmentedSamples, checkAugment, checkClassFrame, stepMemoryError, runTraining, scheduledLearningRate, stepsPerEpochOf, trainExplainer, defaults as trainDefaults, type StepEvent, type TrainCheckpoint, type TrainConfig, type TrainEvent, type TrainInput, type TrainMode } from '../src/core/explainer/train';
import { inputStatistics, type ExplainerConfig } from '../src/core/explainer/model';
import { lcTargets, lossLC, lossPC } from '../src/core/explainer/losses';
import { lcOptimum } from '../src/core/job/report';
import { minMaxNormalize } from '../src/core/supervision/supervision';
import { getMetric } from '../src/core/metrics/registry';
import { getMethod } from '../src/core/attribution/registry';
import { Seeder } from '../src/core/rng';
import { packCheckpoint } from '../src/worker/trainer';
import { additiveTask, batchOf, mlpTask, randomRows, useBackend } from './helpers/models';
import type { Task } from '../src/core/task/task';

const W = [2, -1, 0.5, 1.5];
const n = W.length;
const nRows = 80;
const nTrain = 64;

function setup(): { task: Task; x: Float32Array; input: (mode: TrainMode, over?: Partial<TrainConfig>, seed?: number) => TrainInput } {
  const x = randomRows(nRows, n, 'train-toy');
  const task = additiveTask(W, 0.2, x, nRows);
  // supervision: the exact additive attribution w_i x_i, min–max normalised, for the training rows
  const exact = Float32Array.from({ length: nRows * n }, (_, k) => W[k % n] * x[k]);
  const s = minMaxNormalize(exact, nRows, n);
  const trainX = x.slice(0, nTrain * n);
  const explainer: ExplainerConfig = { nFeatures: n, dModel: 16, nHeads: 2, nLayers: 1, dFF: 32, dropout: 0.01, seed: 1, ...inputStatistics(trainX, nTrain, n) };
  const samples = { x: trainX, nRows: nTrain, rowIndex: Int32Array.from({ length: nTrain }, (_, i) => i), target: new Int32Array(nTrain) };
  const heldOut = {
    z: { x: x.slice(nTrain * n), s: s.slice(nTrain * n), nPairs: nRows - nTrain },
    samples: { x: x.slice(nTrain * n), nRows: nRows - nTrain, rowIndex: Int32Array.from({ length: nRows - nTrain }, (_, i) => nTrain + i), target: new Int32Array(nRows - nTrain) },
  };
  return {
    task,
    x,
    input: (mode, over = {}, seed = 7) => ({
      task,
      explainer,
      config: { ...trainDefaults, batchSize: 32, learningRate: 3e-3, lcSubsets: 20, evalEvery: 2, epochs: 6, ...over },
      mode,
      seed,
      z: { x: trainX, s: s.slice(0, nTrain * n), nPairs: nTrain },
      samples,
      heldOut,
    }),
  };
}

async function collect(input: TrainInput): Promise<{ events: TrainEvent[]; steps: StepEvent[] }> {
  const events: TrainEvent[] = [];
  const result = await runTraining(trainExplainer(input), (e) => events.push(e));
  result.explainer.dispose();
  return { events, steps: events.filter((e): e is StepEvent => e.type === 'step') };
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

describe('explainer training', () => {
  beforeAll(() => useBackend('wasm'));

  it('Algorithm 1 per epoch (default): the epoch\'s mean L_PC is one iteration and α holds for the next epoch\'s steps; per step it is fed every step', async () => {
    const { task, input } = setup();
    try {
      // a huge ε makes the window converge as soon as it fills; C = 2 decays α visibly
      const alpha = { epsilon: 10, window: 3, C: 2 };
      const perEpoch = (await collect(input('full', { epochs: 6, alpha: { ...alpha, every: 'epoch' } }))).steps;
      expect(perEpoch.length).toBe(12); // 2 steps per epoch
      for (let e = 0; e < 6; e++) expect(perEpoch[2 * e].alpha).toBe(perEpoch[2 * e + 1].alpha);
      // iteration t = epoch: the window (3 epochs) fills after epoch 2, so epochs 0–2 use α = 1, epoch 3 starts at ½ (t₀ = 2, t = 3)
      expect(perEpoch.slice(0, 6).map((st) => st.alpha)).toEqual([1, 1, 1, 1, 1, 1]);
      expect(perEpoch[6].alpha).toBeCloseTo(0.5, 12);
      expect(perEpoch[8].alpha).toBeCloseTo(1 - 1 / (1 + Math.exp(-1 / 2)), 12);
      const perStep = (await collect(input('full', { epochs: 6, alpha: { ...alpha, every: 'step' } }))).steps;
      // per step, the window fills after step 2: step 3 uses ½ and the next step already decays
      expect(perStep[3].alpha).toBeCloseTo(0.5, 12);
      expect(perStep[4].alpha).toBeCloseTo(1 - 1 / (1 + Math.exp(-1 / 2)), 12);
      // with full-batch steps (one per epoch) both rules give the same run
      const a = (await collect(input('full', { epochs: 6, batchSize: 4096, alpha: { ...alpha, every: 'epoch' } }))).steps;
      const b = (await collect(input('full', { epochs: 6, batchSize: 4096, alpha: { ...alpha, every: 'step' } }))).steps;
      expect(a.map((st) => [st.alpha, st.lossPC, st.lossLC])).toEqual(b.map((st) => [st.alpha, st.lossPC, st.lossLC]));
    } finally {
      task.model.dispose();
    }
  });

  it('cosine schedule: the closed form, and the first step equals a constant-rate run', async () => {
    expect(scheduledLearningRate({ learningRate: 0.01, lrSchedule: 'cosine' }, 0, 100)).toBeCloseTo(0.01, 15);
    expect(scheduledLearningRate({ learningRate: 0.01, lrSchedule: 'cosine' }, 50, 100)).toBeCloseTo(0.005, 15);
    expect(scheduledLearningRate({ learningRate: 0.01, lrSchedule: 'cosine' }, 100, 100)).toBeCloseTo(0, 15);
    expect(scheduledLearningRate({ learningRate: 0.01, lrSchedule: 'constant' }, 70, 100)).toBe(0.01);
    const { task, input } = setup();
    try {
      const c = (await collect(input('pc-only', { epochs: 3, lrSchedule: 'constant' }))).steps;
      const d = (await collect(input('pc-only', { epochs: 3, lrSchedule: 'cosine' }))).steps;
      expect(d[0].lossPC).toBe(c[0].lossPC); // the losses of step 0 come before any update
      expect(d[1].lossPC).toBe(c[1].lossPC); // step 0's update used the same rate (cos 0 = 1)
      expect(d[5].lossPC).not.toBe(c[5].lossPC);
    } finally {
      task.model.dispose();
    }
  });

  it('early stopping watches the validation rows, stops after `patience` epochs without improvement and keeps the best epoch\'s weights', async () => {
    const { task, input, x } = setup();
    try {
      const val = { z: { x: x.slice(0, 16 * n), s: input('full').z.s.slice(0, 16 * n), nPairs: 16 }, samples: { x: x.slice(0, 16 * n), nRows: 16, rowIndex: Int32Array.from({ length: 16 }, (_, i) => 100 + i), target: new Int32Array(16) } };
      const events: TrainEvent[] = [];
      const result = await runTraining(trainExplainer({ ...input('pc-only', { epochs: 300, patience: 2, learningRate: 0.05 }), validation: val }), (e) => events.push(e));
      try {
        const stop = events.find((e) => e.type === 'stop') as Extract<TrainEvent, { type: 'stop' }> | undefined;
        expect(stop).toBeDefined();
        const vals = events.filter((e): e is Extract<TrainEvent, { type: 'validation' }> => e.type === 'validation');
        expect(stop!.epoch).toBeLessThan(300);
        expect(stop!.epoch).toBe(vals.length);
        expect(stop!.bestObjective).toBe(Math.min(...vals.map((v) => v.objective)));
        expect(vals.length - 1 - stop!.bestEpoch).toBe(2); // two epochs without improvement, then stop
        // the returned explainer has the best epoch's weights: its validation L_PC is the best objective
        const phi = await result.explainer.explain(val.z.x, 16);
        const l = tf.tidy(() => lossPC(tf.tensor2d(phi, [16, n]), tf.tensor2d(val.z.s, [16, n])));
        expect((await l.data())[0]).toBeCloseTo(stop!.bestObjective, 5);
        l.dispose();
        // and the last held-out evaluation is of those weights, marked as kept
        const evals = events.filter((e): e is Extract<TrainEvent, { type: 'eval' }> => e.type === 'eval');
        const kept = evals[evals.length - 1];
        expect(kept.kept).toBe(true);
        expect(kept.epoch).toBe(stop!.bestEpoch);
        expect(evals.filter((e) => e.kept)).toHaveLength(1);
        const h = input('full').heldOut!.z;
        const ph = await result.explainer.explain(h.x, h.nPairs);
        const lh = tf.tidy(() => lossPC(tf.tensor2d(ph, [h.nPairs, n]), tf.tensor2d(h.s, [h.nPairs, n])));
        expect((await lh.data())[0]).toBeCloseTo(kept.lossPC, 5);
        lh.dispose();
      } finally {
        result.explainer.dispose();
      }
    } finally {
      task.model.dispose();
    }
  });

  it('L_PC falls on a fixed Z; events carry step, epoch, losses, α and held-out evaluations; no tensor leak', async () => {
    const { task, input } = setup();
    try {
      const before = tf.memory().numTensors;
      const { events, steps } = await collect(input('pc-only', { epochs: 12 }));
      expect(tf.memory().numTensors).toBe(before);
      expect(steps.length).toBe(12 * 2);
      expect(steps.map((s) => s.step)).toEqual(Array.from({ length: 24 }, (_, i) => i));
      for (const s of steps) {
        expect(s.alpha).toBe(1);
        expect(Number.isNaN(s.lossLC)).toBe(true); // pc-only: no L_LC pass
      }
      const first = mean(steps.slice(0, 2).map((s) => s.lossPC));
      const last = mean(steps.slice(-2).map((s) => s.lossPC));
      expect(last).toBeLessThan(0.5 * first);
      const evals = events.filter((e) => e.type === 'eval');
      expect(evals.map((e) => e.epoch)).toEqual([1, 3, 5, 7, 9, 11]);
      const ev = evals as { lossPC: number; lossLC: number }[];
      expect(ev[ev.length - 1].lossPC).toBeLessThan(ev[0].lossPC);
      expect(ev.every((e) => Number.isFinite(e.lossLC))).toBe(true); // held-out L_LC is still measured
    } finally {
      task.model.dispose();
    }
  });

  it('the trained explainer beats random on FC and DEL for an additive target', async () => {
    const { task, x, input } = setup();
    try {
      const gen = trainExplainer(input('full', { epochs: 15 }));
      const result = await runTraining(gen);
      const test = batchOf(x.slice(nTrain * n), nRows - nTrain, nTrain);
      const target = new Int32Array(test.nRows);
      const seeder = new Seeder(0);
      let ours: Float32Array;
      try {
        ours = await result.explainer.explain(test.x, test.nRows);
      } finally {
        result.explainer.dispose();
      }
      const rnd = await getMethod('random')!.explain(task, test, target, {}, seeder);
      for (const [id, better] of [['FC', (a: number, b: number) => a > b + 0.3], ['DEL', (a: number, b: number) => a < b]] as const) {
        const metric = getMetric(id)!;
        const a = mean(Array.from((await metric.score(task, test, ours, target, metric.defaults, seeder)).perSample));
        const b = mean(Array.from((await metric.score(task, test, rnd, target, metric.defaults, seeder)).perSample));
        expect(better(a, b), `${id}: explainer ${a} vs random ${b}`).toBe(true);
      }
    } finally {
      task.model.dispose();
    }
  });

  it('the sigmoid head cannot go below the non-negative fit\'s L_LC; the signed head can, towards the optimum 0 (Δ(I) = Σ_{i∈I} w_i x_i exactly, with weights of both signs)', async () => {
    const { task, input } = setup();
    try {
      const over = { epochs: 60, lcSampling: 'exact' as const, batchSize: 64, learningRate: 3e-3 };
      const base = input('lc-only', over);
      const heldLC = async (inp: TrainInput) => {
        const { events } = await collect(inp);
        const evals = events.filter((e) => e.type === 'eval');
        return (evals[evals.length - 1] as { lossLC: number }).lossLC;
      };
      const sigmoid = await heldLC(base);
      const signed = await heldLC({ ...base, explainer: { ...base.explainer, head: 'signed' } });
      // the bound: the non-negative least-squares fit on the same (all 2^n) held-out subsets maximises
      // each row's Pearson over attributions ≥ 0, and a sigmoid output is ≥ 0
      const h = base.heldOut!.samples;
      const lc = await lcTargets(task, h.x, h.nRows, h.rowIndex, h.target, 16, new Seeder(0), 'bound', 'exact');
      const nonNeg = await lcOptimum(lc, h.nRows, n, { nonNegative: true });
      const exact = await lcOptimum(lc, h.nRows, n);
      const lcOf = async (phi: Float32Array) => {
        const t = tf.tidy(() => lossLC(tf.tensor2d(phi, [h.nRows, n]), tf.tensor3d(lc.masks, [h.nRows, lc.k, n]), tf.tensor2d(lc.delta, [h.nRows, lc.k]), false));
        const v = (await t.data())[0];
        t.dispose();
        return v;
      };
      const bound = await lcOf(nonNeg);
      expect(await lcOf(exact)).toBeLessThan(1e-5); // the additive model's optimum is exact
      expect(bound).toBeGreaterThan(0.05);
      expect(sigmoid).toBeGreaterThanOrEqual(bound - 1e-5);
      expect(signed, `signed ${signed}, sigmoid ${sigmoid}, non-negative bound ${bound}`).toBeLessThan(bound / 2);
    } finally {
      task.model.dispose();
    }
  });

  it('same seed → same losses on wasm and cpu (within 1e-4); another seed differs', async () => {
    const { task, input } = setup();
    try {
      const wasm = (await collect(input('full', { epochs: 3 }))).steps;
      const again = (await collect(input('full', { epochs: 3 }))).steps;
      expect(again.map((s) => s.lossPC)).toEqual(wasm.map((s) => s.lossPC));
      await useBackend('cpu');
      const cpu = (await collect(input('full', { epochs: 3 }))).steps;
      await useBackend('wasm');
      expect(cpu.length).toBe(wasm.length);
      for (let i = 0; i < cpu.length; i++) {
        expect(Math.abs(cpu[i].lossPC - wasm[i].lossPC)).toBeLessThan(1e-4);
        expect(Math.abs(cpu[i].lossLC - wasm[i].lossLC)).toBeLessThan(1e-4);
      }
      const other = (await collect(input('full', { epochs: 3 }, 8))).steps;
      expect(other.map((s) => s.lossPC)).not.toEqual(wasm.map((s) => s.lossPC));
    } finally {
      await useBackend('wasm');
      task.model.dispose();
    }
  });

  it('a run resumed from a checkpoint continues exactly like an uninterrupted one', async () => {
    const { task, input } = setup();
    try {
      const full = (await collect(input('full', { epochs: 4 }))).steps;
      const firstHalf = await collect({ ...input('full', { epochs: 4 }), checkpointEvery: 2 });
      const cp = firstHalf.events.find((e) => e.type === 'checkpoint' && e.epoch === 2) as { checkpoint: TrainCheckpoint };
      const restored = JSON.parse(JSON.stringify(cp.checkpoint)) as TrainCheckpoint;
      expect(restored.step).toBe(4);
      const resumed = (await collect({ ...input('full', { epochs: 4 }), resume: restored })).steps;
      expect(resumed[0].step).toBe(4);
      expect(resumed.length).toBe(4);
      for (let i = 0; i < 4; i++) {
        expect(resumed[i].lossPC).toBeCloseTo(full[4 + i].lossPC, 6);
        expect(resumed[i].lossLC).toBeCloseTo(full[4 + i].lossLC, 6);
      }
    } finally {
      task.model.dispose();
    }
  });

  it('a run with early stopping resumed from a checkpoint after its best epoch stops where the uninterrupted run stops, with the same best weights', async () => {
    const { task, input, x } = setup();
    try {
      const val = { z: { x: x.slice(0, 16 * n), s: input('full').z.s.slice(0, 16 * n), nPairs: 16 }, samples: { x: x.slice(0, 16 * n), nRows: 16, rowIndex: Int32Array.from({ length: 16 }, (_, i) => 100 + i), target: new Int32Array(16) } };
      const run = async (resume?: TrainCheckpoint) => {
        const events: TrainEvent[] = [];
        const result = await runTraining(trainExplainer({ ...input('pc-only', { epochs: 300, patience: 2, learningRate: 0.05 }), validation: val, checkpointEvery: 1, resume }), (e) => events.push(e));
        const phi = await result.explainer.explain(val.z.x, 16);
        result.explainer.dispose();
        return { events, phi, stop: events.find((e) => e.type === 'stop') as Extract<TrainEvent, { type: 'stop' }> };
      };
      const whole = await run();
      expect(whole.stop).toBeDefined();
      const b = whole.stop.bestEpoch;
      // the checkpoint written after the best epoch's validation carries the best objective, its epoch and its weights
      const cp = whole.events.find((e) => e.type === 'checkpoint' && e.epoch === b + 1) as { checkpoint: TrainCheckpoint };
      const restored = JSON.parse(JSON.stringify(cp.checkpoint)) as TrainCheckpoint;
      expect(restored.earlyStop!.bestEpoch).toBe(b);
      expect(restored.earlyStop!.best).toBe(whole.stop.bestObjective);
      expect(Object.keys(restored.earlyStop!.bestWeights!).sort()).toEqual(Object.keys(restored.weights).sort());
      const resumed = await run(restored);
      expect(resumed.stop).toEqual(whole.stop);
      for (let i = 0; i < whole.phi.length; i++) expect(resumed.phi[i]).toBeCloseTo(whole.phi[i], 6);
      // the studio's form (typed arrays, what crosses to the main thread and IndexedDB) resumes the same way
      const packed = packCheckpoint(cp.checkpoint);
      expect(Object.values(packed.earlyStop!.bestWeights!).every((v) => v instanceof Float32Array)).toBe(true);
      const fromPacked = await run(packed);
      expect(fromPacked.stop).toEqual(whole.stop);
      expect(Array.from(fromPacked.phi)).toEqual(Array.from(resumed.phi));
      // a checkpoint without that state (written before it was kept) resumes with early stopping afresh: it stops later
      const old = { ...restored, earlyStop: undefined };
      const afresh = await run(old);
      expect(afresh.stop.bestEpoch).toBeGreaterThan(b);
    } finally {
      task.model.dispose();
    }
  });

  it('modes: lc-only uses α ≡ 0 and runs no L_PC pass, pc-only α ≡ 1 and no L_LC pass; cancellation stops the run and frees every tensor', async () => {
    const { task, input, x } = setup();
    try {
      const lc = (await collect(input('lc-only', { epochs: 1 }))).steps;
      for (const s of lc) expect(s.alpha).toBe(0);
      // α ≡ 0 leaves L_PC out of the step: no L_PC pass (the steps report none), and training exactly as without Z
      const withZ = await runTraining(trainExplainer(input('lc-only', { epochs: 2 })), () => {});
      const noZEvents: StepEvent[] = [];
      const base = input('lc-only', { epochs: 2 });
      const noZ = await runTraining(trainExplainer({ ...base, z: { x: new Float32Array(0), s: new Float32Array(0), nPairs: 0 } }), (e) => e.type === 'step' && noZEvents.push(e));
      try {
        const again = (await collect(input('lc-only', { epochs: 2 }))).steps;
        expect(again.map((s) => s.lossPC).every(Number.isNaN)).toBe(true);
        expect(again.map((s) => s.lossLC)).toEqual(noZEvents.map((s) => s.lossLC));
        expect(Array.from(await withZ.explainer.explain(x, nRows))).toEqual(Array.from(await noZ.explainer.explain(x, nRows)));
      } finally {
        withZ.explainer.dispose();
        noZ.explainer.dispose();
      }
      // pc-only: α ≡ 1 leaves L_LC out of the step (no Δ model calls, the steps report none); it trains exactly as a full run whose α stays 1 (window never fills), whose L_LC pass has weight 0
      const pcOnly = await runTraining(trainExplainer(input('pc-only', { epochs: 2 })), () => {});
      const fullA1Events: StepEvent[] = [];
      const fullA1 = await runTraining(trainExplainer(input('full', { epochs: 2, alpha: { ...trainDefaults.alpha, window: 10000 } })), (e) => e.type === 'step' && fullA1Events.push(e));
      try {
        const pcSteps = (await collect(input('pc-only', { epochs: 2 }))).steps;
        expect(pcSteps.map((s) => s.lossLC).every(Number.isNaN)).toBe(true);
        expect(fullA1Events.every((s) => s.alpha === 1 && Number.isFinite(s.lossLC))).toBe(true);
        expect(pcSteps.map((s) => s.lossPC)).toEqual(fullA1Events.map((s) => s.lossPC));
        expect(Array.from(await pcOnly.explainer.explain(x, nRows))).toEqual(Array.from(await fullA1.explainer.explain(x, nRows)));
      } finally {
        pcOnly.explainer.dispose();
        fullA1.explainer.dispose();
      }
      const before = tf.memory().numTensors;
      const ctrl = new AbortController();
      let seen = 0;
      await expect(
        runTraining(trainExplainer({ ...input('full', { epochs: 5 }), signal: ctrl.signal }), (e) => {
          if (e.type === 'step' && ++seen === 3) ctrl.abort();
        }),
      ).rejects.toThrow(/Cancelled/);
      expect(seen).toBe(3);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      task.model.dispose();
    }
  });
  it('lcOutput logit: the steps fit Δ of the target logit (the steps of the same run on a logit task); held-out L_LC stays on the task\'s output', async () => {
    const { input, task: additive } = setup();
    const prob = mlpTask(n, 3, randomRows(8, n, 'lc-output'), 8, 5, 16, 'probability');
    const logit = mlpTask(n, 3, randomRows(8, n, 'lc-output'), 8, 5, 16, 'logit');
    try {
      const run = async (task: Task, over: Partial<TrainConfig>) => {
        const events: TrainEvent[] = [];
        const r = await runTraining(trainExplainer({ ...input('lc-only', { epochs: 2, ...over }), task }), (e) => events.push(e));
        return { explainer: r.explainer, steps: events.filter((e): e is StepEvent => e.type === 'step').map((e) => e.lossLC), evals: events.filter((e) => e.type === 'eval') };
      };
      const a = await run(prob, { lcOutput: 'logit' });
      const b = await run(logit, {});
      const c = await run(prob, {});
      try {
        expect(a.steps).toEqual(b.steps);
        expect(a.steps[0]).not.toBe(c.steps[0]);
        // held out: the probability's Δ on the held-out rows (fixed subsets), recomputed by hand for the explainer returned
        const h = input('lc-only').heldOut!.samples;
        const lc = await lcTargets(prob, h.x, h.nRows, h.rowIndex, h.target, 20, new Seeder(7), 'deepfaith-lc-heldout');
        const phi = await a.explainer.explain(h.x, h.nRows);
        const byHand = tf.tidy(() => lossLC(tf.tensor2d(phi, [h.nRows, n]), tf.tensor3d(lc.masks, [h.nRows, lc.k, n]), tf.tensor2d(lc.delta, [h.nRows, lc.k])).dataSync()[0]);
        const last = a.evals[a.evals.length - 1];
        expect(last.type === 'eval' && last.lossLC).toBeCloseTo(byHand, 6);
        const lcLogit = await lcTargets(prob, h.x, h.nRows, h.rowIndex, h.target, 20, new Seeder(7), 'deepfaith-lc-heldout', 'independent', 'logit');
        expect(Array.from(lcLogit.delta)).not.toEqual(Array.from(lc.delta));
      } finally {
        for (const r of [a, b, c]) r.explainer.dispose();
      }
    } finally {
      for (const t of [prob, logit, additive]) t.model.dispose();
    }
  });
  it('classFrame sign trains as a plain explainer on class 1\'s frame (Δ₁ for every row, Z targets of class-0 pairs mirrored 1 − s) and explains class 0 as its negative; refused where Δ₀ ≠ −Δ₁', async () => {
    const { input, task: additive, x } = setup();
    const binary = mlpTask(n, 2, randomRows(8, n, 'frame'), 8, 9, 16, 'probability');
    const three = mlpTask(n, 3, randomRows(8, n, 'frame'), 8, 9, 16, 'probability');
    const binaryLogit = mlpTask(n, 2, randomRows(8, n, 'frame'), 8, 9, 16, 'logit');
    try {
      const base = input('full', { epochs: 2, alpha: { ...trainDefaults.alpha, window: 2, epsilon: 10, every: 'step' } });
      const mixed = (m: number) => Int32Array.from({ length: m }, (_, i) => (i % 3 === 0 ? 0 : 1)); // both classes
      const zTarget = mixed(base.z.nPairs);
      const framedInput: TrainInput = {
        ...base,
        task: binary,
        explainer: { ...base.explainer, classFrame: 'sign' },
        z: { ...base.z, target: zTarget },
        samples: { ...base.samples, target: mixed(base.samples.nRows) },
        heldOut: { z: { ...base.heldOut!.z, target: mixed(base.heldOut!.z.nPairs) }, samples: { ...base.heldOut!.samples, target: mixed(base.heldOut!.samples.nRows) } },
      };
      // the same training in class 1's frame, with a plain explainer
      const mirrored = Float32Array.from(base.z.s, (v, k) => (zTarget[Math.floor(k / n)] === 0 ? 1 - v : v));
      const frameInput: TrainInput = {
        ...base,
        task: binary,
        z: { ...base.z, s: mirrored },
        samples: { ...base.samples, target: new Int32Array(base.samples.nRows).fill(1) },
        heldOut: { z: base.heldOut!.z, samples: { ...base.heldOut!.samples, target: new Int32Array(base.heldOut!.samples.nRows).fill(1) } },
      };
      const aSteps: StepEvent[] = [];
      const bSteps: StepEvent[] = [];
      const a = await runTraining(trainExplainer(framedInput), (e) => e.type === 'step' && aSteps.push(e));
      const b = await runTraining(trainExplainer(frameInput), (e) => e.type === 'step' && bSteps.push(e));
      try {
        expect(aSteps.some((st) => st.alpha < 1)).toBe(true); // both losses trained
        expect(aSteps.length).toBe(bSteps.length);
        aSteps.forEach((st, i) => {
          expect(st.lossPC).toBeCloseTo(bSteps[i].lossPC, 4);
          expect(st.lossLC).toBeCloseTo(bSteps[i].lossLC, 4);
        });
        const t = mixed(nRows);
        const fa = await a.explainer.explain(x, nRows, t);
        const fb = await b.explainer.explain(x, nRows);
        for (let k = 0; k < fa.length; k++) expect(fa[k]).toBeCloseTo(t[Math.floor(k / n)] === 1 ? fb[k] : -fb[k], 3);
      } finally {
        a.explainer.dispose();
        b.explainer.dispose();
      }
      // refused before any model call where the mirror is not exact, naming the setting
      await expect(runTraining(trainExplainer({ ...framedInput, task: three }), () => {})).rejects.toThrow(/two-class model scored on its probability; this task has 3 classes/);
      expect(() => checkClassFrame('sign', binaryLogit, 'task')).toThrow(/output "logit"/);
      expect(() => checkClassFrame('sign', binary, 'logit')).toThrow(/training\.lcOutput "logit"/);
      expect(() => checkClassFrame('none', three, 'logit')).not.toThrow();
      expect(() => checkClassFrame('sign', binary, 'task')).not.toThrow();
      // 'classes': any number of classes on probabilities (they sum to one), refused on logits and for another model's classes
      expect(() => checkClassFrame('classes', three, 'task', 3)).not.toThrow();
      expect(() => checkClassFrame('classes', binary, 'task')).not.toThrow();
      await expect(runTraining(trainExplainer({ ...framedInput, task: binaryLogit, explainer: { ...base.explainer, classFrame: 'classes', nClasses: 2 } }), () => {})).rejects.toThrow(/class frame "classes" makes the classes' explanations sum to zero.*output "logit"/);
      expect(() => checkClassFrame('classes', three, 'logit')).toThrow(/"classes" relies on the classes' probabilities summing to one/);
      expect(() => checkClassFrame('classes', binary, 'task', 3)).toThrow(/explains 3 classes \(class frame "classes"\), but this task's model has 2/);
      expect(() => checkClassFrame('sign', three, 'task')).toThrow(/Set explainer\.classFrame to "classes" \(any number of classes\) or "none"/);
    } finally {
      for (const t of [binary, three, binaryLogit, additive]) t.model.dispose();
    }
  });
  it('synthetic L_LC rows (lcAugment): the training rows first, then A noisy copies of each (σ = lcJitter·std of each input value), explained for the predicted class there or the source row\'s; fresh every epoch', async () => {
    const rows = 60;
    const A = 5;
    const jitter = 0.3;
    const x = randomRows(rows, n, 'augment-rows');
    const task = mlpTask(n, 3, x, rows, 4);
    try {
      const samples = { x, nRows: rows, rowIndex: Int32Array.from({ length: rows }, (_, i) => 10 + i), target: Int32Array.from({ length: rows }, (_, i) => i % 3) };
      const std = new Float32Array(n);
      for (let j = 0; j < n; j++) {
        let m = 0;
        for (let r = 0; r < rows; r++) m += x[r * n + j] / rows;
        let v = 0;
        for (let r = 0; r < rows; r++) v += (x[r * n + j] - m) ** 2 / rows;
        std[j] = Math.sqrt(v);
      }
      const seeder = new Seeder(3);
      const d = await augmentedSamples(task, samples, n, std, { lcAugment: A, lcJitter: jitter }, seeder, 0, 'predicted');
      expect(d.nRows).toBe(rows * (1 + A));
      expect(Array.from(d.x.subarray(0, rows * n))).toEqual(Array.from(x));
      expect(Array.from(d.rowIndex.subarray(0, rows))).toEqual(Array.from(samples.rowIndex));
      expect(Array.from(d.rowIndex.subarray(rows))).toEqual(Array.from({ length: rows * A }, (_, i) => -(i + 1)));
      expect(Array.from(d.target.subarray(0, rows))).toEqual(Array.from(samples.target));
      // synthetic row i comes from source row ⌊i/A⌋; its noise in units of jitter·std_j is standard normal
      const zs: number[] = [];
      for (let i = 0; i < rows * A; i++)
        for (let j = 0; j < n; j++) zs.push((d.x[(rows + i) * n + j] - x[Math.floor(i / A) * n + j]) / (jitter * std[j]));
      const zMean = mean(zs);
      const zVar = mean(zs.map((v) => (v - zMean) ** 2));
      expect(Math.abs(zMean)).toBeLessThan(4 / Math.sqrt(zs.length));
      expect(Math.abs(zVar - 1)).toBeLessThan(4 * Math.sqrt(2 / zs.length));
      // 'predicted': the class the model predicts at the synthetic row
      const p = await task.model.predict(d.x.subarray(rows * n), rows * A, task.output);
      for (let i = 0; i < rows * A; i++) {
        const row = Array.from(p.subarray(i * 3, i * 3 + 3));
        expect(d.target[rows + i]).toBe(row.indexOf(Math.max(...row)));
      }
      // 'source': the source row's class; same epoch → same rows, another epoch → other noise
      const src = await augmentedSamples(task, samples, n, std, { lcAugment: A, lcJitter: jitter }, seeder, 0, 'source');
      expect(Array.from(src.x)).toEqual(Array.from(d.x));
      expect(Array.from(src.target.subarray(rows))).toEqual(Array.from({ length: rows * A }, (_, i) => samples.target[Math.floor(i / A)]));
      const next = await augmentedSamples(task, samples, n, std, { lcAugment: A, lcJitter: jitter }, seeder, 1, 'predicted');
      expect(next.x[rows * n]).not.toBe(d.x[rows * n]);
    } finally {
      task.model.dispose();
    }
  });

  it('lcAugment in training: lc-only without Z takes ⌈rows·(1+A)/batchSize⌉ steps per epoch; text explainers (token ids) refuse it by name', async () => {
    const { task, input } = setup();
    try {
      expect(stepsPerEpochOf('lc-only', 0, nTrain, { batchSize: 32, lcAugment: 2 })).toBe(6);
      expect(stepsPerEpochOf('full', nTrain, nTrain, { batchSize: 32, lcAugment: 2 })).toBe(2);
      const base = input('lc-only', { epochs: 2, lcAugment: 2, lcJitter: 0.2 });
      const before = tf.memory().numTensors;
      const { steps } = await collect({ ...base, z: { x: new Float32Array(0), s: new Float32Array(0), nPairs: 0 } });
      expect(steps.length).toBe(12);
      expect(steps.every((s) => Number.isFinite(s.lossLC))).toBe(true);
      expect(tf.memory().numTensors).toBe(before);
      expect(() => checkAugment(2, 'token-id')).toThrow(/training\.lcAugment.*token ids/);
      expect(() => checkAugment(0, 'token-id')).not.toThrow();
      expect(() => checkAugment(2, 'patch')).not.toThrow();
    } finally {
      task.model.dispose();
    }
  });
  it('a step the backend has no memory for (wasm: WebAssembly.RuntimeError "memory access out of bounds") becomes a message naming the step\'s size and what to lower; other errors pass unchanged', () => {
    const arch = { dModel: 64, nHeads: 8, nLayers: 4, dFF: 128 };
    const e = stepMemoryError(new WebAssembly.RuntimeError('memory access out of bounds'), 0, 0, 3000, 1822, arch) as Error;
    expect(e.name).toBe('UserError');
    expect(e.message).toBe(
      'Training ran out of memory on the wasm backend at step 0 (epoch 1): one step takes 3000 pairs of Z and 1822 rows for L_LC through an explainer of width 64, 8 heads, 4 layers, FFN 128 (memory access out of bounds). Nothing was saved. ' +
        "Lower training.batchSize (e.g. 256) or the explainer's size, or choose another backend, and train again.",
    );
    expect((stepMemoryError(new RangeError('Array buffer allocation failed'), 2, 1, 1, 1, arch) as Error).name).toBe('UserError');
    const other = new Error('shapes do not match');
    expect(stepMemoryError(other, 0, 0, 1, 1, arch)).toBe(other);
  });
});
