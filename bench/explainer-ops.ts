/**
 * P1 companion — the explainer's encoder (the default architecture: d 64, 8 heads, 4 layers, FFN 128)
 * with its GELU written two ways, timed side by side on the same backend, inputs and weights:
 *
 *   - `tanh-gelu`: 0.5·t·(1 + tanh(c·(t + 0.044715·t³))) with tf.pow — the form the explainer used
 *     before;
 *   - `sigmoid-gelu`: t·sigmoid(2c·(t + 0.044715·t·t·t)) — equal in exact arithmetic
 *     (½(1 + tanh u) = sigmoid(2u)), the form src/core/explainer/model.ts uses now.
 *
 * Both as inference runs them (forward) and as training does (forward + backward to the input).
 *
 *   npm run bench:ops -- [--backend wasm] [--repeat 7] [--json bench/results/explainer-ops.json]
 *
 * Shapes: 13 tokens × 256 rows (wine) and 49 and 196 tokens × 64 rows (the image demos' patches).
 * Rounds are interleaved (each round runs every variant once) so load changes hit all alike.
 * Reports the median ms per pass, the speed-up over `tanh-gelu` and the largest |difference| of the
 * outputs. Per-head transposes stay: tfjs 4.22's batched matMul does not broadcast [b,1,…]×[1,H,…]
 * batch dimensions correctly (cpu and wasm), which a transpose-free attention would need.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initCliBackend } from '../src/cli/common';

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'wasm' }, repeat: { type: 'string', default: '7' }, json: { type: 'string', default: 'bench/results/explainer-ops.json' } } });
const REPEAT = Number(values.repeat);
const D = 64, H = 8, L = 4, F = 128, DH = D / H;
type Variant = 'tanh-gelu' | 'sigmoid-gelu';
const VARIANTS: Variant[] = ['tanh-gelu', 'sigmoid-gelu'];

function weights(seed: number): Record<string, tf.Tensor> {
  const w: Record<string, tf.Tensor> = {};
  const mat = (name: string, shape: number[]) => (w[name] = tf.randomUniform(shape, -0.2, 0.2, 'float32', seed++));
  for (let l = 0; l < L; l++) {
    for (const m of ['wq', 'wk', 'wv', 'wo']) mat(`${l}/${m}`, [D, D]);
    for (const m of ['bq', 'bk', 'bv', 'bo']) mat(`${l}/${m}`, [D]);
    mat(`${l}/w1`, [D, F]); mat(`${l}/b1`, [F]); mat(`${l}/w2`, [F, D]); mat(`${l}/b2`, [D]);
    for (const ln of ['ln1', 'ln2']) { w[`${l}/${ln}/g`] = tf.ones([D]); w[`${l}/${ln}/b`] = tf.zeros([D]); }
  }
  return w;
}

function encoder(h0: tf.Tensor3D, w: Record<string, tf.Tensor>, v: Variant): tf.Tensor3D {
  const [b, n] = h0.shape;
  const linear = (h: tf.Tensor3D, wt: tf.Tensor, bias: tf.Tensor) => tf.reshape(tf.add(tf.matMul(tf.reshape(h, [b * n, h.shape[2]]) as tf.Tensor2D, wt as tf.Tensor2D), bias), [b, n, wt.shape[1]!]) as tf.Tensor3D;
  const layerNorm = (h: tf.Tensor3D, g: tf.Tensor, beta: tf.Tensor) => {
    const { mean, variance } = tf.moments(h, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(h, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), beta) as tf.Tensor3D;
  };
  const c = Math.sqrt(2 / Math.PI);
  const gelu = (t: tf.Tensor3D): tf.Tensor3D =>
    v === 'tanh-gelu'
      ? (tf.mul(tf.mul(t, 0.5), tf.add(1, tf.tanh(tf.mul(c, tf.add(t, tf.mul(0.044715, tf.pow(t, 3))))))) as tf.Tensor3D)
      : (tf.mul(t, tf.sigmoid(tf.mul(2 * c, tf.add(t, tf.mul(0.044715, tf.mul(tf.mul(t, t), t)))))) as tf.Tensor3D);
  const heads = (h: tf.Tensor3D) => tf.transpose(tf.reshape(h, [b, n, H, DH]), [0, 2, 1, 3]) as tf.Tensor4D;
  let h = h0;
  for (let l = 0; l < L; l++) {
    const a = layerNorm(h, w[`${l}/ln1/g`], w[`${l}/ln1/b`]);
    const q = heads(linear(a, w[`${l}/wq`], w[`${l}/bq`]));
    const k = heads(linear(a, w[`${l}/wk`], w[`${l}/bk`]));
    const vv = heads(linear(a, w[`${l}/wv`], w[`${l}/bv`]));
    const att = tf.softmax(tf.div(tf.matMul(q, k, false, true), Math.sqrt(DH)));
    const out = linear(tf.reshape(tf.transpose(tf.matMul(att, vv), [0, 2, 1, 3]), [b, n, D]) as tf.Tensor3D, w[`${l}/wo`], w[`${l}/bo`]);
    h = tf.add(h, out) as tf.Tensor3D;
    const m = layerNorm(h, w[`${l}/ln2/g`], w[`${l}/ln2/b`]);
    h = tf.add(h, linear(gelu(linear(m, w[`${l}/w1`], w[`${l}/b1`])), w[`${l}/w2`], w[`${l}/b2`])) as tf.Tensor3D;
  }
  return h;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

async function main() {
  const report = await initCliBackend(values.backend!);
  const w = weights(7);
  const shapes = [
    { name: 'wine: 256 rows × 13 tokens', b: 256, n: 13 },
    { name: 'fashion-49: 64 rows × 49 tokens', b: 64, n: 49 },
    { name: 'fashion-196: 64 rows × 196 tokens', b: 64, n: 196 },
  ];
  const out: unknown[] = [];
  console.log(`backend ${report.chosen}; median of ${REPEAT} interleaved rounds after one warm-up; encoder d ${D}, ${H} heads, ${L} layers, FFN ${F}`);
  console.log('| shape | pass | variant | ms per pass | × tanh-gelu | max |Δ| of outputs |');
  console.log('|---|---|---|---:|---:|---:|');
  for (const s of shapes) {
    const x = tf.randomNormal([s.b, s.n, D], 0, 1, 'float32', 3) as tf.Tensor3D;
    const passes = {
      forward: (v: Variant) => tf.tidy(() => encoder(x, w, v)),
      'forward + backward': (v: Variant) => tf.tidy(() => tf.grad((xx: tf.Tensor) => tf.sum(encoder(xx as tf.Tensor3D, w, v)))(x)),
    };
    for (const [pass, run] of Object.entries(passes)) {
      const outs: Partial<Record<Variant, Float32Array>> = {};
      for (const v of VARIANTS) {
        const y = run(v);
        outs[v] = (await y.data()) as Float32Array;
        y.dispose();
      }
      const times: Record<Variant, number[]> = { 'tanh-gelu': [], 'sigmoid-gelu': [] };
      for (let r = 0; r < REPEAT; r++)
        for (const v of VARIANTS) {
          const t0 = performance.now();
          const y = run(v);
          await y.data();
          times[v].push(performance.now() - t0);
          y.dispose();
        }
      for (const v of VARIANTS) {
        let diff = 0;
        const a = outs[v]!, ref = outs['tanh-gelu']!;
        for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - ref[i]));
        const ms = median(times[v]);
        const ratio = median(times['tanh-gelu']) / ms;
        console.log(`| ${s.name} | ${pass} | ${v} | ${ms.toFixed(1)} | ${ratio.toFixed(2)}× | ${diff.toExponential(1)} |`);
        out.push({ shape: s.name, pass, variant: v, msPerPass: ms, speedup: ratio, maxAbsDiff: diff, times: times[v] });
      }
    }
    x.dispose();
  }
  // why the per-head transposes stay: a transpose-free attention needs [b,1,n,d] × [1,H,d,dh] with
  // the batch dimensions broadcast; compare tfjs's product with the explicitly tiled one
  const broadcast = await tf.tidy(() => {
    const a = tf.randomNormal([2, 1, 3, 4], 0, 1, 'float32', 1) as tf.Tensor4D;
    const b = tf.randomNormal([1, 5, 4, 2], 0, 1, 'float32', 2) as tf.Tensor4D;
    return tf.max(tf.abs(tf.sub(tf.matMul(a, b), tf.matMul(tf.tile(a, [1, 5, 1, 1]), tf.tile(b, [2, 1, 1, 1])))));
  }).data();
  console.log(`broadcast batch matMul [2,1,3,4]×[1,5,4,2]: largest |Δ| from the tiled product ${broadcast[0].toExponential(2)} (0 if tfjs broadcast it correctly)`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(values.json!, JSON.stringify({ backend: report.chosen, date: new Date().toISOString(), repeat: REPEAT, rows: out, broadcastMatMulMaxAbsDiff: broadcast[0] }, null, 1));
  tf.dispose(Object.values(w));
}
main();
