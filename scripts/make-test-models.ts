/**
 * Dev-time: write the small hand-made model fixtures under tests/fixtures/models/, byte for byte
 * the same on every run (no tfjs, no randomness: fixed weights, fixed JSON key order).
 *
 *   npx tsx scripts/make-test-models.ts           write the fixtures
 *   npx tsx scripts/make-test-models.ts --check   exit 1 if a committed fixture differs
 *
 * Fixtures:
 *   graph-mlp/            a tfjs graph model (format "graph-model") written by hand in the layout
 *                         tensorflowjs_converter produces: Placeholder x [-1, 3] → MatMul(W1 [3, 4])
 *                         → BiasAdd(b1) → Relu → MatMul(W2 [4, 3]) → AddV2(b2) → Softmax, the weights
 *                         as Const nodes in weights.bin. No signature, so the output shape is not
 *                         stated anywhere and must be measured (TargetModel.create).
 *   keras-mlp-inputlayer/ a layers model in the Keras → tensorflowjs_converter layout
 *                         (modelTopology.model_config, a Sequential whose layers[0] is an InputLayer,
 *                         a Dropout between the Dense layers): 2 inputs → 2 ReLU units → 1 linear unit,
 *                         the weights of RESCALE_NET (the DeepLIFT hand-computed test).
 * src/core/task/model.test.ts checks that the committed files equal `fixtureFiles()`.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Weights of graph-mlp, all exact in float32. w1: [3][4] (input × hidden), w2: [4][3] (hidden × class). */
export const GRAPH_MLP = {
  w1: [
    [0.5, -1.0, 0.25, 1.5],
    [-0.75, 0.5, 1.0, -0.5],
    [1.25, 0.25, -0.5, 0.75],
  ],
  b1: [0.125, -0.25, 0.0625, 0],
  w2: [
    [1.0, -0.5, 0.25],
    [-0.75, 1.25, 0.5],
    [0.5, 0.5, -1.0],
    [0.25, -1.0, 0.75],
  ],
  b2: [0.5, -0.25, 0],
};

/**
 * The DeepLIFT hand example: z = x·W1 + b1 (W1: [2 inputs][2 hidden]), a = relu(z), y = a·W2 + b2.
 * Hidden unit 0 is x0 + x1 + 0.5, hidden unit 1 is 2·x0 − x1 − 1, y = a0 + 2·a1 + 0.25.
 */
export const RESCALE_NET = {
  w1: [
    [1, 2],
    [1, -1],
  ],
  b1: [0.5, -1],
  w2: [[1], [2]],
  b2: [0.25],
};

const f32 = (rows: number[][] | number[]): number[] => (rows as (number | number[])[]).flat();

function weightsBin(arrays: number[][]): Uint8Array {
  const all = Float32Array.from(arrays.flat());
  return new Uint8Array(all.buffer);
}

const dim = (shape: number[]) => ({ dim: shape.map((s) => ({ size: String(s) })) });
const T = { type: 'DT_FLOAT' };

function constNode(name: string, shape: number[]) {
  return { name, op: 'Const', attr: { dtype: T, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dim(shape) } } } };
}

