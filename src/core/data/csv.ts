/**
 * CSV tables through papaparse: one label column, every other column a numeric feature.
 *
 * Labels: if the label column's distinct values are exactly the integers 0..K−1 they are the class
 * indices; otherwise the distinct values (numeric order when all are numbers, else text order)
 * become classes 0..K−1 and `classNames` keeps the original values.
 * Rows are counted from 0 after the header (the header is not a row; blank lines are skipped and
 * not counted); messages also give the file's line number (counted from 1, blank lines and line
 * breaks inside quoted fields included).
 * Column names are trimmed and must be distinct among the label and the feature columns (dropped
 * columns may repeat a name).
 *
 * Numbers: features are stored as float32, what the models compute with.
 * - A cell that is a finite number but rounds to ±Infinity in float32 (|v| ≥ 3.4028235677973366e38:
 *   1e39, 1e308, -1e300) is refused with its row, line and column. Values up to the largest float32
 *   (3.4028234663852886e38) are kept, and so are values that round down to it (3.4028235e38 is how
 *   float32 writers print that largest value; it is a hair above it as a float64).
 * - Values too small for float32 are accepted: |v| < 1.4e-45 becomes 0 (or −0), and
 *   1.4e-45 ≤ |v| < 1.18e-38 keeps fewer significant digits (float32 subnormals). At that size a
 *   value is zero to any model, and refusing it would reject ordinary tables of tiny p-values.
 * - `Infinity`, `-inf` and other text are "not a number"; empty, `NA`, `NaN`, `null`, `none`, `?`
 *   are missing cells. Both are refused.
 *
 * Reading: `parseCsv` takes the whole text; `parseCsvStream` takes the text as an async sequence of
 * string chunks (any split: inside quoted fields, between the \r and \n of a line break) and never
 * joins the file into one string. Both run the same incremental reader, so they give the same
 * Dataset. Rows are read into a Float32Array that grows by doubling, with no per-row strings
 * kept; `maxRows` stops reading after that many data rows, and `maxTableBytes` (default 512 MiB of
 * float32 values) stops a file too big to load with a message instead of an out-of-memory crash.
 * The delimiter and line break are guessed by papaparse from the first `sniffChars` characters
 * (default 1 MiB, the span papaparse itself looks at), so a stream is parsed exactly as its text
 * would be whole.
 *
 * Chunk sources (core runs in browsers, so no file-system helper lives here):
 * - Node: `fs.createReadStream(path, { encoding: 'utf8' })` is already an AsyncIterable<string>
 *   (its decoder keeps multi-byte characters split across chunks whole); pass
 *   `byteSize: fs.statSync(path).size` for messages.
 * - Browser / worker:
 *     const chunks = readableStreamChunks(file.stream().pipeThrough(new TextDecoderStream()));
 *     const data = await parseCsvStream(chunks, file.name, { label, byteSize: file.size, maxRows });
 *   (`readableStreamChunks` uses getReader(), so it also works where ReadableStream is not async
 *   iterable, and cancels the file read when parsing stops early.)
 */
import Papa from 'papaparse';
import { UserError } from '../errors';
import type { ImageInfo } from './images';
import type { TextInfo } from './text';

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
  /** Image tasks: the images' shape, files, normalisation (core/data/images.ts); nFeatures is then the input values per row. */
  image?: ImageInfo;
  /** Text tasks: the tokens per row, real lengths and vocabulary facts (core/data/text.ts); x holds token ids, nFeatures = L. */
  text?: TextInfo;
}

export interface CsvOptions {
  /** Name of the label column (required). */
  label: string;
  /** Columns to ignore (e.g. an id or a column that leaks the label). */
  drop?: string[];
  /** Explicit class order (values of the label column); default as described above. */
  classNames?: string[];
  /** Read only the first `maxRows` data rows (a whole number ≥ 1); reading stops there. */
  maxRows?: number;
  /** Largest feature table to build, in bytes of float32 values (default 512 MiB). */
  maxTableBytes?: number;
  /** Characters from the start of the text used to guess the delimiter and line break (default 1 MiB). */
  sniffChars?: number;
  /** Longest single row, in characters, before a stream is refused as a runaway quoted field (default 64 Mi). */
  maxRowChars?: number;
}

export interface CsvStreamOptions extends CsvOptions {
  /** Size of the whole file in bytes, when known; the size-limit message quotes it. */
  byteSize?: number;
}

