/**
 * Dev-time: the text demo `sentiment` — its data.csv, vocab.json and classifier — built
 * deterministically on the wasm backend (running it twice writes the same bytes).
 *
 *   npx tsx scripts/train-text-demo.ts [--out-dir DIR]   (default public/demos)
 *
 * Data: the labelled sentences of the npm package sentiment@5.0.2, test/fixtures/{imdb,amazon,yelp}.json
 * (the UCI "Sentiment Labelled Sentences", Kotzias et al. 2015; the package is MIT), copied into
 * public/demos/sentiment/fixtures/ with the package's LICENSE.md. data.csv has the columns text,
 * label (0 negative, 1 positive) and source (imdb, amazon, yelp), rows in the fixtures' order
 * (imdb, amazon, yelp), written with papaparse: the 3,000 sentences (each file's last record, an empty
 * text with class null, is left out).
 *
 * Split: the seeded 80/20 split of the other demos (`split|sentiment|0`, core/data/demos.ts).
 * Vocabulary: from the training rows only — every word (the default tokenizer, lower-cased) seen at
 * least MIN_COUNT times there, most frequent first (ties in code-unit order), after "<pad>" (0) and
 * "<unk>" (1); maxLength L = 32 (95 % of the sentences are shorter). The texts are then read by the
 * project's own text functions (core/data/text.ts), so the model sees exactly a task's numbers.
 *
 * Model (a Sequential of standard layers, so gradient methods split it after its Embedding):
 *   Embedding V→D → Conv1D (F filters, width 3, 'same', ReLU) → GlobalMaxPooling1D → Dense 2 softmax
 * Trained on raw tf ops: the embedding lookup as a one-hot matrix product and the convolution as a
 * product of the three shifted copies of the sequence (im2col), whose gradients use only ops the wasm
 * backend has (it has no UnsortedSegmentSum for a gather's gradient, nor the filter gradient of a
 * convolution); seeded initial weights (uniform ±0.05 embeddings, Glorot-uniform kernels, zero
 * biases), Adam with its epsilon given, softmax cross-entropy, mini-batches from a seeded shuffle per
 * epoch. The trained weights are copied into the Sequential that is saved, whose predictions are
 * checked against the training graph's; meta.json records the held-out accuracy computed through the
 * saved model.
 */
import * as tf from '@tensorflow/tfjs';
import Papa from 'papaparse';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../src/core/backend';
import { getDemo, seededSplit, type DemoMeta } from '../src/core/data/demos';
import { encodeTable, parseVocab, readTextTable, tokenize } from '../src/core/data/text';
import { Seeder } from '../src/core/rng';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const demosDir = join(root, 'public', 'demos');

/** Every setting, in one place; recorded in meta.json as `trainedWith`. */
export const TEXT_CONFIG = {
  splitSeed: 0,
  testFraction: 0.2,
  minCount: 2,
  maxLength: 32,
  embedding: 32,
  filters: 64,
  kernel: 3,
  epochs: 8,
  batchSize: 32,
  learningRate: 0.003,
  adamEpsilon: 1e-7,
  initSeed: 1,
};

const SOURCES = ['imdb', 'amazon', 'yelp'] as const;

/** data.csv from the fixtures: text, label, source. */
export function sentimentCsv(fixturesDir: string): string {
  const rows: { text: string; label: number; source: string }[] = [];
  for (const s of SOURCES) {
    const items = JSON.parse(readFileSync(join(fixturesDir, `${s}.json`), 'utf8')) as { text: string; class: number }[];
    // each fixture ends with an empty record ({"text": "", "class": null}): left out
    for (const it of items) if (it.text.trim() !== '' && (it.class === 0 || it.class === 1)) rows.push({ text: it.text.trim(), label: it.class, source: s });
  }
  return Papa.unparse(rows, { columns: ['text', 'label', 'source'], newline: '\n', quotes: false }) + '\n';
}

/** vocab.json from the training texts. */
export function buildVocab(texts: string[], minCount: number, maxLength: number): string {
  const counts = new Map<string, number>();
  for (const t of texts) for (const w of tokenize(t, true)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const words = [...counts].filter(([, c]) => c >= minCount).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([w]) => w);
  const tokens = ['<pad>', '<unk>', ...words];
  return `{\n  "pad": 0,\n  "unk": 1,\n  "lowercase": true,\n  "maxLength": ${maxLength},\n  "tokens": [\n${tokens.map((t) => `    ${JSON.stringify(t)}`).join(',\n')}\n  ]\n}\n`;
}

/** Seeded uniform(−a, a) values: [n]. */
function uniform(seeder: Seeder, unit: string, n: number, a: number): Float32Array {
  const rng = seeder.rng(unit, 0);
  return Float32Array.from({ length: n }, () => (2 * rng.uniform() - 1) * a);
}

interface Net {
  emb: tf.Variable; // [V, D]
  conv: tf.Variable; // [k·D, F]
  convBias: tf.Variable; // [F]
  dense: tf.Variable; // [F, 2]
  denseBias: tf.Variable; // [2]
}

