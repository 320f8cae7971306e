/**
 * A DeepFaith job: one plain-JSON description of a whole run (task, prior methods, metrics,
 * supervision δ/p, explainer and training settings, seed, mode); its DEFAULTS (the only place the
 * job-level defaults live; units keep their own); the "paper" preset; `resolveJob`, which merges a
 * job over the defaults and validates EVERY field before anything is loaded or computed (types,
 * ranges, upper bounds on costs, unknown keys, method and metric parameters through the one
 * resolver); `checkJobForTask`, the checks that need the task (feature-count bounds, method
 * applicability). The job as the studio writes it (every setting that differs from DEFAULTS) is
 * `jobDiff` in diff.ts, which the UI can import.
 */
import { UserError } from '../errors';
import { resolveParams, type Params, type ParamSpec } from '../params';
import { DEMOS } from '../data/demos';
import { OUTPUT_MODES, type OutputMode } from '../task/model';
import { BASELINES, type RowBaselineKind } from '../task/featureSpace';
import { DEFAULT_NORMALISE, NORMALISE_RULES, type NormaliseRule } from '../data/images';
import type { Task, TargetRule } from '../task/task';
import type { TaskSpec } from '../task/load';
import { ATTRIBUTION_METHODS, getMethod, resolveMethodParams } from '../attribution/registry';
import { METRICS, getMetric } from '../metrics/registry';
import type { MetricRequest } from '../metrics/evaluate';
import { PAPER_IMAGE_METHODS, PAPER_METHODS, methodRequests, defaults as supervisionDefaults, params as supervisionParams, type MethodSelection } from '../supervision/supervision';
import { defaults as explainerDefaults, params as explainerParams, type ExplainerArchitecture } from '../explainer/model';
import { TRAIN_MODES, checkAugment, checkClassFrame, defaults as trainDefaults, params as trainParams, type TrainConfig, type TrainMode } from '../explainer/train';
import { tokenSpecFor } from '../explainer/tokens';
import { params as alphaParams } from '../explainer/alpha';
import { lcSubsetCount } from '../explainer/losses';

export interface JobTask extends TaskSpec {
  target: TargetRule;
}

export interface Job {
  task: JobTask;
  /** 'paper' (the eight), 'all' (every applicable registered method but random) or a list. */
  methods: MethodSelection;
  /** 'all' = the ten with their defaults, or a list with params. */
  metrics: 'all' | MetricRequest[];
  supervision: { delta: number; p: number; testFraction: number };
  explainer: ExplainerArchitecture;
  training: TrainConfig;
  /** Job seed: split, methods, metrics. */
  seed: number;
  /** Seed of the explainer (initial weights, dropout, shuffles, L_LC subsets); null = the job seed. */
  trainSeed: number | null;
  mode: TrainMode;
  /** Budgets of the prior methods: the project's defaults, or the paper's Table 6 (PAPER_BUDGET). */
  priorBudget: PriorBudget;
  /** The preset the job started from, if any. */
  preset?: (typeof PRESETS)[number] | null;
}

export const PRIOR_BUDGETS = ['default', 'paper'] as const;
export type PriorBudget = (typeof PRIOR_BUDGETS)[number];

/**
 * The paper's Table 6 budgets for the priors (`"priorBudget": "paper"`): Kernel SHAP and LIME 100
 * samples, IG 20 steps, GradientSHAP 5 samples, occlusion window 1. Parameters a job gives
 * explicitly still win. Our defaults are 5–25× larger.
 */
export const PAPER_BUDGET: Record<string, Params> = {
  'kernel-shap': { samples: 100 },
  lime: { samples: 100 },
  'integrated-gradients': { steps: 20 },
  'gradient-shap': { samples: 5 },
  occlusion: { window: 1 },
};

/**
 * The paper's Table 7 budgets for image tasks (`"priorBudget": "paper"` on an image task): Kernel
 * SHAP and LIME 1000 samples, IG 30 steps. Its occlusion window (50 pixels, stride 25, on 224×224)
 * has no patch-space counterpart here, so occlusion keeps its defaults.
 */
export const PAPER_IMAGE_BUDGET: Record<string, Params> = {
  'kernel-shap': { samples: 1000 },
  lime: { samples: 1000 },
  'integrated-gradients': { steps: 30 },
};

