/**
 * The DeepFaith explainer φ_θ: an L-layer Transformer encoder over the n feature tokens, a
 * per-token linear head and a sigmoid, giving a saliency vector in [0,1]^n (METRICS.md). Option
 * `head: 'signed'` (outside the contract) drops the sigmoid: the head's linear output is the
 * attribution, so negative attributions can be expressed (docs/deepfaith.md, "The signed head").
 *
 * Written as a layer-free module: every weight is a `tf.Variable` created here from a seeded JS
 * PRNG (seedrandom's Alea, the same generator as src/core/rng.ts), and the forward pass is plain tf
 * ops. So the initial weights are identical on every backend, dropout masks come from seeded
 * `tf.dropout` (tfjs draws them in JS), and saving is a list of named tensors.
 *
 * Token of feature i (tabular, `tokens` kind 'scalar'; tokens.ts): t_i = x̃_i · V_i + P_i, where
 * x̃ = (g(x) − mean)/std is the feature standardised with the training rows' statistics stored in
 * the config (g = identity, or sign·log1p with inputTransform 'signed-log'), V_i ∈ R^d is feature
 * i's own value embedding and P_i ∈ R^d its learned position embedding.
 * Token of patch f (images, kind 'patch'): t_f = u_f · E + b + P_f, with u_f the patch's
 * standardised pixels (all channels, zero-padded for an edge patch; statistics per input value),
 * E ∈ R^{P×d} and b ∈ R^d one linear embedding shared by every patch, P_f the position embedding.
 * Token of position t (text, kind 'token-id'): t_t = E[x_t] + P_t, the explainer's own embedding of
 * the token id (E ∈ R^{V×d}, looked up with a gradient built from scatterND, which the wasm backend
 * has) plus the position embedding; the output at a padded position (the pad id) is 0.
 * The encoder, head and losses are the same for every kind.
 * Encoder layer (pre-LayerNorm): h ← h + Drop(MHA(LN(h))); h ← h + Drop(FFN(LN(h))), FFN =
 * Linear(d→f) · GELU(tanh approximation) · Linear(f→d). Then a final LayerNorm, the head
 * Linear(d→1) per token and a sigmoid (or, with head 'signed', no sigmoid).
 */
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../errors';
import { makeRng } from '../rng';
import type { ParamSchema } from '../params';
import { inputWidth, patchGatherIndex, patchTokenSize, tokensOf, validateTokens, type TokenSpec } from './tokens';

export interface ExplainerConfig {
  nFeatures: number;
  /** Width d of the token embedding. */
  dModel: number;
  nHeads: number;
  nLayers: number;
  /** Hidden size of the feed-forward block. */
  dFF: number;
  /** Dropout rate on the residual branches and the embedding (training only). */
  dropout: number;
  /** Seed of the initial weights. */
  seed: number;
  /**
   * How a row becomes tokens (tokens.ts), chosen by the task's feature space: 'scalar' (one value
   * per feature; also when absent) or 'patch' (an image's patches, each from all its pixels).
   */
  tokens?: TokenSpec;
  /**
   * Standardisation applied to the input (training rows' mean and std; std 0 → 1): per feature for
   * scalar tokens, per input value (pixel and channel) for patch tokens.
   */
  inputMean: number[];
  inputStd: number[];
  /**
   * Applied to each raw value before the standardisation: 'standard' (none; the default when absent)
   * or 'signed-log' (sign(x)·log(1 + |x|), for heavy-tailed features such as amounts of money).
   * inputMean / inputStd are statistics of the transformed values.
   */
  inputTransform?: InputTransform;
  /**
   * The output: 'sigmoid' (the contract's head, values in [0,1]; also when absent) or 'signed' (the
   * head's linear output, any sign — an option outside METRICS.md: L_LC's Pearson is blind to the
   * scale of an attribution but not to a shift, so a [0,1] output cannot express a feature whose
   * removal raises the class score; every explanation is still min–max normalised before scoring).
   */
  head?: ExplainerHead;
  /**
   * How the explanation depends on the target class c: 'none' (the contract's explainer reads x
   * only; also when absent) or 'sign' (two-class tasks with a probability output; outside
   * METRICS.md): the network explains class 1 and the explanation of class 0 is its negative —
   * exact there, since p₀ = 1 − p₁ gives Δ₀(I) = −Δ₁(I) and a prior's explanation of class 0 is the
   * mirror of class 1's. Without it the explanation of the predicted class must flip sign across
   * the decision boundary, a jump the network cannot see in x. 'classes' (any number K ≥ 2 of
   * classes, probability outputs; outside METRICS.md): the head gives one explanation per class and
   * they are centred across the classes, so that they sum to zero as the classes' Δ_c(I) do
   * (Σ_c p_c = 1); each row gets its target class's. On two classes it is the sign frame with a
   * second head.
   */
  classFrame?: ClassFrame;
  /** The number of classes K the head explains (classFrame 'classes' only; the task's). */
  nClasses?: number;
}

