/**
 * P1 — latency per explained row: the DeepFaith explainer (default architecture; its weights do not
 * change its cost, so an untrained one is timed) against saliency, integrated gradients (20 steps),
 * occlusion, Kernel SHAP (100 samples) and LIME (100 samples), on the same rows, backend and process,
 * side by side with the ratios, for a tabular demo and the image demos at 49 and 196 patches:
 *
 *   npx tsx bench/latency.ts [--rows 64] [--repeat 3] [--tasks wine,fashion-49,fashion-196,digits-16]
 *
 * Each method is run once on 2 rows to warm up, then --repeat times on --rows rows; the median
 * ms per row is reported. The goals on the image demos: ≥ 100× Kernel SHAP and ≥ 20× IG.
 * Also printed: the cost model's FLOPs (explainer/cost.ts) — the explainer's row against one target
 * forward — so the measured ratio can be read against the counted one. Results:
 * bench/results/latency.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initCliBackend } from '../src/cli/common';
import { nodeJobIO } from '../src/cli/commands/run';
import { loadJobTask, resolveJob } from '../src/core/job';
import { getMethod } from '../src/core/attribution/registry';
import { Explainer, defaults as archDefaults, inputStatistics, type ExplainerConfig } from '../src/core/explainer/model';
import { inputWidth, tokenSpecFor } from '../src/core/explainer/tokens';
import { explainerFlops } from '../src/core/explainer/cost';
import { modelFlops } from '../src/core/task/modelFlops';
import { chooseTargets } from '../src/core/task/task';
import { Seeder } from '../src/core/rng';
import type { Params } from '../src/core/params';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '64' }, repeat: { type: 'string', default: '3' }, tasks: { type: 'string', default: 'wine,digits-16,fashion-49,fashion-196' }, json: { type: 'string', default: 'bench/results/latency.json' } } });
const ROWS = Number(values.rows);
const REPEAT = Number(values.repeat);

const TASKS: Record<string, { demo: string; patch?: number }> = {
  wine: { demo: 'wine' },
  'digits-16': { demo: 'digits', patch: 2 },
  'fashion-49': { demo: 'fashion', patch: 4 },
  'fashion-196': { demo: 'fashion', patch: 2 },
};
const METHODS: [string, Params][] = [
  ['saliency', {}],
  ['integrated-gradients', { steps: 20 }],
  ['occlusion', {}],
  ['kernel-shap', { samples: 100 }],
  ['lime', { samples: 100 }],
];

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

async function time(f: (rows: number) => Promise<unknown>): Promise<number> {
  await f(2);
  const ms: number[] = [];
  for (let i = 0; i < REPEAT; i++) {
    const t0 = performance.now();
    await f(ROWS);
    ms.push((performance.now() - t0) / ROWS);
  }
  return median(ms);
}

async function main() {
  await initCliBackend('wasm');
  const out: { task: string; nFeatures: number; inputSize: number; explainerMsPerRow: number; methods: { id: string; msPerRow: number; ratio: number }[]; flops: { explainer: number; target: number } }[] = [];
  for (const name of values.tasks!.split(',')) {
    const t = TASKS[name];
    if (!t) throw new Error(`unknown task ${name}: use ${Object.keys(TASKS).join(', ')}`);
    const job = resolveJob({ task: { demo: t.demo, ...(t.patch ? { patch: t.patch } : {}), maxRows: Math.max(ROWS, 64) }, methods: [{ id: 'saliency' }] });
    const loaded = await loadJobTask(job, nodeJobIO(process.cwd()));
    const { task, batch } = loaded;
    try {
      const n = task.nFeatures;
      const d = task.inputSize;
      const rowsOf = (k: number) => ({ x: batch.x.subarray(0, k * d), nRows: k, rowIndex: batch.rowIndex.subarray(0, k) });
      const target = await chooseTargets(task, rowsOf(ROWS), 'predicted');
      const tokens = tokenSpecFor(task.space);
      const cfg: ExplainerConfig = { nFeatures: n, ...archDefaults, seed: 0, tokens, ...inputStatistics(batch.x, batch.nRows, inputWidth(tokens, n), 'standard') } as ExplainerConfig;
      const explainer = new Explainer(cfg);
      let explainerMs: number;
      try {
        explainerMs = await time((k) => explainer.explain(batch.x.subarray(0, k * d), k));
      } finally {
        explainer.dispose();
      }
      const methods = [];
      for (const [id, params] of METHODS) {
        const m = getMethod(id)!;
        const p = { ...m.defaults, ...params } as Params;
        const ms = await time((k) => m.explain(task, rowsOf(k), target.subarray(0, k), p, new Seeder(0)));
        methods.push({ id: id === 'integrated-gradients' ? 'integrated-gradients (20)' : id === 'kernel-shap' || id === 'lime' ? `${id} (100)` : id, msPerRow: ms, ratio: ms / explainerMs });
      }
      const flops = { explainer: explainerFlops({ tokens: n, valuesPerToken: d / n, dModel: cfg.dModel, nHeads: cfg.nHeads, nLayers: cfg.nLayers, dFF: cfg.dFF }), target: task.model.model instanceof tf.LayersModel ? modelFlops(task.model.model) : NaN };
      out.push({ task: name, nFeatures: n, inputSize: d, explainerMsPerRow: explainerMs, methods, flops });
      console.log(`\n${name}: ${n} features (${d} input values); explainer ${explainerMs.toFixed(3)} ms/row; FLOPs per row: explainer ${(flops.explainer / 1e6).toFixed(2)} M, one target forward ${(flops.target / 1e6).toFixed(3)} M (${(flops.explainer / flops.target).toFixed(1)} forwards)`);
      console.log('method | ms per row | × the explainer');
      for (const m of methods) console.log(`${m.id} | ${m.msPerRow.toFixed(3)} | ${m.ratio.toFixed(1)}×`);
    } finally {
      task.model.dispose();
    }
  }
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(values.json!, JSON.stringify({ date: new Date().toISOString(), backend: tf.getBackend(), rows: ROWS, repeat: REPEAT, results: out }, null, 1) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
