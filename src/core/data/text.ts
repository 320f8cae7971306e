/**
 * Text data: the vocabulary file (`vocab.json`), the default tokenizer, and a CSV with a text column
 * read into token-id rows. Pure TypeScript (no tfjs, no DOM, no Node): the studio's worker and the
 * command line read text with the same functions. docs/text.md is the reference.
 *
 * vocab.json: `{ "tokens": ["<pad>", "<unk>", "the", …], "pad": 0, "unk": 1, "lowercase": true,
 * "maxLength": L }`. The id of a token is its index in `tokens`; `pad` and `unk` are ids; `maxLength`
 * is the model's sequence length L. Checked: tokens a list of distinct strings; pad, unk distinct
 * ids inside it; lowercase a boolean; L a whole number ≥ 1; the pad token is not a word the
 * tokenizer can produce (else a real word would read as padding).
 *
 * The default tokenizer: the text is put in Unicode NFC form, lower-cased when `lowercase`
 * (String.prototype.toLowerCase, locale-free), the right single quotation mark ’ (U+2019) is read as
 * the apostrophe ', and the tokens are the maximal runs of letters (\p{L}, with their combining
 * marks \p{M}), decimal digits (\p{Nd}) and apostrophes; everything else separates. A token not in
 * the vocabulary gets `unk`. The sequence is truncated to L tokens (the row is counted in a notice)
 * and right-padded with `pad`. So a row's real tokens are always its first T ≤ L positions.
 *
 * The CSV: a header row; the text column and the label column named (`--text`, `--label`), other
 * columns ignored; parsed by papaparse (the project's CSV parser) with its delimiter guess. The file
 * must be UTF-8 (decoded with TextDecoder's fatal mode: the first invalid byte is named); an empty
 * text (no token at all) is refused with its row and line. Labels follow the CSV rules of
 * core/data/csv.ts (integers 0..K−1 are class indices; other values sorted).
 */
import Papa from 'papaparse';
import { UserError } from '../errors';
import { encodeLabels } from './csv';

export interface Vocab {
  /** Token strings by id. */
  tokens: string[];
  pad: number;
  unk: number;
  lowercase: boolean;
  /** The model's sequence length L. */
  maxLength: number;
  /** Token string → id. */
  index: Map<string, number>;
}

/** One text encoded for the model. */
export interface EncodedText {
  /** [L] token ids, right-padded with pad. */
  ids: Int32Array;
  /** The words kept (≤ L), as tokenized (lower-cased when the vocabulary says so): one per real position. */
  words: string[];
  /** Words in the text before truncation. */
  nWords: number;
  /** Kept words that are not in the vocabulary (read as unk). */
  unknown: number;
}

/** What a text task's rows are, beside their token ids (Dataset.text). */
export interface TextInfo {
  /** Name of the text column. */
  column: string;
  /** Per row, the words at its real positions (length T_r ≤ L). */
  tokens: string[][];
  /** Per row, T_r: real positions (the rest is padding). */
  lengths: Int32Array;
  /** Rows whose text had more than L tokens (kept: the first L). */
  truncatedRows: number[];
  /** Kept words not in the vocabulary, over all rows; and all kept words. */
  unknownWords: number;
  totalWords: number;
  /** A few of the unknown words, for the notice. */
  unknownExamples: string[];
  vocabSize: number;
  pad: number;
  unk: number;
  /** The id removal writes (pad, or the chosen mask token). */
  removal: number;
  maxLength: number;
  /** The vocabulary the rows were read with (to encode a sentence typed by a user: `encodeSentence`). */
  vocab: Vocab;
}