export const INPUT_TRANSFORMS = ['standard', 'signed-log'] as const;
export const EXPLAINER_HEADS = ['sigmoid', 'signed'] as const;
export const CLASS_FRAMES = ['none', 'sign', 'classes'] as const;
export type ClassFrame = (typeof CLASS_FRAMES)[number];
export type ExplainerHead = (typeof EXPLAINER_HEADS)[number];
export type InputTransform = (typeof INPUT_TRANSFORMS)[number];

/** The input transform applied before standardisation. */
export function transformValue(v: number, t: InputTransform | undefined): number {
  return t === 'signed-log' ? Math.sign(v) * Math.log1p(Math.abs(v)) : v;
}

/** Architecture defaults (the paper's Table 14 tabular column: d 64, 8 heads, FFN 128, 4 layers, dropout 0.01). */
export const defaults: { dModel: number; nHeads: number; nLayers: number; dFF: number; dropout: number; inputTransform: InputTransform; head: ExplainerHead; classFrame: ClassFrame } = {
  dModel: 64, nHeads: 8, nLayers: 4, dFF: 128, dropout: 0.01, inputTransform: 'standard', head: 'sigmoid', classFrame: 'none',
};

export type ExplainerArchitecture = typeof defaults;

/** Ranges of the architecture settings (dModel must also be a multiple of nHeads: `validateConfig`). */
export const params: ParamSchema<ExplainerArchitecture> = {
  dModel: { type: 'int', min: 1, max: 2048, meaning: 'Width d of the token embedding (a multiple of nHeads).' },
  nHeads: { type: 'int', min: 1, max: 64, meaning: 'Attention heads per layer.' },
  nLayers: { type: 'int', min: 1, max: 48, meaning: 'Transformer encoder layers.' },
  dFF: { type: 'int', min: 1, max: 16384, meaning: 'Hidden size of each feed-forward block.' },
  dropout: { type: 'number', min: 0, max: 0.99, meaning: 'Dropout rate on the embedding and the residual branches (training only).' },
  inputTransform: { type: 'choice', choices: INPUT_TRANSFORMS, meaning: 'Applied to each value before standardisation: none, or sign·log1p for heavy-tailed features.' },
  head: { type: 'choice', choices: EXPLAINER_HEADS, meaning: 'Output: sigmoid (the contract\'s [0,1] saliency), or signed (the linear output, any sign; outside METRICS.md, so that L_LC\'s optimum can be reached).' },
  classFrame: { type: 'choice', choices: CLASS_FRAMES, meaning: 'Target class: none (the explanation reads x only), sign (two-class tasks with a probability output: class 0\'s explanation is the negative of class 1\'s), or classes (probability outputs, any number of classes: one explanation per class, centred across the classes so that they sum to zero; each row gets its target\'s). Both frames are outside METRICS.md.' },
};

export const EXPLAINER_FORMAT = 'deepfaith-explainer';