export const DEFAULT_MAX_TABLE_BYTES = 512 * 2 ** 20;
const DEFAULT_SNIFF_CHARS = 1024 * 1024;
const DEFAULT_MAX_ROW_CHARS = 64 * 2 ** 20;
const FIRST_CAPACITY = 256;

const MISSING = new Set(['', 'na', 'nan', 'null', 'none', '?']);

/** Parse a whole CSV text. */
export function parseCsv(text: string, source: string, opts: CsvOptions): Dataset {
  if (typeof text !== 'string' || text.trim() === '')
    throw new UserError(`${source} is empty.`, 'Choose a CSV file with a header row and one row per sample.');
  const reader = new CsvReader(source, opts, false);
  reader.push(text);
  return reader.end();
}

/**
 * Parse a CSV arriving as string chunks (see the header comment for Node and browser sources).
 * Stops pulling chunks as soon as `maxRows` rows are read or an error is found; a `for await`
 * that stops early calls the iterator's `return()`, which closes a Node stream or a
 * `readableStreamChunks` reader.
 */
export async function parseCsvStream(
  chunks: AsyncIterable<string> | Iterable<string>,
  source: string,
  opts: CsvStreamOptions,
): Promise<Dataset> {
  const reader = new CsvReader(source, opts, false);
  if (opts.byteSize === 0) return reader.end();
  for await (const chunk of chunks) {
    reader.push(chunk);
    if (reader.done) break;
  }
  return reader.end();
}

/** A web ReadableStream of strings as an AsyncIterable; cancels the stream when the consumer stops early. */
export async function* readableStreamChunks(stream: ReadableStream<string>): AsyncGenerator<string, void, undefined> {
  const reader = stream.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        return;
      }
      yield value;
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/**
 * The column names (trimmed) of a CSV text, read with the same delimiter guess and quoting rules
 * as `parseCsv`; only the header row is parsed. Throws the same "is empty" / binary messages.
 */
export function csvColumns(text: string, source: string): string[] {
  if (typeof text !== 'string' || text.trim() === '')
    throw new UserError(`${source} is empty.`, 'Choose a CSV file with a header row and one row per sample.');
  const reader = new CsvReader(source, { label: '' }, true);
  reader.push(text);
  return reader.columns();
}

interface Layout {
  labelCol: number;
  featureCols: number[];
  nFeatures: number;
  /** rows that fit in maxTableBytes */
  budgetRows: number;
}

/** papaparse's row errors as the raw Parser reports them. */
interface ParseError {
  code: string;
}

/**
 * The incremental reader behind parseCsv and parseCsvStream: `push` text chunks, then `end()`.
 * Unparsed text (at most the current incomplete row plus the newest chunk) waits in `pending`;
 * each parse hands papaparse's raw Parser the pending text with `ignoreLastRow` so an incomplete
 * last row (inside a quoted field, or before the \n of a \r\n) stays pending for the next chunk.
 */
class CsvReader {
  private pending: string[] = [];
  private pendingLen = 0;
  private atStart = true;
  private sawContent = false;
  private sniffed = false;
  private delimiter = ',';
  private newline: '\n' | '\r' | '\r\n' = '\n';
  /** parse again once pending holds this many characters (grows geometrically while one row is incomplete) */
  private nextParseAt = 0;
  /** line number (from 1) of pending's first character */
  private line = 1;
  /** characters consumed (parsed into complete rows) before pending */
  private consumed = 0;
  private header: string[] | null = null;
  private layout: Layout | null = null;
  private x = new Float32Array(0);
  private labelIds = new Int32Array(0);
  private capRows = 0;
  private readonly labelIndex = new Map<string, number>();
  private readonly distinct: string[] = [];
  private nRows = 0;
  done = false;
  private readonly maxRows: number | undefined;
  private readonly maxTableBytes: number;
  private readonly sniffChars: number;
  private readonly maxRowChars: number;

