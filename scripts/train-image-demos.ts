/**
 * Dev-time, called by scripts/train-demos.ts: the image demos' CNNs, trained deterministically on
 * the wasm backend.
 *
 * Data, read by the project's own loader (core/data/images.ts readImageArray, normalise '0-1'), so
 * the model sees exactly the numbers a task gives it:
 *  - digits: public/demos/digits (1,797 8×8 images), a seeded 80/20 split like the tabular demos
 *    (`split|digits|0`); trained on the 80 %, tested on the 20 %.
 *  - fashion: trained on the first FASHION_TRAIN images of Fashion-MNIST's TRAINING set
 *    (train-images-idx3-ubyte.gz of Debian's dataset-fashion-mnist, fetched with apt-get download
 *    and dpkg-deb -x into a temporary folder, as scripts/extract-demos.mjs does); tested on the
 *    2,000 committed demo images, which come from the separate TEST set (t10k), so every demo row is
 *    held out.
 *
 * Architecture (a Sequential of standard layers):
 *   conv 3×3 'same' ReLU → [maxPool 2×2] → … → conv 3×3 'same' ReLU [→ maxPool] → flatten (or global
 *   average pooling, `head`) → dense softmax
 * Flatten heads: with global average pooling the same convolutions reached 96.4 % on digits and
 * 73.6 % on Fashion-MNIST after 2 epochs (flatten: 98.1 % and 87.3 % in the settings below).
 * Training runs on raw tf ops with seeded Glorot-uniform initial weights (zero biases), Adam with
 * its epsilon given, softmax cross-entropy, mini-batches from a seeded shuffle per epoch
 * (`shuffle|<id>`, row = epoch). tfjs's wasm backend has no kernel for the filter gradient of a
 * convolution (Conv2DBackpropFilter), so the convolution here is `tf.conv2d` with a custom gradient
 * whose filter part is itself a convolution (of the transposed padded input by the transposed
 * output gradient) — ops the wasm backend has; tests/train-image-demos.test.ts checks it against the
 * cpu backend's gradient. The trained weights are copied into the Sequential model that is saved
 * (and its predictions checked against the training graph's).
 */
import * as tf from '@tensorflow/tfjs';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readImageArray, type ImageIO, type ImageRows } from '../src/core/data/images';
import { seededSplit, type DemoMeta, type DemoTask } from '../src/core/data/demos';
import { Seeder } from '../src/core/rng';

export interface ImageDemoConfig {
  /** Filters of each 3×3 conv layer. */
  filters: number[];
  /** Whether a 2×2 max pooling follows conv i. */
  poolAfter: boolean[];
  /** After the last conv: global average pooling ('gap') or flatten, then one dense softmax layer. */
  head: 'gap' | 'flatten';
  epochs: number;
  batchSize: number;
  learningRate: number;
  adamEpsilon: number;
  initSeed: number;
  splitSeed: number;
  testFraction: number;
}

const OVERRIDE = process.env.DEEPFAITH_IMAGE_DEMO_CONFIG ? (JSON.parse(process.env.DEEPFAITH_IMAGE_DEMO_CONFIG) as Partial<ImageDemoConfig>) : {};

export const IMAGE_CONFIG: Record<string, ImageDemoConfig> = {
  digits: { filters: [16, 32], poolAfter: [false, true], head: 'flatten', epochs: 30, batchSize: 32, learningRate: 0.002, adamEpsilon: 1e-7, initSeed: 1, splitSeed: 0, testFraction: 0.2 },
  fashion: { filters: [32, 64], poolAfter: [true, true], head: 'flatten', epochs: 3, batchSize: 64, learningRate: 0.001, adamEpsilon: 1e-7, initSeed: 1, splitSeed: 0, testFraction: 0 },
};

/** Training images of the fashion demo: the first this many of Fashion-MNIST's training set. */
export const FASHION_TRAIN = 20_000;

/**
 * conv2d with stride 1, 'same' padding and an odd kernel, whose gradient uses only ops the wasm
 * backend has: dx = conv2dTranspose (Conv2DBackpropInput); dW[kh,kw,ci,co] = Σ_{b,h,w}
 * xpad[b,h+kh,w+kw,ci]·dy[b,h,w,co], computed as conv2d(transpose(xpad) [ci,Hp,Wp,b],
 * transpose(dy) [H,W,b,co], 'valid') → [ci,kh,kw,co] → [kh,kw,ci,co].
 */