/**
 * The method requests of a job, with the prior budget applied under the job's own parameters.
 * `spaceKind` (the task's `space.kind`, once loaded) picks the paper's lists and budgets for images.
 */
export function jobMethodRequests(job: Pick<Job, 'methods' | 'priorBudget'>, spaceKind?: string): { id: string; params?: Params }[] {
  const list = methodRequests(job.methods, spaceKind);
  if (job.priorBudget !== 'paper') return list;
  const budget = spaceKind === 'image' ? PAPER_IMAGE_BUDGET : PAPER_BUDGET;
  return list.map((m) => (budget[m.id] ? { id: m.id, params: { ...budget[m.id], ...(m.params ?? {}) } } : m));
}

/** A job as written by people: every field optional. */
export type JobInput = {
  task?: Partial<JobTask>;
  methods?: MethodSelection;
  metrics?: 'all' | MetricRequest[];
  supervision?: Partial<Job['supervision']>;
  explainer?: Partial<ExplainerArchitecture>;
  training?: Partial<Omit<TrainConfig, 'alpha'>> & { alpha?: Partial<TrainConfig['alpha']> };
  seed?: number;
  trainSeed?: number | null;
  mode?: TrainMode;
  /** "paper": start from PAPER_PRESET instead of DEFAULTS (fields given here still win). */
  preset?: (typeof PRESETS)[number] | null;
  priorBudget?: PriorBudget;
  description?: string;
};

export const DEFAULTS: Job = {
  task: { baseline: 'zero', output: 'probability', target: 'predicted', maxRows: 0 },
  methods: 'paper',
  metrics: 'all',
  supervision: { ...supervisionDefaults },
  explainer: { ...explainerDefaults },
  training: { ...trainDefaults, alpha: { ...trainDefaults.alpha } },
  seed: 0,
  trainSeed: null,
  mode: 'full',
  priorBudget: 'default',
};

/** The ablation modes of the paper's Table 4, in its order. */
export const ABLATION_MODES: readonly TrainMode[] = ['full', 'pc-only', 'lc-only', 'dedup-only', 'filter-only'];

/** Validation rows carved from the training rows when settings are tuned (trainAndReport evaluateOn 'validation'). */
export const VALIDATION_FRACTION = 0.2;

export { PAPER_METHODS, PAPER_IMAGE_METHODS };

/**
 * The paper's settings for its tabular tasks, offered as `"preset": "paper"`: Table 13 (NAP column:
 * δ 0.9, p 0.15; WCD uses δ 0.93 — set supervision.delta), Table 14 (tabular columns: width 64,
 * 8 heads, FFN 128, 4 layers, dropout 0.01, 20 epochs, lr 1e-5, weight decay 1e-5), §F (ε 1e-5,
 * e 5, C 10, k 100) and the metric parameters of Table 12 (FC and INF with N = 30, |I| = 1; each
 * metric's `paper` values). The paper gives no batch size; ours (DEFAULTS) is kept. The job's own
 * fields override the preset, which overrides DEFAULTS.
 */
export const PAPER_PRESET = {
  metrics: () => METRICS.map((m) => (m.paper && Object.keys(m.paper).length ? { id: m.id, params: { ...(m.paper as Params) } } : { id: m.id })) as MetricRequest[],
  supervision: { delta: 0.9, p: 0.15 },
  explainer: { dModel: 64, nHeads: 8, nLayers: 4, dFF: 128, dropout: 0.01 },
  training: { epochs: 20, learningRate: 1e-5, weightDecay: 1e-5, lcSubsets: 100, alpha: { epsilon: 1e-5, window: 5, C: 10 } },
};

export const PRESETS = ['paper'] as const;

const TOP_KEYS = ['task', 'methods', 'metrics', 'supervision', 'explainer', 'training', 'seed', 'trainSeed', 'mode', 'priorBudget', 'preset', '$schema', 'description'];

