/**
 * The studio's store on text tasks, driving the real worker handler in-process: the sentiment demo
 * (its tokens, notices and the zero baseline written into the job), explanations with exactly 0 at
 * padding, the metric inspector replaying a text row on its own tokens (its value = the stored
 * score, one curve point per token), the Figure 5 grid's INS/DEL of text rows (= the stored
 * scores), a typed sentence explained as a data row with the same
 * text is (the engine's encodeSentence), the mask token (into the job; a token outside the
 * vocabulary refused, the task kept), and a dropped text model + vocab.json + CSV: its text column
 * chosen, then a vocabulary of the wrong size, a non-UTF-8 CSV, an empty text and a missing label
 * column each refused with the engine's message while the loaded task stays; and the studio's
 * table for the sentiment demo equal to runJob's for the job it exports.
 */
import { readFileSync } from 'node:fs';
import Papa from 'papaparse';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeText, parseVocab } from '../core/data/text';
import { resolveJob, runJob } from '../core/job';
import { nodeJobIO } from '../cli/commands/run';
import { WorkerClient } from '../worker/client';
import { createStudioStore, reportTable, type StudioStore, type TextDraft } from './store';
import { memoryPersistence } from './persist';
import { inProcessWorker } from '../../tests/helpers/inProcessWorker';
import { useBackend } from '../../tests/helpers/models';
import { bagOfEmbeddings } from '../../tests/helpers/textModels';

async function newStore(): Promise<StudioStore> {
  const store = createStudioStore({ client: new WorkerClient(inProcessWorker()), persistence: memoryPersistence(), baseUrl: '' });
  await store.getState().initBackend('wasm');
  return store;
}

beforeAll(() => useBackend('wasm'));

const demoTexts = (Papa.parse<string[]>(readFileSync('public/demos/sentiment/data.csv', 'utf8'), { skipEmptyLines: true }).data as string[][]).slice(1).map((r) => r[0]);
const demoVocab = parseVocab(readFileSync('public/demos/sentiment/vocab.json', 'utf8'), 'vocab.json');

