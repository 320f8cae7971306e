/**
 * Dev-time: train the demo target models, deterministically.
 *
 *   npx tsx scripts/train-demos.ts [id…] [--out-dir DIR]   (default: every demo, into public/demos)
 *
 * For each demo in public/demos/<id>/data.csv: a seeded 80/20 split of the rows (Alea PRNG of
 * src/core/rng.ts, seed string `split|<id>|<seed>`), a small MLP — a Sequential of Dense layers only,
 * so DeepLIFT's Rescale rule applies:
 *   standardise  Dense n→n, linear, not trainable: kernel diag(1/std), bias −mean/std of the
 *                training split (population std; a constant feature keeps std 1)
 *   hidden1      Dense n→16, ReLU      hidden2  Dense 16→16, ReLU      probabilities  Dense 16→K, softmax
 * — seeded Glorot-uniform initialisers, Adam (epsilon given explicitly) on categorical cross-entropy,
 * mini-batches from a seeded shuffle per epoch (`shuffle|<id>|<seed>`, row = epoch), on the wasm backend.
 * Writes public/demos/<id>/model/{model.json, weights.bin} through a custom tf.io save handler and
 * public/demos/<id>/meta.json with the test accuracy. Running it twice writes the same bytes.
 *
 * Image demos (digits, fashion): a small CNN each, trained by scripts/train-image-demos.ts (see there).
 * The text demo (sentiment) has its own script, scripts/train-text-demo.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../src/core/backend';
import { parseCsv, type Dataset } from '../src/core/data/csv';
import { DEMOS, seededSplit, type DemoMeta, type DemoTask } from '../src/core/data/demos';
import { Seeder } from '../src/core/rng';
import { trainImageDemo } from './train-image-demos';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const demosDir = join(root, 'public', 'demos');

/** Every training setting, in one place; recorded in meta.json as `trainedWith`. */
const defaults = {
  splitSeed: 0,
  testFraction: 0.2,
  hidden: [16, 16],
  epochs: 40,
  batchSize: 16,
  learningRate: 0.01,
  adamEpsilon: 1e-7,
  initSeed: 1,
};

function gather(data: Dataset, rows: number[]): { x: Float32Array; y: Int32Array } {
  const n = data.nFeatures;
  const x = new Float32Array(rows.length * n);
  const y = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    x.set(data.x.subarray(r * n, (r + 1) * n), i * n);
    y[i] = data.labels[r];
  });
  return { x, y };
}

function buildModel(id: string, nFeatures: number, nClasses: number, mean: Float32Array, std: Float32Array): tf.Sequential {
  const s = defaults.initSeed;
  const model = tf.sequential({ name: `${id}_mlp` });
  model.add(tf.layers.dense({ name: 'standardise', inputShape: [nFeatures], units: nFeatures, activation: 'linear', trainable: false }));
  defaults.hidden.forEach((units, i) =>
    model.add(tf.layers.dense({ name: `hidden${i + 1}`, units, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: s + 2 * i }), biasInitializer: 'zeros' })),
  );
  model.add(tf.layers.dense({ name: 'probabilities', units: nClasses, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: s + 100 }), biasInitializer: 'zeros' }));
  const diag = new Float32Array(nFeatures * nFeatures);
  const bias = new Float32Array(nFeatures);
  for (let j = 0; j < nFeatures; j++) {
    diag[j * nFeatures + j] = 1 / std[j];
    bias[j] = -mean[j] / std[j];
  }
  const kernel = tf.tensor2d(diag, [nFeatures, nFeatures]); // [nFeatures, nFeatures] diag(1/std)
  const b = tf.tensor1d(bias); // [nFeatures] −mean/std
  model.layers[0].setWeights([kernel, b]);
  kernel.dispose();
  b.dispose();
  return model;
}

/** Save handler writing model.json + weights.bin; no training config (the files are for inference). */
function fileSaver(dir: string): tf.io.IOHandler {
  return tf.io.withSaveHandler(async (artifacts) => {
    mkdirSync(dir, { recursive: true });
    const weightData = artifacts.weightData as ArrayBuffer;
    const modelJson = {
      format: 'layers-model',
      generatedBy: artifacts.generatedBy,
      convertedBy: null,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
    };
    writeFileSync(join(dir, 'model.json'), JSON.stringify(modelJson) + '\n');
    writeFileSync(join(dir, 'weights.bin'), new Uint8Array(weightData));
    return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON', weightDataBytes: weightData.byteLength } };
  });
}

