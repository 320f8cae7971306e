/**
 * The surrogate's fine-tuning: deterministic under a seed, leaves the target untouched, improves
 * masked accuracy on the wine demo, saves and reloads in tfjs format, refuses a GraphModel,
 * cancels cleanly (no tensor left behind).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CancelledError, isUserError } from '../errors';
import { loadTask } from '../task/load';
import { loadModelFromFiles } from '../task/model';
import { makeTask, type Batch } from '../task/task';
import { nodeTaskIO } from '../../cli/files';
import { batchOf, datasetOf, mlpTask, randomRows, useBackend } from '../../../tests/helpers/models';
import { disposeSurrogate, fineTune, fineTuneSurrogate, loadSurrogate, surrogateFiles, type FinetuneEvent } from './finetune';

beforeAll(() => useBackend('wasm'));

async function weightsOf(m: tf.LayersModel | tf.GraphModel): Promise<number[][]> {
  return Promise.all((m as tf.LayersModel).getWeights().map(async (w) => Array.from(await w.data())));
}

function pick(b: Batch, rows: number[], d: number): Batch {
  const x = new Float32Array(rows.length * d);
  rows.forEach((r, i) => x.set(b.x.subarray(r * d, (r + 1) * d), i * d));
  return { x, nRows: rows.length, rowIndex: Int32Array.from(rows, (r) => b.rowIndex[r]) };
}

describe('fine-tuning the surrogate', () => {
  const n = 10;
  const rows = 24;
  const x = randomRows(rows, n, 'ft-rows');
  const labels = Int32Array.from({ length: rows }, (_, r) => (x[r * n] + x[r * n + 1] > 0 ? 1 : 0));

  it('is deterministic under a seed, differs with another seed, and leaves the target model untouched', async () => {
    const task = mlpTask(n, 2, x, rows, 3);
    try {
      const before = await task.model.predict(x, rows, 'probability');
      const events: FinetuneEvent['type'][] = [];
      const a = await fineTune({ task, rows: batchOf(x, rows), labels, seed: 7, config: { beta: 0.3, epochs: 3, batchSize: 8 } }, (e) => events.push(e.type));
      const b = await fineTune({ task, rows: batchOf(x, rows), labels, seed: 7, config: { beta: 0.3, epochs: 3, batchSize: 8 } });
      const c = await fineTune({ task, rows: batchOf(x, rows), labels, seed: 8, config: { beta: 0.3, epochs: 3, batchSize: 8 } });
      try {
        expect(events).toEqual(['start', 'epoch', 'epoch', 'epoch', 'done']);
        expect(await weightsOf(a.model.model)).toEqual(await weightsOf(b.model.model));
        expect(await weightsOf(a.model.model)).not.toEqual(await weightsOf(c.model.model));
        expect({ ...a.report!, ms: 0 }).toEqual({ ...b.report!, ms: 0 });
        expect(a.report!.cap).toBe(3);
        expect(a.report!.steps).toBe(9);
        expect(Array.from(await task.model.predict(x, rows, 'probability'))).toEqual(Array.from(before));
      } finally {
        for (const s of [a, b, c]) disposeSurrogate(s);
      }
    } finally {
      task.model.dispose();
    }
  });

  it('saves as tfjs files (model.json + weights.bin) and reloads to the same predictions; refuses another model or a plain model.json', async () => {
    const task = mlpTask(n, 2, x, rows, 3);
    try {
      const s = await fineTune({ task, rows: batchOf(x, rows), labels, seed: 1, config: { beta: 0.2, epochs: 1 } });
      try {
        const files = await surrogateFiles(s, task, { model: 'abc123' });
        const text = JSON.stringify(files.modelJson);
        const back = await loadSurrogate(JSON.parse(text), new Map([['weights.bin', files.weights]]), task, 'saved', 'abc123');
        try {
          expect(back.beta).toBe(0.2);
          expect(back.report).toEqual(JSON.parse(JSON.stringify(s.report)));
          expect(Array.from(await back.model.predict(x, rows, 'probability'))).toEqual(Array.from(await s.model.predict(x, rows, 'probability')));
        } finally {
          disposeSurrogate(back);
        }
        const other = await loadSurrogate(JSON.parse(text), new Map([['weights.bin', files.weights]]), task, 'saved', 'zzz999').catch((e) => e);
        expect(isUserError(other) && /another target model/.test(other.message)).toBe(true);
        const plain = JSON.parse(text);
        delete plain.userDefinedMetadata;
        const notOne = await loadSurrogate(plain, new Map([['weights.bin', files.weights]]), task).catch((e) => e);
        expect(isUserError(notOne) && /not an F-Fidelity surrogate/.test(notOne.message)).toBe(true);
      } finally {
        disposeSurrogate(s);
      }
    } finally {
      task.model.dispose();
    }
  });

  it('cancel stops between steps with CancelledError and leaves no tensor behind; a GraphModel is refused', async () => {
    const task = mlpTask(n, 2, x, rows, 3);
    try {
      await fineTune({ task, rows: batchOf(x, rows), labels, seed: 1, config: { beta: 0.2, epochs: 1 } }).then(disposeSurrogate); // warm-up (kernels, backend state)
      const before = tf.memory().numTensors;
      const ctl = new AbortController();
      let caught: unknown;
      try {
        for await (const e of fineTuneSurrogate({ task, rows: batchOf(x, rows), labels, seed: 1, config: { beta: 0.2, epochs: 50, batchSize: 4 }, signal: ctl.signal })) if (e.type === 'epoch' && e.epoch === 2) ctl.abort();
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(CancelledError);
      expect(tf.memory().numTensors).toBe(before);
      // a consumer that stops pulling (pause, then gives up): the copy is disposed too
      for await (const e of fineTuneSurrogate({ task, rows: batchOf(x, rows), labels, seed: 1, config: { beta: 0.2, epochs: 5 } })) if (e.type === 'epoch') break;
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      task.model.dispose();
    }
    const dir = join(__dirname, '../../../tests/fixtures/models/graph-mlp');
    const w = readFileSync(join(dir, 'weights.bin'));
    const gm = await loadModelFromFiles(JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')), new Map([['weights.bin', w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength) as ArrayBuffer]]), 'graph-mlp');
    const gx = randomRows(4, gm.nFeatures, 'g');
    const gt = makeTask(gm, datasetOf(gx, 4, gm.nFeatures, gm.nClasses('probability')));
    try {
      const e = await fineTune({ task: gt, rows: batchOf(gx, 4), labels: new Int32Array(4), seed: 0, config: { beta: 0.5 } }).catch((err) => err);
      expect(isUserError(e) && /GraphModel/.test(e.message)).toBe(true);
    } finally {
      gm.dispose();
    }
  });

  it('improves masked accuracy on the wine demo (zero baseline, β = 0.3: K = 3 of 13 features removed), measured on its held-out test rows', async () => {
    const loaded = await loadTask({ demo: 'wine', baseline: 'zero', output: 'probability', maxRows: 0 }, nodeTaskIO());
    try {
      const test = (loaded.meta?.testRowIndices ?? []) as number[];
      expect(test.length).toBe(36);
      const train = Array.from({ length: loaded.data.nRows }, (_, i) => i).filter((i) => !test.includes(i));
      const d = loaded.task.inputSize;
      const s = await fineTune({
        task: loaded.task,
        rows: pick(loaded.batch, train, d),
        labels: Int32Array.from(train, (r) => loaded.labels[r]),
        heldOut: { rows: pick(loaded.batch, test, d), labels: Int32Array.from(test, (r) => loaded.labels[r]) },
        seed: 0,
        config: { beta: 0.3, epochs: 20, learningRate: 1e-2 },
      });
      try {
        const r = s.report!;
        expect(r.measuredOn).toBe('held-out');
        expect(r.measuredRows).toBe(36);
        expect(r.before.clean).toBe(1);
        // measured (seed 0, wasm): masked 0.667 → 0.783 (180 masked inputs), clean 1 → 0.972 (36 rows)
        expect(r.after.masked).toBeGreaterThan(r.before.masked + 0.1);
        expect(r.after.clean).toBeGreaterThanOrEqual(0.94);
      } finally {
        disposeSurrogate(s);
      }
    } finally {
      loaded.task.model.dispose();
    }
  });
});
