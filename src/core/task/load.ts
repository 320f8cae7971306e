/**
 * The one task loader: files or a demo → Dataset + TargetModel + Task. The CLI (paths), jobs
 * (paths relative to the job file) and the studio's worker (dropped files and demo files fetched
 * from its own origin) all call `loadTask` through a `TaskIO`; its errors are UserErrors naming the
 * file, row and column, and what to do.
 *
 * What it does, in order: read and parse the CSV (label column given, or guessed from its name),
 * refuse duplicate column names, read model.json and its shards (a folder path reads the
 * model.json inside), load the model, check the widths, align integer labels with the model's
 * class indices (a file holding labels 1 and 2 of a 3-class model keeps 1 and 2), name the classes
 * from the demo's meta.json, and build the Task over the rows read. With `maxRows` only the first
 * maxRows data rows are the task: its mean and noise baselines come from those rows.
 * `taskRows` gives the same task for the first N rows of a task loaded with all rows, so the studio
 * (which loads every row to show the accuracy) and `deepfaith run` (which reads only maxRows) build
 * identical tasks.
 *
 * Image tasks (core/data/images.ts has every rule): `data` is a folder with one sub-folder per class
 * (PNG/JPEG files; the IO lists folders and decodes images), or an NPY / IDX array of images with a
 * labels file (`label`, or found beside it). The model's input shape is read from model.json
 * before anything else, so the images are read, checked, resized to it and normalised by
 * `normalise` before the model is loaded or called (when model.json does not state its input
 * shape, the model is loaded first; still nothing is predicted before the images pass their
 * checks). The feature space is ImageFeatureSpace with patches of `patch` pixels.
 */
import { UserError } from '../errors';
import { csvColumns, parseCsv, parseCsvStream, type Dataset } from '../data/csv';
import { getDemo, DEMOS, type DemoMeta } from '../data/demos';
import { imageElementNames, imageRows, looksLikeArrayFile, readImageArray, readImageFolder, type DirEntry, type ImageDecoder, type ImageRows, type NormaliseRule } from '../data/images';
import { loadModelFromFiles, type ModelJsonLike, type OutputMode, type TargetModel, type TargetModelOptions } from './model';
import { ImageFeatureSpace, rowBaselines, type FeatureSpace, type RowBaselineKind } from './featureSpace';
import { decodeUtf8, encodeTable, maskTokenId, parseVocab, positionNames, readTextTable, textNotices } from '../data/text';
import { TextFeatureSpace } from './textSpace';
import { firstEmbedding } from './embedding';
import { argmax, checkWidth, makeTask, type Batch, type Task, type TargetRule } from './task';

/** Where a task comes from and how it is set up (the `task` part of a job). */
export interface TaskSpec {
  /** A built-in demo id; or give model + data (+ label). */
  demo?: string;
  model?: string;
  data?: string;
  /** Label column; guessed from its name (label, target, class, …) when absent. */
  label?: string;
  drop?: string[];
  /** zero, mean, or (image tasks) blur: a Gaussian blur of each image with σ = blurSigma. */
  baseline: RowBaselineKind;
  output: OutputMode;
  /** Use only the first maxRows data rows (0 = all). */
  maxRows: number;
  /** Image tasks: patch side in pixels (absent = featureSpace.ts defaultPatchSize for the image size). */
  patch?: number;
  /** Image tasks: how pixel values are normalised (absent = '0-1'; core/data/images.ts). */
  normalise?: NormaliseRule;
  /** Image tasks: σ in pixels of the blur baseline (absent = patch / 2). */
  blurSigma?: number;
  /** Text tasks: the vocab.json path and the CSV's text column (docs/text.md). */
  vocab?: string;
  text?: string;
  /** Text tasks: a token of the vocabulary that removal writes instead of the pad token. */
  maskToken?: string;
}

/** File access for the loader: Node paths, or dropped/fetched files in a browser. */
export interface TaskIO {
  readText(path: string): Promise<string>;
  /**
   * The text of a (data) file as a stream of chunks, when the IO can stream it: the CSV is then
   * parsed as it arrives and, with maxRows, read only up to the rows the task needs.
   */
  readTextChunks?(path: string): Promise<{ chunks: AsyncIterable<string>; byteSize?: number }>;
  /** The bytes of a file, or null when there is no such file (missing shards are reported together). */
  readBinary(path: string): Promise<ArrayBuffer | null>;
  /** Where a demo file lives (Node: public/demos/<rel>; browser: demos/<rel> on the page's origin). */
  demoPath(rel: string): string;
  /** Whether a path is a folder (a model folder holds model.json; an image folder holds class folders); absent = never. */
  isDirectory?(path: string): Promise<boolean>;
  /** The entries of a folder: needed for image folders (absent = this IO cannot read them). */
  listDir?(path: string): Promise<DirEntry[]>;
  /** PNG/JPEG decoding (Node: pngjs + jpeg-js; a browser its own): needed for image folders. */
  decodeImage?: ImageDecoder;
}