/** The task part of a job, declared like a unit's parameters (model/data/label/drop/demo are checked by hand). */
const TASK_SCALARS: Record<string, ParamSpec> = {
  baseline: { type: 'choice', choices: BASELINES, meaning: 'Removal baseline: zero, the per-feature mean over the task\'s rows, or (image tasks) blur: a Gaussian blur of each image (σ = task.blurSigma).' },
  output: { type: 'choice', choices: OUTPUT_MODES, meaning: 'Model output the scores use.' },
  target: { type: 'choice', choices: ['predicted', 'label'], meaning: 'Class explained: the model\'s prediction on the clean row, or the label.' },
  maxRows: { type: 'int', min: 0, max: 100_000_000, meaning: 'Use only the first maxRows data rows (0 = all).' },
};

/**
 * Image-task fields: optional (absent = the image default; a table refuses them at load). Their
 * defaults here are what an absent field means: patch 0 stands for "the default for the image size"
 * (featureSpace.ts defaultPatchSize) and is written as absent.
 */
const TEXT_TASK_FIELDS = ['vocab', 'text', 'maskToken'] as const;

const IMAGE_TASK_FIELDS: Record<string, ParamSpec> = {
  patch: { type: 'int', min: 1, max: 4096, meaning: 'Image tasks: side of the square patches (pixels) that are the features; absent = at most 64 patches (8×8 → 1, 28×28 → 4).' },
  normalise: { type: 'choice', choices: NORMALISE_RULES, meaning: 'Image tasks: pixel values on the 0–1 scale as 0-1 (v), -1-1 (2v − 1) or mean-std ((v − mean)/std per channel over the task\'s images).' },
  blurSigma: { type: 'number', min: 0, max: 4096, meaning: 'Image tasks: σ in pixels of the blur baseline\'s Gaussian (0 = no blur); absent = half the patch side.' },
};

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

function section(name: string, value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw new UserError(`Job field "${name}" must be an object, not ${JSON.stringify(value)}.`, 'See docs/jobs.md for the job format.');
  return value;
}

function str(v: unknown, where: string, todo: string): string {
  if (typeof v !== 'string' || v.trim() === '') throw new UserError(`Job field ${where} must be a non-empty string, not ${JSON.stringify(v)}.`, todo);
  return v;
}

function intField(v: unknown, where: string, example: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new UserError(`Job field ${where} must be an integer, not ${JSON.stringify(v)}.`, `Write e.g. ${example}.`);
  return v;
}