function graphMlp(): { json: string; bin: Uint8Array } {
  const { w1, b1, w2, b2 } = GRAPH_MLP;
  const topology = {
    node: [
      { name: 'x', op: 'Placeholder', attr: { dtype: T, shape: { shape: dim([-1, 3]) } } },
      constNode('W1', [3, 4]),
      constNode('b1', [4]),
      constNode('W2', [4, 3]),
      constNode('b2', [3]),
      { name: 'MatMul', op: 'MatMul', input: ['x', 'W1'], attr: { T, transpose_a: { b: false }, transpose_b: { b: false } } },
      { name: 'BiasAdd', op: 'BiasAdd', input: ['MatMul', 'b1'], attr: { T, data_format: { s: 'TkhXQw==' } } },
      { name: 'Relu', op: 'Relu', input: ['BiasAdd'], attr: { T } },
      { name: 'MatMul_1', op: 'MatMul', input: ['Relu', 'W2'], attr: { T, transpose_a: { b: false }, transpose_b: { b: false } } },
      { name: 'logits', op: 'AddV2', input: ['MatMul_1', 'b2'], attr: { T } },
      { name: 'probs', op: 'Softmax', input: ['logits'], attr: { T } },
    ],
    library: {},
    versions: { producer: 1482 },
  };
  const json = {
    format: 'graph-model',
    generatedBy: 'hand-written',
    convertedBy: 'scripts/make-test-models.ts',
    modelTopology: topology,
    weightsManifest: [
      {
        paths: ['weights.bin'],
        weights: [
          { name: 'W1', shape: [3, 4], dtype: 'float32' },
          { name: 'b1', shape: [4], dtype: 'float32' },
          { name: 'W2', shape: [4, 3], dtype: 'float32' },
          { name: 'b2', shape: [3], dtype: 'float32' },
        ],
      },
    ],
  };
  return { json: JSON.stringify(json, null, 2) + '\n', bin: weightsBin([f32(w1), b1, f32(w2), b2]) };
}

function denseConfig(name: string, units: number, activation: string) {
  return {
    class_name: 'Dense',
    config: {
      name,
      trainable: true,
      dtype: 'float32',
      units,
      activation,
      use_bias: true,
      kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
      bias_initializer: { class_name: 'Zeros', config: {} },
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
    },
  };
}

function kerasMlp(): { json: string; bin: Uint8Array } {
  const { w1, b1, w2, b2 } = RESCALE_NET;
  const json = {
    format: 'layers-model',
    generatedBy: 'keras v2.15.0 (layout; hand-written)',
    convertedBy: 'scripts/make-test-models.ts',
    modelTopology: {
      keras_version: '2.15.0',
      backend: 'tensorflow',
      model_config: {
        class_name: 'Sequential',
        config: {
          name: 'sequential',
          layers: [
            { class_name: 'InputLayer', config: { batch_input_shape: [null, 2], dtype: 'float32', sparse: false, ragged: false, name: 'input_1' } },
            denseConfig('dense', 2, 'relu'),
            { class_name: 'Dropout', config: { name: 'dropout', trainable: true, dtype: 'float32', rate: 0.5, noise_shape: null, seed: null } },
            denseConfig('dense_1', 1, 'linear'),
          ],
        },
      },
    },
    weightsManifest: [
      {
        paths: ['group1-shard1of1.bin'],
        weights: [
          { name: 'dense/kernel', shape: [2, 2], dtype: 'float32' },
          { name: 'dense/bias', shape: [2], dtype: 'float32' },
          { name: 'dense_1/kernel', shape: [2, 1], dtype: 'float32' },
          { name: 'dense_1/bias', shape: [1], dtype: 'float32' },
        ],
      },
    ],
  };
  return { json: JSON.stringify(json, null, 2) + '\n', bin: weightsBin([f32(w1), b1, f32(w2), b2]) };
}

/** Every fixture file: path relative to tests/fixtures/models → bytes. */
export function fixtureFiles(): Map<string, Uint8Array> {
  const enc = new TextEncoder();
  const out = new Map<string, Uint8Array>();
  const g = graphMlp();
  out.set('graph-mlp/model.json', enc.encode(g.json));
  out.set('graph-mlp/weights.bin', g.bin);
  const k = kerasMlp();
  out.set('keras-mlp-inputlayer/model.json', enc.encode(k.json));
  out.set('keras-mlp-inputlayer/group1-shard1of1.bin', k.bin);
  return out;
}

export const FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'tests', 'fixtures', 'models');

function main(): void {
  const check = process.argv.includes('--check');
  let differ = 0;
  for (const [rel, bytes] of fixtureFiles()) {
    const path = join(FIXTURE_DIR, rel);
    const same = existsSync(path) && Buffer.compare(readFileSync(path), Buffer.from(bytes)) === 0;
    if (check) {
      if (!same) {
        console.error(`differs: ${path}`);
        differ++;
      }
      continue;
    }
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
    console.log(`${same ? 'unchanged' : 'wrote'} ${path} (${bytes.length} bytes)`);
  }
  if (differ) process.exit(1);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