export interface LoadedTask {
  task: Task;
  /** The rows read (all, or the first maxRows). */
  data: Dataset;
  /** Every row of `data`, rowIndex 0..nRows−1. */
  batch: Batch;
  /** [nRows] class index per row, aligned with the model's classes. */
  labels: Int32Array;
  /** File names as the task names them (demo files by their demo path). */
  source: { model: string; data: string; demo?: string };
  /** SHA-256 of model.json + shards and of the CSV text: what results are tied to. */
  fingerprint: { model: string; data: string };
  /** The demo's meta.json, when the task is a demo. */
  meta?: Partial<DemoMeta>;
  /** The CSV's header, for a label picker (image tasks: none). */
  columns: string[];
  /** Things a user should know that do not stop the task (text: truncated texts, unknown words). */
  notices?: string[];
}

/** Column names taken as the label when none is given, in this order (case-insensitive). */
export const LABEL_GUESSES = ['label', 'target', 'class', 'species', 'y', 'outcome', 'diagnosis'];

export function guessLabel(columns: string[]): string | undefined {
  for (const g of LABEL_GUESSES) {
    const hit = columns.find((c) => c.toLowerCase() === g);
    if (hit) return hit;
  }
  return undefined;
}

export async function sha256Hex(parts: (ArrayBuffer | string)[]): Promise<string> {
  const enc = new TextEncoder();
  const chunks = parts.map((p) => (typeof p === 'string' ? enc.encode(p) : new Uint8Array(p)));
  const all = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  const digest = await globalThis.crypto.subtle.digest('SHA-256', all);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Read integer labels as class indices of a model with `nClasses` classes. The CSV loader sees only
 * the file: a file holding some of the classes (labels 1 and 2 of 0..2, say) gets its values
 * renumbered 0..K−1. When every label is an integer in [0, nClasses), the labels are the model's
 * class indices and are restored as such; otherwise the data are returned unchanged.
 */
export function alignIntegerLabels(data: Dataset, nClasses: number): Dataset {
  const values = data.classNames.map(Number);
  if (!values.every((v) => Number.isInteger(v) && v >= 0 && v < nClasses)) return data;
  if (values.every((v, i) => v === i) && data.classNames.length === nClasses) return data;
  const labels = Int32Array.from(data.labels, (c) => values[c]);
  return { ...data, labels, classNames: Array.from({ length: nClasses }, (_, i) => String(i)) };
}

const dirOf = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/') + 1) : '');

function parseModelJson(text: string, name: string): ModelJsonLike {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    throw new UserError(`${name} is not valid JSON, so it is not a TensorFlow.js model.json.`, 'Give the model.json written by tf.io or tensorflowjs_converter, together with its .bin weight files.');
  }
  if (!j || typeof j !== 'object' || Array.isArray(j))
    throw new UserError(`${name} is not a TensorFlow.js model.json (it is not a JSON object).`, 'Give the model.json written by tf.io or tensorflowjs_converter.');
  return j as ModelJsonLike;
}

/** The paths a spec names, after demo lookup, checked for completeness. */
export function taskPaths(
  spec: Pick<TaskSpec, 'demo' | 'model' | 'data' | 'label' | 'vocab' | 'text'>,
  io: Pick<TaskIO, 'demoPath'>,
): { model: string; data: string; label?: string; meta?: string; demo?: string; image?: boolean; vocab?: string; text?: string } {
  if (spec.demo !== undefined) {
    const demo = getDemo(spec.demo);
    if (!demo) throw new UserError(`"${spec.demo}" is not a demo.`, `Use one of: ${DEMOS.map((d) => d.id).join(', ')}.`);
    if (spec.model !== undefined || spec.data !== undefined)
      throw new UserError(`The task names both the demo "${spec.demo}" and files (${[spec.model, spec.data].filter(Boolean).join(', ')}).`, 'Give either a demo or model + data, not both.');
    if (demo.kind === 'image') {
      if (spec.label !== undefined) throw new UserError(`The image demo "${demo.id}" has its own labels; a label ("${spec.label}") cannot be chosen.`, 'Leave the label out.');
      return { model: io.demoPath(demo.model), data: io.demoPath(demo.data), label: io.demoPath(demo.label), meta: io.demoPath(demo.meta), demo: demo.id, image: true };
    }
    if (demo.kind === 'text') {
      if (spec.vocab !== undefined || spec.text !== undefined) throw new UserError(`The text demo "${demo.id}" has its own vocabulary and text column.`, 'Leave out --vocab and --text (job: task.vocab, task.text).');
      return { model: io.demoPath(demo.model), data: io.demoPath(demo.data), label: spec.label ?? demo.label, meta: io.demoPath(demo.meta), demo: demo.id, vocab: io.demoPath(demo.vocab!), text: demo.text };
    }
    return { model: io.demoPath(demo.model), data: io.demoPath(demo.data), label: spec.label ?? demo.label, meta: io.demoPath(demo.meta), demo: demo.id };
  }
  if (!spec.model) throw new UserError('The task names no model.', 'Give the model (model.json of a TensorFlow.js model), or a demo.');
  if (!spec.data) throw new UserError('The task names no data.', 'Give the data (a CSV file with a header row), or a demo.');
  return { model: spec.model, data: spec.data, label: spec.label, vocab: spec.vocab, text: spec.text };
}

