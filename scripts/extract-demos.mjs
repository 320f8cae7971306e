#!/usr/bin/env node
// Dev-time: extract the tabular demo datasets from Debian packages into public/demos/<id>/data.csv.
//
//   node scripts/extract-demos.mjs
//
// Downloads (does not install) python3-sklearn and r-cran-palmerpenguins with `apt-get download`
// into a temporary folder, unpacks them with `dpkg-deb -x`, and writes
//   public/demos/{iris,wine,breast-cancer}/data.csv   sklearn's feature names as header, label `target`
//   public/demos/penguins/data.csv                    the four numeric measurements + `species`,
//                                                     rows with a missing cell in those columns dropped
//   tests/fixtures/penguins-raw.csv                   the raw penguins file (text columns, NA cells)
//   public/demos/sources.json                         Debian package name + version of each file
// Feature names are read from sklearn's own load_* code in the same package, so they match it.
// Running it twice writes the same bytes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import Papa from 'papaparse';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = ['python3-sklearn', 'r-cran-palmerpenguins'];
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
  write('public/demos/sources.json', JSON.stringify(files, null, 2) + '\n');
} finally {
  rmSync(work, { recursive: true, force: true });
}