async function trainDemo(demo: DemoTask, classNamesBySource: Record<string, string[]>, outDir: string): Promise<DemoMeta> {
  const csvPath = join(demosDir, demo.data);
  const data = parseCsv(readFileSync(csvPath, 'utf8'), csvPath, { label: demo.label });
  const classNames = classNamesBySource[demo.id] ?? data.classNames;
  const nClasses = classNames.length;
  const n = data.nFeatures;
  const { train, test } = seededSplit(demo.id, data.nRows, defaults.splitSeed, defaults.testFraction);
  const tr = gather(data, train);
  const te = gather(data, test);
  const mean = new Float32Array(n);
  const std = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < train.length; i++) s += tr.x[i * n + j];
    const m = s / train.length;
    let v = 0;
    for (let i = 0; i < train.length; i++) v += (tr.x[i * n + j] - m) ** 2;
    mean[j] = m;
    std[j] = Math.sqrt(v / train.length) || 1;
  }
  const model = buildModel(demo.id, n, nClasses, mean, std);
  const optimizer = tf.train.adam(defaults.learningRate, 0.9, 0.999, defaults.adamEpsilon);
  try {
    model.compile({ optimizer, loss: 'categoricalCrossentropy' });
    const seeder = new Seeder(defaults.splitSeed);
    const bs = defaults.batchSize;
    let lastLoss = NaN;
    for (let epoch = 0; epoch < defaults.epochs; epoch++) {
      const order = seeder.rng(`shuffle|${demo.id}`, epoch).sampleWithoutReplacement(train.length, train.length);
      let sum = 0;
      for (let start = 0; start < order.length; start += bs) {
        const idx = order.subarray(start, Math.min(start + bs, order.length));
        const xb = new Float32Array(idx.length * n);
        const yb = new Float32Array(idx.length * nClasses);
        idx.forEach((r, i) => {
          xb.set(tr.x.subarray(r * n, (r + 1) * n), i * n);
          yb[i * nClasses + tr.y[r]] = 1;
        });
        const xs = tf.tensor2d(xb, [idx.length, n]); // [batch, nFeatures]
        const ys = tf.tensor2d(yb, [idx.length, nClasses]); // [batch, nClasses] one-hot
        try {
          sum += (await model.trainOnBatch(xs, ys)) as number;
        } finally {
          xs.dispose();
          ys.dispose();
        }
      }
      lastLoss = sum / Math.ceil(order.length / bs);
    }
    const probs = tf.tidy(() => model.predict(tf.tensor2d(te.x, [test.length, n])) as tf.Tensor2D); // [nTest, nClasses]
    const p = await probs.data();
    probs.dispose();
    let correct = 0;
    for (let i = 0; i < test.length; i++) {
      let best = 0;
      for (let c = 1; c < nClasses; c++) if (p[i * nClasses + c] > p[i * nClasses + best]) best = c;
      if (best === te.y[i]) correct++;
    }
    await model.save(fileSaver(join(outDir, demo.id, 'model')));
    const meta: DemoMeta = {
      id: demo.id,
      name: demo.name,
      label: demo.label,
      classNames,
      featureNames: data.featureNames,
      nRows: data.nRows,
      splitSeed: defaults.splitSeed,
      trainRows: train.length,
      testRows: test.length,
      testRowIndices: test,
      testAccuracy: Number((correct / test.length).toFixed(6)),
      finalTrainLoss: Number(lastLoss.toFixed(6)),
      trainedWith: {
        script: 'scripts/train-demos.ts',
        backend: tf.getBackend(),
        tfjs: tf.version.tfjs,
        architecture: `standardise(${n}, linear, frozen) → ${defaults.hidden.map((h) => `${h} ReLU`).join(' → ')} → ${nClasses} softmax`,
        optimizer: `adam(lr=${defaults.learningRate}, beta1=0.9, beta2=0.999, epsilon=${defaults.adamEpsilon})`,
        loss: 'categoricalCrossentropy',
        epochs: defaults.epochs,
        batchSize: defaults.batchSize,
        initSeed: defaults.initSeed,
        shuffle: `Alea('${defaults.splitSeed}|shuffle|${demo.id}|<epoch>') Fisher–Yates per epoch`,
        split: `Alea('split|${demo.id}|${defaults.splitSeed}') Fisher–Yates; first ${test.length} rows of the permutation are the test split`,
      },
    };
    writeFileSync(join(outDir, demo.id, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
    return meta;
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

async function main(): Promise<void> {
  await initBackend('wasm');
  const sources = JSON.parse(readFileSync(join(demosDir, 'sources.json'), 'utf8')) as Record<string, { classNames: string[] }>;
  const classNamesBySource = Object.fromEntries(Object.entries(sources).map(([k, v]) => [k, v.classNames]));
  const args = process.argv.slice(2);
  const at = args.indexOf('--out-dir');
  const outDir = at >= 0 ? args[at + 1] : demosDir;
  const wanted = at >= 0 ? args.filter((_, i) => i !== at && i !== at + 1) : args;
  const unknown = wanted.filter((id) => !DEMOS.some((d) => d.id === id));
  if (unknown.length || !outDir) throw new Error(`usage: train-demos.ts [${DEMOS.map((d) => d.id).join('|')}…] [--out-dir DIR]`);
  // text demos: scripts/train-text-demo.ts
  for (const demo of DEMOS.filter((d) => d.kind !== 'text' && (wanted.length === 0 || wanted.includes(d.id)))) {
    const t0 = performance.now();
    const meta =
      demo.kind === 'image'
        ? await trainImageDemo(demo, demosDir, classNamesBySource[demo.id], async (model, id) => {
            await model.save(fileSaver(join(outDir, id, 'model')));
          })
        : await trainDemo(demo, classNamesBySource, outDir);
    if (demo.kind === 'image') writeFileSync(join(outDir, demo.id, 'meta.json'), JSON.stringify(meta, null, 2).replace(/\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]/g, (_, nums: string) => `[${nums.split(/,\s*/).join(', ')}]`) + '\n');
    console.log(`${demo.id}: test accuracy ${meta.testAccuracy} (${meta.testRows} rows), train loss ${meta.finalTrainLoss}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
}

await main();