describe('the sentiment demo in the store', () => {
  let store: StudioStore;
  const st = () => store.getState();
  beforeAll(async () => {
    store = await newStore();
    expect(await st().loadDemo('sentiment')).toBe(true);
  }, 120_000);

  it('loads with its tokens, notices and the zero baseline (removal writes the pad token) in the job', () => {
    const t = st().info!.text!;
    expect(st().info!.nRows).toBe(3000);
    expect(st().info!.nFeatures).toBe(32);
    expect(t.maxLength).toBe(32);
    expect(t.vocabSize).toBe(demoVocab.tokens.length);
    expect([t.padToken, t.unkToken, t.removalToken, t.maskToken]).toEqual(['<pad>', '<unk>', '<pad>', undefined]);
    // the rows' tokens are the tokenizer's, row by row
    for (const r of [0, 1, 2, 999, 2999]) {
      const e = encodeText(demoTexts[r], demoVocab);
      expect(t.tokens[r]).toEqual(e.words);
      expect(t.lengths[r]).toBe(e.words.length);
      expect(Array.from(st().info!.x.subarray(r * 32, (r + 1) * 32))).toEqual(Array.from(e.ids));
    }
    expect(t.truncatedRows.length).toBe(61);
    expect(st().info!.notices.length).toBe(2);
    expect(st().info!.notices[0]).toMatch(/61 texts have more than 32 tokens/);
    expect(st().info!.notices[1]).toMatch(/not in the vocabulary and read as the unknown token/);
    expect(st().settings.baseline).toBe('zero');
    expect(st().exportJob().task).toEqual({ demo: 'sentiment', baseline: 'zero', output: 'probability', target: 'predicted', maxRows: 3000 });
  });

  it('explains rows (0 at padding), and the inspector replays a row on its own tokens: value = stored score, T + 1 points, the pad token written at the removed positions', async () => {
    for (const m of st().methods) st().setMethod(m.id, { enabled: ['occlusion', 'integrated-gradients'].includes(m.id) });
    for (const m of st().metrics) st().setMetric(m.id, { enabled: ['INS', 'DEL', 'FC'].includes(m.id) });
    st().setRows({ count: 6 });
    expect(await st().runExplain()).toBe(true);
    const a = st().attribution!;
    const lengths = st().info!.text!.lengths;
    for (const e of a.explanations)
      for (let i = 0; i < 6; i++) {
        const row = e.values.subarray(i * 32, (i + 1) * 32);
        expect(Array.from(row.subarray(lengths[i])).every((v) => v === 0)).toBe(true);
        expect(Array.from(row.subarray(0, lengths[i])).some((v) => v !== 0)).toBe(true);
      }
    expect(await st().runEvaluate()).toBe(true);
    const ev = st().evaluation!;
    const j = ev.scores.findIndex((e) => e.methodId === 'occlusion');
    for (const sample of [0, 3]) {
      const T = lengths[sample];
      const s = ev.scores[j].scored.slice(sample * 32, (sample + 1) * 32);
      for (const metricId of ['DEL', 'INS', 'FC']) {
        const tr = await st().trace(a.rows[sample], a.target[sample], s, metricId, {});
        const stored = ev.scores[j].metrics.find((m) => m.metricId === metricId)!;
        expect(tr.value).toBeCloseTo(stored.perSample[sample], 6);
        expect(tr.nFeatures).toBe(T);
        for (const step of tr.steps) expect(step.removed.every((f) => f < T)).toBe(true);
        if (metricId === 'FC') continue;
        expect(tr.steps.length).toBe(T + 1);
        expect(Array.from(tr.curve!)).toEqual(Array.from(stored.curves![sample]));
        // step t of deletion: the t highest-ranked tokens are the pad token, the others the row's own
        tr.steps.forEach((step, t) => {
          const removed = new Set(step.removed);
          expect(removed.size).toBe(metricId === 'DEL' ? t : T - t);
          const words = st().info!.text!.tokens[a.rows[sample]];
          tr.tokens![t].forEach((w, pos) => {
            const id = st().info!.x[a.rows[sample] * 32 + pos];
            expect(w).toBe(removed.has(pos) ? '<pad>' : id === demoVocab.unk ? '<unk>' : words[pos]);
          });
        });
      }
    }
  }, 240_000);

  it('the Report grid scores text rows as Evaluate does: INS and DEL of the raw explanations = the stored scores', async () => {
    const ev = st().evaluation!;
    const rows = [st().attribution!.rows[1], st().attribution!.rows[4]];
    const pos = rows.map((r) => ev.rows.indexOf(r));
    // the raw explanations (not the normalised ones): the worker normalises them over each row's tokens
    const columns = st().attribution!.explanations.map((e) => {
      const v = new Float32Array(rows.length * 32);
      pos.forEach((p, i) => v.set(e.values.subarray(p * 32, (p + 1) * 32), i * 32));
      return { id: e.methodId, values: v };
    });
    const fig = await st().figureScores(rows, columns);
    for (const [j, e] of ev.scores.entries())
      for (const [k, metricId] of fig.metricIds.entries()) {
        const stored = e.metrics.find((m) => m.metricId === metricId)!.perSample;
        pos.forEach((p, i) => expect(fig.scores[j].perSample[k][i]).toBeCloseTo(stored[p], 6));
      }
  }, 120_000);

  it('a typed sentence is explained as a data row with the same text; an empty one is refused and the last one stays', async () => {
    const a = st().attribution!;
    for (const sample of [0, 2]) {
      const r = a.rows[sample];
      expect(await st().explainSentence(demoTexts[r], a.target[sample])).toBe(true);
      const s = st().sentence!;
      expect(s.tokens).toEqual(st().info!.text!.tokens[r]);
      expect(Array.from(s.ids)).toEqual(Array.from(st().info!.x.subarray(r * 32, (r + 1) * 32)));
      expect(s.target).toBe(a.target[sample]);
      // occlusion and IG are deterministic: the row's own explanation, value for value
      for (const e of s.explanations) {
        const mine = a.explanations.find((x) => x.methodId === e.methodId)!;
        expect(Array.from(e.values)).toEqual(Array.from(mine.values.subarray(sample * 32, (sample + 1) * 32)));
      }
    }
    expect(await st().explainSentence('What a wonderful, truly moving zzqx film!')).toBe(true);
    const s = st().sentence!;
    expect(s.tokens).toEqual(['what', 'a', 'wonderful', 'truly', 'moving', 'zzqx', 'film']);
    expect(s.unknown).toEqual([false, false, false, false, false, true, false]);
    expect(s.notices).toEqual(['1 of its 7 words are not in the vocabulary and read as the unknown token: "zzqx".']);
    expect(s.target).toBe(s.predicted);
    expect(st().info!.classNames[s.predicted]).toBe('positive');
    for (const e of s.explanations) expect(Array.from(e.values.subarray(7)).every((v) => v === 0)).toBe(true);
    const long = Array.from({ length: 40 }, (_, i) => (i % 2 ? 'good' : 'film')).join(' ');
    expect(await st().explainSentence(long)).toBe(true);
    expect(st().sentence!.notices[0]).toBe('The sentence has 40 tokens; the model reads the first 32.');
    expect(st().sentence!.tokens.length).toBe(32);

    expect(await st().explainSentence('  ...!? ')).toBe(false);
    expect(st().sentenceError?.what).toBe('The sentence has no word to explain (no letters or digits).');
    expect(st().sentence!.tokens.length).toBe(32); // the last sentence stays
  }, 120_000);

  it('the mask token goes into the job and the removal writes it; a token outside the vocabulary is refused and the task keeps its own', async () => {
    expect(await st().setTextSettings({ maskToken: '<unk>' })).toBe(true);
    expect(st().info!.text!.removalToken).toBe('<unk>');
    expect(st().attribution).toBeNull(); // removal changed: results of the old task are cleared
    const job = st().exportJob();
    expect(job.task).toMatchObject({ demo: 'sentiment', baseline: 'zero', maskToken: '<unk>' });
    expect(resolveJob(job).task.maskToken).toBe('<unk>');
    const info = st().info;
    expect(await st().setTextSettings({ maskToken: 'not-a-word-here' })).toBe(false);
    expect(st().taskError?.what).toBe('The mask token "not-a-word-here" is not in demos/sentiment/vocab.json.');
    expect(st().info).toBe(info);
    expect(st().settings.maskToken).toBe('<unk>');
    expect(await st().setTextSettings({ maskToken: null })).toBe(true);
    expect(st().info!.text!.removalToken).toBe('<pad>');
    expect(st().exportJob().task).not.toHaveProperty('maskToken');
  }, 120_000);
});