  constructor(
    private readonly source: string,
    private readonly opts: CsvStreamOptions,
    private readonly headerOnly: boolean,
  ) {
    const { maxRows, maxTableBytes, sniffChars, maxRowChars } = opts;
    if (maxRows !== undefined && !(Number.isInteger(maxRows) && maxRows >= 1))
      throw new UserError(`maxRows must be a whole number of rows ≥ 1, got ${maxRows}.`, 'Give how many data rows to read from the start of the file, e.g. 1000.');
    if (maxTableBytes !== undefined && !(maxTableBytes > 0))
      throw new UserError(`maxTableBytes must be a positive number of bytes, got ${maxTableBytes}.`, `Leave it out for the default of ${fmtBytes(DEFAULT_MAX_TABLE_BYTES)}.`);
    this.maxRows = maxRows;
    this.maxTableBytes = maxTableBytes ?? DEFAULT_MAX_TABLE_BYTES;
    this.sniffChars = Math.max(1, Math.floor(sniffChars ?? DEFAULT_SNIFF_CHARS));
    this.maxRowChars = Math.max(1, Math.floor(maxRowChars ?? DEFAULT_MAX_ROW_CHARS));
  }

  push(chunk: string): void {
    if (typeof chunk !== 'string')
      throw new TypeError(
        'CSV chunks must be strings: decode the bytes first (fs.createReadStream(path, { encoding: "utf8" }) or stream.pipeThrough(new TextDecoderStream())).',
      );
    if (this.done || chunk.length === 0) return;
    if (chunk.includes('\u0000'))
      throw new UserError(`${this.source} is not a text CSV file (it contains binary data).`, 'Choose a comma-separated text file with a header row.');
    if (this.atStart) {
      this.atStart = false;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      if (chunk.length === 0) return;
    }
    if (!this.sawContent && /\S/.test(chunk)) this.sawContent = true;
    this.pending.push(chunk);
    this.pendingLen += chunk.length;
    if (!this.sniffed) {
      if (this.pendingLen <= this.sniffChars) return;
      this.sniff();
    }
    if (this.pendingLen >= this.nextParseAt || this.pendingLen > this.maxRowChars) this.parsePending(false);
  }

  end(): Dataset {
    this.finishText();
    if (this.nRows === 0)
      throw new UserError(`${this.source} has a header but no data rows.`, 'Add at least one row of values below the header.');
    const layout = this.layout!;
    const n = this.nRows * layout.nFeatures;
    const x = this.x.length === n ? this.x : this.x.slice(0, n);
    const { labels, classNames } = encodeLabels(this.distinct, this.labelIds.subarray(0, this.nRows), this.source, this.opts);
    const header = this.header!;
    return {
      source: this.source,
      featureNames: layout.featureCols.map((c) => header[c]),
      labelName: this.opts.label,
      classNames,
      x,
      labels,
      nRows: this.nRows,
      nFeatures: layout.nFeatures,
    };
  }

  /** After pushing text in header-only mode: the header. */
  columns(): string[] {
    this.finishText();
    return this.header ?? [];
  }

  /** Parse what is left (unless maxRows / the header-only read already stopped). */
  private finishText(): void {
    if (!this.sawContent)
      throw new UserError(`${this.source} is empty.`, 'Choose a CSV file with a header row and one row per sample.');
    if (this.done) return;
    if (!this.sniffed) this.sniff();
    this.parsePending(true);
  }

  private joinPending(): string {
    const text = this.pending.length === 1 ? this.pending[0] : this.pending.join('');
    this.pending = text ? [text] : [];
    return text;
  }

  /** Guess delimiter and line break from the first sniffChars characters, as papaparse does for a whole text. */
  private sniff(): void {
    const text = this.joinPending();
    let n = Math.min(text.length, this.sniffChars);
    if (n < text.length && text.charCodeAt(n - 1) === 13) n++; // keep a \r\n whole
    const meta = Papa.parse<string[]>(text.slice(0, n), { delimiter: '', skipEmptyLines: 'greedy', preview: 1 }).meta;
    this.delimiter = meta.delimiter;
    this.newline = meta.linebreak === '\r\n' || meta.linebreak === '\r' ? meta.linebreak : '\n';
    this.sniffed = true;
    this.nextParseAt = 0;
  }

