import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUserError } from '../errors';
import { csvColumns, parseCsv, parseCsvStream, readableStreamChunks, type CsvStreamOptions, type Dataset } from './csv';

const FIX = join(__dirname, '../../../tests/fixtures/csv');
const fixture = (name: string) => readFileSync(join(FIX, name), 'utf8');

/** The UserError message of a call, or a failed expectation when it does not throw one. */
function userErrorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(isUserError(e), String(e)).toBe(true);
    return (e as Error).message;
  }
  return expect.unreachable('expected a UserError') as never;
}

async function streamErrorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(isUserError(e), String(e)).toBe(true);
    return (e as Error).message;
  }
  return expect.unreachable('expected a UserError') as never;
}

/** An async chunk source that counts how many chunks were pulled. */
function counted(chunks: Iterable<string> | AsyncIterable<string>): { chunks: AsyncIterable<string>; pulled: () => number; closed: () => boolean } {
  let pulled = 0;
  let closed = false;
  async function* gen() {
    try {
      for await (const c of chunks) {
        pulled++;
        yield c;
      }
    } finally {
      closed = true;
    }
  }
  return { chunks: gen(), pulled: () => pulled, closed: () => closed };
}

const f32 = (v: number[]) => Array.from(Float32Array.from(v));

describe('parseCsv: values', () => {
  const text = fixture('quoted-crlf.csv');

  it('the fixture really has a BOM, CRLF line breaks and a CRLF inside a quoted field', () => {
    expect(text.charCodeAt(0)).toBe(0xfeff);
    expect(text).toContain('"versi\r\ncolor"\r\n');
    expect(text.replace(/\r\n/g, '')).not.toContain('\n');
  });

  it('parses quoted cells, escaped quotes, blank lines and CRLF exactly', () => {
    const d = parseCsv(text, 'q.csv', { label: 'species', drop: ['id'] });
    expect(d.featureNames).toEqual(['w, cm', 'h']);
    expect(d.labelName).toBe('species');
    expect(d.nRows).toBe(4);
    expect(d.nFeatures).toBe(2);
    expect(d.x).toBeInstanceOf(Float32Array);
    expect(d.x.length).toBe(8);
    expect(Array.from(d.x)).toEqual(f32([1.5, 2, 3.25, -4, 1e-3, 5, 0.1, 0]));
    expect(d.classNames).toEqual(['say "hi"', 'setosa', 'versi\r\ncolor']);
    expect(Array.from(d.labels)).toEqual([1, 2, 0, 1]);
  });

  it('gives true line numbers (blank lines and line breaks inside quotes count)', () => {
    const bad = text.replace('4,0.1,1e-50', '4,0.1,x');
    expect(userErrorOf(() => parseCsv(bad, 'q.csv', { label: 'species', drop: ['id'] }))).toMatch(
      /^q\.csv, row 3 \(line 7\), column "h": "x" is not a number\. Every feature must be numeric/,
    );
  });

  it('keeps the old row/line numbers of a file without blank lines', () => {
    expect(userErrorOf(() => parseCsv('a,b,label\n1,2,0\n1,x,0\n', 'bad.csv', { label: 'label' }))).toMatch(/^bad\.csv, row 1 \(line 3\), column "b": "x" is not a number/);
  });

  it('keeps integer labels 0..K-1 as indices and renumbers others', () => {
    expect(Array.from(parseCsv('a,y\n1,2\n2,0\n3,1\n', 'i.csv', { label: 'y' }).labels)).toEqual([2, 0, 1]);
    const d = parseCsv('a,y\n1,5\n2,3\n3,5\n', 'w.csv', { label: 'y' });
    expect(d.classNames).toEqual(['3', '5']);
    expect(Array.from(d.labels)).toEqual([1, 0, 1]);
    const c = parseCsv('a,y\n1,b\n2,a\n', 'c.csv', { label: 'y', classNames: ['b', 'a'] });
    expect(Array.from(c.labels)).toEqual([0, 1]);
    expect(userErrorOf(() => parseCsv('a,y\n1,b\n2,z\n', 'c.csv', { label: 'y', classNames: ['b', 'a'] }))).toMatch(/label value z not among the given classes/);
  });
});

