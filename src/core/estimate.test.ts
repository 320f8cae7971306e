import { beforeAll, describe, expect, it } from 'vitest';
import { Seeder } from './rng';
import { estimateWork, methodRows, metricRows } from './estimate';
import { getMethod } from './attribution/registry';
import { METRICS, getMetric } from './metrics/registry';
import { scoreExplanations } from './metrics/evaluate';
import { chooseTargets } from './task/task';
import type { Params } from './params';
import { batchOf, mlpTask, randomRows, useBackend } from '../../tests/helpers/models';

const n = 6;
const nRows = 5;
const x = randomRows(nRows, n, 'estimate', -1, 1);

describe('the cost model counts the model rows the engine sends', () => {
  beforeAll(() => useBackend('wasm'));

  it('metrics: exactly the rows scoreExplanations lays out (rowsRequested), an upper bound on the rows it sends after the memo, for any mix of metrics and explanations (targets predicted: NEG/POS skip misclassified rows)', async () => {
    const task = mlpTask(n, 3, x, nRows, 3);
    try {
      const target = await chooseTargets(task, batchOf(x, nRows), 'predicted');
      const expl = [randomRows(nRows, n, 'e1'), randomRows(nRows, n, 'e2'), randomRows(nRows, n, 'e3')];
      const mixes: { id: string; params: Params }[][] = [METRICS.map((m) => ({ id: m.id, params: { ...m.defaults } })), [{ id: 'DEL', params: { stepSize: 2 } }, { id: 'MC', params: { stepSize: 1, nBaselines: 3 } }, { id: 'FC', params: { nSubsets: 7, subsetSize: 0 } }]];
      for (const metrics of mixes) {
        const before = task.model.rowsEvaluated;
        const res = await scoreExplanations(task, batchOf(x, nRows), target, expl, metrics, new Seeder(1));
        const requested = res.flat().reduce((a, r) => a + r.rowsRequested!, 0);
        const sent = res.flat().reduce((a, r) => a + r.modelCalls, 0);
        expect(nRows * metricRows(metrics, n, expl.length)).toBe(requested);
        expect(sent).toBe(task.model.rowsEvaluated - before);
        expect(sent).toBeLessThan(requested);
      }
    } finally {
      task.model.dispose();
    }
  });

  it('metrics beyond the ten (RFID±, FID±, AD-INS/DEL; n = 6 leaves sizes with nothing to remove): exactly the rows they send (modelCalls), all explanations in one call', async () => {
    const task = mlpTask(n, 3, x, nRows, 3);
    try {
      const target = await chooseTargets(task, batchOf(x, nRows), 'predicted');
      const expl = [randomRows(nRows, n, 'e1'), randomRows(nRows, n, 'e2')];
      for (const [id, params] of [['RFID+', { draws: 3 }], ['RFID-', { draws: 4, alpha: 0.3 }], ['FID+', {}], ['FID-', { grid: '1%' }], ['AD-INS', {}], ['AD-DEL', { stepSize: 2 }]] as const) {
        const unit = getMetric(id)!;
        const metrics = [{ id, params: { ...unit.defaults, ...params } as Params }];
        const before = task.model.rowsEvaluated;
        const res = await scoreExplanations(task, batchOf(x, nRows), target, expl, metrics, new Seeder(1));
        const sent = res.flat().reduce((a, r) => a + r.modelCalls, 0);
        expect(nRows * metricRows(metrics, n, expl.length), id).toBe(sent);
        if (!id.startsWith('AD')) expect(task.model.rowsEvaluated - before, id).toBe(sent);
        // one call for every explanation gives the numbers of one call per explanation
        for (let e = 0; e < expl.length; e++) expect(Array.from(res[e][0].perSample), `${id} e${e}`).toEqual(Array.from((await unit.score(task, batchOf(x, nRows), expl[e], target, metrics[0].params, new Seeder(1))).perSample));
      }
    } finally {
      task.model.dispose();
    }
  });

  it('perturbation methods: exactly the rows they evaluate', async () => {
    const task = mlpTask(n, 3, x, nRows, 3);
    try {
      for (const [id, params] of [['occlusion', { window: 2, stride: 1 }], ['occlusion', { window: 3, stride: 2 }], ['feature-ablation', {}], ['lime', { samples: 40, kernelWidth: 0.25, ridge: 0.01 }], ['kernel-shap', { samples: 20 }], ['kernel-shap', { samples: 512 }], ['shapley-exact', {}]] as const) {
        const m = getMethod(id)!;
        const before = task.model.rowsEvaluated;
        await m.explain(task, batchOf(x, nRows), new Int32Array(nRows), { ...m.defaults, ...params }, new Seeder(0));
        expect(task.model.rowsEvaluated - before, id).toBe(nRows * methodRows(id, { ...m.defaults, ...params }, n));
      }
    } finally {
      task.model.dispose();
    }
  });

  it('gradient methods: exactly the rows they count (a forward and a backward per gradient row)', async () => {
    const task = mlpTask(n, 3, x, nRows, 3);
    try {
      for (const [id, params] of [['saliency', {}], ['input-x-gradient', {}], ['integrated-gradients', { steps: 7, rule: 'trapezoid' }], ['integrated-gradients', { steps: 5 }], ['smoothgrad', { samples: 4 }], ['gradient-shap', { samples: 3 }]] as const) {
        const m = getMethod(id)!;
        const before = task.model.rowsEvaluated;
        const passes = task.model.forwardPasses;
        let chunks = 0;
        const gradient = task.model.gradient;
        task.model.gradient = (xs, rows, t, o) => ((chunks += Math.ceil(rows / task.model.maxBatchRows)), gradient.call(task.model, xs, rows, t, o));
        try {
          await m.explain(task, batchOf(x, nRows), new Int32Array(nRows), { ...m.defaults, ...params }, new Seeder(0));
        } finally {
          task.model.gradient = gradient;
        }
        expect(task.model.rowsEvaluated - before, id).toBe(nRows * methodRows(id, { ...m.defaults, ...params }, n));
        expect(chunks, id).toBeGreaterThan(0);
        expect(task.model.forwardPasses - passes, id).toBe(chunks); // one forward per gradient chunk, no second one
      }
      expect(methodRows('saliency', {}, n)).toBe(2);
    } finally {
      task.model.dispose();
    }
  });

  it('scales with rows and speed', () => {
    const job = { nRows: 1000, nFeatures: 4, methods: [{ id: 'feature-ablation', params: {} }], metrics: [{ id: 'FE', params: { stepSize: 1 } }] };
    expect(estimateWork('explain', job, 0.01)).toEqual({ rows: 5000, ms: 50 });
    expect(estimateWork('evaluate', job, 0.01)).toEqual({ rows: 1000 * (2 + 4), ms: 60 });
  });
});