  private parsePending(final: boolean): void {
    const text = this.joinPending();
    let rowStart = 0;
    const parser: Papa.Parser = new Papa.Parser({
      delimiter: this.delimiter,
      newline: this.newline,
      // raw Parser: data is [row], meta.cursor is where the next row starts
      step: ((res: { data: string[][]; errors: ParseError[]; meta: { cursor: number } }) => {
        const end = res.meta.cursor;
        const line = this.line;
        this.line += countLineBreaks(text, rowStart, end);
        this.row(res.data[0], line, res.errors, this.consumed + rowStart);
        rowStart = end;
        if (this.done) parser.abort();
      }) as unknown as Papa.ParseConfig['step'],
    });
    parser.parse(text, 0, !final);
    this.consumed += rowStart;
    const rest = rowStart === 0 ? text : text.slice(rowStart);
    this.pending = rest ? [rest] : [];
    this.pendingLen = rest.length;
    if (final || this.done) return;
    if (rest.length > this.maxRowChars)
      throw new UserError(
        `${this.where(this.line)} runs on for more than ${fmtCount(this.maxRowChars)} characters without ending, so a quoted field in it probably never closes.`,
        'Look for a stray " in that row: close the quoted field or remove the quote.',
      );
    // no complete row in all of it: wait for twice as much before trying again (linear total work)
    this.nextParseAt = rowStart === 0 ? 2 * text.length : Math.max(1, 2 * rest.length);
  }

  private where(line: number): string {
    return this.header ? `${this.source}, row ${this.nRows} (line ${line})` : `${this.source}, line ${line} (the header)`;
  }

  private row(cells: string[], line: number, errors: ParseError[], offset: number): void {
    if (errors.length && errors.some((e) => e.code === 'MissingQuotes'))
      throw new UserError(`${this.where(line)} opens a quoted field (") that never closes.`, 'Close the quoted field with a matching " or remove the stray quote.');
    if (isBlank(cells)) return;
    const header = this.header;
    if (!header) {
      this.header = cells.map((h) => h.trim());
      if (this.headerOnly) this.done = true;
      return;
    }
    const layout = this.layout ?? (this.layout = this.makeLayout(header));
    const { labelCol, featureCols, nFeatures } = layout;
    const r = this.nRows;
    const where = `${this.source}, row ${r} (line ${line})`;
    if (cells.length !== header.length)
      throw new UserError(
        `${where} has ${cells.length} cell${cells.length === 1 ? '' : 's'} but the header has ${header.length}.`,
        'Make every row have one value per header column (check for stray or missing commas).',
      );
    if (r === this.capRows) this.grow(layout, offset);
    const x = this.x;
    const base = r * nFeatures;
    for (let j = 0; j < nFeatures; j++) {
      const col = featureCols[j];
      const cell = cells[col].trim();
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
      const f = Math.fround(v);
      if (f === Infinity || f === -Infinity)
        throw new UserError(
          `${where}, column "${header[col]}": ${cell} is too large for the 32-bit floats the models compute with (largest magnitude 3.4028235e38).`,
          'Rescale the column before loading (divide it by a power of ten, or take its logarithm), or drop the column.',
        );
      x[base + j] = f;
    }
    const lab = cells[labelCol].trim();
    if (MISSING.has(lab.toLowerCase()))
      throw new UserError(`${where}, label column "${this.opts.label}": the label is missing.`, 'Give every row a label, or drop the unlabelled rows.');
    let id = this.labelIndex.get(lab);
    if (id === undefined) {
      id = this.distinct.length;
      this.distinct.push(lab);
      this.labelIndex.set(lab, id);
    }
    this.labelIds[r] = id;
    this.nRows = r + 1;
    if (this.maxRows !== undefined && this.nRows >= this.maxRows) this.done = true;
  }

  private makeLayout(header: string[]): Layout {
    const { source, opts } = this;
    if (header.length < 2)
      throw new UserError(`${source} has only one column ("${header[0]}").`, 'Use a comma-separated file with feature columns and a label column.');
    const labelCol = header.indexOf(opts.label);
    if (labelCol < 0)
      throw new UserError(`${source} has no label column "${opts.label}".`, `Pick one of its columns as the label: ${header.join(', ')}.`);
    const drop = new Set(opts.drop ?? []);
    for (const d of drop)
      if (!header.includes(d)) throw new UserError(`${source} has no column "${d}" to drop.`, `Its columns are: ${header.join(', ')}.`);
    if (drop.has(opts.label)) throw new UserError(`The label column "${opts.label}" cannot also be dropped.`, 'Remove it from the list of dropped columns.');
    const featureCols: number[] = [];
    header.forEach((h, i) => {
      if (i !== labelCol && !drop.has(h)) featureCols.push(i);
    });
    const seen = new Set<string>();
    for (const name of [opts.label, ...featureCols.map((c) => header[c])]) {
      if (seen.has(name))
        throw new UserError(
          `${source} has more than one column named "${name}"${name === opts.label ? ' (the label)' : ''}.`,
          'Give every column a distinct name in the header row.',
        );
      seen.add(name);
    }
    if (featureCols.length === 0) throw new UserError(`${source} has no feature columns besides the label.`, 'Keep at least one numeric feature column.');
    const nFeatures = featureCols.length;
    return { labelCol, featureCols, nFeatures, budgetRows: Math.floor(this.maxTableBytes / (4 * nFeatures)) };
  }

