/**
 * A cost model of Explain and Evaluate, in model rows: how many inputs each method and metric sends
 * through the model per explained row, from its parameters and the feature count. With the model's
 * measured time per row (the worker times a 4,096-row prediction of the task's data after its accuracy pass) this gives the studio's
 * estimate before a run starts, so it can ask before work of more than a minute. tfjs-free.
 * Gradients count as GRADIENT_COST forward rows. Perturbation methods and the metrics are counted
 * exactly (NEG and POS as if every row were classified as its target; they skip the others), so the
 * estimate is an upper bound on model rows; batching overheads and training are not modelled.
 * For the metrics the count is the rows the engine lays out (`MetricResult.rowsRequested`): the
 * engine then sends each distinct input of a row once (metrics/engine.ts), which depends on the
 * draws and the data (with the defaults on 8 features about 0.55 of the count), so the rows it
 * sends — and the time — are at most this.
 */
import type { Params } from './params';
import { fidelityInputsPerUnit } from './ffidelity/ffid';
import { METRICS } from './metrics/registry';
import { finetuneDefaults } from './ffidelity/finetune';

/**
 * Model rows one gradient row counts: its forward and its backward pass (`TargetModel.gradient`
 * runs one `tf.valueAndGrad`, no second forward, and adds 2 per row to `rowsEvaluated`). A backward
 * row is counted like a forward row; on wasm it costs more, so times of gradient methods are low.
 */
export const GRADIENT_COST = 2;

const num = (p: Params, k: string, d: number) => (typeof p[k] === 'number' ? (p[k] as number) : d);

/**
 * Model rows one method sends per explained row. `layerChannels`: for score-cam, the channel count K
 * of its layer (it scores K masked inputs per row after one activation pass); without it score-cam
 * counts its activation pass only.
 */
export function methodRows(id: string, params: Params, n: number, layerChannels?: number): number {
  switch (id) {
    case 'saliency':
    case 'input-x-gradient':
    case 'guided-backprop':
    case 'grad-cam':
    case 'grad-cam-plus-plus':
      return GRADIENT_COST;
    case 'guided-grad-cam':
      return 2 * GRADIENT_COST;
    case 'score-cam':
      return 1 + (layerChannels ?? 0);
    case 'integrated-gradients':
      return GRADIENT_COST * (num(params, 'steps', 50) + (params.rule === 'trapezoid' ? 1 : 0));
    case 'smoothgrad':
    case 'gradient-shap':
      return GRADIENT_COST * num(params, 'samples', 50);
    case 'occlusion': {
      const w = num(params, 'window', 2);
      const stride = num(params, 'stride', 1);
      return (w >= n ? 1 : Math.ceil((n - w) / stride) + 1) + 1;
    }
    case 'feature-ablation':
      return n + 1;
    case 'lime':
      return num(params, 'samples', 500);
    case 'kernel-shap':
      return Math.min(2 * Math.ceil(num(params, 'samples', 512) / 2), 2 ** Math.min(n, 30) - 2) + 2;
    case 'shapley-exact':
      return 2 ** Math.min(n, 30);
    case 'deeplift':
      return 2 * GRADIENT_COST;
    default:
      return 0;
  }
}

/** Model rows the metrics lay out per explained row and explanation (shared s-independent rows counted once per row): an upper bound on the rows sent after the engine's memo. */
export function metricRows(metrics: { id: string; params: Params }[], n: number, nExplanations: number): number {
  let shared = metrics.some((m) => METRICS.some((u) => u.id === m.id)) ? 2 : 0; // x and x° of the ten's clean pass
  let perExplanation = 0;
  const curves = new Set<string>();
  for (const m of metrics) {
    const k = Math.max(1, num(m.params, 'stepSize', 1));
    const T = Math.ceil(n / k);
    switch (m.id) {
      case 'FC':
      case 'INF':
        shared += num(m.params, 'nSubsets', 100);
        break;
      case 'FE':
        perExplanation += T;
        break;
      case 'MC':
        perExplanation += T * num(m.params, 'nBaselines', 10);
        break;
      case 'RP':
      case 'DEL':
      case 'IROF':
      case 'POS':
        curves.add(`removal-desc|${k}`);
        break;
      case 'INS':
        curves.add(`insertion-desc|${k}`);
        break;
      case 'NEG':
        curves.add(`removal-asc|${k}`);
        break;
      // beyond the ten (src/core/ffidelity): fidelityScores' inputs per explanation and its clean
      // pass; FFID also fine-tunes one surrogate (shared by FFID+ and FFID-), counted per row as its
      // epochs of forward and backward passes plus the masked-accuracy check before and after
      case 'FFID+':
      case 'FFID-':
      case 'RFID+':
      case 'RFID-':
      case 'FID+':
      case 'FID-':
        perExplanation += fidelityInputsPerUnit(m.id, m.params, n);
        shared += 1;
        if (m.id.startsWith('FFID') && !curves.has('finetune')) {
          curves.add('finetune');
          shared += num(m.params, 'finetuneEpochs', finetuneDefaults.epochs) * GRADIENT_COST + 2 * (1 + finetuneDefaults.maskedDraws);
        }
        break;
      case 'AD-INS':
      case 'AD-DEL':
        // the curve's T + 1 points through the activation model, and the clean row's activations
        perExplanation += T + 1;
        shared += 1;
        break;
    }
  }
  for (const c of curves) if (c !== 'finetune') perExplanation += Math.max(0, Math.ceil(n / Number(c.split('|')[1])) - 1);
  return shared + perExplanation * nExplanations;
}

export interface WorkEstimate {
  /** Model rows of the whole step. */
  rows: number;
  /** Expected wall time (ms) at the measured speed. */
  ms: number;
}

/** Explain (every method on every row) and Evaluate (every explanation on every metric). */
export function estimateWork(
  step: 'explain' | 'evaluate',
  job: { nRows: number; nFeatures: number; methods: { id: string; params: Params }[]; metrics: { id: string; params: Params }[] },
  msPerModelRow: number,
): WorkEstimate {
  const { nRows, nFeatures: n } = job;
  const rows =
    step === 'explain'
      ? nRows * job.methods.reduce((a, m) => a + methodRows(m.id, m.params, n), 0)
      : nRows * metricRows(job.metrics, n, job.methods.length);
  return { rows, ms: rows * msPerModelRow };
}