const WORD = /[\p{L}\p{M}\p{Nd}']+/gu;
const WHOLE_WORD = /^[\p{L}\p{M}\p{Nd}']+$/u;

/** The default tokenizer's words of a text (see the header comment). */
export function tokenize(text: string, lowercase: boolean): string[] {
  let t = text.normalize('NFC').replace(/\u2019/g, "'");
  if (lowercase) t = t.toLowerCase();
  return t.match(WORD) ?? [];
}

const VOCAB_TODO = 'Give a vocab.json of the form { "tokens": ["<pad>", "<unk>", "the", …], "pad": 0, "unk": 1, "lowercase": true, "maxLength": L } (docs/text.md).';

/** Parse and check a vocab.json text; `source` names it in messages. */
export function parseVocab(text: string, source: string): Vocab {
  let j: unknown;
  try {
    j = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new UserError(`${source} is not valid JSON (${(e as Error).message}).`, VOCAB_TODO);
  }
  if (!j || typeof j !== 'object' || Array.isArray(j)) throw new UserError(`${source} is not a JSON object.`, VOCAB_TODO);
  const v = j as Record<string, unknown>;
  for (const k of ['tokens', 'pad', 'unk', 'lowercase', 'maxLength']) if (!(k in v)) throw new UserError(`${source} has no "${k}" field.`, VOCAB_TODO);
  const tokens = v.tokens;
  if (!Array.isArray(tokens) || tokens.length < 2) throw new UserError(`${source}: "tokens" must be a list of at least 2 strings (pad and unk among them).`, VOCAB_TODO);
  const index = new Map<string, number>();
  tokens.forEach((t, i) => {
    if (typeof t !== 'string') throw new UserError(`${source}: token ${i} is ${JSON.stringify(t)}, not a string.`, VOCAB_TODO);
    const before = index.get(t);
    if (before !== undefined) throw new UserError(`${source}: the token ${JSON.stringify(t)} appears twice (ids ${before} and ${i}).`, 'Give every token once: its id is its index in "tokens".');
    index.set(t, i);
  });
  const id = (k: 'pad' | 'unk') => {
    const x = v[k];
    if (!Number.isInteger(x) || (x as number) < 0 || (x as number) >= tokens.length)
      throw new UserError(`${source}: "${k}" is ${JSON.stringify(x)}, not a token id (0..${tokens.length - 1}).`, VOCAB_TODO);
    return x as number;
  };
  const pad = id('pad');
  const unk = id('unk');
  if (pad === unk) throw new UserError(`${source}: "pad" and "unk" are the same id (${pad}).`, 'Give padding and unknown words two different tokens, e.g. "<pad>" (0) and "<unk>" (1).');
  if (typeof v.lowercase !== 'boolean') throw new UserError(`${source}: "lowercase" is ${JSON.stringify(v.lowercase)}, not true or false.`, VOCAB_TODO);
  const L = v.maxLength;
  if (!Number.isInteger(L) || (L as number) < 1) throw new UserError(`${source}: "maxLength" is ${JSON.stringify(L)}, not a whole number ≥ 1.`, 'Set it to the sequence length the model takes (its input is [batch, maxLength]).');
  const padToken = tokens[pad] as string;
  if (WHOLE_WORD.test(padToken))
    throw new UserError(
      `${source}: the pad token ${JSON.stringify(padToken)} is a word the tokenizer can produce, so a text containing it would read as padding.`,
      'Name the pad token with characters the tokenizer separates on, e.g. "<pad>".',
    );
  return { tokens: tokens as string[], pad, unk, lowercase: v.lowercase, maxLength: L as number, index };
}

/** Encode one text: tokenize, look up (unknown → unk), truncate to L, right-pad with pad. */
export function encodeText(text: string, vocab: Vocab, L = vocab.maxLength): EncodedText {
  const all = tokenize(text, vocab.lowercase);
  const words = all.slice(0, L);
  const ids = new Int32Array(L).fill(vocab.pad);
  let unknown = 0;
  words.forEach((w, t) => {
    const i = vocab.index.get(w);
    if (i === undefined) unknown++;
    ids[t] = i ?? vocab.unk;
  });
  return { ids, words, nWords: all.length, unknown };
}

/** The id of a chosen mask token (a token of the vocabulary), or a UserError naming it. */
export function maskTokenId(vocab: Vocab, token: string, source: string): number {
  const i = vocab.index.get(token);
  if (i === undefined) throw new UserError(`The mask token ${JSON.stringify(token)} is not in ${source}.`, `Give a token of the vocabulary (e.g. ${JSON.stringify(vocab.tokens[vocab.unk])}), or leave it out to remove tokens with the pad token.`);
  return i;
}

/** UTF-8 bytes → text, refusing any invalid byte (TextDecoder fatal mode); a BOM is dropped. */
export function decodeUtf8(bytes: ArrayBuffer | Uint8Array, source: string): string {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(b);
  } catch {
    // find the first invalid byte: decode growing prefixes is slow, so scan the UTF-8 grammar
    const at = firstInvalidUtf8(b);
    throw new UserError(
      `${source} is not UTF-8 text (byte ${at} is not valid UTF-8${at >= 0 && at < b.length ? `: 0x${b[at].toString(16).padStart(2, '0')}` : ''}).`,
      'Save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8 in.csv > out.csv, or "CSV UTF-8" in a spreadsheet).',
    );
  }
}

/** Offset of the first byte that breaks UTF-8 (or −1). */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    let need: number;
    let min: number;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) [need, min] = [1, 0x80];
    else if (c >= 0xe0 && c <= 0xef) [need, min] = [2, 0x800];
    else if (c >= 0xf0 && c <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    if (i + need >= b.length) return i;
    let cp = c & (need === 1 ? 0x1f : need === 2 ? 0x0f : 0x07);
    for (let k = 1; k <= need; k++) {
      const cc = b[i + k];
      if (cc === undefined || (cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

export interface TextTable {
  columns: string[];
  /** The text of each data row. */
  texts: string[];
  /** Line number (from 1) of each data row, for messages. */
  lines: number[];
  labels: Int32Array;
  classNames: string[];
  labelName: string;
}

/**
 * Read a CSV with a text column and a label column. Blank lines are skipped; `maxRows` keeps the
 * first rows. Refuses: a missing column (naming the columns there are), a row with too few cells,
 * an empty label, an empty text.
 */
export function readTextTable(text: string, source: string, opts: { text: string; label: string; maxRows?: number }): TextTable {
  const body = text.replace(/^\uFEFF/, '');
  if (body.trim() === '') throw new UserError(`${source} is empty.`, 'Choose a CSV file with a header row, a text column and a label column.');
  // rows with the line (from 1) each starts on: papaparse's step gives the cursor after each row
  const rows: string[][] = [];
  const lineOf: number[] = [];
  let line = 1;
  let prev = 0;
  Papa.parse<string[]>(body, {
    delimiter: '',
    skipEmptyLines: false,
    step: (res) => {
      rows.push(res.data);
      lineOf.push(line);
      const end = res.meta.cursor;
      for (let k = prev; k < end; k++) {
        const ch = body.charCodeAt(k);
        if (ch === 10 || (ch === 13 && body.charCodeAt(k + 1) !== 10)) line++;
      }
      // the row's own line break is consumed with the next row's start
      prev = end;
    },
  });
  let h = 0;
  while (h < rows.length && rows[h].every((c) => c.trim() === '')) h++;
  if (h >= rows.length) throw new UserError(`${source} is empty.`, 'Choose a CSV file with a header row, a text column and a label column.');
  const columns = rows[h].map((c) => c.trim());
  const find = (name: string, flag: string) => {
    const i = columns.indexOf(name);
    if (i < 0) throw new UserError(`${source} has no column "${name}" (its columns: ${columns.join(', ')}).`, `Name the ${flag === 'text' ? 'text' : 'label'} column with --${flag} (job: task.${flag}), one of: ${columns.join(', ')}.`);
    return i;
  };
  const ti = find(opts.text, 'text');
  const li = find(opts.label, 'label');
  if (ti === li) throw new UserError(`${source}: the text column and the label column are the same ("${opts.text}").`, 'Name two different columns with --text and --label.');
  const texts: string[] = [];
  const lines: number[] = [];
  const rawLabels: string[] = [];
  const max = opts.maxRows && opts.maxRows > 0 ? opts.maxRows : Infinity;
  for (let r = h + 1; r < rows.length && texts.length < max; r++) {
    const cells = rows[r];
    if (cells.every((c) => c.trim() === '')) continue;
    const row = texts.length;
    if (cells.length <= Math.max(ti, li))
      throw new UserError(`${source}, row ${row} (line ${lineOf[r]}): ${cells.length} cell${cells.length === 1 ? '' : 's'}, but the header has ${columns.length} columns.`, 'Give every row a cell for every column (quote a text that holds the delimiter).');
    const lab = cells[li].trim();
    if (lab === '') throw new UserError(`${source}, row ${row} (line ${lineOf[r]}): the label ("${opts.label}") is empty.`, 'Give every row its label, or remove the row.');
    texts.push(cells[ti]);
    lines.push(lineOf[r]);
    rawLabels.push(lab);
  }
  if (texts.length === 0) throw new UserError(`${source} has a header but no data rows.`, 'Add one row per text.');
  const distinct: string[] = [];
  const seen = new Map<string, number>();
  const ids = Int32Array.from(rawLabels, (l) => {
    let i = seen.get(l);
    if (i === undefined) {
      i = distinct.length;
      distinct.push(l);
      seen.set(l, i);
    }
    return i;
  });
  const { labels, classNames } = encodeLabels(distinct, ids, source, { label: opts.label });
  return { columns, texts, lines, labels, classNames, labelName: opts.label };
}

/**
 * Token-id rows of a text table: [nRows, L] (float32, what the model is fed; the Embedding reads
 * them as integers) and the TextInfo. An empty text (no token) is refused with its row and line.
 */
export function encodeTable(table: TextTable, vocab: Vocab, source: string, column: string, removal = vocab.pad): { x: Float32Array; info: TextInfo } {
  const L = vocab.maxLength;
  const n = table.texts.length;
  const x = new Float32Array(n * L);
  const tokens: string[][] = [];
  const lengths = new Int32Array(n);
  const truncatedRows: number[] = [];
  let unknownWords = 0;
  let totalWords = 0;
  const examples = new Set<string>();
  for (let r = 0; r < n; r++) {
    const e = encodeText(table.texts[r], vocab, L);
    if (e.words.length === 0)
      throw new UserError(
        `${source}, row ${r} (line ${table.lines[r]}): the text is empty${table.texts[r].trim() ? ` (${JSON.stringify(table.texts[r].slice(0, 40))} has no letters or digits)` : ''}, so there is no token to explain.`,
        'Remove the row or give it a text.',
      );
    x.set(e.ids, r * L);
    tokens.push(e.words);
    lengths[r] = e.words.length;
    if (e.nWords > L) truncatedRows.push(r);
    unknownWords += e.unknown;
    totalWords += e.words.length;
    if (examples.size < 5) for (const w of e.words) if (!vocab.index.has(w) && examples.size < 5) examples.add(w);
  }
  return {
    x,
    info: {
      column,
      tokens,
      lengths,
      truncatedRows,
      unknownWords,
      totalWords,
      unknownExamples: [...examples],
      vocabSize: vocab.tokens.length,
      pad: vocab.pad,
      unk: vocab.unk,
      removal,
      maxLength: L,
      vocab,
    },
  };
}

/**
 * One sentence typed by a user, encoded for a loaded text task as its rows were: the model row
 * ([L] token ids, float32), its tokens (one per real position) and the notices (truncation, unknown
 * words). An empty sentence (no token) is refused.
 */
export function encodeSentence(info: TextInfo, text: string): { x: Float32Array; tokens: string[]; notices: string[] } {
  const e = encodeText(text, info.vocab, info.maxLength);
  if (e.words.length === 0) throw new UserError('The sentence has no word to explain (no letters or digits).', 'Type a sentence with at least one word.');
  const notices: string[] = [];
  if (e.nWords > info.maxLength) notices.push(`The sentence has ${e.nWords} tokens; the model reads the first ${info.maxLength}.`);
  const unknown = e.words.filter((w) => !info.vocab.index.has(w));
  if (unknown.length) notices.push(`${unknown.length} of its ${e.words.length} words are not in the vocabulary and read as the unknown token: ${unknown.slice(0, 5).map((w) => JSON.stringify(w)).join(', ')}${unknown.length > 5 ? ', …' : ''}.`);
  return { x: Float32Array.from(e.ids), tokens: e.words, notices };
}

/** Notices a text task gives (truncation, unknown words): sentences for stderr or the Task panel. */
export function textNotices(info: TextInfo, source: string): string[] {
  const out: string[] = [];
  const t = info.truncatedRows;
  if (t.length)
    out.push(
      `${source}: ${t.length} text${t.length > 1 ? 's have' : ' has'} more than ${info.maxLength} tokens (the model's sequence length) and ${t.length > 1 ? 'were' : 'was'} truncated to the first ${info.maxLength} (row${t.length > 1 ? 's' : ''} ${t.slice(0, 5).join(', ')}${t.length > 5 ? ', …' : ''}).`,
    );
  if (info.unknownWords > 0)
    out.push(
      `${source}: ${info.unknownWords} of ${info.totalWords} words (${((100 * info.unknownWords) / Math.max(1, info.totalWords)).toFixed(1)} %) are not in the vocabulary and read as the unknown token (e.g. ${info.unknownExamples.map((w) => JSON.stringify(w)).join(', ')}).`,
    );
  return out;
}

/** Feature names of a text task: one per sequence position. */
export function positionNames(L: number): string[] {
  return Array.from({ length: L }, (_, t) => `token ${t}`);
}
