// The L_LC optimum scored at the scale of Δ and at unit scale on each tabular task (docs/results.md, "Correction"): nice npx tsx scripts/fit-scale.ts
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { readFileSync } from 'node:fs';
import { prepareJob, resolveJob } from '../src/core/job';
import { nodeJobIO } from '../src/cli/commands/run';
import { lcTargets, lossLC } from '../src/core/explainer/losses';
import { lcOptimum, unitRows } from '../src/core/job/report';
import { Seeder } from '../src/core/rng';
await tf.setBackend('wasm');
const tasks: [string, Record<string, unknown>][] = [];
for (const id of ['iris', 'wine', 'penguins', 'breast-cancer']) {
  const j = JSON.parse(readFileSync(`jobs/${id}.json`, 'utf8'));
  tasks.push([id, { ...j.task, maxRows: 400 }]);
}
tasks.push(['nap', { model: 'out/deepfaith-cache/mlp-nap/model.json', data: '../shared/paper-data/nhanes_age.csv', label: 'age_group', drop: ['SEQN', 'RIDAGEYR'], maxRows: 400 }]);
tasks.push(['wcd', { model: 'out/deepfaith-cache/mlp-wcd/model.json', data: '../shared/paper-data/wholesale.csv', label: 'Channel', maxRows: 400 }]);
for (const [id, t] of tasks) {
  const demo = id !== 'nap' && id !== 'wcd';
  const job = resolveJob({ task: t, methods: ['saliency'], metrics: ['FC'], seed: 0 } as never);
  const prep = await prepareJob(job, nodeJobIO(demo ? 'jobs' : process.cwd()));
  const { task, batch } = prep.loaded;
  const n = task.nFeatures;
  const nR = batch.nRows;
  const out: string[] = [];
  for (const sampling of n <= 12 ? (['independent', 'exact'] as const) : (['independent'] as const)) {
    const lc = await lcTargets(task, batch.x, nR, batch.rowIndex, prep.target, 100, new Seeder(0), 'eps', sampling);
    const opt = await lcOptimum(lc, nR, n);
    const lcOf = (phi: Float32Array) => tf.tidy(() => lossLC(tf.tensor2d(phi, [nR, n]), tf.tensor3d(lc.masks, [nR, lc.k, n]), tf.tensor2d(lc.delta, [nR, lc.k])).dataSync()[0]);
    let small = 0;
    for (let r = 0; r < nR; r++) {
      let mn = Infinity, mx = -Infinity;
      for (let j = 0; j < lc.k; j++) { mn = Math.min(mn, lc.delta[r * lc.k + j]); mx = Math.max(mx, lc.delta[r * lc.k + j]); }
      if (mx - mn < 1e-3) small++;
    }
    const a = lcOf(opt), b = lcOf(unitRows(opt, nR, n));
    out.push(`${sampling} k ${lc.k}: optimum at the fit's scale ${a.toFixed(4)}, at unit scale ${b.toFixed(4)} (${(100 * (a / b - 1)).toFixed(1)} % higher); rows with Δ range < 1e-3: ${small}`);
  }
  console.log(`${id} (${nR} rows × ${n}): ${out.join('; ')}`);
  task.model.dispose();
}