export function convSame(x: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xx, ww, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([xx, ww]);
    return {
      value: tf.conv2d(xx as tf.Tensor4D, ww as tf.Tensor4D, 1, 'same'), // [b, H, W, co]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [tf.Tensor4D, tf.Tensor4D];
        const [kh, kw] = sw.shape;
        const dx = tf.conv2dTranspose(dy as tf.Tensor4D, sw, sx.shape, 1, 'same'); // [b, H, W, ci]
        const pt = (kh - 1) / 2;
        const pl = (kw - 1) / 2;
        const xp = tf.pad(sx, [[0, 0], [pt, kh - 1 - pt], [pl, kw - 1 - pl], [0, 0]]); // [b, H+kh−1, W+kw−1, ci]
        const xT = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D; // [ci, Hp, Wp, b]
        const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [H, W, b, co]
        const dW = tf.transpose(tf.conv2d(xT, dyT, 1, 'valid'), [1, 2, 0, 3]); // [kh, kw, ci, co]
        return [dx, dW];
      },
    };
  });
  return f(x, w) as tf.Tensor4D;
}

interface Net {
  convs: { kernel: tf.Variable; bias: tf.Variable; pool: boolean }[];
  dense: { kernel: tf.Variable; bias: tf.Variable };
  vars: tf.Variable[];
  head: 'gap' | 'flatten';
}

function buildNet(shape: number[], nClasses: number, cfg: ImageDemoConfig): Net {
  const [height, width, channels] = shape;
  const vars: tf.Variable[] = [];
  let ci = channels;
  const convs = cfg.filters.map((co, i) => {
    const kernel = tf.variable(tf.tidy(() => tf.initializers.glorotUniform({ seed: cfg.initSeed + 2 * i }).apply([3, 3, ci, co]) as tf.Tensor), true, `train/conv${i + 1}/kernel`);
    const bias = tf.variable(tf.zeros([co]), true, `train/conv${i + 1}/bias`);
    vars.push(kernel, bias);
    ci = co;
    return { kernel, bias, pool: cfg.poolAfter[i] };
  });
  const pools = cfg.poolAfter.slice(0, cfg.filters.length).filter(Boolean).length;
  const flat = cfg.head === 'gap' ? ci : Math.floor(height / 2 ** pools) * Math.floor(width / 2 ** pools) * ci;
  const kernel = tf.variable(tf.tidy(() => tf.initializers.glorotUniform({ seed: cfg.initSeed + 100 }).apply([flat, nClasses]) as tf.Tensor), true, 'train/probabilities/kernel');
  const bias = tf.variable(tf.zeros([nClasses]), true, 'train/probabilities/bias');
  vars.push(kernel, bias);
  return { convs, dense: { kernel, bias }, vars, head: cfg.head };
}

/** Logits of the training graph: x [b, H, W, C] → [b, nClasses]. Call inside tidy. */
function logits(net: Net, x: tf.Tensor4D): tf.Tensor2D {
  let h = x;
  for (const c of net.convs) {
    h = tf.relu(tf.add(convSame(h, c.kernel as tf.Tensor4D), c.bias)) as tf.Tensor4D;
    if (c.pool) h = tf.maxPool(h, 2, 2, 'valid');
  }
  const features = net.head === 'gap' ? (tf.mean(h, [1, 2]) as tf.Tensor2D) : (tf.reshape(h, [h.shape[0], -1]) as tf.Tensor2D); // [b, flat]
  return tf.add(tf.matMul(features, net.dense.kernel as tf.Tensor2D), net.dense.bias) as tf.Tensor2D;
}

/** The same network as a Sequential of standard layers with the trained weights. */
function toSequential(id: string, net: Net, inputShape: number[], nClasses: number): tf.Sequential {
  const m = tf.sequential({ name: `${id}_cnn` });
  net.convs.forEach((c, i) => {
    m.add(tf.layers.conv2d({ name: `conv${i + 1}`, ...(i === 0 ? { inputShape } : {}), filters: c.kernel.shape[3] as number, kernelSize: 3, padding: 'same', activation: 'relu' }));
    if (c.pool) m.add(tf.layers.maxPooling2d({ name: `pool${i + 1}`, poolSize: 2 }));
  });
  m.add(net.head === 'gap' ? tf.layers.globalAveragePooling2d({ name: 'gap' }) : tf.layers.flatten({ name: 'flatten' }));
  m.add(tf.layers.dense({ name: 'probabilities', units: nClasses, activation: 'softmax' }));
  const convLayers = m.layers.filter((l) => l.getClassName() === 'Conv2D');
  convLayers.forEach((l, i) => l.setWeights([net.convs[i].kernel, net.convs[i].bias]));
  m.layers[m.layers.length - 1].setWeights([net.dense.kernel, net.dense.bias]);
  return m;
}