function buildNet(V: number): Net {
  const c = TEXT_CONFIG;
  const seeder = new Seeder(c.initSeed);
  const glorot = (fanIn: number, fanOut: number) => Math.sqrt(6 / (fanIn + fanOut));
  return {
    emb: tf.variable(tf.tensor2d(uniform(seeder, 'init|embedding', V * c.embedding, 0.05), [V, c.embedding]), true, 'train/embedding'),
    conv: tf.variable(tf.tensor2d(uniform(seeder, 'init|conv', c.kernel * c.embedding * c.filters, glorot(c.kernel * c.embedding, c.kernel * c.filters)), [c.kernel * c.embedding, c.filters]), true, 'train/conv'),
    convBias: tf.variable(tf.zeros([c.filters]), true, 'train/convBias'),
    dense: tf.variable(tf.tensor2d(uniform(seeder, 'init|dense', c.filters * 2, glorot(c.filters, 2)), [c.filters, 2]), true, 'train/dense'),
    denseBias: tf.variable(tf.zeros([2]), true, 'train/denseBias'),
  };
}

/** Logits of token-id rows [b, L] (int32). */
function logits(net: Net, ids: tf.Tensor2D, V: number): tf.Tensor2D {
  const { maxLength: L, embedding: D, kernel: k, filters: F } = TEXT_CONFIG;
  const b = ids.shape[0];
  const e = tf.reshape(tf.matMul(tf.reshape(tf.oneHot(ids, V), [b * L, V]), net.emb), [b, L, D]); // [b, L, D]
  const half = (k - 1) / 2;
  const padded = tf.pad(e, [
    [0, 0],
    [half, half],
    [0, 0],
  ]); // [b, L + k − 1, D]
  const cols = tf.concat(
    Array.from({ length: k }, (_, j) => tf.slice(padded, [0, j, 0], [b, L, D])),
    2,
  ); // [b, L, k·D]: offset j, then dimension d
  const h = tf.relu(tf.add(tf.reshape(tf.matMul(tf.reshape(cols, [b * L, k * D]), net.conv), [b, L, F]), net.convBias)); // [b, L, F]
  const pooled = tf.max(h, 1); // [b, F]
  return tf.add(tf.matMul(pooled, net.dense), net.denseBias) as tf.Tensor2D; // [b, 2]
}

function toSequential(net: Net, V: number): tf.Sequential {
  const { maxLength: L, embedding: D, kernel: k, filters: F } = TEXT_CONFIG;
  const m = tf.sequential({ name: 'sentiment_cnn' });
  m.add(tf.layers.embedding({ name: 'embedding', inputDim: V, outputDim: D, inputLength: L, inputShape: [L] }));
  m.add(tf.layers.conv1d({ name: 'conv', filters: F, kernelSize: k, padding: 'same', activation: 'relu' }));
  m.add(tf.layers.globalMaxPooling1d({ name: 'pool' }));
  m.add(tf.layers.dense({ name: 'probabilities', units: 2, activation: 'softmax' }));
  const w = tf.tidy(() => [net.emb.clone(), tf.reshape(net.conv, [k, D, F]), net.convBias.clone(), net.dense.clone(), net.denseBias.clone()]);
  m.setWeights(w);
  tf.dispose(w);
  return m;
}

function fileSaver(dir: string): tf.io.IOHandler {
  return tf.io.withSaveHandler(async (artifacts) => {
    mkdirSync(dir, { recursive: true });
    const weightData = artifacts.weightData as ArrayBuffer;
    const modelJson = { format: 'layers-model', generatedBy: artifacts.generatedBy, convertedBy: null, modelTopology: artifacts.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }] };
    writeFileSync(join(dir, 'model.json'), JSON.stringify(modelJson) + '\n');
    writeFileSync(join(dir, 'weights.bin'), new Uint8Array(weightData));
    return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON', weightDataBytes: weightData.byteLength } };
  });
}

async function predictIds(predict: (ids: tf.Tensor2D) => tf.Tensor, x: Float32Array, n: number): Promise<Float32Array> {
  const L = TEXT_CONFIG.maxLength;
  const y = tf.tidy(() => predict(tf.tensor2d(x.subarray(0, n * L), [n, L], 'int32') as tf.Tensor2D));
  try {
    return (await y.data()) as Float32Array;
  } finally {
    y.dispose();
  }
}