/** Names and shapes of every weight, in a fixed order. */
export function weightShapes(c: ExplainerConfig): [string, number[]][] {
  const { nFeatures: n, dModel: d, dFF: f } = c;
  const tokens = tokensOf(c);
  const out: [string, number[]][] =
    tokens.kind === 'patch'
      ? [
          ['embed/patch', [patchTokenSize(tokens), d]],
          ['embed/patchBias', [d]],
          ['embed/position', [n, d]],
        ]
      : tokens.kind === 'token-id'
        ? [
            ['embed/token', [tokens.vocabSize, d]],
            ['embed/position', [n, d]],
          ]
        : [
            ['embed/value', [n, d]],
            ['embed/position', [n, d]],
          ];
  for (let l = 0; l < c.nLayers; l++) {
    const p = `layer${l}/`;
    out.push(
      [p + 'ln1/gamma', [d]], [p + 'ln1/beta', [d]],
      [p + 'attn/wq', [d, d]], [p + 'attn/bq', [d]],
      [p + 'attn/wk', [d, d]], [p + 'attn/bk', [d]],
      [p + 'attn/wv', [d, d]], [p + 'attn/bv', [d]],
      [p + 'attn/wo', [d, d]], [p + 'attn/bo', [d]],
      [p + 'ln2/gamma', [d]], [p + 'ln2/beta', [d]],
      [p + 'ffn/w1', [d, f]], [p + 'ffn/b1', [f]],
      [p + 'ffn/w2', [f, d]], [p + 'ffn/b2', [d]],
    );
  }
  const heads = headCount(c);
  out.push(['final_ln/gamma', [d]], ['final_ln/beta', [d]], ['head/w', [d, heads]], ['head/b', [heads]]);
  return out;
}

/** Outputs per token: one, or one per class with classFrame 'classes'. */
export function headCount(c: Pick<ExplainerConfig, 'classFrame' | 'nClasses'>): number {
  return c.classFrame === 'classes' ? (c.nClasses ?? 0) : 1;
}

/**
 * GELU, tanh approximation ½t(1 + tanh u), u = √(2/π)(t + 0.044715t³), computed as t·sigmoid(2u)
 * (equal in exact arithmetic): fewer kernels and no tf.pow — 1.2–1.8× faster inference passes
 * (bench/explainer-ops.ts, docs/performance.md).
 */
export function gelu<T extends tf.Tensor>(t: T): T {
  return tf.mul(t, tf.sigmoid(tf.mul(2 * Math.sqrt(2 / Math.PI), tf.add(t, tf.mul(0.044715, tf.mul(tf.mul(t, t), t)))))) as T;
}

/** Seeded initial values: Glorot-uniform matrices, zero biases, unit LayerNorm gains, N(0, 0.02²) positions. */
function initialValues(name: string, shape: number[], seed: number): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(size);
  const rng = makeRng(`${seed}|explainer-init|${name}`);
  if (name.endsWith('/gamma')) v.fill(1);
  else if (name === 'embed/position') for (let i = 0; i < size; i++) v[i] = 0.02 * rng.normal();
  else if (shape.length === 2) {
    // value embedding: each feature maps a scalar to d values (fan-in 1)
    const [fanIn, fanOut] = name === 'embed/value' ? [1, shape[1]] : [shape[0], shape[1]];
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    for (let i = 0; i < size; i++) v[i] = (2 * rng.uniform() - 1) * limit;
  }
  return v;
}