describe('one engine: the studio and deepfaith run', () => {
  it('explain → evaluate → train on the sentiment demo (with a mask token) gives the table runJob gives for the exported job', async () => {
    const store = await newStore();
    const st = () => store.getState();
    expect(await st().loadDemo('sentiment')).toBe(true);
    expect(await st().setTextSettings({ maskToken: '<unk>' })).toBe(true);
    for (const m of st().methods) st().setMethod(m.id, { enabled: ['occlusion', 'feature-ablation', 'integrated-gradients'].includes(m.id) });
    for (const m of st().metrics) st().setMetric(m.id, { enabled: ['INS', 'DEL', 'FC', 'RP'].includes(m.id) });
    st().setRows({ count: 30 });
    st().setExplainerArch({ dModel: 8, nHeads: 2, nLayers: 1, dFF: 16 });
    st().setTraining({ epochs: 2, lcSubsets: 6, batchSize: 32 });
    expect(await st().runExplain()).toBe(true);
    expect(await st().runEvaluate()).toBe(true);
    expect(await st().runTrain()).toBe(true);
    const job = st().exportJob();
    expect(job.task).toEqual({ demo: 'sentiment', baseline: 'zero', output: 'probability', target: 'predicted', maxRows: 30, maskToken: '<unk>' });
    const cli = await runJob(job, nodeJobIO(process.cwd()));
    cli.explainer.dispose();
    const a = reportTable(st().report!);
    const b = reportTable(cli.result);
    expect(a.rows.filter((r) => !r.diagnostic).map((r) => r.method).sort()).toEqual(['deepfaith-explainer', 'feature-ablation', 'integrated-gradients', 'occlusion']);
    expect(a.rows.map((r) => [r.method, r.scores, r.ranks])).toEqual(b.rows.map((r) => [r.method, r.scores, r.ranks]));
  }, 240_000);
});