async function main(): Promise<void> {
  await initBackend('wasm');
  const args = process.argv.slice(2);
  const at = args.indexOf('--out-dir');
  const outDir = at >= 0 ? args[at + 1] : demosDir;
  const demo = getDemo('sentiment')!;
  const c = TEXT_CONFIG;
  const dir = join(outDir, 'sentiment');
  mkdirSync(dir, { recursive: true });
  const csv = sentimentCsv(join(demosDir, 'sentiment', 'fixtures'));
  writeFileSync(join(dir, 'data.csv'), csv);
  const table = readTextTable(csv, 'data.csv', { text: demo.text!, label: demo.label });
  const n = table.texts.length;
  const split = seededSplit(demo.id, n, c.splitSeed, c.testFraction);
  const vocabText = buildVocab(
    split.train.map((r) => table.texts[r]),
    c.minCount,
    c.maxLength,
  );
  writeFileSync(join(dir, 'vocab.json'), vocabText);
  const vocab = parseVocab(vocabText, 'vocab.json');
  const V = vocab.tokens.length;
  const { x, info } = encodeTable(table, vocab, 'data.csv', demo.text!);
  const L = c.maxLength;
  const gather = (rows: number[]) => {
    const xs = new Float32Array(rows.length * L);
    rows.forEach((r, i) => xs.set(x.subarray(r * L, (r + 1) * L), i * L));
    return { x: xs, y: Int32Array.from(rows, (r) => table.labels[r]) };
  };
  const train = gather(split.train);
  const test = gather(split.test);

  const net = buildNet(V);
  const vars = [net.emb, net.conv, net.convBias, net.dense, net.denseBias];
  const optimizer = tf.train.adam(c.learningRate, 0.9, 0.999, c.adamEpsilon);
  const seeder = new Seeder(c.splitSeed);
  let lastLoss = NaN;
  const t0 = performance.now();
  try {
    for (let epoch = 0; epoch < c.epochs; epoch++) {
      const order = seeder.rng('shuffle|sentiment', epoch).sampleWithoutReplacement(train.y.length, train.y.length);
      let sum = 0;
      let batches = 0;
      for (let start = 0; start < order.length; start += c.batchSize) {
        const idx = order.subarray(start, Math.min(start + c.batchSize, order.length));
        const xb = new Int32Array(idx.length * L);
        const yb = new Float32Array(idx.length * 2);
        idx.forEach((r, i) => {
          for (let t = 0; t < L; t++) xb[i * L + t] = train.x[r * L + t];
          yb[i * 2 + train.y[r]] = 1;
        });
        const loss = tf.tidy(() => {
          const ids = tf.tensor2d(xb, [idx.length, L], 'int32');
          const ys = tf.tensor2d(yb, [idx.length, 2]);
          return optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ys, logits(net, ids, V)) as tf.Scalar, true, vars)!;
        });
        sum += (await loss.data())[0];
        loss.dispose();
        batches++;
      }
      lastLoss = sum / batches;
      const p = await predictIds((ids) => tf.softmax(logits(net, ids, V)), test.x, test.y.length);
      let ok = 0;
      for (let i = 0; i < test.y.length; i++) if ((p[2 * i + 1] > p[2 * i] ? 1 : 0) === test.y[i]) ok++;
      console.log(`  sentiment epoch ${epoch + 1}/${c.epochs}: loss ${lastLoss.toFixed(4)}, held-out accuracy ${(ok / test.y.length).toFixed(4)}`);
    }
    const model = toSequential(net, V);
    let testAccuracy: number;
    try {
      const a = await predictIds((ids) => tf.softmax(logits(net, ids, V)), test.x, test.y.length);
      const b = await predictIds((ids) => model.predict(tf.cast(ids, 'float32')) as tf.Tensor, test.x, test.y.length);
      for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > 1e-4) throw new Error(`the Sequential model differs from the training graph (${a[i]} vs ${b[i]})`);
      let ok = 0;
      for (let i = 0; i < test.y.length; i++) if ((b[2 * i + 1] > b[2 * i] ? 1 : 0) === test.y[i]) ok++;
      testAccuracy = ok / test.y.length;
      await model.save(fileSaver(join(dir, 'model')));
    } finally {
      model.dispose();
    }
    const meta: DemoMeta = {
      id: demo.id,
      name: demo.name,
      label: demo.label,
      classNames: ['negative', 'positive'],
      featureNames: [],
      nRows: n,
      splitSeed: c.splitSeed,
      trainRows: split.train.length,
      testRows: split.test.length,
      testRowIndices: split.test,
      testAccuracy: Number(testAccuracy.toFixed(6)),
      finalTrainLoss: Number(lastLoss.toFixed(6)),
      trainedWith: {
        script: 'scripts/train-text-demo.ts',
        backend: 'wasm',
        data: 'sentiment@5.0.2 test/fixtures (imdb, amazon, yelp), rows in that order',
        vocabulary: `words seen ≥ ${c.minCount} times in the training rows, most frequent first, after <pad> and <unk>`,
        architecture: `embedding ${V}x${c.embedding} -> conv1d ${c.filters} x width ${c.kernel} same relu -> global max pooling -> dense 2 softmax`,
        optimizer: `adam lr ${c.learningRate} eps ${c.adamEpsilon}`,
        epochs: c.epochs,
        batchSize: c.batchSize,
        initSeed: c.initSeed,
        truncatedRows: info.truncatedRows.length,
      },
      text: { column: demo.text!, vocabSize: V, maxLength: L },
    };
    writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta, null, 2).replace(/\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]/g, (_, nums: string) => `[${nums.split(/,\s*/).join(', ')}]`) + '\n');
    console.log(`sentiment: vocabulary ${V} tokens, held-out accuracy ${meta.testAccuracy} (${meta.testRows} rows), train loss ${meta.finalTrainLoss}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    tf.dispose(vars);
    optimizer.dispose();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
