/**
 * TargetModel and loadModelFromFiles: a hand-made GraphModel (tests/fixtures/models/graph-mlp,
 * written by scripts/make-test-models.ts) against a Float64 forward pass and closed-form
 * gradients; refusals of graphs tfjs cannot run; the file checks at load (missing, truncated and
 * too-long shards, NaN/Inf weights, the memory budget, extra shards, shard order).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isUserError } from '../errors';
import { useBackend } from '../../../tests/helpers/models';
import { FIXTURE_DIR, GRAPH_MLP, fixtureFiles } from '../../../scripts/make-test-models';
import { loadModelFromFiles, TargetModel, type ModelJsonLike } from './model';

beforeAll(() => useBackend('wasm'));

type Json = ModelJsonLike & { modelTopology: { node: { name: string; op: string; input?: string[]; attr?: Record<string, unknown> }[] } };

function buf(b: Uint8Array | Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function readFixture(dir: string): { json: Json; shards: Map<string, ArrayBuffer> } {
  const json = JSON.parse(readFileSync(join(FIXTURE_DIR, dir, 'model.json'), 'utf8')) as Json;
  const shards = new Map<string, ArrayBuffer>();
  for (const g of json.weightsManifest ?? []) for (const p of g.paths) shards.set(p, buf(readFileSync(join(FIXTURE_DIR, dir, p))));
  return { json, shards };
}

/** The promise's rejection, which must be a UserError. */
async function userError(p: Promise<unknown>): Promise<Error> {
  let caught: unknown;
  try {
    const m = await p;
    if (m instanceof TargetModel) m.dispose();
  } catch (e) {
    caught = e;
  }
  expect(isUserError(caught), `expected a UserError, got ${String(caught)}`).toBe(true);
  return caught as Error;
}

// ---- the graph-mlp forward pass and its gradients in double precision ----------------------------

interface Fwd {
  z: number[]; // hidden pre-activations [4]
  logits: number[]; // [3]
  p: number[]; // softmax [3]
}

function forward64(x: number[]): Fwd {
  const { w1, b1, w2, b2 } = GRAPH_MLP;
  const z = b1.map((b, j) => b + x.reduce((s, xi, i) => s + xi * w1[i][j], 0));
  const a = z.map((v) => Math.max(0, v));
  const logits = b2.map((b, k) => b + a.reduce((s, aj, j) => s + aj * w2[j][k], 0));
  const mx = Math.max(...logits);
  const e = logits.map((v) => Math.exp(v - mx));
  const s = e.reduce((u, v) => u + v, 0);
  return { z, logits, p: e.map((v) => v / s) };
}

/** ∂out/∂x for a given ∂out/∂logits: W1 · diag(relu'(z)) · W2 · dLogits. */
function backToInput(f: Fwd, dLogits: number[]): number[] {
  const { w1, w2 } = GRAPH_MLP;
  const dz = f.z.map((zj, j) => (zj > 0 ? dLogits.reduce((s, d, k) => s + d * w2[j][k], 0) : 0));
  return w1.map((row) => row.reduce((s, w, j) => s + w * dz[j], 0));
}

const ROWS = [
  [1, 2, 3],
  [-1, 0.5, 0],
  [0.3, -0.7, 1.1],
  [-2, -1, 0.5],
];

describe('fixtures', () => {
  it('the committed fixtures are exactly what scripts/make-test-models.ts writes', () => {
    for (const [rel, bytes] of fixtureFiles()) expect(Buffer.compare(readFileSync(join(FIXTURE_DIR, rel)), Buffer.from(bytes)), rel).toBe(0);
  });
});

