#!/usr/bin/env node
// Dev-time: extract the demo datasets from Debian packages into public/demos/<id>/.
//
//   node scripts/extract-demos.mjs
//
// Downloads (does not install) python3-sklearn, r-cran-palmerpenguins and dataset-fashion-mnist
// with `apt-get download` into a temporary folder, unpacks them with `dpkg-deb -x`, and writes
//   public/demos/{iris,wine,breast-cancer}/data.csv   sklearn's feature names as header, label `target`
//   public/demos/penguins/data.csv                    the four numeric measurements + `species`,
//                                                     rows with a missing cell in those columns dropped
//   public/demos/digits/{images,labels}.npy.gz        sklearn's digits.csv.gz: 1,797 8×8 images as
//                                                     float32 value/16 (0–1, exact), shape (1797, 8, 8),
//                                                     labels uint8 (1797,)
//   public/demos/fashion/{images,labels}.npy.gz       Fashion-MNIST test set (t10k): the first 200
//                                                     images of each class in file order (2,000, kept in
//                                                     file order), uint8 (2000, 28, 28), labels uint8
//   tests/fixtures/penguins-raw.csv                   the raw penguins file (text columns, NA cells)
//   public/demos/sources.json                         Debian package name + version of each file
// NPY files are format 1.0, C order, gzipped at level 9 (deterministic bytes for one zlib).
// Feature names are read from sklearn's own load_* code in the same package, so they match it.
// Running it twice writes the same bytes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import Papa from 'papaparse';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = ['python3-sklearn', 'r-cran-palmerpenguins', 'dataset-fashion-mnist'];
const FASHION_DIR = 'usr/share/datasets/fashion-mnist';
const FASHION_PER_CLASS = 200;
const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const SKLEARN = [
  { id: 'iris', file: 'iris.csv', loader: 'load_iris' },
  { id: 'wine', file: 'wine_data.csv', loader: 'load_wine' },
  { id: 'breast-cancer', file: 'breast_cancer.csv', loader: 'load_breast_cancer' },
];
const PENGUIN_FEATURES = ['bill_length_mm', 'bill_depth_mm', 'flipper_length_mm', 'body_mass_g'];
const PENGUIN_LABEL = 'species';

function write(rel, text) {
  const path = join(root, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  console.log(`wrote ${rel}`);
}

/** The string literals of the first `feature_names = [ … ]` list after `def <loader>(`. */
function featureNamesFromLoader(baseSource, loader) {
  const start = baseSource.indexOf(`def ${loader}(`);
  if (start < 0) throw new Error(`sklearn/datasets/_base.py has no ${loader}()`);
  const from = baseSource.indexOf('feature_names =', start);
  const open = baseSource.indexOf('[', from);
  const close = baseSource.indexOf(']', open);
  const names = [...baseSource.slice(open, close).matchAll(/"([^"]*)"/g)].map((m) => m[1]);
  if (names.length === 0) throw new Error(`no feature names found in ${loader}()`);
  return names;
}

/** An NPY (format 1.0, C order) file of a typed array: descr '<f4' (Float32Array) or '|u1' (Uint8Array). */
export function npyBytes(data, shape) {
  const descr = data instanceof Float32Array ? '<f4' : data instanceof Uint8Array ? '|u1' : null;
  if (!descr) throw new Error('npyBytes: Float32Array or Uint8Array');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (descr === '<f4' && new Uint8Array(new Float32Array([1]).buffer)[3] !== 0x3f) throw new Error('big-endian machine');
  out.set(bytes, 10 + header.length);
  return out;
}

function writeGz(rel, bytes) {
  const path = join(root, rel);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, gzipSync(bytes, { level: 9 }));
  console.log(`wrote ${rel}`);
}

/** An IDX file (big-endian header) of unsigned bytes: { shape, data }. */
function readIdxUbyte(bytes) {
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) throw new Error('not an unsigned-byte IDX file');
  const nd = bytes[3];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: nd }, (_, i) => view.getUint32(4 + 4 * i));
  return { shape, data: bytes.subarray(4 + 4 * nd) };
}

