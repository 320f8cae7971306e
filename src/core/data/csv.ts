/**
 * CSV tables through papaparse: one label column, every other column a numeric feature.
 *
 * Labels: if the label column's distinct values are exactly the integers 0..K−1 they are the class
 * indices; otherwise the distinct values (numeric order when all are numbers, else text order)
 * become classes 0..K−1 and `classNames` keeps the original values.
 * Rows are counted from 0 after the header (the header is not a row); messages also give the
 * file's line number.
 */
import Papa from 'papaparse';
import { UserError } from '../errors';

export interface Dataset {
  source: string;
  featureNames: string[];
  labelName: string;
  classNames: string[];
  /** [nRows, nFeatures] row-major */
  x: Float32Array;
  /** [nRows] class index per row */
  labels: Int32Array;
  nRows: number;
  nFeatures: number;
}

export interface CsvOptions {
  /** Name of the label column (required). */
  label: string;
  /** Columns to ignore (e.g. an id or a column that leaks the label). */
  drop?: string[];
  /** Explicit class order (values of the label column); default as described above. */
  classNames?: string[];
}

const MISSING = new Set(['', 'na', 'nan', 'null', 'none', '?']);

export function parseCsv(text: string, source: string, opts: CsvOptions): Dataset {
  if (typeof text !== 'string' || text.trim() === '')
    throw new UserError(`${source} is empty.`, 'Choose a CSV file with a header row and one row per sample.');
  if (text.includes('\u0000'))
    throw new UserError(`${source} is not a text CSV file (it contains binary data).`, 'Choose a comma-separated text file with a header row.');
  const parsed = Papa.parse<string[]>(text.replace(/^\uFEFF/, ''), { skipEmptyLines: 'greedy', delimiter: '' });
  const rows = parsed.data;
  if (rows.length < 2)
    throw new UserError(`${source} has a header but no data rows.`, 'Add at least one row of values below the header.');
  const header = rows[0].map((h) => h.trim());
  if (header.length < 2)
    throw new UserError(`${source} has only one column ("${header[0]}").`, 'Use a comma-separated file with feature columns and a label column.');
  const labelCol = header.indexOf(opts.label);
  if (labelCol < 0)
    throw new UserError(
      `${source} has no label column "${opts.label}".`,
      `Pick one of its columns as the label: ${header.join(', ')}.`,
    );
  const drop = new Set(opts.drop ?? []);
  for (const d of drop)
    if (!header.includes(d)) throw new UserError(`${source} has no column "${d}" to drop.`, `Its columns are: ${header.join(', ')}.`);
  if (drop.has(opts.label)) throw new UserError(`The label column "${opts.label}" cannot also be dropped.`, 'Remove it from the list of dropped columns.');
  const featureCols: number[] = [];
  header.forEach((h, i) => {
    if (i !== labelCol && !drop.has(h)) featureCols.push(i);
  });
  if (featureCols.length === 0) throw new UserError(`${source} has no feature columns besides the label.`, 'Keep at least one numeric feature column.');
  const nRows = rows.length - 1;
  const nFeatures = featureCols.length;
  const x = new Float32Array(nRows * nFeatures);
  const rawLabels: string[] = new Array(nRows);
  for (let r = 0; r < nRows; r++) {
    const row = rows[r + 1];
    const where = `${source}, row ${r} (line ${r + 2})`;
    if (row.length !== header.length)
      throw new UserError(
        `${where} has ${row.length} cell${row.length === 1 ? '' : 's'} but the header has ${header.length}.`,
        'Make every row have one value per header column (check for stray or missing commas).',
      );
    for (let j = 0; j < nFeatures; j++) {
      const col = featureCols[j];
      const cell = row[col].trim();
      if (MISSING.has(cell.toLowerCase()))
        throw new UserError(
          `${where}, column "${header[col]}": the cell is missing${cell ? ` ("${cell}")` : ''}.`,
          'Fill in or drop rows with missing values before loading, or drop the column.',
        );
      const v = Number(cell);
      if (!Number.isFinite(v))
        throw new UserError(
          `${where}, column "${header[col]}": "${cell}" is not a number.`,
          'Every feature must be numeric: encode text columns as numbers, or drop the column.',
        );
      x[r * nFeatures + j] = v;
    }
    const lab = row[labelCol].trim();
    if (MISSING.has(lab.toLowerCase()))
      throw new UserError(`${where}, label column "${opts.label}": the label is missing.`, 'Give every row a label, or drop the unlabelled rows.');
    rawLabels[r] = lab;
  }
  const { labels, classNames } = encodeLabels(rawLabels, source, opts);
  return { source, featureNames: featureCols.map((c) => header[c]), labelName: opts.label, classNames, x, labels, nRows, nFeatures };
}

function encodeLabels(raw: string[], source: string, opts: CsvOptions): { labels: Int32Array; classNames: string[] } {
  const distinct = [...new Set(raw)];
  let classNames: string[];
  if (opts.classNames) {
    classNames = opts.classNames;
    const unknown = distinct.filter((d) => !classNames.includes(d));
    if (unknown.length)
      throw new UserError(`${source}: label value${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} not among the given classes.`, `Use only ${classNames.join(', ')}, or change the class list.`);
  } else {
    const allNumeric = distinct.every((d) => Number.isFinite(Number(d)));
    if (allNumeric) {
      const nums = distinct.map(Number).sort((a, b) => a - b);
      const isIndex = nums.every((v, i) => v === i);
      classNames = isIndex ? nums.map(String) : nums.map(String);
      if (isIndex) return { labels: Int32Array.from(raw, (v) => Number(v)), classNames };
      const index = new Map(nums.map((v, i) => [v, i]));
      return { labels: Int32Array.from(raw, (v) => index.get(Number(v))!), classNames };
    }
    classNames = distinct.slice().sort();
  }
  const index = new Map(classNames.map((v, i) => [v, i]));
  return { labels: Int32Array.from(raw, (v) => index.get(v)!), classNames };
}

/** Half-open row slice [a, b) parsed from "A:B" (either side may be empty). */
export function parseRows(spec: string | undefined, nRows: number): [number, number] {
  if (!spec) return [0, nRows];
  const m = /^\s*(\d*)\s*:\s*(\d*)\s*$/.exec(spec);
  if (!m) throw new UserError(`--rows "${spec}" is not of the form A:B.`, 'Give a half-open range of data rows counted from 0, e.g. --rows 0:50.');
  const a = m[1] === '' ? 0 : Number(m[1]);
  const b = m[2] === '' ? nRows : Number(m[2]);
  if (a >= b || b > nRows)
    throw new UserError(`--rows ${spec} is outside the file's ${nRows} data rows or empty.`, `Use 0 ≤ A < B ≤ ${nRows}.`);
  return [a, b];
}