describe('parseCsv: float32 range', () => {
  const one = (cell: string) => parseCsv(`a,y\n${cell},0\n`, 'r.csv', { label: 'y' }).x[0];

  it.each(['1e39', '1e308', '-1e300', '3.5e38', '-3.41e38'])('refuses %s with row, line, column and a fix', (cell) => {
    expect(userErrorOf(() => parseCsv(`a,b,y\n1,2,0\n3,${cell},1\n`, 'r.csv', { label: 'y' }))).toMatch(
      new RegExp(`^r\\.csv, row 1 \\(line 3\\), column "b": ${cell.replace(/[.+-]/g, '\\$&')} is too large for the 32-bit floats .*Rescale the column`),
    );
  });

  it('refuses the fixture row that is out of range and keeps the largest float32', () => {
    expect(userErrorOf(() => parseCsv(fixture('float32-range.csv'), 'float32-range.csv', { label: 'y' }))).toMatch(
      /^float32-range\.csv, row 1 \(line 3\), column "b": 1e39 is too large/,
    );
    expect(parseCsv(fixture('float32-range.csv'), 'f.csv', { label: 'y', maxRows: 1 }).x[1]).toBe(3.4028234663852886e38);
  });

  it('keeps values that round to the largest float32 (how float32 writers print it)', () => {
    expect(one('3.4028235e38')).toBe(3.4028234663852886e38);
    expect(one('-3.4028235e38')).toBe(-3.4028234663852886e38);
  });

  it('accepts values that underflow: to 0 / -0, or to a float32 subnormal', () => {
    expect(one('1e-50')).toBe(0);
    expect(Object.is(one('-1e-50'), -0)).toBe(true);
    expect(one('1e-40')).toBe(Math.fround(1e-40));
    expect(one('1e-40')).toBeGreaterThan(0);
  });

  it('refuses Infinity and -inf as not a number, NaN as missing', () => {
    expect(userErrorOf(() => one('Infinity'))).toMatch(/row 0 \(line 2\), column "a": "Infinity" is not a number/);
    expect(userErrorOf(() => one('-inf'))).toMatch(/row 0 \(line 2\), column "a": "-inf" is not a number/);
    expect(userErrorOf(() => one('NaN'))).toMatch(/row 0 \(line 2\), column "a": the cell is missing \("NaN"\)/);
  });
});

describe('parseCsv: header problems', () => {
  it('refuses duplicate feature names (the CLI check, now in core)', () => {
    expect(userErrorOf(() => parseCsv(fixture('duplicate-columns.csv'), 'dup.csv', { label: 'target' }))).toBe(
      'dup.csv has more than one column named "a". Give every column a distinct name in the header row.',
    );
  });

  it('refuses a second column named like the label, and names that differ only by spaces', () => {
    expect(userErrorOf(() => parseCsv('y,a,y\n0,1,0\n', 'd.csv', { label: 'y' }))).toMatch(/^d\.csv has more than one column named "y" \(the label\)\. Give every column/);
    expect(userErrorOf(() => parseCsv(' a,a ,y\n1,2,0\n', 'd.csv', { label: 'y' }))).toMatch(/more than one column named "a"\./);
  });

  it('lets dropped columns repeat a name', () => {
    const d = parseCsv('id,id,a,y\n1,2,3,0\n', 'd.csv', { label: 'y', drop: ['id'] });
    expect(d.featureNames).toEqual(['a']);
    expect(Array.from(d.x)).toEqual([3]);
  });

  it('refuses duplicates in a stream too, before reading the rows', async () => {
    const src = counted(['a,a,y\n', '1,2,0\n', '3,4,1\n', '5,6,1\n']);
    expect(await streamErrorOf(parseCsvStream(src.chunks, 'dup.csv', { label: 'y', sniffChars: 6 }))).toMatch(/more than one column named "a"/);
    expect(src.pulled()).toBe(2);
  });

  it('keeps the other header messages', () => {
    expect(userErrorOf(() => parseCsv('a,b,label\n1,2,0\n', 'bad.csv', { label: 'species' }))).toMatch(/^bad\.csv has no label column "species"\. Pick one of its columns as the label: a, b, label\./);
    expect(userErrorOf(() => parseCsv('a\n1\n', 'one.csv', { label: 'a' }))).toMatch(/has only one column \("a"\)/);
    expect(userErrorOf(() => parseCsv('a,y\n1,0\n', 'x.csv', { label: 'y', drop: ['b'] }))).toMatch(/has no column "b" to drop\. Its columns are: a, y\./);
    expect(userErrorOf(() => parseCsv('a,y\n1,0\n', 'x.csv', { label: 'y', drop: ['a'] }))).toMatch(/has no feature columns besides the label/);
  });
});