function toCsv(header, rows) {
  return Papa.unparse({ fields: header, data: rows }, { newline: '\n' }) + '\n';
}

const work = mkdtempSync(join(tmpdir(), 'deepfaith-demos-'));
try {
  execFileSync('apt-get', ['download', ...PACKAGES], { cwd: work, stdio: ['ignore', 'inherit', 'inherit'] });
  const sources = {};
  for (const pkg of PACKAGES) {
    const deb = readdirSync(work).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download did not fetch ${pkg}`);
    const version = execFileSync('dpkg-deb', ['-f', join(work, deb), 'Version'], { encoding: 'utf8' }).trim();
    execFileSync('dpkg-deb', ['-x', join(work, deb), join(work, 'x')]);
    sources[pkg] = { version, deb };
  }
  const x = join(work, 'x');
  const skDir = join(x, 'usr/lib/python3/dist-packages/sklearn/datasets');
  const baseSource = readFileSync(join(skDir, '_base.py'), 'utf8');
  const files = {};

  for (const { id, file, loader } of SKLEARN) {
    const lines = readFileSync(join(skDir, 'data', file), 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
    const [nText, nfText, ...classNames] = lines[0].split(',').map((s) => s.trim());
    const nRows = Number(nText);
    const nFeatures = Number(nfText);
    const featureNames = featureNamesFromLoader(baseSource, loader);
    if (featureNames.length !== nFeatures) throw new Error(`${file}: ${nFeatures} features but ${loader} names ${featureNames.length}`);
    const rows = lines.slice(1).map((l) => l.split(',').map((s) => s.trim()));
    if (rows.length !== nRows) throw new Error(`${file}: header says ${nRows} rows, found ${rows.length}`);
    for (const [r, row] of rows.entries()) {
      if (row.length !== nFeatures + 1) throw new Error(`${file}: row ${r} has ${row.length} cells`);
      if (!row.every((c) => c !== '' && Number.isFinite(Number(c)))) throw new Error(`${file}: row ${r} has a non-numeric cell`);
      const label = Number(row[nFeatures]);
      if (!Number.isInteger(label) || label < 0 || label >= classNames.length) throw new Error(`${file}: row ${r} label ${row[nFeatures]}`);
    }
    write(`public/demos/${id}/data.csv`, toCsv([...featureNames, 'target'], rows));
    files[id] = { package: 'python3-sklearn', version: sources['python3-sklearn'].version, path: `sklearn/datasets/data/${file}`, featureNamesFrom: `sklearn/datasets/_base.py ${loader}()`, classNames, nRows };
  }

  const penguinPath = join(x, 'usr/lib/R/site-library/palmerpenguins/extdata/penguins.csv');
  const raw = readFileSync(penguinPath, 'utf8');
  write('tests/fixtures/penguins-raw.csv', raw);
  const parsed = Papa.parse(raw, { header: true, skipEmptyLines: 'greedy' });
  const keep = [...PENGUIN_FEATURES, PENGUIN_LABEL];
  for (const c of keep) if (!parsed.meta.fields.includes(c)) throw new Error(`penguins.csv has no column ${c}`);
  const isMissing = (v) => v === undefined || v.trim() === '' || v.trim() === 'NA';
  const complete = parsed.data.filter((row) => keep.every((c) => !isMissing(row[c])));
  const penguinRows = complete.map((row) => keep.map((c) => row[c].trim()));
  write('public/demos/penguins/data.csv', toCsv(keep, penguinRows));
  const penguinClasses = [...new Set(penguinRows.map((r) => r[r.length - 1]))].sort();
  files.penguins = {
    package: 'r-cran-palmerpenguins',
    version: sources['r-cran-palmerpenguins'].version,
    path: 'palmerpenguins/extdata/penguins.csv',
    classNames: penguinClasses,
    nRows: penguinRows.length,
    droppedRows: parsed.data.length - penguinRows.length,
  };
  // digits: sklearn's copy of the UCI optical digits test set, 8×8 counts 0..16 per pixel
  const digitsLines = gunzipSync(readFileSync(join(skDir, 'data', 'digits.csv.gz'))).toString('utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
  const nDigits = digitsLines.length;
  const digitImages = new Float32Array(nDigits * 64);
  const digitLabels = new Uint8Array(nDigits);
  digitsLines.forEach((line, r) => {
    const cells = line.split(',').map(Number);
    if (cells.length !== 65 || !cells.every((v) => Number.isInteger(v))) throw new Error(`digits.csv.gz: line ${r + 1} is not 64 pixels + a label`);
    for (let j = 0; j < 64; j++) {
      if (cells[j] < 0 || cells[j] > 16) throw new Error(`digits.csv.gz: line ${r + 1} has the value ${cells[j]}`);
      digitImages[r * 64 + j] = cells[j] / 16;
    }
    if (cells[64] < 0 || cells[64] > 9) throw new Error(`digits.csv.gz: line ${r + 1} label ${cells[64]}`);
    digitLabels[r] = cells[64];
  });
  writeGz('public/demos/digits/images.npy.gz', npyBytes(digitImages, [nDigits, 8, 8]));
  writeGz('public/demos/digits/labels.npy.gz', npyBytes(digitLabels, [nDigits]));
  files.digits = {
    package: 'python3-sklearn',
    version: sources['python3-sklearn'].version,
    path: 'sklearn/datasets/data/digits.csv.gz',
    classNames: Array.from({ length: 10 }, (_, i) => String(i)),
    nRows: nDigits,
    values: 'pixel counts 0..16 stored as float32 value/16 (0–1 scale, exact)',
  };

  // Fashion-MNIST: a balanced subset of the test set, in file order
  const fx = join(x, FASHION_DIR);
  const images = readIdxUbyte(gunzipSync(readFileSync(join(fx, 't10k-images-idx3-ubyte.gz'))));
  const labels = readIdxUbyte(gunzipSync(readFileSync(join(fx, 't10k-labels-idx1-ubyte.gz'))));
  const [nTest, h, w] = images.shape;
  if (labels.shape[0] !== nTest || h !== 28 || w !== 28) throw new Error('Fashion-MNIST t10k files have unexpected shapes');
  const taken = new Array(10).fill(0);
  const chosen = [];
  for (let i = 0; i < nTest; i++)
    if (taken[labels.data[i]] < FASHION_PER_CLASS) {
      taken[labels.data[i]]++;
      chosen.push(i);
    }
  if (chosen.length !== 10 * FASHION_PER_CLASS) throw new Error('Fashion-MNIST: fewer than 200 test images in some class');
  const fImages = new Uint8Array(chosen.length * h * w);
  const fLabels = new Uint8Array(chosen.length);
  chosen.forEach((i, r) => {
    fImages.set(images.data.subarray(i * h * w, (i + 1) * h * w), r * h * w);
    fLabels[r] = labels.data[i];
  });
  writeGz('public/demos/fashion/images.npy.gz', npyBytes(fImages, [chosen.length, h, w]));
  writeGz('public/demos/fashion/labels.npy.gz', npyBytes(fLabels, [chosen.length]));
  files.fashion = {
    package: 'dataset-fashion-mnist',
    version: sources['dataset-fashion-mnist'].version,
    path: `${FASHION_DIR}/t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz`,
    classNames: FASHION_CLASSES,
    nRows: chosen.length,
    selection: `the first ${FASHION_PER_CLASS} images of each class of the test set (t10k), in file order`,
    sourceIndices: chosen,
  };

  // arrays of numbers on one line (sourceIndices has 2,000)
  const text = JSON.stringify(files, null, 2).replace(/\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]/g, (_, nums) => `[${nums.split(/,\s*/).join(', ')}]`);
  write('public/demos/sources.json', text + '\n');
} finally {
  rmSync(work, { recursive: true, force: true });
}