  /** Make room for one more row: double the capacity, up to maxRows and the memory budget. */
  private grow(layout: Layout, offset: number): void {
    const { nFeatures, budgetRows } = layout;
    if (this.capRows >= budgetRows) throw this.tooLarge(layout, offset);
    const limit = Math.min(budgetRows, this.maxRows ?? Infinity);
    const cap = Math.min(Math.max(FIRST_CAPACITY, 2 * this.capRows), limit);
    const x = new Float32Array(cap * nFeatures);
    x.set(this.x);
    const ids = new Int32Array(cap);
    ids.set(this.labelIds);
    this.x = x;
    this.labelIds = ids;
    this.capRows = cap;
  }

  private tooLarge(layout: Layout, offset: number): UserError {
    const { nFeatures } = layout;
    const byteSize = this.opts.byteSize;
    const size = byteSize !== undefined ? ` (${fmtBytes(byteSize)})` : '';
    const budget = fmtBytes(this.maxTableBytes);
    const perRow = `${nFeatures} feature${nFeatures === 1 ? '' : 's'} × 4 bytes per row`;
    const todo = 'Load only the rows you need (use --rows A:B or task.maxRows), or split the file into smaller files.';
    if (this.nRows === 0)
      return new UserError(`${this.source}${size} cannot be loaded: a single row (${perRow}) is more than the ${budget} allowed for the feature table.`, todo);
    let estimate = '';
    if (byteSize !== undefined && offset > 0) {
      const rows = Number(Math.round((this.nRows * byteSize) / offset).toPrecision(2));
      estimate = `; the whole file holds about ${fmtCount(rows)} rows, ${fmtBytes(rows * nFeatures * 4)}`;
    }
    return new UserError(
      `${this.source}${size} is too large to load whole: its first ${fmtCount(this.nRows)} data rows already fill the ${budget} allowed for the feature table (${perRow})${estimate}.`,
      todo,
    );
  }
}

/** greedy blank: every cell is whitespace (papaparse's skipEmptyLines: 'greedy') */
function isBlank(cells: string[]): boolean {
  for (const c of cells) if (c.trim() !== '') return false;
  return true;
}

/** Line breaks (\n, \r\n or a lone \r) in text[from, to); one pass over those characters. */
function countLineBreaks(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) n++;
  }
  return n;
}

function fmtBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  if (u === 0) return `${n} bytes`;
  return `${n < 10 && !Number.isInteger(n) ? n.toFixed(1) : Math.round(n)} ${units[u]}`;
}

function fmtCount(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * Class indices from the distinct raw labels (in first-seen order) and each row's index into them.
 * Same rules as the header comment; `opts.classNames` fixes the order.
 */
export function encodeLabels(distinct: string[], ids: Int32Array, source: string, opts: CsvOptions): { labels: Int32Array; classNames: string[] } {
  let classNames: string[];
  let classOf: number[];
  if (opts.classNames) {
    classNames = opts.classNames;
    const unknown = distinct.filter((d) => !classNames.includes(d));
    if (unknown.length)
      throw new UserError(`${source}: label value${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} not among the given classes.`, `Use only ${classNames.join(', ')}, or change the class list.`);
    const index = new Map(classNames.map((v, i) => [v, i]));
    classOf = distinct.map((d) => index.get(d)!);
  } else if (distinct.every((d) => Number.isFinite(Number(d)))) {
    const nums = distinct.map(Number).sort((a, b) => a - b);
    classNames = nums.map(String);
    const isIndex = nums.every((v, i) => v === i);
    const index = new Map(nums.map((v, i) => [v, i]));
    classOf = distinct.map((d) => (isIndex ? Number(d) : index.get(Number(d))!));
  } else {
    classNames = distinct.slice().sort();
    const index = new Map(classNames.map((v, i) => [v, i]));
    classOf = distinct.map((d) => index.get(d)!);
  }
  return { labels: Int32Array.from(ids, (id) => classOf[id]), classNames };
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
