/**
 * Text tasks through the one loader and the command line: the sentiment demo (committed data,
 * vocabulary and classifier agree with meta.json; its held-out accuracy recomputed), attribute and
 * evaluate on it end to end, a user's model + vocab.json + CSV, the loader's refusals (each checked
 * before the model is loaded where the files allow), and a job on text through supervise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from './helpers/models';
import { bagOfEmbeddings } from './helpers/textModels';
import { getDemo, seededSplit, type DemoMeta } from '../src/core/data/demos';
import { loadTask, taskRows, type TaskSpec } from '../src/core/task/load';
import { argmax } from '../src/core/task/task';
import { TextFeatureSpace } from '../src/core/task/textSpace';
import { readTextTable, tokenize } from '../src/core/data/text';
import { buildVocab, TEXT_CONFIG } from '../scripts/train-text-demo';
import { nodeTaskIO } from '../src/cli/files';
import { prepareJob, resolveJob, runJob } from '../src/core/job';

const root = 'public/demos';
let dir: string;

beforeAll(async () => {
  await useBackend('wasm');
  dir = mkdtempSync(join(tmpdir(), 'deepfaith-text-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spec = (s: Partial<TaskSpec>): TaskSpec => ({ baseline: 'zero', output: 'probability', maxRows: 0, ...s });

describe('the sentiment demo', () => {
  it('loads through the loader; meta.json agrees; its held-out accuracy is the committed model\'s (≥ 0.75)', async () => {
    const meta = JSON.parse(readFileSync(join(root, 'sentiment', 'meta.json'), 'utf8')) as DemoMeta;
    const loaded = await loadTask(spec({ demo: 'sentiment' }), nodeTaskIO());
    try {
      const { data, task } = loaded;
      expect(data.nRows).toBe(meta.nRows);
      expect(data.nRows).toBe(3000);
      expect(data.classNames).toEqual(['negative', 'positive']);
      expect(task.space).toBeInstanceOf(TextFeatureSpace);
      expect(task.nFeatures).toBe(meta.text!.maxLength);
      expect(data.text!.vocabSize).toBe(meta.text!.vocabSize);
      expect(meta.testRowIndices).toEqual(seededSplit('sentiment', meta.nRows, meta.splitSeed, 0.2).test);
      expect(getDemo('sentiment')!.description.replace(',', '').startsWith(`${meta.nRows} `)).toBe(true);
      const L = task.inputSize;
      const test = meta.testRowIndices;
      const x = new Float32Array(test.length * L);
      test.forEach((r, i) => x.set(data.x.subarray(r * L, (r + 1) * L), i * L));
      const p = await task.model.predict(x, test.length, 'probability');
      const correct = test.filter((r, i) => argmax(p, i * 2, 2) === data.labels[r]).length;
      expect(meta.testAccuracy).toBeCloseTo(correct / test.length, 6);
      expect(meta.testAccuracy).toBeGreaterThanOrEqual(0.75);
      // the vocabulary is the one the training rows alone give (the script's rule, recomputed)
      const table = readTextTable(readFileSync(join(root, 'sentiment', 'data.csv'), 'utf8'), 'data.csv', { text: 'text', label: 'label' });
      const trainTexts = seededSplit('sentiment', meta.nRows, meta.splitSeed, 0.2).train.map((r) => table.texts[r]);
      expect(buildVocab(trainTexts, TEXT_CONFIG.minCount, TEXT_CONFIG.maxLength)).toBe(readFileSync(join(root, 'sentiment', 'vocab.json'), 'utf8'));
      expect(loaded.notices!.join(' ')).toMatch(/truncated to the first 32/);
    } finally {
      loaded.task.model.dispose();
    }
  });
});

describe('the CLI on the sentiment demo', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/deepfaith.mjs', ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, DEEPFAITH_CLI: 'source' } });

  it('attribute writes one value per position (0 after the last token) and the tokens; evaluate scores them', () => {
    const a = cli('attribute', '--demo', 'sentiment', '--method', 'integrated-gradients', '--rows', '0:5', '--set', 'steps=16', '--out', '-');
    expect(a.stderr).not.toMatch(/Error/);
    expect(a.status).toBe(0);
    expect(a.stderr).toMatch(/not in the vocabulary and read as the unknown token/);
    const exp = JSON.parse(a.stdout);
    expect(exp.rows).toEqual([0, 5]);
    expect(exp.values).toHaveLength(5);
    expect(exp.tokens).toHaveLength(5);
    expect(exp.tokens[0].slice(0, 6)).toEqual(tokenize('A very, very, very slow-moving', true));
    exp.values.forEach((row: number[], r: number) => {
      expect(row).toHaveLength(32);
      const T = exp.tokens[r].length;
      expect(row.slice(T).every((v) => v === 0)).toBe(true);
      expect(row.slice(0, T).some((v) => v !== 0)).toBe(true);
    });
    const expPath = join(dir, 'ig.json');
    writeFileSync(expPath, a.stdout);
    const e = cli('evaluate', '--demo', 'sentiment', '--explanations', expPath, '--out', '-');
    expect(e.status).toBe(0);
    const res = JSON.parse(e.stdout);
    expect(Object.keys(res.metrics)).toEqual(['FC', 'FE', 'MC', 'INF', 'RP', 'INS', 'DEL', 'NEG', 'POS', 'IROF']);
    // deletion curves have one point per token of each row (+1)
    res.metrics.DEL.curves.forEach((c: number[], r: number) => expect(c).toHaveLength(exp.tokens[r].length + 1));
    const bad = cli('attribute', '--demo', 'sentiment', '--method', 'shapley-exact', '--out', '-');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/n = 32 features/);
  }, 180_000);
});

describe('deepfaith run on text (the explainer\'s token-id tokens)', () => {
  it('trains an explainer on the sentiment demo, ranks it with the priors, and gives padding no mass', async () => {
    const { result, explainer } = await runJob(
      {
        task: { demo: 'sentiment', maxRows: 40 },
        methods: [{ id: 'integrated-gradients', params: { steps: 8 } }, { id: 'occlusion' }, { id: 'feature-ablation' }],
        metrics: [{ id: 'DEL' }, { id: 'INS' }, { id: 'FE' }],
        explainer: { dModel: 16, nHeads: 2, nLayers: 1, dFF: 32, dropout: 0 },
        training: { epochs: 3, batchSize: 4096, learningRate: 0.001, lcSubsets: 8 },
      },
      nodeTaskIO(),
    );
    try {
      expect(explainer.tokens).toEqual({ kind: 'token-id', vocabSize: 1929, pad: 0 });
      const ours = result.table.find((r) => r.isExplainer)!;
      expect(Object.values(ours.scores).every(Number.isFinite)).toBe(true);
      expect(result.table.map((r) => r.method)).toContain('occlusion');
      const loaded = await loadTask(spec({ demo: 'sentiment', maxRows: 40 }), nodeTaskIO());
      try {
        const s = await explainer.explain(loaded.data.x, 40);
        loaded.data.text!.lengths.forEach((T, r) => {
          for (let t = 0; t < 32; t++) if (t >= T) expect(s[r * 32 + t]).toBe(0);
          else expect(s[r * 32 + t]).toBeGreaterThan(0);
        });
      } finally {
        loaded.task.model.dispose();
      }
    } finally {
      explainer.dispose();
    }
  }, 120_000);
});

describe('a user\'s text model, vocabulary and CSV', () => {
  const V = 8;
  const L = 6;
  const vocab = { tokens: ['<pad>', '<unk>', 'good', 'bad', 'film', 'very', 'not', '<mask>'], pad: 0, unk: 1, lowercase: true, maxLength: L };
  let modelDir: string;
  const write = (name: string, text: string | Uint8Array) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  beforeAll(async () => {
    modelDir = join(dir, 'm');
    mkdirSync(modelDir, { recursive: true });
    const m = bagOfEmbeddings(V, 3, L, 2);
    await m.save(
      tf.io.withSaveHandler(async (a) => {
        writeFileSync(join(modelDir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: a.modelTopology, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] }));
        writeFileSync(join(modelDir, 'weights.bin'), new Uint8Array(a.weightData as ArrayBuffer));
        return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
      }),
    );
    m.dispose();
    write('vocab.json', JSON.stringify(vocab));
    write('texts.csv', 'id,review,y\n1,"A very good film",1\n2,Not good at all,0\n3,"bad, bad film — very bad indeed, truly",0\n');
  });

  const load = (s: Partial<TaskSpec>) => loadTask(spec({ model: join(modelDir, 'model.json'), data: join(dir, 'texts.csv'), vocab: join(dir, 'vocab.json'), text: 'review', label: 'y', ...s }), nodeTaskIO());

  it('loads: token ids, tokens per row, real lengths, notices', async () => {
    const loaded = await load({});
    try {
      expect(Array.from(loaded.data.x.subarray(0, 12))).toEqual([1, 5, 2, 4, 0, 0, 6, 2, 1, 1, 0, 0]);
      expect(loaded.data.text!.tokens[2]).toEqual(['bad', 'bad', 'film', 'very', 'bad', 'indeed']);
      expect(Array.from(loaded.data.text!.lengths)).toEqual([4, 4, 6]);
      expect(loaded.columns).toEqual(['id', 'review', 'y']);
      expect(loaded.notices![0]).toMatch(/1 text has more than 6 tokens .* \(row 2\)/);
      expect(loaded.notices![1]).toMatch(/words .* are not in the vocabulary/);
    } finally {
      loaded.task.model.dispose();
    }
    const masked = await load({ maskToken: '<mask>' });
    try {
      const s = masked.task.space as TextFeatureSpace;
      expect(s.removal).toBe(7);
      expect(masked.fingerprint.data).not.toBe((await load({})).fingerprint.data);
    } finally {
      masked.task.model.dispose();
    }
  });

  it('deepfaith run on a job with task.vocab/task.text, then deepfaith explain on other texts with the recorded vocabulary', () => {
    const cli = (...args: string[]) => spawnSync(process.execPath, ['bin/deepfaith.mjs', ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, DEEPFAITH_CLI: 'source' } });
    const jobDir = join(dir, 'job');
    mkdirSync(jobDir, { recursive: true });
    const rows = ['a very good film', 'not good', 'bad film', 'very bad', 'good good film', 'not bad at all', 'a bad bad film', 'very very good'];
    writeFileSync(join(jobDir, 'train.csv'), 'review,y\n' + rows.map((t, i) => `${t},${i % 2}`).join('\n') + '\n');
    writeFileSync(join(jobDir, 'vocab.json'), JSON.stringify(vocab));
    writeFileSync(
      join(jobDir, 'job.json'),
      JSON.stringify({
        task: { model: join(modelDir, 'model.json'), data: 'train.csv', vocab: 'vocab.json', text: 'review', label: 'y' },
        methods: [{ id: 'occlusion' }, { id: 'feature-ablation' }, { id: 'integrated-gradients', params: { steps: 4 } }],
        metrics: [{ id: 'DEL' }, { id: 'INS' }],
        supervision: { testFraction: 0.25 },
        explainer: { dModel: 8, nHeads: 2, nLayers: 1, dFF: 16, dropout: 0 },
        training: { epochs: 2, lcSubsets: 4 },
      }),
    );
    const r = cli('run', join(jobDir, 'job.json'), '--out', join(jobDir, 'out'));
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    const saved = JSON.parse(readFileSync(join(jobDir, 'out', 'explainer', 'model.json'), 'utf8'));
    expect(saved.config.tokens).toEqual({ kind: 'token-id', vocabSize: V, pad: 0 });
    expect(saved.trainedFor).toMatchObject({ vocab: join(jobDir, 'vocab.json'), text: 'review' });
    writeFileSync(join(jobDir, 'new.csv'), 'review,y\nnot a good film,0\nvery good,1\n');
    const e = cli('explain', '--explainer', join(jobDir, 'out', 'explainer'), '--data', join(jobDir, 'new.csv'), '--out', '-');
    expect(e.stderr).not.toMatch(/Error/);
    expect(e.status).toBe(0);
    const exp = JSON.parse(e.stdout);
    expect(exp.tokens).toEqual([['not', 'a', 'good', 'film'], ['very', 'good']]);
    expect(exp.values[1].slice(2)).toEqual([0, 0, 0, 0]);
    // another vocabulary is refused by name
    writeFileSync(join(jobDir, 'v2.json'), JSON.stringify({ ...vocab, tokens: [...vocab.tokens.slice(0, 7), '<other>'], pad: 1, unk: 0 }));
    const bad = cli('explain', '--explainer', join(jobDir, 'out', 'explainer'), '--data', join(jobDir, 'new.csv'), '--vocab', join(jobDir, 'v2.json'), '--out', '-');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/reads token ids of a 8-token vocabulary \(pad 0\).*pad 1/);
  }, 180_000);

  it('the first N rows of a loaded text task (taskRows) are the task loadTask builds with maxRows N', async () => {
    const all = await load({});
    const two = await load({ maxRows: 2 });
    try {
      const cut = taskRows(all, 2);
      expect(Array.from(cut.data.x)).toEqual(Array.from(two.data.x));
      expect(cut.data.text!.tokens).toEqual(two.data.text!.tokens);
      expect(Array.from(cut.data.text!.lengths)).toEqual([4, 4]);
      expect(cut.data.text!.truncatedRows).toEqual([]);
      expect((cut.task.space as TextFeatureSpace).maxRowFeatures).toBe(4);
      expect((all.task.space as TextFeatureSpace).maxRowFeatures).toBe(6);
    } finally {
      all.task.model.dispose();
      two.task.model.dispose();
    }
  });

  it('refuses bad input with what to do, before the model is loaded where the files tell', async () => {
    // a model.json whose weights file is missing: every refusal below that comes before loading the model names its own problem
    const broken = join(dir, 'broken');
    mkdirSync(broken, { recursive: true });
    writeFileSync(join(broken, 'model.json'), readFileSync(join(modelDir, 'model.json')));
    const early = (s: Partial<TaskSpec>) => load({ model: join(broken, 'model.json'), ...s });
    await expect(early({ data: write('latin1.csv', Uint8Array.from([...new TextEncoder().encode('review,y\ncaf'), 0xe9, 0x2c, 0x31, 0x0a])) })).rejects.toThrow(/latin1.csv is not UTF-8 text \(byte 12 is not valid UTF-8: 0xe9\)/);
    await expect(early({ data: write('empty.csv', 'review,y\ngood,1\n" -- ",0\n') })).rejects.toThrow(/empty.csv, row 1 \(line 3\): the text is empty/);
    await expect(early({ text: 'text' })).rejects.toThrow(/has no column "text" \(its columns: id, review, y\)\. Name the text column with --text/);
    await expect(early({ label: 'label' })).rejects.toThrow(/has no column "label"/);
    await expect(early({ vocab: write('v-small.json', JSON.stringify({ ...vocab, tokens: vocab.tokens.slice(0, 7) })) })).rejects.toThrow(/v-small.json has 7 tokens but the model's Embedding .* takes 8 token ids/);
    await expect(early({ vocab: write('v-long.json', JSON.stringify({ ...vocab, maxLength: 10 })) })).rejects.toThrow(/v-long.json says maxLength 10, but the model .* takes sequences of 6 token ids\. Set "maxLength" to 6/);
    await expect(early({ vocab: undefined })).rejects.toThrow(/needs the vocabulary .* --vocab/);
    await expect(early({ text: undefined })).rejects.toThrow(/Name the text column with --text/);
    await expect(early({ baseline: 'mean' })).rejects.toThrow(/no mean baseline/);
    await expect(early({ baseline: 'blur' })).rejects.toThrow(/blur baseline .* applies to image tasks; this task is text/);
    await expect(early({ maskToken: '<nope>' })).rejects.toThrow(/mask token "<nope>" is not in/);
    await expect(early({ patch: 2 })).rejects.toThrow(/applies to image tasks only/);
    // all files right but the weights missing: only then the model's own error
    await expect(early({})).rejects.toThrow(/weights.bin/);
  });

  it('a job with task.vocab and task.text runs the priors with 0 at padding', async () => {
    const job = resolveJob({
      task: { model: join(modelDir, 'model.json'), data: join(dir, 'texts.csv'), vocab: join(dir, 'vocab.json'), text: 'review', label: 'y' },
      methods: [{ id: 'integrated-gradients', params: { steps: 8 } }, { id: 'occlusion' }, { id: 'feature-ablation' }],
      metrics: [{ id: 'DEL' }, { id: 'INS' }],
      supervision: { testFraction: 0.34 },
    });
    const prep = await prepareJob(job, nodeTaskIO());
    try {
      expect(prep.ranIds).toEqual(['integrated-gradients', 'occlusion', 'feature-ablation']);
      for (const e of prep.explanations) for (let r = 0; r < 3; r++) for (let t = [4, 4, 6][r]; t < L; t++) expect(e[r * L + t]).toBe(0);
    } finally {
      prep.loaded.task.model.dispose();
    }
    // synthetic L_LC rows (noise on input values) are refused for token ids once the task is loaded, before any prior runs
    const stages: string[] = [];
    await expect(prepareJob({ ...job, training: { ...job.training, lcAugment: 2 } }, nodeTaskIO(), (e) => stages.push(e.stage))).rejects.toThrow(/training\.lcAugment.*token ids.*Set training\.lcAugment to 0 for text tasks/);
    expect(stages).not.toContain('priors');
    expect(() => resolveJob({ task: { demo: 'sentiment', vocab: 'v.json' } })).not.toThrow();
    expect(() => resolveJob({ task: { demo: 'sentiment', vocabulary: 'v.json' } as never })).toThrow(/task.vocabulary is not known/);
  });
});
