import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { prepareJob, resolveJob } from '../src/core/job';
import { nodeJobIO } from '../src/cli/commands/run';
import { lcTargets, lossLC } from '../src/core/explainer/losses';
import { lcOptimum } from '../src/core/job/report';
import { Seeder } from '../src/core/rng';
await tf.setBackend('wasm');
for (const [id, csv, label, drop] of [['wcd', 'wholesale.csv', 'Channel', []], ['nap', 'nhanes_age.csv', 'age_group', ['SEQN', 'RIDAGEYR']]] as const) {
  const job = resolveJob({ task: { model: `out/deepfaith-cache/mlp-${id}/model.json`, data: `../shared/paper-data/${csv}`, label, drop: [...drop], maxRows: 400 }, methods: ['saliency'], metrics: ['FC'], seed: 0 } as never);
  const prep = await prepareJob(job, nodeJobIO(process.cwd()));
  const { task, batch } = prep.loaded;
  const n = task.nFeatures;
  const nR = batch.nRows;
  const lc = await lcTargets(task, batch.x, nR, batch.rowIndex, prep.target, 100, new Seeder(0), 'eps', 'exact');
  const opt = await lcOptimum(lc, nR, n);
  const scaled = Float32Array.from(opt);
  for (let r = 0; r < nR; r++) {
    let m = 0;
    for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(opt[r * n + i]));
    if (m > 0) for (let i = 0; i < n; i++) scaled[r * n + i] = opt[r * n + i] / m;
  }
  const lcOf = (phi: Float32Array) => tf.tidy(() => lossLC(tf.tensor2d(phi, [nR, n]), tf.tensor3d(lc.masks, [nR, lc.k, n]), tf.tensor2d(lc.delta, [nR, lc.k])).dataSync()[0]);
  let small = 0;
  for (let r = 0; r < nR; r++) {
    let mn = Infinity, mx = -Infinity;
    for (let j = 0; j < lc.k; j++) { mn = Math.min(mn, lc.delta[r * lc.k + j]); mx = Math.max(mx, lc.delta[r * lc.k + j]); }
    if (mx - mn < 1e-3) small++;
  }
  console.log(id, 'rows', nR, 'k', lc.k, 'optimum raw', lcOf(opt).toFixed(4), 'rescaled', lcOf(scaled).toFixed(4), 'rows with Δ range < 1e-3:', small);
  task.model.dispose();
}