describe('GraphModel (graph-mlp fixture)', () => {
  it('the test rows exercise both sides of the ReLU', () => {
    const z = ROWS.flatMap((r) => forward64(r).z);
    expect(z.some((v) => v > 0.05)).toBe(true);
    expect(z.some((v) => v < -0.05)).toBe(true);
  });

  it('loads: width 3 from the Placeholder, 3 outputs measured by the warm-up, softmax head; the warm-up is not counted', async () => {
    const { json, shards } = readFixture('graph-mlp');
    const before = tf.memory().numTensors;
    const m = await loadModelFromFiles(json, shards, 'graph-mlp/model.json');
    try {
      expect(m.isLayersModel).toBe(false);
      expect(m.model.outputs[0].shape).toBeUndefined(); // the graph does not state its output shape
      expect(m.nFeatures).toBe(3);
      expect(m.nOutputs).toBe(3);
      expect(m.head).toBe('softmax');
      expect(m.nClasses('probability')).toBe(3);
      expect(m.forwardPasses).toBe(0);
      expect(m.rowsEvaluated).toBe(0);
      // without the measured width the synchronous constructor refuses, pointing to create()
      let caught: unknown;
      try {
        new TargetModel(m.model);
      } catch (e) {
        caught = e;
      }
      expect(isUserError(caught)).toBe(true);
      expect((caught as Error).message).toMatch(/does not state the width of its output.*TargetModel\.create/);
    } finally {
      m.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('predictions equal the Float64 forward pass (probability, logit, raw) within 1e-5', async () => {
    const { json, shards } = readFixture('graph-mlp');
    const m = await loadModelFromFiles(json, shards, 'graph-mlp/model.json');
    try {
      const x = Float32Array.from(ROWS.flat());
      const prob = await m.predict(x, ROWS.length, 'probability');
      const logit = await m.predict(x, ROWS.length, 'logit');
      const raw = await m.predict(x, ROWS.length, 'raw');
      expect(m.forwardPasses).toBe(3);
      ROWS.forEach((r, i) => {
        const f = forward64(r);
        for (let k = 0; k < 3; k++) {
          expect(Math.abs(prob[i * 3 + k] - f.p[k])).toBeLessThan(1e-5);
          expect(Math.abs(raw[i * 3 + k] - f.p[k])).toBeLessThan(1e-5); // the model's own output is the softmax
          expect(Math.abs(logit[i * 3 + k] - Math.log(f.p[k] + 1e-12))).toBeLessThan(1e-5 * Math.max(1, Math.abs(Math.log(f.p[k]))));
        }
      });
      // the Float64 reference itself, by hand on two rows (all weights are exact binary fractions)
      // [1, 2, 3]: z = [0.125+0.5−1.5+3.75, −0.25−1+1+0.75, 0.0625+0.25+2−1.5, 1.5−1+2.25], all > 0
      expect(forward64(ROWS[0]).z).toEqual([2.875, 0.5, 0.8125, 2.75]);
      expect(forward64(ROWS[0]).logits).toEqual([4.09375, -3.40625, 2.21875]);
      // [−1, 0.5, 0]: z = [−0.75, 1, 0.3125, −1.75], a = [0, 1, 0.3125, 0]
      expect(forward64(ROWS[1]).z).toEqual([-0.75, 1, 0.3125, -1.75]);
      expect(forward64(ROWS[1]).logits).toEqual([-0.09375, 1.15625, 0.1875]);
      const e1 = [Math.exp(-0.09375), Math.exp(1.15625), Math.exp(0.1875)];
      const s1 = e1[0] + e1[1] + e1[2];
      for (let k = 0; k < 3; k++) expect(Math.abs(prob[3 + k] - e1[k] / s1)).toBeLessThan(1e-6);
    } finally {
      m.dispose();
    }
  });

  it('gradient() through the graph equals the closed form: ∂p_k/∂x = W1·diag(relu′)·W2·p_k(e_k − p), and ∂log p_k/∂x with (e_k − p)', async () => {
    const { json, shards } = readFixture('graph-mlp');
    const m = await loadModelFromFiles(json, shards, 'graph-mlp/model.json');
    try {
      const x = Float32Array.from(ROWS.flat());
      const target = [0, 1, 2, 0];
      const before = tf.memory().numTensors;
      const gp = await m.gradient(x, ROWS.length, target, 'probability');
      const gl = await m.gradient(x, ROWS.length, target, 'logit');
      expect(tf.memory().numTensors).toBe(before);
      ROWS.forEach((r, i) => {
        const f = forward64(r);
        const k = target[i];
        const dp = f.p.map((pj, j) => f.p[k] * ((j === k ? 1 : 0) - pj));
        const dl = f.p.map((pj, j) => (j === k ? 1 : 0) - pj);
        const ep = backToInput(f, dp);
        const el = backToInput(f, dl);
        expect(Math.abs(gp.value[i] - f.p[k])).toBeLessThan(1e-5);
        for (let j = 0; j < 3; j++) {
          expect(Math.abs(gp.grad[i * 3 + j] - ep[j])).toBeLessThan(1e-5);
          expect(Math.abs(gl.grad[i * 3 + j] - el[j])).toBeLessThan(1e-4);
        }
      });
      // the closed form is not trivially zero
      expect(Math.max(...backToInput(forward64(ROWS[0]), [1, -1, 0]).map(Math.abs))).toBeGreaterThan(0.5);
    } finally {
      m.dispose();
    }
  });

  it('reads the input width from the signature when the Placeholder has no shape, and looks through an output Identity for the head', async () => {
    const { json, shards } = readFixture('graph-mlp');
    const j = structuredClone(json) as Json & { signature?: unknown };
    const ph = j.modelTopology.node.find((nd) => nd.name === 'x')!;
    delete ph.attr!.shape;
    j.modelTopology.node.push({ name: 'Identity', op: 'Identity', input: ['probs'], attr: { T: { type: 'DT_FLOAT' } } });
    j.signature = {
      inputs: { features: { name: 'x:0', dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '-1' }, { size: '3' }] } } },
      outputs: { output_0: { name: 'Identity:0', dtype: 'DT_FLOAT', tensorShape: { unknownRank: true } } },
    };
    const m = await loadModelFromFiles(j, shards, 'sig/model.json');
    try {
      expect(m.nFeatures).toBe(3);
      expect(m.nOutputs).toBe(3);
      expect(m.head).toBe('softmax');
      const p = await m.predict(Float32Array.from(ROWS[2]), 1, 'probability');
      const f = forward64(ROWS[2]);
      for (let k = 0; k < 3; k++) expect(Math.abs(p[k] - f.p[k])).toBeLessThan(1e-5);
    } finally {
      m.dispose();
    }
  });

  it('refuses an input without a fixed width, naming the input and its shape', async () => {
    const { json, shards } = readFixture('graph-mlp');
    const j = structuredClone(json);
    (j.modelTopology.node.find((nd) => nd.name === 'x')!.attr as { shape: unknown }).shape = { shape: { dim: [{ size: '-1' }, { size: '-1' }] } };
    const e = await userError(loadModelFromFiles(j, shards, 'wide/model.json'));
    expect(e.message).toMatch(/wide\/model\.json's input "x" has shape \[\?, \?\]/);
  });

  it('refuses a graph with made-up ops at load, naming every op and its node, and frees the model', async () => {
    const { json, shards } = readFixture('graph-mlp');
    const j = structuredClone(json);
    j.modelTopology.node.find((nd) => nd.name === 'Relu')!.op = 'FancyRelu';
    j.modelTopology.node.find((nd) => nd.name === 'probs')!.op = 'MysterySoftmax';
    const before = tf.memory().numTensors;
    const e = await userError(loadModelFromFiles(j, shards, 'odd/model.json'));
    expect(e.message).toMatch(/odd\/model\.json uses ops that TensorFlow\.js cannot run: FancyRelu \(node "Relu"\), MysterySoftmax \(node "probs"\)/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('an op the backend does not implement (Einsum on wasm) is refused at load, naming the op and the backend', async () => {
    const { json, shards } = readFixture('graph-mlp');
    const j = structuredClone(json);
    const mm = j.modelTopology.node.find((nd) => nd.name === 'MatMul')!;
    mm.op = 'Einsum';
    mm.attr = { equation: { s: btoa('ij,jk->ik') }, N: { i: '2' }, T: { type: 'DT_FLOAT' } };
    const before = tf.memory().numTensors;
    const e = await userError(loadModelFromFiles(j, shards, 'ein/model.json'));
    expect(e.message).toMatch(/ein\/model\.json uses the op Einsum, which the TensorFlow\.js wasm backend does not implement/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('an op without a gradient: predictions work, gradient() says which op has no gradient', async () => {
    const { json, shards } = readFixture('graph-mlp');
    const j = structuredClone(json);
    // x → Cumprod(x, axis 1) → MatMul …; the axis is an int32 Const stored after the float weights
    j.modelTopology.node.push(
      { name: 'axis', op: 'Const', attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: {} } } } },
      { name: 'cumprod', op: 'Cumprod', input: ['x', 'axis'], attr: { T: { type: 'DT_FLOAT' }, Tidx: { type: 'DT_INT32' }, exclusive: { b: false }, reverse: { b: false } } },
    );
    j.modelTopology.node.find((nd) => nd.name === 'MatMul')!.input = ['cumprod', 'W1'];
    j.weightsManifest![0].weights.push({ name: 'axis', shape: [], dtype: 'int32' });
    const bin = new Uint8Array(shards.get('weights.bin')!.byteLength + 4);
    bin.set(new Uint8Array(shards.get('weights.bin')!));
    new DataView(bin.buffer).setInt32(bin.length - 4, 1, true);
    const m = await loadModelFromFiles(j, new Map([['weights.bin', bin.buffer]]), 'cum/model.json');
    try {
      const r = [0.5, 2, -1];
      const p = await m.predict(Float32Array.from(r), 1, 'probability');
      const f = forward64([r[0], r[0] * r[1], r[0] * r[1] * r[2]]);
      for (let k = 0; k < 3; k++) expect(Math.abs(p[k] - f.p[k])).toBeLessThan(1e-5);
      const before = tf.memory().numTensors;
      const e = await userError(m.gradient(Float32Array.from(r), 1, [0], 'probability'));
      expect(e.message).toMatch(/cum\/model\.json uses the op Cumprod \(graph node "cumprod"\), which has no gradient in TensorFlow\.js/);
      expect(e.message).toMatch(/feature-ablation/);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      m.dispose();
    }
  });
});

// ---- file checks on a tiny Layers model -------------------------------------------------------

/** hidden: Dense 3→2 relu (kernel 6 + bias 2 floats), probs: Dense 2→2 softmax (4 + 2): 14 floats = 56 bytes. */
function tinyLayers(): tf.Sequential {
  const m = tf.sequential();
  m.add(tf.layers.dense({ name: 'hidden', inputShape: [3], units: 2, activation: 'relu' }));
  m.add(tf.layers.dense({ name: 'probs', units: 2, activation: 'softmax' }));
  const w = [
    tf.tensor2d([
      [1, -1],
      [0.5, 2],
      [-0.5, 0.25],
    ]),
    tf.tensor1d([0.1, -0.2]),
    tf.tensor2d([
      [1, -2],
      [0.75, 0.5],
    ]),
    tf.tensor1d([0, 0.3]),
  ];
  m.setWeights(w);
  w.forEach((t) => t.dispose());
  return m;
}

interface Saved {
  topology: unknown;
  specs: tf.io.WeightsManifestEntry[];
  data: Uint8Array;
}

async function saveTiny(): Promise<Saved> {
  const m = tinyLayers();
  try {
    let saved: Saved | undefined;
    await m.save(
      tf.io.withSaveHandler(async (a) => {
        saved = { topology: a.modelTopology, specs: a.weightSpecs!, data: new Uint8Array(a.weightData as ArrayBuffer).slice() };
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    return saved!;
  } finally {
    m.dispose();
  }
}

/** model.json with the weights in the given shard files (byte ranges of the saved weight data). */
function jsonFor(s: Saved, paths: string[]): ModelJsonLike {
  return { format: 'layers-model', modelTopology: s.topology, weightsManifest: [{ paths, weights: s.specs as unknown[] }] };
}

const X = Float32Array.from([1, 2, 3, -1, 0.5, 0.25]);

async function reference(): Promise<Float32Array> {
  const m = new TargetModel(tinyLayers());
  try {
    return await m.predict(X, 2, 'probability');
  } finally {
    m.dispose();
  }
}

describe('model files checked at load', () => {
  it('the saved tiny model is 56 bytes in the expected spec order, and loads to the same predictions', async () => {
    const s = await saveTiny();
    expect(s.data.byteLength).toBe(56);
    expect(s.specs.map((w) => w.name)).toEqual(['hidden/kernel', 'hidden/bias', 'probs/kernel', 'probs/bias']);
    const m = await loadModelFromFiles(jsonFor(s, ['weights.bin']), new Map([['weights.bin', buf(s.data)]]), 'tiny/model.json');
    try {
      expect(Array.from(await m.predict(X, 2, 'probability'))).toEqual(Array.from(await reference()));
      expect(m.isLayersModel).toBe(true);
      expect(m.head).toBe('softmax');
    } finally {
      m.dispose();
    }
  });

  it('TargetModel.create on a LayersModel: same widths and head as the constructor; a trailing Dropout does not hide the softmax head', async () => {
    const m = tinyLayers();
    m.add(tf.layers.dropout({ rate: 0.5 }));
    const t = await TargetModel.create(m);
    try {
      expect([t.nFeatures, t.nOutputs, t.head, t.forwardPasses]).toEqual([3, 2, 'softmax', 0]);
      const c = new TargetModel(m);
      expect([c.nFeatures, c.nOutputs, c.head]).toEqual([3, 2, 'softmax']);
    } finally {
      t.dispose();
    }
  });

  it('model.json without its shard: refused at once, naming the file', async () => {
    const s = await saveTiny();
    const e = await userError(loadModelFromFiles(jsonFor(s, ['weights.bin']), new Map(), 'tiny/model.json'));
    expect(e.message).toMatch(/tiny\/model\.json needs weight file weights\.bin, which was not provided/);
  });

  it('a truncated shard: names the file, its size and the size the manifest needs', async () => {
    const s = await saveTiny();
    const e = await userError(loadModelFromFiles(jsonFor(s, ['weights.bin']), new Map([['weights.bin', buf(s.data.subarray(0, 52))]]), 'tiny/model.json'));
    expect(e.message).toMatch(/weight file weights\.bin is 52 bytes, but its weightsManifest needs 56 bytes for the 4 weights stored there \(4 bytes missing: the file is truncated\)/);
  });

  it('a too-long shard: names the file, its size and the size needed', async () => {
    const s = await saveTiny();
    const long = new Uint8Array(64);
    long.set(s.data);
    const e = await userError(loadModelFromFiles(jsonFor(s, ['weights.bin']), new Map([['weights.bin', long.buffer]]), 'tiny/model.json'));
    expect(e.message).toMatch(/weight file weights\.bin is 64 bytes, but its weightsManifest needs 56 bytes .*8 bytes too many/);
  });

  it('a group of two shards, the second truncated: names both files with their sizes', async () => {
    const s = await saveTiny();
    const shards = new Map([
      ['group1-shard1of2.bin', buf(s.data.subarray(0, 32))],
      ['group1-shard2of2.bin', buf(s.data.subarray(32, 50))],
    ]);
    const e = await userError(loadModelFromFiles(jsonFor(s, ['group1-shard1of2.bin', 'group1-shard2of2.bin']), shards, 'two/model.json'));
    expect(e.message).toMatch(/weight files group1-shard1of2\.bin \(32 bytes\) \+ group1-shard2of2\.bin \(18 bytes\) hold 50 bytes, but its weightsManifest needs 56 bytes/);
  });

  it('shards in any order, and extra files, are fine: the manifest order is used', async () => {
    const s = await saveTiny();
    const json = jsonFor(s, ['group1-shard1of2.bin', 'group1-shard2of2.bin']);
    const shards = new Map([
      ['unrelated.bin', buf(new Uint8Array(12).fill(0xff))], // NaN bytes, in a file nobody asked for
      ['group1-shard2of2.bin', buf(s.data.subarray(20))],
      ['notes.txt', buf(new TextEncoder().encode('hello'))],
      ['dir/group1-shard1of2.bin', buf(s.data.subarray(0, 20))],
    ]);
    const m = await loadModelFromFiles(json, shards, 'two/model.json');
    try {
      expect(Array.from(await m.predict(X, 2, 'probability'))).toEqual(Array.from(await reference()));
    } finally {
      m.dispose();
    }
  });

  it('a NaN weight is refused naming the weight, its layer and the element', async () => {
    const s = await saveTiny();
    const bad = s.data.slice();
    new DataView(bad.buffer).setFloat32((8 + 1) * 4, NaN, true); // probs/kernel starts after 6 + 2 floats; element 1
    const before = tf.memory().numTensors;
    const e = await userError(loadModelFromFiles(jsonFor(s, ['weights.bin']), new Map([['weights.bin', bad.buffer]]), 'tiny/model.json'));
    expect(e.message).toMatch(/weight "probs\/kernel" \(layer probs\), shape \[2, 2\] in weights\.bin, holds 1 NaN value \(first at element 1\)/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('infinite weights are refused too, counted', async () => {
    const s = await saveTiny();
    const bad = s.data.slice();
    const v = new DataView(bad.buffer);
    v.setFloat32(6 * 4, Infinity, true); // hidden/bias[0]
    v.setFloat32(7 * 4, -Infinity, true); // hidden/bias[1]
    const e = await userError(loadModelFromFiles(jsonFor(s, ['weights.bin']), new Map([['weights.bin', bad.buffer]]), 'tiny/model.json'));
    expect(e.message).toMatch(/weight "hidden\/bias" \(layer hidden\), shape \[2\] in weights\.bin, holds 2 infinite values \(first at element 0\)/);
  });

  it('the memory budget: 56 bytes of weights pass a 56-byte budget and are refused by a 55-byte one, before any shard is looked at', async () => {
    const s = await saveTiny();
    const json = jsonFor(s, ['weights.bin']);
    const ok = await loadModelFromFiles(json, new Map([['weights.bin', buf(s.data)]]), 'tiny/model.json', { maxWeightBytes: 56 });
    ok.dispose();
    const e = await userError(loadModelFromFiles(json, new Map(), 'tiny/model.json', { maxWeightBytes: 55 }));
    expect(e.message).toMatch(/tiny\/model\.json declares 56 bytes of weights, more than the memory budget of 55 bytes/);
  });

  it('the default budget (1 GiB) refuses a manifest declaring 4 GiB without reading any data', async () => {
    const s = await saveTiny();
    const json: ModelJsonLike = {
      format: 'layers-model',
      modelTopology: s.topology,
      weightsManifest: [{ paths: ['huge.bin'], weights: [{ name: 'hidden/kernel', shape: [1 << 20, 1 << 10], dtype: 'float32' }] }],
    };
    const e = await userError(loadModelFromFiles(json, new Map(), 'huge/model.json'));
    expect(e.message).toMatch(/declares 4294967296 bytes \(4\.0 GiB\) of weights, more than the memory budget of 1073741824 bytes \(1\.0 GiB\)/);
  });

  it('a malformed manifest entry is named', async () => {
    const s = await saveTiny();
    const json: ModelJsonLike = { format: 'layers-model', modelTopology: s.topology, weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'hidden/kernel', shape: [3, -2], dtype: 'float32' }] }] };
    const e = await userError(loadModelFromFiles(json, new Map([['w.bin', new ArrayBuffer(0)]]), 'bad/model.json'));
    expect(e.message).toMatch(/malformed weightsManifest: weight "hidden\/kernel" has no valid shape/);
  });
});