function resolveTask(given: Record<string, unknown> | undefined, base: JobTask): JobTask {
  const g = given ?? {};
  const known = ['demo', 'model', 'data', 'label', 'drop', ...Object.keys(TASK_SCALARS), ...Object.keys(IMAGE_TASK_FIELDS), ...TEXT_TASK_FIELDS];
  for (const k of Object.keys(g))
    if (!known.includes(k)) throw new UserError(`Job field task.${k} is not known.`, `Known fields of task: ${known.join(', ')}.`);
  const scalars = resolveParams({ id: 'task', kind: 'Job section', defaults: { baseline: base.baseline, output: base.output, target: base.target, maxRows: base.maxRows }, params: TASK_SCALARS }, Object.fromEntries(Object.entries(g).filter(([k]) => k in TASK_SCALARS)));
  const task: JobTask = { baseline: scalars.baseline as RowBaselineKind, output: scalars.output as OutputMode, target: scalars.target as TargetRule, maxRows: scalars.maxRows as number };
  const imageGiven = Object.fromEntries(Object.entries(g).filter(([k, v]) => k in IMAGE_TASK_FIELDS && v !== undefined && v !== null));
  const image = resolveParams({ id: 'task', kind: 'Job section', defaults: { patch: 1, normalise: base.normalise ?? DEFAULT_NORMALISE, blurSigma: 0 }, params: IMAGE_TASK_FIELDS }, imageGiven);
  if ('patch' in imageGiven) task.patch = image.patch as number;
  else if (base.patch !== undefined) task.patch = base.patch;
  if ('normalise' in imageGiven) task.normalise = image.normalise as NormaliseRule;
  else if (base.normalise !== undefined) task.normalise = base.normalise;
  if ('blurSigma' in imageGiven) task.blurSigma = image.blurSigma as number;
  else if (base.blurSigma !== undefined) task.blurSigma = base.blurSigma;
  if (g.demo !== undefined) {
    const demo = str(g.demo, 'task.demo', `Use one of: ${DEMOS.map((d) => d.id).join(', ')}.`);
    if (!DEMOS.some((d) => d.id === demo)) throw new UserError(`Job task.demo "${demo}" is not a demo.`, `Use one of: ${DEMOS.map((d) => d.id).join(', ')}, or give task.model and task.data.`);
    if (g.model !== undefined || g.data !== undefined)
      throw new UserError(`The job's task names both the demo "${demo}" and files (${[g.model, g.data].filter((v) => v !== undefined).join(', ')}).`, 'Give either task.demo or task.model + task.data, not both.');
    task.demo = demo;
  } else {
    if (g.model === undefined && g.data === undefined) throw new UserError('The job names no task.', 'Give task.demo, or task.model, task.data and task.label.');
    task.model = str(g.model, 'task.model', 'Give the path of the model.json (relative paths are read from the job file\'s folder).');
    task.data = str(g.data, 'task.data', 'Give the path of the CSV file.');
  }
  if (g.label !== undefined) task.label = str(g.label, 'task.label', 'Name the label column.');
  // text tasks (docs/text.md): the vocabulary (a path, relative to the job file), the text column, a mask token
  if (g.vocab !== undefined) task.vocab = str(g.vocab, 'task.vocab', 'Give the path of the vocab.json (relative paths are read from the job file\'s folder).');
  if (g.text !== undefined) task.text = str(g.text, 'task.text', 'Name the CSV column that holds the texts.');
  if (g.maskToken !== undefined) task.maskToken = str(g.maskToken, 'task.maskToken', 'Give a token of the vocabulary, e.g. "<unk>".');
  if (g.drop !== undefined) {
    if (!Array.isArray(g.drop) || !g.drop.every((d) => typeof d === 'string' && d !== ''))
      throw new UserError(`Job field task.drop must be a list of column names, not ${JSON.stringify(g.drop)}.`, 'Write e.g. "drop": ["id"].');
    task.drop = [...(g.drop as string[])];
  }
  return task;
}

function resolveMethods(v: unknown): MethodSelection {
  if (v === 'paper' || v === 'all') return v;
  if (!Array.isArray(v)) throw new UserError(`Job field "methods" must be "paper", "all" or a list of {"id", "params"}, not ${JSON.stringify(v)}.`, 'See docs/jobs.md.');
  if (v.length === 0) throw new UserError('Job field "methods" is an empty list.', 'Name at least one method, or use "paper".');
  const seen = new Set<string>();
  return v.map((m, i) => {
    const req = typeof m === 'string' ? { id: m } : m;
    if (!isObject(req) || typeof req.id !== 'string') throw new UserError(`Job methods[${i}] must be {"id": …, "params": {…}}, not ${JSON.stringify(m)}.`, 'See docs/jobs.md.');
    for (const k of Object.keys(req)) if (k !== 'id' && k !== 'params') throw new UserError(`Job methods[${i}] (${req.id}) has an unknown field "${k}".`, 'A method entry has only "id" and "params".');
    const unit = getMethod(req.id);
    if (!unit) throw new UserError(`Job methods[${i}]: "${req.id}" is not an attribution method.`, `Use one of: ${ATTRIBUTION_METHODS.map((u) => u.id).join(', ')}.`);
    if (seen.has(unit.id)) throw new UserError(`Job methods list ${unit.id} twice.`, 'List each method once.');
    seen.add(unit.id);
    resolveMethodParams(unit, req.params ?? {});
    return req.params !== undefined ? { id: unit.id, params: { ...(req.params as Params) } } : { id: unit.id };
  });
}