/** An ImageIO over files in memory. */
function memoryIO(files: Record<string, Buffer>): ImageIO {
  return {
    async readBinary(p) {
      const b = files[p];
      return b ? (b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer) : null;
    },
  };
}

/** Fashion-MNIST's training set from the Debian package (downloaded, not installed). */
function fashionTrainingFiles(): { images: Buffer; labels: Buffer; package: string } {
  const work = mkdtempSync(join(tmpdir(), 'deepfaith-fashion-'));
  try {
    execFileSync('apt-get', ['download', 'dataset-fashion-mnist'], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
    const deb = readdirSync(work).find((f) => f.startsWith('dataset-fashion-mnist_') && f.endsWith('.deb'));
    if (!deb) throw new Error('apt-get download did not fetch dataset-fashion-mnist');
    const version = execFileSync('dpkg-deb', ['-f', join(work, deb), 'Version'], { encoding: 'utf8' }).trim();
    execFileSync('dpkg-deb', ['-x', join(work, deb), join(work, 'x')]);
    const dir = join(work, 'x/usr/share/datasets/fashion-mnist');
    return { images: readFileSync(join(dir, 'train-images-idx3-ubyte.gz')), labels: readFileSync(join(dir, 'train-labels-idx1-ubyte.gz')), package: `dataset-fashion-mnist ${version}` };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function gather(rows: ImageRows, idx: number[]): { x: Float32Array; y: Int32Array } {
  const d = rows.x.length / rows.nRows;
  const x = new Float32Array(idx.length * d);
  const y = new Int32Array(idx.length);
  idx.forEach((r, i) => {
    x.set(rows.x.subarray(r * d, (r + 1) * d), i * d);
    y[i] = rows.labels[r];
  });
  return { x, y };
}

async function accuracy(predict: (x: tf.Tensor4D) => tf.Tensor2D, x: Float32Array, y: Int32Array, shape: number[]): Promise<number> {
  const d = shape.reduce((a, b) => a * b, 1);
  let correct = 0;
  for (let s = 0; s < y.length; s += 500) {
    const n = Math.min(500, y.length - s);
    const p = tf.tidy(() => tf.argMax(predict(tf.tensor4d(x.subarray(s * d, (s + n) * d), [n, ...shape] as [number, number, number, number])), 1));
    const a = await p.data();
    p.dispose();
    for (let i = 0; i < n; i++) if (a[i] === y[s + i]) correct++;
  }
  return correct / y.length;
}

export async function trainImageDemo(demo: DemoTask, demosDir: string, classNames: string[], save: (model: tf.LayersModel, id: string) => Promise<void>): Promise<DemoMeta> {
  const cfg = { ...IMAGE_CONFIG[demo.id], ...OVERRIDE }; // the override is for trying settings, never for committed models
  if (!cfg) throw new Error(`no training settings for the image demo ${demo.id}`);
  const demoFiles = memoryIO({ [demo.data]: readFileSync(join(demosDir, demo.data)), [demo.label]: readFileSync(join(demosDir, demo.label)) });
  // the demo's own images, on the model's input shape (H, W from the array; one channel)
  const header = await readImageArray(demoFiles, demo.data, { inputShape: demo.id === 'digits' ? [8, 8, 1] : [28, 28, 1] }, { normalise: '0-1' });
  const { height, width, channels } = header.info;
  const shape = [height, width, channels];
  const d = height * width * channels;
  const nClasses = classNames.length;
  let train: { x: Float32Array; y: Int32Array };
  let test: { x: Float32Array; y: Int32Array };
  let testRowIndices: number[];
  let trainedOn: string;
  let trainRows: number;
  if (cfg.testFraction > 0) {
    const split = seededSplit(demo.id, header.nRows, cfg.splitSeed, cfg.testFraction);
    train = gather(header, split.train);
    test = gather(header, split.test);
    testRowIndices = split.test;
    trainRows = split.train.length;
    trainedOn = `the ${split.train.length} training rows of the demo (split below)`;
  } else {
    const f = fashionTrainingFiles();
    const io = memoryIO({ 'train-images-idx3-ubyte.gz': f.images, 'train-labels-idx1-ubyte.gz': f.labels });
    const rows = await readImageArray(io, 'train-images-idx3-ubyte.gz', { inputShape: shape }, { normalise: '0-1', maxRows: FASHION_TRAIN, maxTableBytes: 1024 ** 3 });
    train = { x: rows.x, y: rows.labels };
    test = { x: header.x, y: header.labels };
    testRowIndices = Array.from({ length: header.nRows }, (_, i) => i);
    trainRows = rows.nRows;
    trainedOn = `the first ${rows.nRows} images of Fashion-MNIST's training set (${f.package}, train-images-idx3-ubyte.gz); every demo row is from the test set (t10k)`;
  }

  const net = buildNet(shape, nClasses, cfg);
  const optimizer = tf.train.adam(cfg.learningRate, 0.9, 0.999, cfg.adamEpsilon);
  const seeder = new Seeder(cfg.splitSeed);
  const nTrain = train.y.length;
  let lastLoss = NaN;
  try {
    for (let epoch = 0; epoch < cfg.epochs; epoch++) {
      const t0 = performance.now();
      const order = seeder.rng(`shuffle|${demo.id}`, epoch).sampleWithoutReplacement(nTrain, nTrain);
      let sum = 0;
      let batches = 0;
      for (let start = 0; start < nTrain; start += cfg.batchSize) {
        const idx = order.subarray(start, Math.min(start + cfg.batchSize, nTrain));
        const xb = new Float32Array(idx.length * d);
        const yb = new Float32Array(idx.length * nClasses);
        idx.forEach((r, i) => {
          xb.set(train.x.subarray(r * d, (r + 1) * d), i * d);
          yb[i * nClasses + train.y[r]] = 1;
        });
        const loss = tf.tidy(() => {
          const xs = tf.tensor4d(xb, [idx.length, height, width, channels]); // [batch, H, W, C]
          const ys = tf.tensor2d(yb, [idx.length, nClasses]); // [batch, nClasses] one-hot
          return optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ys, logits(net, xs)) as tf.Scalar, true, net.vars)!;
        });
        sum += (await loss.data())[0];
        loss.dispose();
        batches++;
      }
      lastLoss = sum / batches;
      console.log(`  ${demo.id} epoch ${epoch + 1}/${cfg.epochs}: loss ${lastLoss.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    }
    const testAccuracy = await accuracy((x) => logits(net, x), test.x, test.y, shape);
    const model = toSequential(demo.id, net, shape, nClasses);
    try {
      // the saved model computes what was trained
      const n = Math.min(64, test.y.length);
      const [a, b] = tf.tidy(() => {
        const xs = tf.tensor4d(test.x.subarray(0, n * d), [n, height, width, channels]);
        return [tf.softmax(logits(net, xs)), model.predict(xs) as tf.Tensor];
      });
      const pa = await a.data();
      const pb = await b.data();
      a.dispose();
      b.dispose();
      for (let i = 0; i < pa.length; i++) if (Math.abs(pa[i] - pb[i]) > 1e-4) throw new Error(`${demo.id}: the Sequential model differs from the training graph (${pa[i]} vs ${pb[i]})`);
      await save(model, demo.id);
    } finally {
      model.dispose();
    }
    return {
      id: demo.id,
      name: demo.name,
      label: demo.label,
      classNames,
      featureNames: [],
      nRows: header.nRows,
      splitSeed: cfg.splitSeed,
      trainRows,
      testRows: testRowIndices.length,
      testRowIndices,
      testAccuracy: Number(testAccuracy.toFixed(6)),
      finalTrainLoss: Number(lastLoss.toFixed(6)),
      trainedWith: {
        script: 'scripts/train-demos.ts (scripts/train-image-demos.ts)',
        backend: tf.getBackend(),
        tfjs: tf.version.tfjs,
        architecture: `${cfg.filters.map((f, i) => `conv3×3(${f}, same) ReLU${cfg.poolAfter[i] ? ' → maxPool2×2' : ''}`).join(' → ')} → ${cfg.head === 'gap' ? 'globalAveragePooling' : 'flatten'} → ${nClasses} softmax`,
        input: `[${shape.join(', ')}], values on the 0–1 scale (normalise 0-1)`,
        optimizer: `adam(lr=${cfg.learningRate}, beta1=0.9, beta2=0.999, epsilon=${cfg.adamEpsilon})`,
        loss: 'softmax cross-entropy',
        epochs: cfg.epochs,
        batchSize: cfg.batchSize,
        initSeed: cfg.initSeed,
        trainedOn,
        shuffle: `Alea('${cfg.splitSeed}|shuffle|${demo.id}|<epoch>') Fisher–Yates per epoch`,
        split: cfg.testFraction > 0 ? `Alea('split|${demo.id}|${cfg.splitSeed}') Fisher–Yates; first ${testRowIndices.length} rows of the permutation are the test split` : 'every demo row is a test row',
      },
      image: { height, width, channels, normalise: '0-1' },
    };
  } finally {
    for (const v of net.vars) v.dispose();
    optimizer.dispose();
  }
}