export function validateConfig(c: ExplainerConfig): void {
  const bad = (what: string, todo: string) => {
    throw new UserError(what, todo);
  };
  for (const k of ['nFeatures', 'dModel', 'nHeads', 'nLayers', 'dFF'] as const)
    if (!Number.isInteger(c[k]) || c[k] < 1) bad(`Explainer setting ${k} = ${c[k]} is not a positive integer.`, 'Give a whole number ≥ 1.');
  if (c.dModel % c.nHeads !== 0) bad(`Explainer width dModel = ${c.dModel} is not divisible by nHeads = ${c.nHeads}.`, 'Pick a width that is a multiple of the number of heads.');
  if (!(c.dropout >= 0 && c.dropout < 1)) bad(`Explainer dropout ${c.dropout} is outside [0, 1).`, 'Use e.g. 0.01.');
  if (c.inputTransform !== undefined && !(INPUT_TRANSFORMS as readonly string[]).includes(c.inputTransform)) bad(`Explainer inputTransform "${c.inputTransform}" is not known.`, `Use one of: ${INPUT_TRANSFORMS.join(', ')}.`);
  if (c.head !== undefined && !(EXPLAINER_HEADS as readonly string[]).includes(c.head)) bad(`Explainer head "${c.head}" is not known.`, `Use one of: ${EXPLAINER_HEADS.join(', ')}.`);
  if (c.classFrame !== undefined && !(CLASS_FRAMES as readonly string[]).includes(c.classFrame)) bad(`Explainer classFrame "${c.classFrame}" is not known.`, `Use one of: ${CLASS_FRAMES.join(', ')}.`);
  if (c.classFrame === 'classes' && !(Number.isInteger(c.nClasses) && (c.nClasses as number) >= 2))
    bad(`Explainer classFrame "classes" needs the number of classes it explains (nClasses = ${JSON.stringify(c.nClasses)}).`, 'Give nClasses, the task\'s number of classes (2 or more).');
  if (c.tokens !== undefined) validateTokens(c.tokens, c.nFeatures);
  const width = inputWidth(tokensOf(c), c.nFeatures);
  if (!Array.isArray(c.inputMean) || !Array.isArray(c.inputStd) || c.inputMean.length !== width || c.inputStd.length !== width)
    bad(`Explainer input statistics do not match the ${width} values per row its tokens read.`, 'Rebuild the explainer from its training data.');
  const badMean = c.inputMean.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
  if (badMean >= 0) bad(`Explainer inputMean[${badMean}] is ${JSON.stringify(c.inputMean[badMean])}, not a finite number.`, 'Rebuild the explainer from its training data.');
  const badStd = c.inputStd.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v) || v <= 0);
  if (badStd >= 0) bad(`Explainer inputStd[${badStd}] is ${JSON.stringify(c.inputStd[badStd])}, not a positive finite number.`, 'Rebuild the explainer from its training data.');
}

/**
 * Per-feature mean and std (ddof 0; a zero std becomes 1) of [nRows, nFeatures] rows, after the
 * input transform. Returns the transform too, so that spreading the result into a config keeps the
 * statistics and the transform they belong to together.
 */
export function inputStatistics(x: Float32Array, nRows: number, nFeatures: number, transform: InputTransform = 'standard'): { inputMean: number[]; inputStd: number[]; inputTransform: InputTransform } {
  const { mean, std } = columnMoments(x, nRows, nFeatures, transform);
  return { inputMean: mean, inputStd: std.map((v) => (v > 1e-12 ? v : 1)), inputTransform: transform };
}

/** Each column's mean and (population) standard deviation over the rows, after `transform`; a constant column's std is 0. */
export function columnMoments(x: Float32Array, nRows: number, width: number, transform: InputTransform = 'standard'): { mean: number[]; std: number[] } {
  const mean = new Array(width).fill(0);
  const sq = new Array(width).fill(0);
  const at = (r: number, j: number) => transformValue(x[r * width + j], transform);
  for (let r = 0; r < nRows; r++) for (let j = 0; j < width; j++) mean[j] += at(r, j);
  for (let j = 0; j < width; j++) mean[j] /= nRows;
  for (let r = 0; r < nRows; r++) for (let j = 0; j < width; j++) sq[j] += (at(r, j) - mean[j]) ** 2;
  return { mean, std: sq.map((s) => Math.sqrt(s / nRows)) };
}

/** Variable names must be unique in the tfjs engine: each explainer instance gets its own prefix. */
let instanceCounter = 0;

/** Attention scores held at once by `explain` (rows · heads · n²): bounds the rows per forward pass. */
export const ATTENTION_VALUE_BUDGET = 1 << 25;