describe('empty input', () => {
  it('a 0-byte file is empty', async () => {
    expect(fixture('empty.csv')).toBe('');
    expect(userErrorOf(() => parseCsv(fixture('empty.csv'), 'empty.csv', { label: 'y' }))).toBe(
      'empty.csv is empty. Choose a CSV file with a header row and one row per sample.',
    );
    expect(await streamErrorOf(parseCsvStream([], 'empty.csv', { label: 'y' }))).toMatch(/^empty\.csv is empty\./);
    expect(await streamErrorOf(parseCsvStream(['', ''], 'empty.csv', { label: 'y' }))).toMatch(/^empty\.csv is empty\./);
    const src = counted(['a,y\n1,0\n']);
    expect(await streamErrorOf(parseCsvStream(src.chunks, 'empty.csv', { label: 'y', byteSize: 0 }))).toMatch(/^empty\.csv is empty\./);
    expect(src.pulled()).toBe(0);
    expect(userErrorOf(() => csvColumns('', 'empty.csv'))).toMatch(/^empty\.csv is empty\./);
  });

  it('whitespace or a lone BOM is empty, never "no label column … : ."', async () => {
    for (const t of ['\n\r\n  \n', '\uFEFF', '\uFEFF\n'])
      expect(userErrorOf(() => parseCsv(t, 'w.csv', { label: 'y' }))).toMatch(/^w\.csv is empty\./);
    expect(await streamErrorOf(parseCsvStream(['\uFEFF', '\r', '\n', '  '], 'w.csv', { label: 'y' }))).toMatch(/^w\.csv is empty\./);
  });

  it('a header without rows has no data rows (whatever the label)', async () => {
    for (const label of ['target', 'species'])
      expect(userErrorOf(() => parseCsv(fixture('header-only.csv'), 'h.csv', { label }))).toBe('h.csv has a header but no data rows. Add at least one row of values below the header.');
    expect(await streamErrorOf(parseCsvStream(['a,b,tar', 'get'], 'h.csv', { label: 'target' }))).toMatch(/^h\.csv has a header but no data rows\./);
  });

  it('binary data is refused', () => {
    expect(userErrorOf(() => parseCsv('PK\u0003\u0004\u0000\u0000', 'x.xlsx', { label: 'y' }))).toMatch(/x\.xlsx is not a text CSV file \(it contains binary data\)/);
  });

  it('csvColumns reads only the header', () => {
    expect(csvColumns(fixture('quoted-crlf.csv'), 'q.csv')).toEqual(['id', 'w, cm', 'h', 'species']);
    expect(csvColumns('\n\n a ; b;c\n1;2;3', 's.csv')).toEqual(['a', 'b', 'c']);
  });
});