function resolveMetrics(v: unknown): 'all' | MetricRequest[] {
  if (v === 'all') return v;
  if (!Array.isArray(v)) throw new UserError(`Job field "metrics" must be "all" or a list of {"id", "params"}, not ${JSON.stringify(v)}.`, 'See docs/jobs.md.');
  if (v.length === 0) throw new UserError('Job field "metrics" is an empty list: nothing would be scored.', `Name at least one metric (${METRICS.map((m) => m.id).join(', ')}), or use "all".`);
  const seen = new Set<string>();
  return v.map((m, i) => {
    const req = typeof m === 'string' ? { id: m } : m;
    if (!isObject(req) || typeof req.id !== 'string') throw new UserError(`Job metrics[${i}] must be {"id": …, "params": {…}}, not ${JSON.stringify(m)}.`, 'See docs/jobs.md.');
    for (const k of Object.keys(req)) if (k !== 'id' && k !== 'params') throw new UserError(`Job metrics[${i}] (${req.id}) has an unknown field "${k}".`, 'A metric entry has only "id" and "params".');
    const unit = getMetric(req.id);
    if (!unit) throw new UserError(`Job metrics[${i}]: "${req.id}" is not a metric.`, `Use one of: ${METRICS.map((u) => u.id).join(', ')} (upper case).`);
    if (seen.has(unit.id)) throw new UserError(`Job metrics list ${unit.id} twice.`, 'List each metric once.');
    seen.add(unit.id);
    resolveParams({ id: unit.id, kind: 'Metric', defaults: unit.defaults, params: unit.params }, req.params ?? {});
    return req.params !== undefined ? { id: unit.id, params: { ...(req.params as Params) } } : { id: unit.id };
  });
}

/** Merge a job over DEFAULTS (or the preset) and validate every field; nothing is loaded. */
export function resolveJob(input: JobInput): Job {
  if (!isObject(input)) throw new UserError('The job is not a JSON object.', 'See docs/jobs.md for the job format.');
  for (const k of Object.keys(input)) if (!TOP_KEYS.includes(k)) throw new UserError(`Job field "${k}" is not known.`, `Known fields: ${TOP_KEYS.filter((x) => x[0] !== '$').join(', ')}.`);
  const preset = input.preset ?? null;
  if (preset !== null && !(PRESETS as readonly string[]).includes(preset)) throw new UserError(`Job preset ${JSON.stringify(preset)} is not known.`, `Use one of: ${PRESETS.join(', ')}, or leave it out.`);
  const base: Job =
    preset === 'paper'
      ? {
          ...DEFAULTS,
          metrics: PAPER_PRESET.metrics(),
          supervision: { ...DEFAULTS.supervision, ...PAPER_PRESET.supervision },
          explainer: { ...DEFAULTS.explainer, ...PAPER_PRESET.explainer },
          training: { ...DEFAULTS.training, ...PAPER_PRESET.training, alpha: { ...DEFAULTS.training.alpha, ...PAPER_PRESET.training.alpha } },
        }
      : DEFAULTS;
  const { training, explainer, supervision } = resolveSettings(base, input);
  const mode = input.mode ?? base.mode;
  if (!(TRAIN_MODES as readonly string[]).includes(mode as string)) throw new UserError(`Job mode ${JSON.stringify(mode)} is not known.`, `Use one of: ${TRAIN_MODES.join(', ')}.`);
  const seed = input.seed === undefined ? base.seed : intField(input.seed, 'seed', '"seed": 0');
  const trainSeed = input.trainSeed === undefined || input.trainSeed === null ? base.trainSeed : intField(input.trainSeed, 'trainSeed', '"trainSeed": 1, or null for the job seed');
  if (input.description !== undefined && typeof input.description !== 'string') throw new UserError('Job field "description" must be a string.', 'Write a sentence, or leave it out.');
  const priorBudget = input.priorBudget ?? base.priorBudget;
  if (!(PRIOR_BUDGETS as readonly string[]).includes(priorBudget)) throw new UserError(`Job priorBudget ${JSON.stringify(priorBudget)} is not known.`, `Use one of: ${PRIOR_BUDGETS.join(', ')}.`);
  return {
    task: resolveTask(section('task', input.task), base.task),
    methods: input.methods === undefined ? base.methods : resolveMethods(input.methods),
    metrics: input.metrics === undefined ? base.metrics : resolveMetrics(input.metrics),
    supervision,
    explainer,
    training,
    seed,
    trainSeed,
    mode: mode as TrainMode,
    priorBudget,
    ...(preset ? { preset } : {}),
  };
}

/** Overrides of a job's training, explainer and supervision settings (a tuning variant, an option). */
export interface JobOverrides {
  training?: Partial<Omit<TrainConfig, 'alpha'>> & { alpha?: Partial<TrainConfig['alpha']> };
  explainer?: Partial<ExplainerArchitecture>;
  supervision?: Partial<Pick<Job['supervision'], 'delta' | 'p'>>;
}