/** Rows per explainer forward pass so that its attention scores fit ATTENTION_VALUE_BUDGET (at most `cap`). */
export function explainerRowsPerPass(c: Pick<ExplainerConfig, 'nFeatures' | 'nHeads'>, cap = 1024): number {
  return Math.max(1, Math.min(cap, Math.floor(ATTENTION_VALUE_BUDGET / Math.max(1, c.nHeads * c.nFeatures * c.nFeatures))));
}

export class Explainer {
  readonly vars: Map<string, tf.Variable>;
  private readonly mean: tf.Tensor1D;
  private readonly invStd: tf.Tensor1D;
  /** Patch tokens: for each patch and slot, the input value it reads (−1 → the padding column): [n · P]. */
  private readonly gatherIndex: tf.Tensor1D | null;
  /** The token input (tokens.ts). */
  readonly tokens: TokenSpec;
  /** Values per row the explainer reads (nFeatures, or H·W·C for patch tokens). */
  readonly inputWidth: number;

  constructor(readonly config: ExplainerConfig, values?: Map<string, Float32Array>) {
    validateConfig(config);
    this.vars = new Map();
    instanceCounter++;
    for (const [name, shape] of weightShapes(config)) {
      const v = values?.get(name) ?? initialValues(name, shape, config.seed);
      if (v.length !== shape.reduce((a, b) => a * b, 1)) throw new UserError(`Explainer weight ${name} has ${v.length} values, expected shape [${shape}].`, 'Check that the weights file belongs to this config.');
      const init = tf.tensor(v, shape, 'float32');
      this.vars.set(name, tf.variable(init, true, `deepfaith${instanceCounter}/${name}`));
      init.dispose();
    }
    this.mean = tf.tensor1d(config.inputMean); // [width]
    this.invStd = tf.tensor1d(config.inputStd.map((s) => 1 / s)); // [width]
    this.tokens = tokensOf(config);
    this.inputWidth = inputWidth(this.tokens, config.nFeatures);
    if (this.tokens.kind === 'patch') {
      const idx = patchGatherIndex(this.tokens);
      for (let i = 0; i < idx.length; i++) if (idx[i] < 0) idx[i] = this.inputWidth; // the zero column appended in embed
      this.gatherIndex = tf.tensor1d(idx, 'int32'); // [n · P]
    } else this.gatherIndex = null;
  }

  /**
   * The tokens before the encoder (no dropout): x [b, inputWidth] raw values → [b, n, d].
   * Scalar: x̃_i · V_i + P_i. Patch: (the patch's standardised values, zero-padded) · E + b + P_f.
   * Call inside tf.tidy.
   */
  embed(x: tf.Tensor2D): tf.Tensor3D {
    const c = this.config;
    const [b] = x.shape;
    const n = c.nFeatures;
    if (this.tokens.kind === 'token-id') return tf.add(embedLookup(this.w('embed/token') as tf.Tensor2D, tf.cast(x, 'int32') as tf.Tensor2D), this.w('embed/position')) as tf.Tensor3D; // [b, n, d]
    const xt = c.inputTransform === 'signed-log' ? tf.mul(tf.sign(x), tf.log1p(tf.abs(x))) : x; // [b, width]
    const xs = tf.mul(tf.sub(xt, this.mean), this.invStd); // [b, width] standardised
    if (this.tokens.kind !== 'patch') return tf.add(tf.mul(tf.expandDims(xs, 2), this.w('embed/value')), this.w('embed/position')) as tf.Tensor3D; // [b, n, d]
    const P = patchTokenSize(this.tokens);
    const padded = tf.concat([xs, tf.zeros([b, 1])], 1); // [b, width + 1]: the last column is the padding
    const u = tf.reshape(tf.gather(padded, this.gatherIndex!, 1), [b * n, P]) as tf.Tensor2D; // [b·n, P] each patch's values
    const t = tf.add(tf.matMul(u, this.w('embed/patch') as tf.Tensor2D), this.w('embed/patchBias')); // [b·n, d]
    return tf.add(tf.reshape(t, [b, n, c.dModel]), this.w('embed/position')) as tf.Tensor3D; // [b, n, d]
  }