describe('parseCsvStream: chunk boundaries', () => {
  const text = fixture('quoted-crlf.csv');
  const opts = { label: 'species', drop: ['id'] };
  const whole = parseCsv(text, 'q.csv', opts);

  it('every split into two chunks gives the same Dataset as the whole text', async () => {
    // sniffChars 24 ends the guess right after the header, so most splits reach the incremental parser
    for (const sniffChars of [undefined, 24])
      for (let p = 0; p <= text.length; p++) {
        const d = await parseCsvStream([text.slice(0, p), text.slice(p)], 'q.csv', { ...opts, sniffChars });
        expect(d, `split at ${p} (${JSON.stringify(text.slice(Math.max(0, p - 3), p))}|${JSON.stringify(text.slice(p, p + 3))}), sniffChars ${sniffChars}`).toEqual(whole);
      }
  });

  it('every split into three chunks, and one character per chunk, give the same Dataset', async () => {
    for (let p = 24; p <= text.length; p++)
      for (let q = p; q <= text.length; q++) {
        const d = await parseCsvStream([text.slice(0, p), text.slice(p, q), text.slice(q)], 'q.csv', { ...opts, sniffChars: 24 });
        expect(d, `splits at ${p}, ${q}`).toEqual(whole);
      }
    expect(await parseCsvStream([...text], 'q.csv', { ...opts, sniffChars: 24 })).toEqual(whole);
    expect(await parseCsvStream([...text], 'q.csv', opts)).toEqual(whole);
  });

  it('errors name the same row and line whatever the split', async () => {
    const bad = text.replace('4,0.1,1e-50', '4,1e39,0');
    const expected = userErrorOf(() => parseCsv(bad, 'q.csv', opts));
    expect(expected).toMatch(/^q\.csv, row 3 \(line 7\), column "w, cm": 1e39 is too large/);
    for (let p = 0; p <= bad.length; p++) expect(await streamErrorOf(parseCsvStream([bad.slice(0, p), bad.slice(p)], 'q.csv', { ...opts, sniffChars: 24 }))).toBe(expected);
  });

  it('guesses a semicolon delimiter in a stream as in the whole text', async () => {
    const t = 'a;b;y\r\n1,5;2;0\r\n3;4;1\r\n';
    expect(userErrorOf(() => parseCsv(t, 's.csv', { label: 'y' }))).toMatch(/row 0 \(line 2\), column "a": "1,5" is not a number/);
    const u = t.replace('1,5', '1.5');
    const d = parseCsv(u, 's.csv', { label: 'y' });
    expect(Array.from(d.x)).toEqual([1.5, 2, 3, 4]);
    for (let p = 0; p <= u.length; p++) expect(await parseCsvStream([u.slice(0, p), u.slice(p)], 's.csv', { label: 'y' })).toEqual(d);
  });

  it('a delimiter/line-break guess that ends between \\r and \\n still sees \\r\\n', async () => {
    const t = 'a,b,y\r\n"1","2","0"\r\n"3","4","1"\r\n';
    const d = parseCsv(t, 'c.csv', { label: 'y' });
    expect(Array.from(d.x)).toEqual([1, 2, 3, 4]);
    expect(await parseCsvStream([t], 'c.csv', { label: 'y', sniffChars: 6 })).toEqual(d);
    expect(parseCsv(t, 'c.csv', { label: 'y', sniffChars: 6 })).toEqual(d);
  });

  it('refuses non-string chunks with a programming error', async () => {
    await expect(parseCsvStream([new Uint8Array([97]) as unknown as string], 'b.csv', { label: 'y' })).rejects.toThrow(TypeError);
  });

  it('an unterminated quoted field is named, whole or streamed', async () => {
    const t = 'a,y\n1,0\n"2,1\n3,1\n';
    expect(userErrorOf(() => parseCsv(t, 'u.csv', { label: 'y' }))).toMatch(/^u\.csv, row 1 \(line 3\) opens a quoted field \("\) that never closes\. Close the quoted field/);
    // streamed with a row-length cap: stops once the runaway row passes it
    const rows = Array.from({ length: 2000 }, (_, i) => `${i},1\n`);
    const src = counted(['a,y\n1,0\n"2,1\n', ...rows]);
    expect(await streamErrorOf(parseCsvStream(src.chunks, 'u.csv', { label: 'y', sniffChars: 8, maxRowChars: 1000 }))).toMatch(
      /^u\.csv, row 1 \(line 3\) runs on for more than 1,000 characters without ending.*stray "/,
    );
    expect(src.pulled()).toBeLessThan(500);
  });
});

describe('readableStreamChunks (browser path)', () => {
  const text = 'a,"b"\r\n1.5,café\r\n2,thé\r\n3,café\r\n';
  const bytes = new TextEncoder().encode(text);
  const byteStream = (size: number, onCancel?: () => void) => {
    let i = 0;
    return new ReadableStream<BufferSource>({
      pull(c) {
        if (i >= bytes.length) return c.close();
        c.enqueue(bytes.slice(i, i + size));
        i += size;
      },
      cancel: onCancel,
    });
  };

  it('decodes bytes split inside multi-byte characters and parses as the whole text', async () => {
    const whole = parseCsv(text, 'b.csv', { label: 'b' });
    expect(whole.classNames).toEqual(['café', 'thé']);
    for (const size of [1, 2, 3, 7, 1000]) {
      const d = await parseCsvStream(readableStreamChunks(byteStream(size).pipeThrough(new TextDecoderStream())), 'b.csv', { label: 'b', byteSize: bytes.length, sniffChars: 9 });
      expect(d).toEqual(whole);
    }
  });

  it('takes a File the way the header comment shows', async () => {
    const file = new File([bytes], 'f.csv');
    const d = await parseCsvStream(readableStreamChunks(file.stream().pipeThrough(new TextDecoderStream())), file.name, { label: 'b', byteSize: file.size });
    expect(d).toEqual({ ...parseCsv(text, 'b.csv', { label: 'b' }), source: 'f.csv' });
  });

  it('cancels the stream when maxRows stops reading', async () => {
    let cancelled = false;
    const d = await parseCsvStream(readableStreamChunks(byteStream(4, () => (cancelled = true)).pipeThrough(new TextDecoderStream())), 'b.csv', { label: 'b', maxRows: 1, sniffChars: 8 });
    expect(d.nRows).toBe(1);
    expect(Array.from(d.x)).toEqual([1.5]);
    expect(cancelled).toBe(true);
  });
});

describe('maxRows', () => {
  it('reads only the first rows; later rows are never looked at', () => {
    const t = 'a,y\n1,0\n2,1\n3,oops,9\nx,1\n';
    expect(userErrorOf(() => parseCsv(t, 'm.csv', { label: 'y' }))).toMatch(/row 2 \(line 4\) has 3 cells/);
    const d = parseCsv(t, 'm.csv', { label: 'y', maxRows: 2 });
    expect(d.nRows).toBe(2);
    expect(Array.from(d.x)).toEqual([1, 2]);
    expect(Array.from(d.labels)).toEqual([0, 1]);
    expect(d.x.length).toBe(2);
    expect(parseCsv(t.slice(0, 12), 'm.csv', { label: 'y', maxRows: 50 }).nRows).toBe(2);
  });

  it('must be a whole number ≥ 1', () => {
    for (const maxRows of [0, -1, 1.5, NaN]) expect(userErrorOf(() => parseCsv('a,y\n1,0\n', 'm.csv', { label: 'y', maxRows }))).toMatch(/maxRows must be a whole number of rows ≥ 1/);
  });
});

describe('a 20 MB file from disk', () => {
  let dir: string;
  let path: string;
  const N_ROWS = 230_000;
  const N_FEATURES = 10;
  const CHUNK = 64 * 1024;
  // exact in float32 and float64: k/8
  const value = (r: number, j: number) => (((r * 31 + j * 7) % 4001) - 2000) / 8;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'deepfaith-csv-'));
    path = join(dir, 'big.csv');
    const header = [...Array.from({ length: N_FEATURES }, (_, j) => `f${j}`), 'label'].join(',') + '\r\n';
    const parts = [header];
    for (let r = 0; r < N_ROWS; r++) {
      const cells: string[] = [];
      for (let j = 0; j < N_FEATURES; j++) cells.push(value(r, j).toFixed(3));
      cells.push(r % 3 === 0 ? '"class ""a"""' : r % 3 === 1 ? 'b' : 'c');
      parts.push(cells.join(',') + '\r\n');
    }
    writeFileSync(path, parts.join(''));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const open = () => createReadStream(path, { encoding: 'utf8', highWaterMark: CHUNK });
  const opts = (more: Partial<CsvStreamOptions> = {}): CsvStreamOptions => ({ label: 'label', byteSize: statSync(path).size, ...more });
  const check = (d: Dataset, rows: number) => {
    expect(d.nRows).toBe(rows);
    expect(d.nFeatures).toBe(N_FEATURES);
    expect(d.x.length).toBe(rows * N_FEATURES);
    expect(d.classNames).toEqual(['b', 'c', 'class "a"']);
    for (const r of [0, 1, 2, rows - 1]) {
      expect(Array.from(d.x.subarray(r * N_FEATURES, (r + 1) * N_FEATURES))).toEqual(Array.from({ length: N_FEATURES }, (_, j) => value(r, j)));
      expect(d.labels[r]).toBe([2, 0, 1][r % 3]);
    }
  };

  it('is about 20 MB', () => {
    const size = statSync(path).size;
    expect(size).toBeGreaterThan(18e6);
    expect(size).toBeLessThan(25e6);
  });

  it('with maxRows reads only the first chunks and closes the file', async () => {
    const file = open();
    const src = counted(file);
    const d = await parseCsvStream(src.chunks, path, opts({ maxRows: 1000 }));
    check(d, 1000);
    expect(src.pulled()).toBeGreaterThan(0);
    // 1 MiB for the delimiter guess (16 chunks) + the chunk holding row 1000; the file has ~310
    expect(src.pulled()).toBeLessThanOrEqual(18);
    expect(src.closed()).toBe(true);
    await new Promise((r) => setTimeout(r, 10));
    expect(file.destroyed).toBe(true);
  });

  it('streams the whole file to the same Dataset as parseCsv on its text', async () => {
    const src = counted(open());
    const d = await parseCsvStream(src.chunks, path, opts());
    check(d, N_ROWS);
    expect(src.pulled()).toBeGreaterThan(250);
    const whole = parseCsv(readFileSync(path, 'utf8'), path, { label: 'label' });
    expect(Buffer.compare(Buffer.from(d.x.buffer, d.x.byteOffset, d.x.byteLength), Buffer.from(whole.x.buffer, whole.x.byteOffset, whole.x.byteLength))).toBe(0);
    expect(Buffer.compare(Buffer.from(d.labels.buffer), Buffer.from(whole.labels.buffer))).toBe(0);
    expect(d.x.buffer.byteLength).toBe(d.x.byteLength);
  });

  it('stops at the memory budget with the file size, the rows read and the fix', async () => {
    const src = counted(open());
    const msg = await streamErrorOf(parseCsvStream(src.chunks, 'big.csv', opts({ maxTableBytes: 2 ** 20 })));
    const rows = Math.floor(2 ** 20 / (4 * N_FEATURES)); // 26,214
    expect(msg).toMatch(
      new RegExp(
        `^big\\.csv \\((19|20) MiB\\) is too large to load whole: its first ${rows.toLocaleString('en-US')} data rows already fill the 1 MiB allowed for the feature table \\(10 features × 4 bytes per row\\); the whole file holds about 230,000 rows, 8\\.8 MiB\\. Load only the rows you need \\(use --rows A:B or task\\.maxRows\\), or split the file`,
      ),
    );
    expect(src.pulled()).toBeLessThan(60);
    // the same limit without a known size, on the whole text
    expect(userErrorOf(() => parseCsv(readFileSync(path, 'utf8'), 'big.csv', { label: 'label', maxTableBytes: 2 ** 20 }))).toMatch(
      /^big\.csv is too large to load whole: its first 26,214 data rows already fill the 1 MiB/,
    );
    // maxRows under the budget loads
    check(await parseCsvStream(open(), 'big.csv', opts({ maxTableBytes: 2 ** 20, maxRows: rows })), rows);
  });

  it('a budget below one row says so', () => {
    expect(userErrorOf(() => parseCsv('a,b,y\n1,2,0\n', 'w.csv', { label: 'y', maxTableBytes: 4 }))).toMatch(
      /^w\.csv cannot be loaded: a single row \(2 features × 4 bytes per row\) is more than the 4 bytes allowed/,
    );
  });
});