/**
 * A resolved job with overrides applied, every overriding field checked like the same field in a
 * job file (unknown names, types, ranges, dModel a multiple of nHeads): a misspelt or out-of-range
 * setting is refused with the job's messages instead of being ignored. Fields left undefined keep
 * the job's value.
 */
export function applyOverrides(job: Job, o: JobOverrides): Job {
  return { ...job, ...resolveSettings(job, o, true) };
}

/**
 * The training (with α), explainer and supervision sections of a job or of overrides, on top of
 * `base`'s values; with `skipUndefined`, fields given as undefined keep the base's value.
 */
function resolveSettings(base: Pick<Job, 'training' | 'explainer' | 'supervision'>, input: { training?: unknown; explainer?: unknown; supervision?: unknown }, skipUndefined = false): Pick<Job, 'training' | 'explainer' | 'supervision'> {
  const given = (v: Record<string, unknown> | undefined) => (!v ? {} : skipUndefined ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined)) : v);
  const { alpha: alphaIn, ...trainingRest } = section('training', input.training) ?? {};
  const alpha = resolveParams({ id: 'training.alpha', kind: 'Job section', defaults: { ...base.training.alpha }, params: alphaParams }, given(section('training.alpha', alphaIn)));
  const { alpha: _a, ...trainingBase } = base.training;
  void _a;
  const training = resolveParams({ id: 'training', kind: 'Job section', defaults: trainingBase as unknown as Params, params: trainParams }, given(trainingRest));
  const explainer = resolveParams({ id: 'explainer', kind: 'Job section', defaults: { ...base.explainer } as Params, params: explainerParams }, given(section('explainer', input.explainer)));
  if ((explainer.dModel as number) % (explainer.nHeads as number) !== 0)
    throw new UserError(`Job explainer.dModel = ${explainer.dModel} is not a multiple of explainer.nHeads = ${explainer.nHeads}.`, 'Pick a width that is a multiple of the number of heads (e.g. dModel 32 with 4 heads).');
  const supervision = resolveParams({ id: 'supervision', kind: 'Job section', defaults: { ...base.supervision }, params: supervisionParams }, given(section('supervision', input.supervision)));
  return {
    supervision: supervision as Job['supervision'],
    explainer: explainer as unknown as ExplainerArchitecture,
    training: { ...(training as unknown as Omit<TrainConfig, 'alpha'>), alpha: alpha as unknown as TrainConfig['alpha'] },
  };
}

/** The metric requests of a job (ids and their resolved params). */
export function jobMetrics(job: Job): MetricRequest[] {
  if (job.metrics === 'all') return METRICS.map((m) => ({ id: m.id }));
  return job.metrics;
}

/**
 * Checks that need the loaded task, before any model call: every method and metric parameter
 * against the task's feature count (e.g. occlusion.window ≤ n, FC.subsetSize ≤ n) and, given the
 * task, the methods' own task checks (e.g. a CAM method's layer name) for the methods that apply.
 */
export function checkJobForTask(job: Job, nFeatures: number, task?: Task): void {
  for (const m of jobMethodRequests(job, task?.space.kind)) {
    const unit = getMethod(m.id);
    if (!unit) continue;
    const params = resolveMethodParams(unit, m.params ?? {}, nFeatures);
    if (task && unit.validate && unit.applicable(task) === null) unit.validate(task, params);
  }
  for (const m of jobMetrics(job)) {
    const unit = getMetric(m.id)!;
    resolveParams({ id: unit.id, kind: 'Metric', defaults: unit.defaults, params: unit.params }, m.params ?? {}, nFeatures);
  }
  lcSubsetCount(job.training.lcSampling, job.training.lcSubsets, nFeatures); // 'exact' only up to 12 features
  if (task) checkAugment(job.training.lcAugment ?? 0, tokenSpecFor(task.space).kind); // synthetic L_LC rows: not for token ids
  if (task) checkClassFrame(job.explainer.classFrame, task, job.training.lcOutput); // a class frame: probability tasks ('sign': two classes only)
}