/** Load model + data and build the task. The caller disposes `task.model`. */
export async function loadTask(spec: TaskSpec, io: TaskIO, modelOptions: TargetModelOptions = {}): Promise<LoadedTask> {
  const paths = taskPaths(spec, io);
  if (paths.vocab !== undefined || paths.text !== undefined) return loadTextTask(spec, io, paths, modelOptions);
  if (spec.maskToken !== undefined) throw new UserError('A mask token applies to text tasks only.', 'Leave out --mask-token (job: task.maskToken), or give a text task (--vocab and --text).');
  const kind = await dataKind(paths, io);
  if (kind !== 'csv') return loadImageTask(spec, io, paths, kind, modelOptions);
  if (spec.patch !== undefined || spec.normalise !== undefined)
    throw new UserError(
      `${paths.data} is a table; ${spec.patch !== undefined ? 'a patch size' : 'a normalisation rule'} applies to image tasks only.`,
      'Leave out --patch / --normalise (job: task.patch, task.normalise), or give a folder of images or an NPY/IDX array as the data.',
    );
  if (spec.baseline === 'blur' || spec.blurSigma !== undefined)
    throw new UserError(
      `${paths.data} is a table; ${spec.baseline === 'blur' ? 'the blur baseline (a Gaussian blur of each image)' : 'a blur σ'} applies to image tasks only.`,
      'Use --baseline zero or mean (job: task.baseline) and leave out --blur-sigma (task.blurSigma), or give a folder of images or an NPY/IDX array as the data.',
    );
  // data first: a bad CSV is the commonest mistake and costs nothing to find
  const { data: parsed, columns } = await readData(paths.data, paths.label, spec, io);
  let data = parsed;

  const { modelPath, modelText, modelJson } = await readModelJson(paths.model, io);
  const shards = await readShards(modelJson, modelPath, io);
  const meta = await readMeta(paths.meta, io);
  const model = await loadModelFromFiles(modelJson, shards, modelPath, modelOptions);
  try {
    checkWidth(model, data);
    data = alignIntegerLabels(data, model.nClasses(spec.output));
    if (meta?.classNames && meta.classNames.length === data.classNames.length) data = { ...data, classNames: meta.classNames.map(String) };
    const fingerprint = {
      model: await sha256Hex([modelText, ...shards.values()]),
      data: await tableFingerprint(parsed),
    };
    const task = makeTask(model, data, { output: spec.output, baseline: spec.baseline });
    await checkOutputs(task, data, paths.data);
    return { task, data, batch: allRows(data), labels: data.labels, source: { model: modelPath, data: paths.data, demo: paths.demo }, fingerprint, meta, columns };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** What the data path holds: a CSV, a folder of class folders of images, or an NPY/IDX array of images. */
async function dataKind(paths: { data: string; image?: boolean }, io: TaskIO): Promise<'csv' | 'folder' | 'array'> {
  if (io.isDirectory && (await io.isDirectory(paths.data))) return 'folder';
  if (paths.image || looksLikeArrayFile(paths.data)) return 'array';
  return 'csv';
}

async function readModelJson(path: string, io: TaskIO): Promise<{ modelPath: string; modelText: string; modelJson: ModelJsonLike }> {
  let modelPath = path;
  if (io.isDirectory && (await io.isDirectory(modelPath))) modelPath = modelPath.replace(/\/?$/, '/') + 'model.json';
  const modelText = await io.readText(modelPath);
  return { modelPath, modelText, modelJson: parseModelJson(modelText, modelPath) };
}

async function readShards(modelJson: ModelJsonLike, modelPath: string, io: TaskIO): Promise<Map<string, ArrayBuffer>> {
  const shards = new Map<string, ArrayBuffer>();
  for (const g of modelJson.weightsManifest ?? [])
    for (const p of g.paths ?? []) {
      const bytes = await io.readBinary(dirOf(modelPath) + p);
      if (bytes) shards.set(p, bytes);
    }
  return shards;
}

async function readMeta(path: string | undefined, io: TaskIO): Promise<Partial<DemoMeta> | undefined> {
  if (!path) return undefined;
  try {
    return JSON.parse(await io.readText(path)) as Partial<DemoMeta>;
  } catch {
    return undefined; // meta.json only names the classes
  }
}

/**
 * The input shape of one row as model.json declares it, without loading the model: a layers
 * model's first layer's batch_input_shape (Sequential) or its input layer's (functional), a graph's
 * Placeholder shape or signature. Undefined when it is not stated (the model is then loaded first).
 */
export function declaredInputShape(modelJson: ModelJsonLike): number[] | undefined {
  const fixed = (shape: unknown): number[] | undefined => {
    if (!Array.isArray(shape) || shape.length < 2) return undefined;
    const rest = shape.slice(1).map((d) => (typeof d === 'number' ? d : typeof d === 'string' ? Number(d) : NaN));
    return rest.every((d) => Number.isInteger(d) && d > 0) ? rest : undefined;
  };
  type LayerJson = { class_name?: string; name?: string; config?: { name?: string; batch_input_shape?: unknown; batch_shape?: unknown; batchInputShape?: unknown } };
  const topo = modelJson.modelTopology as { model_config?: unknown; config?: unknown; node?: { op?: string; attr?: { shape?: { shape?: { dim?: { size?: string | number }[] } } } }[] } | undefined;
  if (!topo || typeof topo !== 'object') return undefined;
  if (Array.isArray(topo.node)) {
    const placeholders = topo.node.filter((n) => n.op === 'Placeholder');
    if (placeholders.length !== 1) return undefined;
    const dims = placeholders[0].attr?.shape?.shape?.dim;
    return dims ? fixed(dims.map((d) => (d.size == null ? -1 : d.size))) : undefined;
  }
  const cfg = ((topo.model_config as { config?: unknown } | undefined)?.config ?? topo.config) as { layers?: LayerJson[]; input_layers?: unknown[] } | undefined;
  const layers = cfg?.layers;
  if (!Array.isArray(layers) || layers.length === 0) return undefined;
  const shapeOf = (l: LayerJson | undefined) => fixed(l?.config?.batch_input_shape ?? l?.config?.batch_shape ?? l?.config?.batchInputShape);
  const inputs = cfg?.input_layers;
  if (Array.isArray(inputs) && inputs.length === 1 && Array.isArray(inputs[0])) {
    const name = (inputs[0] as unknown[])[0];
    return shapeOf(layers.find((l) => (l.name ?? l.config?.name) === name));
  }
  return shapeOf(layers[0]);
}

/** Read the images of an image task into a Dataset (model-input rows). */
async function readImages(spec: TaskSpec, io: TaskIO, paths: ReturnType<typeof taskPaths>, kind: 'folder' | 'array', inputShape: number[]): Promise<ImageRows> {
  const opts = { normalise: spec.normalise, maxRows: spec.maxRows, labels: kind === 'array' ? paths.label : undefined };
  return kind === 'folder' ? readImageFolder(io, paths.data, { inputShape }, opts) : readImageArray(io, paths.data, { inputShape }, opts);
}

/** The Dataset of image rows: nFeatures = input values per row, columns named by pixel. */
function imageDataset(rows: ImageRows, source: string): Dataset {
  return {
    source,
    featureNames: imageElementNames(rows.info),
    labelName: rows.labelName,
    classNames: rows.classNames,
    x: rows.x,
    labels: rows.labels,
    nRows: rows.nRows,
    nFeatures: rows.info.height * rows.info.width * rows.info.channels,
    image: rows.info,
  };
}

/** The patch feature space of an image dataset over its own rows. */
export function imageSpace(data: Dataset, settings: { patch?: number; blurSigma?: number } = {}): ImageFeatureSpace {
  const info = data.image;
  if (!info) throw new Error('imageSpace: the data are not images');
  return new ImageFeatureSpace({ height: info.height, width: info.width, channels: info.channels, inputShape: info.inputShape }, data.x, data.nRows, { patch: settings.patch, blurSigma: settings.blurSigma });
}

async function loadImageTask(spec: TaskSpec, io: TaskIO, paths: ReturnType<typeof taskPaths>, kind: 'folder' | 'array', modelOptions: TargetModelOptions): Promise<LoadedTask> {
  if (spec.drop?.length) throw new UserError(`--drop (${spec.drop.join(', ')}) names CSV columns; ${paths.data} holds images.`, 'Leave out --drop (job: task.drop) for image data.');
  if (kind === 'folder' && spec.label !== undefined)
    throw new UserError(`${paths.data} is a folder of images, whose classes are its sub-folders; a label ("${spec.label}") cannot be chosen.`, 'Leave out --label (job: task.label); it names the labels file of an NPY/IDX array or a CSV column.');
  const { modelPath, modelText, modelJson } = await readModelJson(paths.model, io);
  const declared = declaredInputShape(modelJson);
  // images before the model when model.json states its input shape: bad files cost no model load
  let rows = declared ? await readImages(spec, io, paths, kind, declared) : undefined;
  const shards = await readShards(modelJson, modelPath, io);
  const meta = await readMeta(paths.meta, io);
  const model = await loadModelFromFiles(modelJson, shards, modelPath, modelOptions);
  try {
    if (declared && declared.join(',') !== model.inputShape.join(',')) rows = undefined; // model.json was read wrongly: read again for the real shape
    rows ??= await readImages(spec, io, paths, kind, model.inputShape);
    let data = alignIntegerLabels(imageDataset(rows, paths.data), model.nClasses(spec.output));
    if (meta?.classNames && meta.classNames.length === data.classNames.length) data = { ...data, classNames: meta.classNames.map(String) };
    const fingerprint = {
      model: await sha256Hex([modelText, ...shards.values()]),
      data: await tableFingerprint(data),
    };
    const space = imageSpace(data, { patch: spec.patch, blurSigma: spec.blurSigma });
    const task = makeTask(model, data, { output: spec.output, baseline: spec.baseline, space });
    await checkOutputs(task, data, paths.data);
    return { task, data, batch: allRows(data), labels: data.labels, source: { model: modelPath, data: paths.data, demo: paths.demo }, fingerprint, meta, columns: [] };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Text tasks (docs/text.md; core/data/text.ts has the rules)

/** The token feature space of a text dataset over its own rows. */
export function textSpace(data: Dataset): TextFeatureSpace {
  const t = data.text;
  if (!t) throw new Error('textSpace: the data are not texts');
  return new TextFeatureSpace({ length: t.maxLength, vocabSize: t.vocabSize, pad: t.pad, unk: t.unk, removal: t.removal, featureNames: data.featureNames }, data.x, data.nRows);
}

/** The Embedding's input_dim model.json states for its first layer (undefined when it does not say). */
export function declaredEmbeddingSize(modelJson: ModelJsonLike): number | undefined {
  type LayerJson = { class_name?: string; config?: { input_dim?: unknown; inputDim?: unknown } };
  const topo = modelJson.modelTopology as { model_config?: { config?: { layers?: LayerJson[] } }; config?: { layers?: LayerJson[] } } | undefined;
  const layers = topo?.model_config?.config?.layers ?? topo?.config?.layers;
  if (!Array.isArray(layers)) return undefined;
  const first = layers.find((l) => l.class_name !== 'InputLayer');
  if (first?.class_name !== 'Embedding') return undefined;
  const v = Number(first.config?.input_dim ?? first.config?.inputDim);
  return Number.isInteger(v) && v > 0 ? v : undefined;
}

function vocabMismatch(vocabPath: string, V: number, modelPath: string, inputDim: number): UserError {
  return new UserError(
    `${vocabPath} has ${V} tokens but the model's Embedding (${modelPath}) takes ${inputDim} token ids.`,
    'Give the vocabulary the model was trained with (its token count must equal the Embedding\'s input_dim).',
  );
}

async function loadTextTask(spec: TaskSpec, io: TaskIO, paths: ReturnType<typeof taskPaths>, modelOptions: TargetModelOptions): Promise<LoadedTask> {
  if (paths.vocab === undefined) throw new UserError(`A text column ("${paths.text}") needs the vocabulary the model reads its tokens with.`, 'Give it with --vocab vocab.json (job: task.vocab); docs/text.md has the format.');
  if (paths.text === undefined) throw new UserError(`A vocabulary (${paths.vocab}) is given but not the column holding the texts.`, 'Name the text column with --text <column> (job: task.text).');
  if (spec.patch !== undefined || spec.normalise !== undefined)
    throw new UserError(`${paths.data} holds texts; ${spec.patch !== undefined ? 'a patch size' : 'a normalisation rule'} applies to image tasks only.`, 'Leave out --patch / --normalise (job: task.patch, task.normalise).');
  if (spec.drop?.length) throw new UserError(`--drop (${spec.drop.join(', ')}) names feature columns; a text task reads only its text and label columns.`, 'Leave out --drop (job: task.drop); other columns are ignored.');
  if (spec.baseline !== 'zero' || spec.blurSigma !== undefined)
    throw new UserError(
      spec.baseline === 'mean' ? 'A text task has no mean baseline: a mean of token ids is not a token.' : 'The blur baseline (and --blur-sigma) applies to image tasks; this task is text.',
      'Use the zero baseline (removal writes the pad token, or the mask token given with --mask-token).',
    );
  // vocabulary and texts first: a bad file costs no model load
  const vocabText = await io.readText(paths.vocab);
  const vocab = parseVocab(vocabText, paths.vocab);
  const removal = spec.maskToken !== undefined ? maskTokenId(vocab, spec.maskToken, paths.vocab) : vocab.pad;
  const bytes = await io.readBinary(paths.data);
  if (!bytes) throw new UserError(`Data file ${paths.data} does not exist.`, 'Check the path.');
  const csvText = decodeUtf8(bytes, paths.data);
  const header = csvText.replace(/^\uFEFF/, '').trim() === '' ? [] : csvColumns(csvText.replace(/^\uFEFF/, ''), paths.data);
  const label = paths.label ?? guessLabel(header);
  if (!label) throw new UserError(`${paths.data} has no column named like a label (${LABEL_GUESSES.join(', ')}).`, `Name the label column with --label: one of ${header.join(', ')}.`);
  const table = readTextTable(csvText, paths.data, { text: paths.text, label, maxRows: spec.maxRows });
  const { modelPath, modelText, modelJson } = await readModelJson(paths.model, io);
  const declared = declaredInputShape(modelJson);
  const L = vocab.maxLength;
  const lengthMismatch = (shape: number[]) =>
    new UserError(
      `${paths.vocab} says maxLength ${L}, but the model (${modelPath}) takes ${shape.length === 1 ? `sequences of ${shape[0]} token ids` : `an input of shape [${shape.join(', ')}]`}.`,
      shape.length === 1 ? `Set "maxLength" to ${shape[0]}, the sequence length the model was trained with (or give the vocabulary of this model).` : 'A text model takes token ids [batch, L]: give such a model.',
    );
  if (declared && (declared.length !== 1 || declared[0] !== L)) throw lengthMismatch(declared);
  const declaredV = declaredEmbeddingSize(modelJson);
  if (declaredV !== undefined && declaredV !== vocab.tokens.length) throw vocabMismatch(paths.vocab, vocab.tokens.length, modelPath, declaredV);
  const { x, info } = encodeTable(table, vocab, paths.data, paths.text, removal);
  const shards = await readShards(modelJson, modelPath, io);
  const meta = await readMeta(paths.meta, io);
  const model = await loadModelFromFiles(modelJson, shards, modelPath, modelOptions);
  try {
    if (model.inputShape.length !== 1 || model.inputShape[0] !== L) throw lengthMismatch(model.inputShape);
    const emb = firstEmbedding(model);
    if (typeof emb !== 'string' && emb.inputDim !== vocab.tokens.length) throw vocabMismatch(paths.vocab, vocab.tokens.length, modelPath, emb.inputDim);
    let data: Dataset = {
      source: paths.data,
      featureNames: positionNames(L),
      labelName: label,
      classNames: table.classNames,
      x,
      labels: table.labels,
      nRows: table.texts.length,
      nFeatures: L,
      text: info,
    };
    data = alignIntegerLabels(data, model.nClasses(spec.output));
    if (meta?.classNames && meta.classNames.length === data.classNames.length) data = { ...data, classNames: meta.classNames.map(String) };
    const fingerprint = {
      model: await sha256Hex([modelText, ...shards.values()]),
      data: await sha256Hex([await tableFingerprint(data), vocabText, String(removal)]),
    };
    const task = makeTask(model, data, { output: spec.output, baseline: spec.baseline, space: textSpace(data) });
    await checkOutputs(task, data, paths.data);
    return {
      task,
      data,
      batch: allRows(data),
      labels: data.labels,
      source: { model: modelPath, data: paths.data, demo: paths.demo },
      fingerprint,
      meta,
      columns: table.columns,
      notices: textNotices(info, paths.data),
    };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** Rows whose model outputs are checked at load. */
export const OUTPUT_CHECK_ROWS = 256;

/**
 * The model's outputs on the first rows and on the all-baseline row must be finite: a model that
 * gives NaN or ±Infinity (a broken export, a division or log on the wrong input) is refused at
 * load, naming the row, rather than producing tables of nulls.
 */
async function checkOutputs(task: Task, data: Dataset, source: string): Promise<void> {
  const nRows = Math.min(OUTPUT_CHECK_ROWS, data.nRows);
  const d = task.inputSize;
  const x = new Float32Array((nRows + 1) * d);
  x.set(data.x.subarray(0, nRows * d));
  x.set(rowBaselines(task.space, task.baseline)(data.x.subarray(0, d)), nRows * d); // x° (for blur: of the first row)
  const before = task.model.rowsEvaluated;
  const y = await task.model.predict(x, nRows + 1, task.output);
  task.model.rowsEvaluated = before; // a load check, not work of any method or metric
  const c = task.nClasses;
  for (let i = 0; i < y.length; i++)
    if (!Number.isFinite(y[i])) {
      const r = Math.floor(i / c);
      throw new UserError(
        r < nRows ? `The model's output for ${source}, row ${r}${data.image ? ` (${data.image.files[r]})` : ''}, class ${i % c}, is ${y[i]}.` : `The model's output for the ${task.baseline} baseline row is ${y[i]} (class ${i % c}).`,
        'Check the model export (weights and operations) and that the data has the scale the model was trained on.',
      );
    }
}

/**
 * The CSV as a Dataset: streamed when the IO can (only the first maxRows rows are read), else parsed
 * from its whole text. The label column is the given one, or guessed from the header's names.
 */
async function readData(path: string, givenLabel: string | undefined, spec: TaskSpec, io: TaskIO): Promise<{ data: Dataset; columns: string[] }> {
  const opts = { drop: spec.drop, ...(spec.maxRows > 0 ? { maxRows: spec.maxRows } : {}) };
  const pickLabel = (columns: string[]): string => {
    const label = givenLabel ?? guessLabel(columns);
    if (!label) throw new UserError(`${path} has no column named like a label (${LABEL_GUESSES.join(', ')}).`, `Name the label column: one of ${columns.join(', ')}.`);
    return label;
  };
  if (io.readTextChunks) {
    const { chunks, byteSize } = await io.readTextChunks(path);
    // read until the header line is complete, then hand the same stream on to the parser
    const it = chunks[Symbol.asyncIterator]();
    let head = '';
    const seen: string[] = [];
    while (!/\n/.test(head.replace(/^\s*\n/, ''))) {
      const r = await it.next();
      if (r.done) break;
      seen.push(r.value);
      head += r.value;
      if (head.length > 1 << 20) break;
    }
    if (head.trim() === '') throw new UserError(`${path} is empty.`, 'Choose a CSV file with a header row and one row per sample.');
    const columns = csvColumns(head, path);
    const label = pickLabel(columns);
    const rest: AsyncIterable<string> = {
      [Symbol.asyncIterator]: async function* () {
        yield* seen;
        for (;;) {
          const r = await it.next();
          if (r.done) return;
          yield r.value;
        }
      },
    };
    try {
      return { data: await parseCsvStream(rest, path, { ...opts, label, byteSize }), columns };
    } finally {
      await it.return?.();
    }
  }
  const text = await io.readText(path);
  if (text.trim() === '') throw new UserError(`${path} is empty.`, 'Choose a CSV file with a header row and one row per sample.');
  const columns = csvColumns(text, path);
  return { data: parseCsv(text, path, { ...opts, label: pickLabel(columns) }), columns };
}

/** SHA-256 of the table the task uses (column names, class names, values, labels): what its results depend on. */
export async function tableFingerprint(data: Dataset): Promise<string> {
  const img = data.image ? [data.image.normalise, data.image.files] : [];
  const names = JSON.stringify([data.featureNames, data.labelName, data.classNames, data.nRows, ...img]);
  return sha256Hex([names, bytesOf(data.x), bytesOf(data.labels)]);
}

/** A copy of a typed array's own bytes (not its whole buffer), to hash. */
const bytesOf = (a: Float32Array | Int32Array) => a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength) as ArrayBuffer;

/**
 * SHA-256 of the model and of the rows a job uses (the loaded rows: all, or the first maxRows), the
 * same whether the CLI read only those rows or the studio read the whole file and took them
 * (`taskRows`): feature and label names, the input values, the labels, and what shapes removal
 * (an image's normalisation, a text's pad/unknown/removal ids). What a prepared job is tied to.
 */
export async function rowsFingerprint(loaded: LoadedTask): Promise<{ model: string; data: string }> {
  const d = loaded.data;
  const shape = JSON.stringify([d.featureNames, d.labelName, d.nRows, d.nFeatures, d.image ? d.image.normalise : null, d.text ? [d.text.pad, d.text.unk, d.text.removal, d.text.maxLength] : null]);
  return { model: loaded.fingerprint.model, data: await sha256Hex([shape, bytesOf(d.x), bytesOf(d.labels)]) };
}

function firstRows(data: Dataset, nRows: number): Dataset {
  if (data.image) {
    const part = imageRows(data.x, data.image, nRows);
    return { ...data, x: part.x, image: part.info, labels: data.labels.slice(0, nRows), nRows };
  }
  const text = data.text && { ...data.text, tokens: data.text.tokens.slice(0, nRows), lengths: data.text.lengths.slice(0, nRows), truncatedRows: data.text.truncatedRows.filter((r) => r < nRows) };
  return { ...data, x: data.x.slice(0, nRows * data.nFeatures), labels: data.labels.slice(0, nRows), nRows, ...(text ? { text } : {}) };
}

function allRows(data: Dataset): Batch {
  return { x: data.x, nRows: data.nRows, rowIndex: Int32Array.from({ length: data.nRows }, (_, i) => i) };
}

/**
 * The task of the first `maxRows` rows (0 = all) of a loaded task, with its own reference rows
 * (mean and noise baselines over those rows) and, when given, another baseline or output — the same
 * task `loadTask` builds with that maxRows. Shares the model (dispose only the original's).
 */
export function taskRows(loaded: LoadedTask, maxRows: number, settings: { baseline?: RowBaselineKind; output?: OutputMode; patch?: number; blurSigma?: number } = {}): LoadedTask {
  const n = maxRows > 0 ? Math.min(maxRows, loaded.data.nRows) : loaded.data.nRows;
  const data = n === loaded.data.nRows ? loaded.data : firstRows(loaded.data, n);
  const baseline = settings.baseline ?? loaded.task.baseline;
  const output = settings.output ?? loaded.task.output;
  const oldSpace = loaded.task.space;
  const patch = settings.patch ?? (oldSpace instanceof ImageFeatureSpace ? oldSpace.patch : undefined);
  const blurSigma = settings.blurSigma ?? (oldSpace instanceof ImageFeatureSpace && settings.patch === undefined ? oldSpace.blurSigma : undefined);
  const samePatch = !(oldSpace instanceof ImageFeatureSpace) || (patch === oldSpace.patch && (blurSigma ?? patch / 2) === oldSpace.blurSigma);
  const same = data === loaded.data && baseline === loaded.task.baseline && output === loaded.task.output && samePatch;
  let space: FeatureSpace | undefined;
  if (!same && data.image) space = imageSpace(data, { patch, blurSigma });
  if (!same && data.text) space = textSpace(data);
  const task = same ? loaded.task : makeTask(loaded.task.model, data, { baseline, output, space });
  return { ...loaded, task, data, batch: allRows(data), labels: data.labels };
}

/**
 * Target class per row: the model's prediction on the clean input, or the label. With `label`,
 * a label that is not a class of the model is refused, naming the row.
 */
export async function targetsFor(loaded: LoadedTask, rule: TargetRule, batch: Batch = loaded.batch): Promise<Int32Array> {
  const { task } = loaded;
  if (rule === 'label') {
    const names = loaded.data.classNames;
    // integer labels that could not be aligned with the model's classes (e.g. 1..3 for classes 0..2)
    const outside = names.every((c) => Number.isInteger(Number(c))) ? names.find((c, i) => Number(c) !== i) : undefined;
    if (outside !== undefined)
      throw new UserError(
        `${loaded.source.data}: label ${names.find((c) => Number(c) >= task.nClasses) ?? outside} in column "${loaded.data.labelName}" is not a class of the model, which has ${task.nClasses} (0..${task.nClasses - 1}).`,
        'Check that the label column matches the model, or explain the predicted class (target: predicted).',
      );
    const labels = Int32Array.from(batch.rowIndex, (r) => loaded.labels[r]);
    for (let i = 0; i < labels.length; i++)
      if (!(labels[i] >= 0 && labels[i] < task.nClasses))
        throw new UserError(
          `${loaded.source.data}: the label of row ${batch.rowIndex[i]} (${loaded.data.classNames[labels[i]] ?? labels[i]}) is not a class of the model, which has ${task.nClasses} (0..${task.nClasses - 1}).`,
          'Check that the label column matches the model, or explain the predicted class (target: predicted).',
        );
    return labels;
  }
  const p = await task.model.predict(batch.x, batch.nRows, task.output);
  return Int32Array.from({ length: batch.nRows }, (_, r) => argmax(p, r * task.nClasses, task.nClasses));
}

/** Problems that do not stop the task but a user should know about. */
export function findProblems(data: Dataset, nClasses: number, predicted: Int32Array): string[] {
  const problems: string[] = [];
  if (data.classNames.length !== nClasses)
    problems.push(`The data has ${data.classNames.length} classes (${data.classNames.join(', ')}) but the model outputs ${nClasses}: the accuracy compares class indices.`);
  const n = data.image || data.text ? 0 : data.nFeatures; // images: constant pixels (a border) are normal; text: padding
  for (let j = 0; j < n; j++) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let r = 0; r < data.nRows; r++) {
      const v = data.x[r * n + j];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (lo === hi) problems.push(`Column "${data.featureNames[j]}" is constant (${lo}): every method will give it little or no attribution.`);
  }
  const predictedClasses = new Set(predicted);
  if (predictedClasses.size === 1 && nClasses > 1) problems.push(`The model predicts the same class (${data.classNames[predicted[0]] ?? predicted[0]}) for every row.`);
  if (data.nRows < 10) problems.push(`Only ${data.nRows} rows: scores averaged over so few samples are noisy.`);
  return problems;
}

export type { TargetModel };