describe('a dropped text model, vocabulary and CSV', () => {
  const V = 8;
  const L = 6;
  const vocab = { tokens: ['<pad>', '<unk>', 'good', 'bad', 'film', 'very', 'not', '<mask>'], pad: 0, unk: 1, lowercase: true, maxLength: L };
  const enc = new TextEncoder();
  const bytes = (text: string) => enc.encode(text).buffer as ArrayBuffer;
  let model: { modelJson: { name: string; text: string }; shards: { name: string; data: ArrayBuffer }[] };
  const csv = 'id,phrase,y\n1,"A very good film",1\n2,Not good at all,0\n3,"bad, bad film — very bad indeed, truly",0\n4,very very good,1\n';
  const draft = (over: Partial<TextDraft> = {}): TextDraft => ({ kind: 'text', ...model, vocab: { name: 'vocab.json', text: JSON.stringify(vocab) }, csv: { name: 'texts.csv', data: bytes(csv) }, ...over });

  beforeAll(async () => {
    const m = bagOfEmbeddings(V, 3, L, 2);
    await m.save(
      tf.io.withSaveHandler(async (a) => {
        model = {
          modelJson: { name: 'model.json', text: JSON.stringify({ format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] }) },
          shards: [{ name: 'weights.bin', data: (a.weightData as ArrayBuffer).slice(0) }],
        };
        return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
      }),
    );
    m.dispose();
  });

  it('asks for the text column, loads with it, and writes the job with the vocabulary, text and label columns', async () => {
    const persistence = memoryPersistence();
    const store = createStudioStore({ client: new WorkerClient(inProcessWorker()), persistence, baseUrl: '' });
    await store.getState().initBackend('wasm');
    const st = () => store.getState();
    expect(await st().loadText(draft())).toBe(false);
    expect(st().textChoices).toEqual(['id', 'phrase', 'y']);
    expect(st().taskError?.what).toMatch(/texts\.csv has no column named like a text/);
    expect(st().info).toBeNull();
    expect(await st().setTextSettings({ text: 'phrase' })).toBe(true);
    expect(st().textChoices).toBeNull();
    const t = st().info!.text!;
    expect(t.column).toBe('phrase');
    expect(t.tokens[2]).toEqual(['bad', 'bad', 'film', 'very', 'bad', 'indeed']);
    expect(Array.from(t.lengths)).toEqual([4, 4, 6, 3]);
    expect(st().info!.labelName).toBe('y');
    expect(st().info!.notices[0]).toMatch(/texts\.csv: 1 text has more than 6 tokens .* \(row 2\)/);
    expect(st().exportJob().task).toEqual({ model: 'model.json', data: 'texts.csv', vocab: 'vocab.json', text: 'phrase', label: 'y', baseline: 'zero', output: 'probability', target: 'predicted', maxRows: 4 });
    for (const m of st().methods) st().setMethod(m.id, { enabled: ['shapley-exact', 'occlusion'].includes(m.id) });
    expect(await st().runExplain()).toBe(true);
    expect(st().attribution!.explanations.map((e) => e.methodId)).toEqual(['occlusion', 'shapley-exact']);
    expect(await st().explainSentence('not good')).toBe(true);
    expect(st().sentence!.tokens).toEqual(['not', 'good']);
    const info = st().info;
    const attribution = st().attribution;

    // saved with its files: a new page restores the task (source kind 'text', its files from storage)
    await st().save();
    const again = createStudioStore({ client: new WorkerClient(inProcessWorker()), persistence, baseUrl: '' });
    await again.getState().initBackend('wasm');
    expect(await again.getState().restore()).toBe(true);
    expect(again.getState().info!.text!.column).toBe('phrase');
    expect(again.getState().info!.dataSha256).toBe(info!.dataSha256);
    expect(again.getState().exportJob().task).toEqual(st().exportJob().task);

    // bad files: the engine's message, and the loaded task (and its results) stay
    const refused: [TextDraft, RegExp][] = [
      [draft({ text: 'phrase', vocab: { name: 'vocab.json', text: JSON.stringify({ ...vocab, tokens: [...vocab.tokens, 'extra'] }) } }), /^vocab\.json has 9 tokens but the model's Embedding \(model\.json\) takes 8 token ids\.$/],
      [draft({ text: 'phrase', vocab: { name: 'vocab.json', text: JSON.stringify({ ...vocab, maxLength: 5 }) } }), /^vocab\.json says maxLength 5, but the model \(model\.json\) takes sequences of 6 token ids\.$/],
      [draft({ text: 'phrase', csv: { name: 'latin1.csv', data: Uint8Array.from([...enc.encode('phrase,y\nun film tr'), 0xe8, ...enc.encode('s bon,1\n')]).buffer as ArrayBuffer } }), /^latin1\.csv is not UTF-8 text \(byte 19 is not valid UTF-8: 0xe8\)\.$/],
      [draft({ text: 'phrase', csv: { name: 'empty.csv', data: bytes('phrase,y\ngood film,1\n" ... ",0\n') } }), /^empty\.csv, row 1 \(line 3\): the text is empty/],
      [draft({ text: 'review' }), /^texts\.csv has no column "review" \(its columns: id, phrase, y\)\.$/],
    ];
    for (const [d, message] of refused) {
      expect(await st().loadText(d)).toBe(false);
      expect(st().taskError?.what).toMatch(message);
      expect(st().info).toBe(info);
      expect(st().attribution).toBe(attribution);
    }
    // no column named like a label: the label picker offers the columns
    expect(await st().loadText(draft({ text: 'phrase', csv: { name: 'nolabel.csv', data: bytes('phrase,polarity\ngood film,1\nbad film,0\n') } }))).toBe(false);
    expect(st().taskError?.what).toMatch(/nolabel\.csv has no column named like a label/);
    expect(st().labelChoices).toEqual(['phrase', 'polarity']);
    expect(await st().pickLabel('polarity')).toBe(true);
    expect(st().info!.labelName).toBe('polarity');
    expect(st().info!.nRows).toBe(2);
    expect(st().exportJob().task).toMatchObject({ data: 'nolabel.csv', text: 'phrase', label: 'polarity' });

    // a table after a text task gets the studio's baseline back, without a mask token
    st().setSettings({ maskToken: '<mask>' });
    expect(await st().loadDemo('iris')).toBe(true);
    expect(st().settings.baseline).toBe('mean');
    expect(st().settings.maskToken).toBeUndefined();
    expect(st().exportJob().task).toEqual({ demo: 'iris', baseline: 'mean', output: 'probability', target: 'predicted', maxRows: 150 });
  }, 120_000);
});