  get trainableVariables(): tf.Variable[] {
    return [...this.vars.values()];
  }

  private w(name: string): tf.Variable {
    return this.vars.get(name)!;
  }

  /** Whether explanations depend on the target class (config.classFrame 'sign' or 'classes'): then apply/explain need each row's target. */
  get needsTargets(): boolean {
    return (this.config.classFrame ?? 'none') !== 'none';
  }

  /**
   * Forward pass. x: [b, inputWidth] raw values (features, or the image for patch tokens) → [b, n] saliency in [0,1].
   * `dropoutSeed` (training only) seeds this call's dropout masks; without it no dropout is applied.
   * `targets` ([b] class indices): required with a class frame ('sign': rows of class 0 get the
   * negative; 'classes': each row its class's centred explanation), ignored otherwise.
   * Call inside tf.tidy or tf.variableGrads.
   */
  apply(x: tf.Tensor2D, dropoutSeed?: string, targets?: ArrayLike<number>): tf.Tensor2D {
    const c = this.config;
    const b = x.shape[0];
    const n = c.nFeatures;
    const d = c.dModel;
    const H = c.nHeads;
    const dh = d / H;
    let site = 0;
    const drop = <T extends tf.Tensor>(t: T): T =>
      dropoutSeed !== undefined && c.dropout > 0 ? (tf.dropout(t, c.dropout, undefined, `${dropoutSeed}|${site++}`) as T) : t;
    const linear = (h: tf.Tensor3D, w: string, bias: string): tf.Tensor3D => {
      const wt = this.w(w) as tf.Tensor2D; // [din, dout]
      const out = tf.add(tf.matMul(tf.reshape(h, [b * n, h.shape[2]]) as tf.Tensor2D, wt), this.w(bias)); // [b·n, dout]
      return tf.reshape(out, [b, n, wt.shape[1]]) as tf.Tensor3D;
    };
    const layerNorm = (h: tf.Tensor3D, p: string): tf.Tensor3D => {
      const { mean, variance } = tf.moments(h, -1, true); // [b, n, 1] each
      const z = tf.mul(tf.sub(h, mean), tf.rsqrt(tf.add(variance, 1e-5))); // [b, n, d]
      return tf.add(tf.mul(z, this.w(p + '/gamma')), this.w(p + '/beta')) as tf.Tensor3D;
    };
    const heads = (h: tf.Tensor3D): tf.Tensor4D => tf.transpose(tf.reshape(h, [b, n, H, dh]), [0, 2, 1, 3]) as tf.Tensor4D; // [b, H, n, dh]

    let h = this.embed(x); // [b, n, d]
    h = drop(h);
    for (let l = 0; l < c.nLayers; l++) {
      const p = `layer${l}/`;
      const a = layerNorm(h, p + 'ln1'); // [b, n, d]
      const q = heads(linear(a, p + 'attn/wq', p + 'attn/bq')); // [b, H, n, dh]
      const k = heads(linear(a, p + 'attn/wk', p + 'attn/bk')); // [b, H, n, dh]
      const v = heads(linear(a, p + 'attn/wv', p + 'attn/bv')); // [b, H, n, dh]
      const att = tf.softmax(tf.div(tf.matMul(q, k, false, true), Math.sqrt(dh))); // [b, H, n, n]
      const ctx = tf.reshape(tf.transpose(tf.matMul(att, v), [0, 2, 1, 3]), [b, n, d]) as tf.Tensor3D; // [b, n, d]
      h = tf.add(h, drop(linear(ctx, p + 'attn/wo', p + 'attn/bo'))) as tf.Tensor3D;
      const m = layerNorm(h, p + 'ln2'); // [b, n, d]
      const ff = linear(gelu(linear(m, p + 'ffn/w1', p + 'ffn/b1')), p + 'ffn/w2', p + 'ffn/b2'); // [b, n, d]
      h = tf.add(h, drop(ff)) as tf.Tensor3D;
    }
    if (this.needsTargets && (!targets || targets.length !== b)) throw new Error(`Explainer.apply: classFrame ${c.classFrame} needs the target class of each of the ${b} rows`);
    const z = linear(layerNorm(h, 'final_ln'), 'head/w', 'head/b'); // [b, n, K] (K = 1 but with classFrame 'classes')
    let s: tf.Tensor2D; // [b, n]
    if (c.classFrame === 'classes') {
      const K = headCount(c);
      const perClass = c.head === 'signed' ? z : tf.sigmoid(z); // [b, n, K]
      const centred = tf.sub(perClass, tf.mean(perClass, 2, true)); // [b, n, K]: the classes' explanations sum to zero
      const pick = new Float32Array(b * K);
      for (let r = 0; r < b; r++) {
        const t = targets![r];
        if (!(Number.isInteger(t) && t >= 0 && t < K)) throw new Error(`Explainer.apply: target class ${t} of row ${r} is not one of the ${K} classes the explainer explains`);
        pick[r * K + t] = 1;
      }
      const oneHot = tf.tensor2d(pick, [b, K]); // [b, K]
      s = tf.sum(tf.mul(centred, tf.expandDims(oneHot, 1)), 2) as tf.Tensor2D; // [b, n]: each row's target class
    } else {
      const logits = tf.reshape(z, [b, n]) as tf.Tensor2D; // [b, n]
      s = c.head === 'signed' ? logits : (tf.sigmoid(logits) as tf.Tensor2D); // [b, n]
      if (c.classFrame === 'sign') s = tf.mul(s, tf.tensor2d(Float32Array.from({ length: b }, (_, r) => (targets![r] === 1 ? 1 : -1)), [b, 1])) as tf.Tensor2D; // class 1 as is, class 0 mirrored
    }
    // text: padding gets no mass
    return this.tokens.kind === 'token-id' ? (tf.mul(s, tf.cast(tf.notEqual(x, this.tokens.pad), 'float32')) as tf.Tensor2D) : s;
  }

