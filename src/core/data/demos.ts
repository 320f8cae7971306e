/**
 * Built-in demo tasks. Files live in public/demos/<id>/: tabular demos (`kind: 'tabular'`) have
 * data.csv; image demos (`kind: 'image'`) have images.npy.gz + labels.npy.gz (NPY arrays, gzipped;
 * see core/data/images.ts); text demos (`kind: 'text'`) have data.csv with a text column and
 * vocab.json (core/data/text.ts); all have model/model.json + weights.bin and meta.json (split, test
 * accuracy, class names); LICENSES.md beside them.
 * Paths are relative to the demos folder: Node reads them from public/demos, the studio fetches
 * them from the page's own origin (`/demos/...`).
 * Data: `node scripts/extract-demos.mjs`; models and meta: `npx tsx scripts/train-demos.ts`.
 */
import { makeRng } from '../rng';
export interface DemoTask {
  id: string;
  /** 'tabular' (a CSV), 'image' (an NPY array of images + its labels file) or 'text' (a CSV with a text column + vocab.json). */
  kind: 'tabular' | 'image' | 'text';
  name: string;
  /** One line for the task picker. */
  description: string;
  /** data.csv (tabular) or images.npy.gz (image), relative to the demos folder. */
  data: string;
  /** Tabular: the label column of data.csv. Image: the labels file, relative to the demos folder. */
  label: string;
  /** model.json, relative to the demos folder (weights.bin beside it). */
  model: string;
  /** meta.json, relative to the demos folder. */
  meta: string;
  /** Text demos: vocab.json, relative to the demos folder, and the text column of the CSV. */
  vocab?: string;
  text?: string;
}

/** The contents of public/demos/<id>/meta.json, written by scripts/train-demos.ts. */
export interface DemoMeta {
  id: string;
  name: string;
  label: string;
  /** Class names in class-index order (the label column holds indices 0..K−1, or for penguins these names). */
  classNames: string[];
  featureNames: string[];
  nRows: number;
  /** Seed of the 80/20 split. */
  splitSeed: number;
  trainRows: number;
  testRows: number;
  /** Data rows (counted from 0 after the header; image demos: image index) of the test split, ascending. */
  testRowIndices: number[];
  /** Accuracy of the committed model on the test split. */
  testAccuracy: number;
  finalTrainLoss: number;
  /** How the model was trained (script, backend, architecture, optimizer, epochs, seeds). */
  trainedWith: Record<string, string | number>;
  /** Image demos: the images' shape and the normalisation the model was trained with. */
  image?: { height: number; width: number; channels: number; normalise: string };
  /** Text demos: the text column, vocabulary size and sequence length. */
  text?: { column: string; vocabSize: number; maxLength: number };
}

const NAMES: Record<string, string> = {
  iris: 'Iris',
  wine: 'Wine',
  'breast-cancer': 'Breast cancer (Wisconsin diagnostic)',
  penguins: 'Palmer penguins',
};

const DESCRIPTIONS: Record<string, string> = {
  iris: '150 flowers, 4 measurements, 3 species',
  wine: '178 wines, 13 chemical measurements, 3 cultivars',
  'breast-cancer': '569 tumours, 30 cell-nucleus features, malignant vs benign',
  penguins: '342 penguins, 4 body measurements, 3 species',
};

const TABULAR_DEMOS: DemoTask[] = ['iris', 'wine', 'breast-cancer', 'penguins'].map((id) => ({
  id,
  kind: 'tabular' as const,
  name: NAMES[id],
  description: DESCRIPTIONS[id],
  data: `${id}/data.csv`,
  label: id === 'penguins' ? 'species' : 'target',
  model: `${id}/model/model.json`,
  meta: `${id}/meta.json`,
}));

/** Image demos: written by scripts/extract-demos.mjs (data) and scripts/train-demos.ts (CNN, meta). */
const IMAGE_DEMOS: DemoTask[] = [
  { id: 'digits', name: 'Digits (8×8)', description: '1,797 handwritten digits, 8×8 gray, 10 classes; small CNN' },
  { id: 'fashion', name: 'Fashion-MNIST (subset)', description: '2,000 clothing images, 28×28 gray, 10 classes (balanced test-set subset); small CNN' },
].map((d) => ({ ...d, kind: 'image' as const, data: `${d.id}/images.npy.gz`, label: `${d.id}/labels.npy.gz`, model: `${d.id}/model/model.json`, meta: `${d.id}/meta.json` }));

/** Text demos: data.csv (text, label, source), vocab.json and the classifier written by scripts/train-text-demo.ts. */
const TEXT_DEMOS: DemoTask[] = [
  {
    id: 'sentiment',
    kind: 'text',
    name: 'Sentiment (IMDb, Amazon, Yelp sentences)',
    description: '3,000 labelled review sentences, negative vs positive; embedding + convolution classifier',
    data: 'sentiment/data.csv',
    label: 'label',
    text: 'text',
    vocab: 'sentiment/vocab.json',
    model: 'sentiment/model/model.json',
    meta: 'sentiment/meta.json',
  },
];

export const DEMOS: DemoTask[] = [...TABULAR_DEMOS, ...IMAGE_DEMOS, ...TEXT_DEMOS];

export function getDemo(id: string): DemoTask | undefined {
  return DEMOS.find((d) => d.id === id);
}

/**
 * The demos' train/test split: a Fisher–Yates permutation of 0..nRows−1 from the Alea PRNG seeded
 * with `split|<id>|<seed>`; its first round(testFraction·nRows) entries are the test rows, the rest
 * the training rows; each list ascending.
 */
export function seededSplit(id: string, nRows: number, seed: number, testFraction: number): { train: number[]; test: number[] } {
  const perm = Array.from(makeRng(`split|${id}|${seed}`).sampleWithoutReplacement(nRows, nRows));
  const nTest = Math.round(testFraction * nRows);
  return { train: perm.slice(nTest).sort((a, b) => a - b), test: perm.slice(0, nTest).sort((a, b) => a - b) };
}
