/**
 * The job as people read it: tfjs-free, so the studio's store can write jobs without the engine.
 */
import type { ExplainerArchitecture } from '../explainer/model';
import type { Job, JobInput } from './schema';

/**
 * The job as a file people read: every setting that differs from DEFAULTS, nothing implied
 * (resolveJob(jobDiff(job)) equals job). Task fields and the seed are always written.
 */
export function jobDiff(job: Job, DEFAULTS: Job, extra: { description?: string } = {}): JobInput {
  const out: JobInput = {};
  if (extra.description) out.description = extra.description;
  const t = job.task;
  out.task = {
    ...(t.demo !== undefined ? { demo: t.demo } : { model: t.model, data: t.data }),
    ...(t.label !== undefined ? { label: t.label } : {}),
    ...(t.drop?.length ? { drop: [...t.drop] } : {}),
    baseline: t.baseline,
    output: t.output,
    target: t.target,
    maxRows: t.maxRows,
    ...(t.patch !== undefined ? { patch: t.patch } : {}),
    ...(t.normalise !== undefined ? { normalise: t.normalise } : {}),
    ...(t.blurSigma !== undefined ? { blurSigma: t.blurSigma } : {}),
    ...(t.vocab !== undefined ? { vocab: t.vocab } : {}),
    ...(t.text !== undefined ? { text: t.text } : {}),
    ...(t.maskToken !== undefined ? { maskToken: t.maskToken } : {}),
  };
  if (job.preset) out.preset = job.preset;
  out.methods = job.methods;
  out.metrics = job.metrics;
  const diff = <T extends Record<string, unknown>>(a: T, b: T): Partial<T> => Object.fromEntries(Object.entries(a).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(b[k]))) as Partial<T>;
  const sup = diff(job.supervision, DEFAULTS.supervision);
  if (Object.keys(sup).length) out.supervision = sup;
  const ex = diff(job.explainer as unknown as Record<string, unknown>, DEFAULTS.explainer as unknown as Record<string, unknown>);
  if (Object.keys(ex).length) out.explainer = ex as Partial<ExplainerArchitecture>;
  const { alpha, ...tr } = job.training;
  const { alpha: dAlpha, ...dTr } = DEFAULTS.training;
  const trD = diff(tr as Record<string, unknown>, dTr as Record<string, unknown>);
  const alD = diff(alpha as unknown as Record<string, unknown>, dAlpha as unknown as Record<string, unknown>);
  if (Object.keys(trD).length || Object.keys(alD).length) out.training = { ...(trD as object), ...(Object.keys(alD).length ? { alpha: alD } : {}) };
  out.seed = job.seed;
  if (job.trainSeed !== null) out.trainSeed = job.trainSeed;
  if (job.mode !== DEFAULTS.mode) out.mode = job.mode;
  if (job.priorBudget !== DEFAULTS.priorBudget) out.priorBudget = job.priorBudget;
  return out;
}

/** JSON with object keys sorted, so equal jobs give equal keys whatever order their fields were written in. */
export function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(stableStringify).join(',') + ']';
  if (v && typeof v === 'object') return '{' + Object.keys(v as object).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort().map((k) => JSON.stringify(k) + ':' + stableStringify((v as Record<string, unknown>)[k])).join(',') + '}';
  return JSON.stringify(v) ?? 'null';
}

/** What the priors and their scores depend on: task, methods, metrics, job seed, test fraction. */
export function preparedKey(job: Pick<Job, 'task' | 'methods' | 'metrics' | 'seed' | 'supervision'> & { priorBudget?: Job['priorBudget'] }): string {
  return stableStringify({ task: job.task, methods: job.methods, metrics: job.metrics, seed: job.seed, testFraction: job.supervision.testFraction, ...(job.priorBudget && job.priorBudget !== 'default' ? { priorBudget: job.priorBudget } : {}) });
}

/** What the priors alone depend on (the metrics do not change them). */
export function explainKey(job: Pick<Job, 'task' | 'methods' | 'metrics' | 'seed' | 'supervision'> & { priorBudget?: Job['priorBudget'] }): string {
  return preparedKey({ ...job, metrics: 'all' });
}