  /** Explanations of nRows rows (no dropout), batched. x: [nRows, inputWidth] → [nRows, n]; `targets` as in `apply`. */
  async explain(x: Float32Array, nRows: number, targets?: ArrayLike<number>, maxBatchRows = explainerRowsPerPass(this.config)): Promise<Float32Array> {
    const n = this.config.nFeatures;
    const w = this.inputWidth;
    if (x.length !== nRows * w) throw new Error(`explain: expected ${nRows * w} values, got ${x.length}`);
    const out = new Float32Array(nRows * n);
    for (let start = 0; start < nRows; start += maxBatchRows) {
      const rows = Math.min(maxBatchRows, nRows - start);
      const t = targets ? Array.prototype.slice.call(targets, start, start + rows) : undefined;
      const y = tf.tidy(() => this.apply(tf.tensor2d(x.subarray(start * w, (start + rows) * w), [rows, w]), undefined, t)); // [rows, n]
      try {
        out.set(await y.data(), start * n);
      } finally {
        y.dispose();
      }
    }
    return out;
  }

  /** Current weight values by name (copies). */
  async weightValues(): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (const [name, v] of this.vars) out.set(name, (await v.data()) as Float32Array);
    return out;
  }

  /** model.json object (config + tfjs weights manifest) and the weights.bin bytes. */
  async serialize(): Promise<{ modelJson: ExplainerModelJson; weights: ArrayBuffer }> {
    const named = [...this.vars].map(([name, tensor]) => ({ name, tensor }));
    const { data, specs } = await tf.io.encodeWeights(named);
    return {
      modelJson: { format: EXPLAINER_FORMAT, version: 1, config: this.config, weightsManifest: [{ paths: ['weights.bin'], weights: specs }] },
      weights: data,
    };
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
    this.mean.dispose();
    this.invStd.dispose();
    this.gatherIndex?.dispose();
  }
}

/**
 * Rows of `table` ([V, d]) at token ids ([b, n], int32) → [b, n, d]. The gradient with respect to
 * the table is a scatter-add of the output gradient (scatterND sums repeated ids), not tf.gather's
 * own (UnsortedSegmentSum, which the wasm backend lacks). Call inside tf.tidy.
 */
