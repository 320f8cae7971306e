import { describe, expect, it } from 'vitest';
import { UserError } from '../errors';
import { decodeUtf8, encodeSentence, encodeTable, encodeText, firstInvalidUtf8, maskTokenId, parseVocab, readTextTable, textNotices, tokenize } from './text';

const VOCAB = { tokens: ['<pad>', '<unk>', 'the', 'movie', "don't", 'like', 'café', '42', '<mask>'], pad: 0, unk: 1, lowercase: true, maxLength: 6 };
const vocab = parseVocab(JSON.stringify(VOCAB), 'vocab.json');

describe('tokenizer', () => {
  it('takes maximal runs of letters, digits and apostrophes, lower-cased; everything else separates', () => {
    expect(tokenize('The MOVIE, don’t-like it!! 42nd café…', true)).toEqual(['the', 'movie', "don't", 'like', 'it', '42nd', 'café']);
    expect(tokenize('The MOVIE', false)).toEqual(['The', 'MOVIE']);
    expect(tokenize('a_b c.d e/f\tg\nh', true)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    // Unicode letters and digits, combining marks kept with their letter (NFC first)
    expect(tokenize('Ελληνικά ٣٤ cafe\u0301 日本語', true)).toEqual(['ελληνικά', '٣٤', 'café', '日本語']);
    expect(tokenize(' ,.;!? ', true)).toEqual([]);
  });

  it('round trip: the ids of known words read back as the words, then padding', () => {
    const e = encodeText('The movie: café 42', vocab);
    expect(Array.from(e.ids)).toEqual([2, 3, 6, 7, 0, 0]);
    expect(e.words).toEqual(['the', 'movie', 'café', '42']);
    expect(Array.from(e.ids.subarray(0, e.words.length), (i) => vocab.tokens[i])).toEqual(e.words);
    expect(e.unknown).toBe(0);
  });

  it('unknown words get unk; texts longer than L are truncated to the first L tokens', () => {
    const e = encodeText('I do not like the movie at all, really', vocab);
    expect(e.nWords).toBe(9);
    expect(e.words).toEqual(['i', 'do', 'not', 'like', 'the', 'movie']);
    expect(Array.from(e.ids)).toEqual([1, 1, 1, 5, 2, 3]);
    expect(e.unknown).toBe(3);
  });
});

describe('vocab.json', () => {
  const bad = (v: unknown) => () => parseVocab(JSON.stringify(v), 'v.json');
  it('reads the documented format', () => {
    expect(vocab.tokens.length).toBe(9);
    expect(vocab.index.get('movie')).toBe(3);
    expect(maskTokenId(vocab, '<mask>', 'v.json')).toBe(8);
    expect(() => maskTokenId(vocab, '<nope>', 'v.json')).toThrow(/mask token "<nope>" is not in v.json/);
  });
  it('refuses malformed vocabularies, naming the field', () => {
    expect(() => parseVocab('{', 'v.json')).toThrow(/v.json is not valid JSON/);
    expect(bad({ ...VOCAB, maxLength: undefined })).toThrow(/no "maxLength" field/);
    expect(bad({ ...VOCAB, tokens: ['<pad>', '<unk>', 'a', 'a'] })).toThrow(/token "a" appears twice \(ids 2 and 3\)/);
    expect(bad({ ...VOCAB, unk: 0 })).toThrow(/"pad" and "unk" are the same id/);
    expect(bad({ ...VOCAB, pad: 99 })).toThrow(/"pad" is 99, not a token id \(0..8\)/);
    expect(bad({ ...VOCAB, maxLength: 0 })).toThrow(/"maxLength" is 0, not a whole number ≥ 1/);
    expect(bad({ ...VOCAB, lowercase: 'yes' })).toThrow(/"lowercase" is "yes"/);
    expect(bad({ ...VOCAB, tokens: ['pad', '<unk>', 'a'] })).toThrow(/pad token "pad" is a word the tokenizer can produce/);
  });
});

describe('UTF-8', () => {
  it('refuses a non-UTF-8 file naming the first bad byte', () => {
    const latin1 = Uint8Array.from([0x74, 0x65, 0x78, 0x74, 0x0a, 0x63, 0x61, 0x66, 0xe9, 0x0a]); // "text\ncafé\n" in Latin-1
    expect(() => decodeUtf8(latin1, 'a.csv')).toThrow(UserError);
    expect(() => decodeUtf8(latin1, 'a.csv')).toThrow(/a.csv is not UTF-8 text \(byte 8 is not valid UTF-8: 0xe9\)/);
    expect(decodeUtf8(new TextEncoder().encode('\uFEFFcafé'), 'b.csv')).toBe('café');
  });
  it('finds the first invalid byte (bad lead, truncated sequence, overlong, surrogate)', () => {
    expect(firstInvalidUtf8(Uint8Array.from([0x61, 0xc3, 0xa9]))).toBe(-1);
    expect(firstInvalidUtf8(Uint8Array.from([0x61, 0xff]))).toBe(1);
    expect(firstInvalidUtf8(Uint8Array.from([0x61, 0xe2, 0x82]))).toBe(1);
    expect(firstInvalidUtf8(Uint8Array.from([0xe0, 0x80, 0x80]))).toBe(0);
    expect(firstInvalidUtf8(Uint8Array.from([0x20, 0xed, 0xa0, 0x80]))).toBe(1);
  });
});

describe('text CSV', () => {
  const csv = 'id,text,label\n1,"The movie, really",pos\n\n2,Don’t like it,neg\r\n3,"two\nlines",pos\n';
  it('reads the text and label columns, class names sorted, line numbers counted', () => {
    const t = readTextTable(csv, 't.csv', { text: 'text', label: 'label' });
    expect(t.texts).toEqual(['The movie, really', 'Don’t like it', 'two\nlines']);
    expect(t.lines).toEqual([2, 4, 5]);
    expect(t.classNames).toEqual(['neg', 'pos']);
    expect(Array.from(t.labels)).toEqual([1, 0, 1]);
    expect(readTextTable(csv, 't.csv', { text: 'text', label: 'label', maxRows: 2 }).texts.length).toBe(2);
  });
  it('refuses missing columns naming the columns there are, empty labels and empty texts (row and line)', () => {
    expect(() => readTextTable(csv, 't.csv', { text: 'review', label: 'label' })).toThrow(/t.csv has no column "review" \(its columns: id, text, label\)\. Name the text column with --text/);
    expect(() => readTextTable(csv, 't.csv', { text: 'text', label: 'y' })).toThrow(/no column "y".*--label/);
    expect(() => readTextTable('text,label\nhello,\n', 'e.csv', { text: 'text', label: 'label' })).toThrow(/e.csv, row 0 \(line 2\): the label \("label"\) is empty/);
    const t = readTextTable('text,label\nfine,1\n"... !!",0\n', 'e.csv', { text: 'text', label: 'label' });
    expect(() => encodeTable(t, vocab, 'e.csv', 'text')).toThrow(/e.csv, row 1 \(line 3\): the text is empty \("... !!" has no letters or digits\)/);
    expect(() => readTextTable('', 'z.csv', { text: 'text', label: 'label' })).toThrow(/z.csv is empty/);
  });
  it('encodes rows with their tokens and lengths, and notices truncation and unknown words', () => {
    const t = readTextTable('text,label\nthe movie,1\nI do not like the movie at all,0\n', 'n.csv', { text: 'text', label: 'label' });
    const { x, info } = encodeTable(t, vocab, 'n.csv', 'text');
    expect(Array.from(x)).toEqual([2, 3, 0, 0, 0, 0, 1, 1, 1, 5, 2, 3]);
    expect(info.tokens).toEqual([['the', 'movie'], ['i', 'do', 'not', 'like', 'the', 'movie']]);
    expect(Array.from(info.lengths)).toEqual([2, 6]);
    expect(info.truncatedRows).toEqual([1]);
    const notes = textNotices(info, 'n.csv');
    expect(notes[0]).toMatch(/1 text has more than 6 tokens .* truncated to the first 6 \(row 1\)/);
    expect(notes[1]).toMatch(/3 of 8 words \(37.5 %\) are not in the vocabulary .* "i", "do", "not"/);
  });

  it('encodes a sentence typed by a user as the rows of its task were', () => {
    const t = readTextTable('text,label\nthe movie,1\n', 'n.csv', { text: 'text', label: 'label' });
    const { info } = encodeTable(t, vocab, 'n.csv', 'text');
    const s = encodeSentence(info, 'The café, the MOVIE!');
    expect(Array.from(s.x)).toEqual([2, 6, 2, 3, 0, 0]);
    expect(s.tokens).toEqual(['the', 'café', 'the', 'movie']);
    expect(s.notices).toEqual([]);
    const long = encodeSentence(info, 'zebras do not like the movie at all');
    expect(Array.from(long.x)).toEqual([1, 1, 1, 5, 2, 3]);
    expect(long.notices[0]).toBe('The sentence has 8 tokens; the model reads the first 6.');
    expect(long.notices[1]).toMatch(/3 of its 6 words are not in the vocabulary .*"zebras", "do", "not"/);
    expect(() => encodeSentence(info, ' ... ')).toThrow(/no word to explain/);
  });
});