export function embedLookup(table: tf.Tensor2D, ids: tf.Tensor2D): tf.Tensor3D {
  const [b, n] = ids.shape;
  const [V, d] = table.shape;
  const lookup = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [t, flat, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    save([flat]); // the ids, kept for the backward pass
    return {
      value: tf.reshape(tf.gather(t, flat), [b, n, d]), // [b, n, d]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [f] = saved; // [b·n]
        return [tf.scatterND(tf.reshape(f, [b * n, 1]), tf.reshape(dy, [b * n, d]), [V, d]), tf.zerosLike(f)]; // [V, d], none for the ids
      },
    };
  });
  return lookup(table, tf.reshape(ids, [b * n])) as tf.Tensor3D;
}

export interface ExplainerModelJson {
  format: typeof EXPLAINER_FORMAT;
  version: 1;
  config: ExplainerConfig;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

/** Rebuild an explainer from its model.json object and weights.bin bytes. */
export function loadExplainer(modelJson: unknown, weights: ArrayBuffer, source = 'explainer/model.json'): Explainer {
  const j = modelJson as Partial<ExplainerModelJson> | null;
  if (!j || j.format !== EXPLAINER_FORMAT || !j.config || !j.weightsManifest)
    throw new UserError(`${source} is not a DeepFaith explainer (format "${EXPLAINER_FORMAT}").`, 'Give the explainer folder written by `deepfaith run`.');
  try {
    validateConfig(j.config);
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`${source}: ${e.what}`, e.todo);
    throw e;
  }
  const specs = j.weightsManifest.flatMap((g) => g.weights);
  // weights.bin is the float32 tensors back to back in manifest order (tf.io.encodeWeights' layout)
  const values = new Map<string, Float32Array>();
  let offset = 0;
  for (const spec of specs) {
    if (spec.dtype !== 'float32' || spec.quantization)
      throw new UserError(`${source}: weight ${spec.name} is ${spec.dtype}${spec.quantization ? ' (quantised)' : ''}; only float32 is written by DeepFaith.`, 'Give the explainer folder written by `deepfaith run`.');
    const size = spec.shape.reduce((a, b) => a * b, 1);
    if (offset + size * 4 > weights.byteLength) throw new UserError(`${source}: weights.bin is shorter than its manifest.`, 'Copy the whole explainer folder again.');
    const v = new Float32Array(weights.slice(offset, offset + size * 4));
    // a NaN or ±Infinity weight would make every explanation NaN (written as null): refuse it by name
    let nan = 0;
    let inf = 0;
    let first = -1;
    for (let i = 0; i < v.length; i++)
      if (!Number.isFinite(v[i])) {
        if (Number.isNaN(v[i])) nan++;
        else inf++;
        if (first < 0) first = i;
      }
    if (first >= 0)
      throw new UserError(
        `${source}: weight "${spec.name}" (shape [${spec.shape.join(', ')}]) holds ${[nan ? `${nan} NaN` : '', inf ? `${inf} infinite` : ''].filter(Boolean).join(' and ')} value${nan + inf > 1 ? 's' : ''} (first at element ${first}).`,
        'The explainer was saved from a diverged training run or weights.bin is damaged: train it again (e.g. with a lower training.learningRate) or copy the folder again.',
      );
    values.set(spec.name, v);
    offset += size * 4;
  }
  // every weight the config needs must be in the file (a missing one would silently get its initial value)
  const missing = weightShapes(j.config).filter(([name]) => !values.has(name)).map(([name]) => name);
  if (missing.length)
    throw new UserError(
      `${source}: the weights manifest lacks ${missing.length > 3 ? `${missing.length} weights (${missing.slice(0, 3).join(', ')}, …)` : `weight${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`} that its config (${j.config.nLayers} layer${j.config.nLayers === 1 ? '' : 's'}, dModel ${j.config.dModel}) needs.`,
      'Give the explainer folder written by `deepfaith run`, with model.json and weights.bin from the same run.',
    );
  return new Explainer(j.config, values);
}
