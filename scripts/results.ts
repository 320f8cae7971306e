/**
 * Reproduces docs/results.md: DeepFaith on the four demos (jobs/*.json; full pipeline with 3
 * explainer seeds, and the four ablations) and on the paper's NAP+MLP and WCD+MLP tasks
 * (data read from ../shared/paper-data; an MLP target trained here deterministically and kept in
 * the cache folder), each at both prior budgets: the project's defaults and the paper's Table 6
 * (`"priorBudget": "paper"`). The ablations, the cost–faithfulness frontier (core/job/frontier.ts)
 * and the training trajectory are measured at the primary budget (`--primary`, default paper).
 *
 * Priors and their metric scores are computed once per task and budget and kept on disk
 * (git-ignored out/deepfaith-cache/, keyed by task, methods, metrics, budget, seed and test
 * fraction); every training run reuses them. Each task's section of the page is replaced on its
 * own, so tasks can be run one at a time, and the summary table between `<!-- summary:begin -->`
 * and `<!-- summary:end -->` is rebuilt from every task's kept results. Each task's measured
 * results are kept in out/deepfaith-results/<task>.json (after every training, so an interrupted
 * run keeps what it measured); `--render` rewrites the sections and the summary from them without
 * training. Tables, summary and page edits: scripts/resultsTables.ts.
 *
 *   nice npx tsx scripts/results.ts [--tasks iris,wine,…] [--budgets default,paper] [--primary paper]
 *     [--seeds 0,1,2] [--skip-ablations] [--skip-frontier] [--max-rows N (0 = all rows)]
 *     [--paper-data ../shared/paper-data] [--out docs/results.md]
 *   nice npx tsx scripts/results.ts --refresh --tasks wine --budgets paper   (re-run the seeds of
 *     the given budgets into the kept results, keeping the task's ablations, frontier and other budgets)
 *
 * Tuning without the test split: `--tune variants.json` trains each variant (an object of
 * training / explainer / supervision overrides) for every seed and budget, scoring on validation
 * rows carved out of the TRAINING rows (trainAndReport's evaluateOn 'validation'), and appends one
 * JSON line per run to out/deepfaith-tune.jsonl. The test split is not touched. Every variant of a
 * --tune or --options file is checked against every task's job (core applyOverrides: the fields of
 * a job file, their types and ranges) and against the loaded task (checkJobForTask) before the
 * first prior or training.
 *
 * Options chosen that way, measured on the test split: `--options options.json` (same shape as
 * --tune) trains each option for every seed and budget on the test split (runs of other seeds with
 * the same settings are kept, so `--seeds 1,2` adds to a seed-0 run), keeps the runs in the
 * task's out/deepfaith-results/<task>.json (`options`) and rewrites the page's options table (between
 * `<!-- options:begin -->` and `<!-- options:end -->`, rebuilt with the summary from every task's
 * kept results); the job's own runs are untouched. With `--options-frontier` the first seed's
 * explainer at the primary budget also gets the cost–faithfulness frontier, written to
 * out/deepfaith-results/<task>-options-frontier-<hash of the option's name>.md and logged.
 *
 * Several processes may run at once (e.g. one per seed or per option of a task): every
 * read-modify-write of a kept-results file or of the page holds that file's lock (scripts/lock.ts),
 * and a task's measurement keeps the options other processes saved meanwhile. A prior cache whose
 * fingerprint is not the model's and rows' loaded now is refused by the engine and computed again.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../src/cli/files';
import { isUserError } from '../src/core/errors';
import { withLock } from './lock';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { applyOverrides, checkJobForTask, costFrontier, loadJobTask, exportPrepared, lcOptimum, planTraining, preparedKey, prepareJob, PRIOR_BUDGETS, resolveJob, trainAndReport, type Job, type JobIO, type JobInput, type JobResult, type PreparedCache, type PreparedJob, type PriorBudget, type TrainAndReportOptions } from '../src/core/job';
import { frontierMarkdown, frontierVerdict } from '../src/core/job/markdown';
import { parseCsv } from '../src/core/data/csv';
import { TRAIN_MODES } from '../src/core/explainer/train';
import { lcTargets, lossLC } from '../src/core/explainer/losses';
import { Seeder } from '../src/core/rng';
import { nodeJobIO } from '../src/cli/commands/run';
import { addRun, bestPrior, f2, f3, firstShare, meanSd, optionSlot, optionsTable, replaceBlock, section, summaryTable, upsertSection, type BudgetOutcome, type PaperRow, type TaskOutcome } from './resultsTables';

const { values: args } = parseArgs({
  options: {
    tasks: { type: 'string' },
    'paper-data': { type: 'string' },
    out: { type: 'string' },
    seeds: { type: 'string' },
    cache: { type: 'string' },
    tune: { type: 'string' },
    'max-rows': { type: 'string' },
    render: { type: 'boolean' },
    budgets: { type: 'string' },
    primary: { type: 'string' },
    'skip-ablations': { type: 'boolean' },
    'skip-frontier': { type: 'boolean' },
    'options-frontier': { type: 'boolean' },
    refresh: { type: 'boolean' },
    options: { type: 'string' },
  },
});
const PAPER_DATA = resolve(args['paper-data'] ?? '../shared/paper-data');
const CACHE = resolve(args.cache ?? 'out/deepfaith-cache');
const OUT = args.out ?? 'docs/results.md';
const SEEDS = (args.seeds ?? '0,1,2').split(',').map(Number);
const BUDGETS = (args.budgets ?? 'default,paper').split(',') as PriorBudget[];
for (const b of BUDGETS) if (!(PRIOR_BUDGETS as readonly string[]).includes(b)) throw new Error(`--budgets: "${b}" is not a prior budget (${PRIOR_BUDGETS.join(', ')}).`);
const PRIMARY = (args.primary ?? (BUDGETS.includes('paper') ? 'paper' : BUDGETS[0])) as PriorBudget;
if (!BUDGETS.includes(PRIMARY)) throw new Error(`--primary ${PRIMARY} is not one of --budgets ${BUDGETS.join(',')}.`);

/** The paper's Tables 25–26 (mean rank column) and the DeepFaith row, for comparison. */
const PAPER: Record<string, PaperRow> = {
  nap: {
    deepfaith: { FC: 0.788, FE: 0.763, MC: 0.952, RP: 0.957, INS: 0.844, DEL: 0.031, NEG: 0.77, POS: 0.031, IROF: 0.844, INF: 0.238 },
    meanRanks: { deepfaith: 1.8, 'integrated-gradients': 2.8, 'gradient-shap': 4.7, deeplift: 4.4, saliency: 2.8, occlusion: 3.3, 'feature-ablation': 3.5, lime: 4.7, 'kernel-shap': 3.9 },
  },
  wcd: {
    deepfaith: { FC: 0.961, FE: 0.961, MC: 0.679, RP: 0.364, INS: 0.723, DEL: 0.551, NEG: 0.575, POS: 0.455, IROF: 0.306, INF: 0.929 },
    meanRanks: { deepfaith: 1.8, 'integrated-gradients': 5.2, 'gradient-shap': 7.3, deeplift: 2.3, saliency: 4.9, occlusion: 5.9, 'feature-ablation': 4.5, lime: 2.7, 'kernel-shap': 8.9 },
  },
};

/** Train a 2-hidden-layer ReLU MLP (64, 64, softmax) on standardised inputs, fold the standardisation into the first layer, save it. */
async function trainMlp(csvPath: string, label: string, drop: string[], dir: string, seed: number): Promise<{ model: string; accuracy: number }> {
  const info = join(dir, 'trained.json');
  if (existsSync(info) && existsSync(join(dir, 'model.json'))) return { model: join(dir, 'model.json'), accuracy: JSON.parse(readFileSync(info, 'utf8')).accuracy };
  const data = parseCsv(readFileSync(csvPath, 'utf8'), csvPath, { label, drop });
  const n = data.nFeatures;
  const K = data.classNames.length;
  const mean = new Float32Array(n);
  const std = new Float32Array(n);
  for (let r = 0; r < data.nRows; r++) for (let j = 0; j < n; j++) mean[j] += data.x[r * n + j] / data.nRows;
  for (let r = 0; r < data.nRows; r++) for (let j = 0; j < n; j++) std[j] += (data.x[r * n + j] - mean[j]) ** 2 / data.nRows;
  for (let j = 0; j < n; j++) std[j] = Math.sqrt(std[j]) || 1;
  const xs = tf.tidy(() => tf.div(tf.sub(tf.tensor2d(data.x, [data.nRows, n]), tf.tensor1d(mean)), tf.tensor1d(std))); // [rows, n]
  const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(data.labels, 'int32'), K)); // [rows, K]
  const m = tf.sequential();
  m.add(tf.layers.dense({ inputShape: [n], units: 64, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }));
  m.add(tf.layers.dense({ units: 64, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }));
  m.add(tf.layers.dense({ units: K, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }) }));
  const opt = tf.train.adam(1e-2, 0.9, 0.999, 1e-7);
  m.compile({ optimizer: opt, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  try {
    const h = await m.fit(xs, ys, { epochs: 60, batchSize: 64, shuffle: false, verbose: 0 });
    const accuracy = h.history.acc ? Number(h.history.acc[h.history.acc.length - 1]) : NaN;
    // fold x̃ = (x − mean)/std into the first layer: W' = W / std (row-wise), b' = b − Σ_j mean_j W'_j
    const [W, b] = m.layers[0].getWeights();
    const [W2, b2] = tf.tidy(() => {
      const Wf = tf.div(W, tf.reshape(tf.tensor1d(std), [n, 1])); // [n, 64]
      const bf = tf.sub(b, tf.squeeze(tf.matMul(tf.reshape(tf.tensor1d(mean), [1, n]), Wf))); // [64]
      return [Wf, bf];
    });
    m.layers[0].setWeights([W2, b2]);
    tf.dispose([W2, b2]);
    mkdirSync(dir, { recursive: true });
    await m.save(
      tf.io.withSaveHandler(async (a) => {
        writeFileAtomic(join(dir, 'model.json'), JSON.stringify({ modelTopology: a.modelTopology, format: a.format, generatedBy: a.generatedBy, convertedBy: a.convertedBy, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] }));
        writeFileAtomic(join(dir, 'weights.bin'), new Uint8Array(a.weightData as ArrayBuffer));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    writeFileAtomic(info, JSON.stringify({ accuracy, seed, csvPath, label, drop }));
    return { model: join(dir, 'model.json'), accuracy };
  } finally {
    tf.dispose([xs, ys]);
    m.dispose();
    opt.dispose();
  }
}

/** PreparedJob from the disk cache, or computed and cached. */
async function prepared(name: string, job: Job, io: JobIO): Promise<{ prep: PreparedJob; cached: boolean; seconds: number }> {
  const t0 = performance.now();
  mkdirSync(CACHE, { recursive: true });
  const file = join(CACHE, `${name}-${createHash('sha256').update(preparedKey(job)).digest('hex').slice(0, 16)}.json`);
  if (existsSync(file)) {
    const reuse = JSON.parse(readFileSync(file, 'utf8')) as PreparedCache;
    try {
      return { prep: await prepareJob(job, io, undefined, undefined, reuse), cached: true, seconds: (performance.now() - t0) / 1000 };
    } catch (e) {
      // a cache of other model or data files (or one that does not record them) is computed again, never used
      if (!isUserError(e)) throw e;
      console.error(`${name}: the cache ${file} was refused (${e.message}); computing the priors again`);
    }
  }
  const prep = await prepareJob(job, io, (e) => e.stage !== 'train' && e.done === e.total && console.error(`${name}: ${e.stage} ${e.message ?? ''}`));
  writeFileAtomic(file, JSON.stringify(exportPrepared(prep)));
  return { prep, cached: false, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Held-out L_LC of the L_LC optimum after per-row min–max normalisation (the range every scored
 * explanation has), on the same subsets and Δ as reportTraining's ceilings (same seeder and unit).
 */
async function normalisedOptimumLC(prep: PreparedJob, opts: TrainAndReportOptions): Promise<number> {
  const plan = planTraining(prep, opts);
  const { task } = prep.loaded;
  const n = task.nFeatures;
  const b = plan.testBatch;
  const cfg = plan.job.training;
  const lc = await lcTargets(task, b.x, b.nRows, b.rowIndex, plan.testTarget, cfg.lcSubsets, new Seeder(plan.trainSeed), 'deepfaith-lc-heldout', cfg.lcSampling ?? 'independent');
  const opt = await lcOptimum(lc, b.nRows, n);
  const loss = tf.tidy(() => lossLC(tf.tensor2d(opt, [b.nRows, n]), tf.tensor3d(lc.masks, [b.nRows, lc.k, n]), tf.tensor2d(lc.delta, [b.nRows, lc.k]), true));
  const v = (await loss.data())[0];
  loss.dispose();
  return v;
}

/** One prior budget of a task: priors (cached), the explainer with every seed, and, at the primary budget, the ablations and the frontier. */
async function runBudget(def: TaskDef, budget: PriorBudget, primary: boolean, partial: TaskOutcome): Promise<void> {
  const job = resolveJob({ ...def.job, priorBudget: budget });
  const tag = `${def.id}/${budget}`;
  const { prep, cached, seconds } = await prepared(budget === 'default' ? def.id : `${def.id}-${budget}`, job, nodeJobIO(def.baseDir));
  console.error(`${tag}: priors and scores ${cached ? 'from the cache' : 'computed'} (${seconds.toFixed(0)} s)`);
  const t0 = performance.now();
  try {
    const out: BudgetOutcome = { budget, full: [], priorSeconds: cached ? NaN : seconds, seconds: 0, normalisedOptimumLC: [] };
    partial.budgets = [...partial.budgets.filter((b) => b.budget !== budget), out];
    for (const seed of SEEDS) {
      const { result, explainer } = await trainAndReport(prep, { mode: 'full', trainSeed: seed });
      explainer.dispose();
      out.full.push(result);
      out.normalisedOptimumLC!.push(await normalisedOptimumLC(prep, { mode: 'full', trainSeed: seed }));
      const c = result.ceilings;
      console.error(`${tag}: full seed ${seed}: explainer mean rank ${result.table[0].meanRank.toFixed(2)} (best prior ${bestPrior(result).method} ${bestPrior(result).meanRank.toFixed(2)}); held-out L_LC ${f3(c?.lossLC.explainer ?? NaN)} vs optimum ${f3(c?.lossLC.optimum ?? NaN)}${firstShare(result)}; ${(result.training.ms / 1000).toFixed(0)} s training`);
      out.seconds = (performance.now() - t0) / 1000;
      save(partial);
    }
    if (primary && !args['skip-ablations']) {
      partial.ablations = { full: out.full[0] };
      for (const mode of TRAIN_MODES.filter((m) => m !== 'full')) {
        const { result, explainer } = await trainAndReport(prep, { mode, trainSeed: SEEDS[0] });
        explainer.dispose();
        partial.ablations[mode] = result;
        console.error(`${tag}: ${mode}: explainer mean rank ${result.table[0].meanRank.toFixed(2)}`);
        out.seconds = (performance.now() - t0) / 1000;
        save(partial);
      }
    }
    if (primary && !args['skip-frontier']) {
      const tf0 = performance.now();
      partial.frontier = await costFrontier(prep, out.full[0]);
      console.error(`${tag}: frontier (${((performance.now() - tf0) / 1000).toFixed(0)} s): ${frontierVerdict(partial.frontier)}`);
      out.seconds = (performance.now() - t0) / 1000;
      save(partial);
    }
  } finally {
    prep.loaded.task.model.dispose();
  }
}

/** A task's kept results (budgets in PRIOR_BUDGETS order), or undefined where it has none. */
function loadKept(id: string): TaskOutcome | undefined {
  const file = keptFile(id);
  if (!existsSync(file)) return undefined;
  const o = JSON.parse(readFileSync(file, 'utf8')) as TaskOutcome;
  o.budgets.sort(byBudget);
  return o;
}

const keptFile = (id: string) => `out/deepfaith-results/${id}.json`;

/** Write a task's kept results; the caller holds the file's lock (withLock makes its folder). */
function writeKept(o: TaskOutcome): void {
  writeFileAtomic(keptFile(o.id), JSON.stringify(o));
}

/**
 * Keep the measured results (without the prepared jobs) so the page can be re-rendered without
 * retraining. The options are --options runs' (kept.options): the ones on disk win, read under the
 * file's lock, so a measurement never drops options a parallel process saved meanwhile.
 */
function save(o: TaskOutcome): void {
  withLock(keptFile(o.id), () => {
    const disk = loadKept(o.id);
    if (disk?.options) o.options = disk.options;
    writeKept(o);
  });
}

/** Options (chosen on validation rows) on the test split: every option × budget × seed, kept with the task's results. */
async function runOptions(def: TaskDef, options: Record<string, TrainAndReportOptions>): Promise<void> {
  const kept = loadKept(def.id);
  if (!kept) throw new Error(`--options: ${def.id} has no kept results (out/deepfaith-results/${def.id}.json); measure the task first.`);
  kept.options ??= {};
  for (const budget of BUDGETS) {
    const job = resolveJob({ ...def.job, priorBudget: budget });
    const { prep } = await prepared(budget === 'default' ? def.id : `${def.id}-${budget}`, job, nodeJobIO(def.baseDir));
    try {
      for (const [name, settings] of Object.entries(options)) {
        const t0 = performance.now();
        // the option's other budgets, and this budget's runs of seeds not in --seeds, stay when its settings are the same
        const { record, out } = optionSlot(kept.options[name], settings, budget, SEEDS, PRIOR_BUDGETS);
        kept.options[name] = record;
        const own: JobResult[] = [];
        for (const seed of SEEDS) {
          const { result, explainer } = await trainAndReport(prep, { ...settings, mode: settings.mode ?? 'full', trainSeed: seed });
          explainer.dispose();
          own.push(result);
          out.seconds = (performance.now() - t0) / 1000;
          if (args['options-frontier'] && budget === PRIMARY && seed === SEEDS[0]) {
            // when does the option's explainer pay off? (build cost: the priors on the training rows and this training)
            const f = await costFrontier(prep, result);
            const file = `out/deepfaith-results/${def.id}-options-frontier-${createHash('sha256').update(name).digest('hex').slice(0, 8)}.md`;
            writeFileAtomic(file, `<!-- ${def.id}, option "${name}", ${budget} budgets, explainer seed ${seed} -->\n` + frontierMarkdown(f));
            console.error(`${def.id}/${budget} option ${name} frontier (${file}): ${frontierVerdict(f)}`);
          }
          const c = result.ceilings?.lossLC;
          console.error(`${def.id}/${budget} option ${name} seed ${seed}: explainer mean rank ${result.table[0].meanRank.toFixed(2)}; held-out L_LC ${f3(c?.explainer ?? NaN)} (optimum ${f3(c?.optimum ?? NaN)}, out of sample ${f3(c?.outOfSample ?? NaN)})${firstShare(result)}; ${(result.training.ms / 1000).toFixed(0)} s training`);
          // runs of other seeds (and other options) that a parallel --options process of this task saved meanwhile are kept (read and written under the file's lock)
          withLock(keptFile(def.id), () => {
            const disk = loadKept(def.id);
            for (const [other, rec] of Object.entries(disk?.options ?? {})) if (other !== name) kept.options![other] = rec;
            const same = disk?.options?.[name] && JSON.stringify(disk.options[name].settings) === JSON.stringify(settings) ? disk.options[name] : undefined;
            const others = same ? (same.budgets.find((b) => b.budget === budget)?.full ?? []).filter((r) => !SEEDS.includes(r.training.seed)) : out.full.filter((r) => !SEEDS.includes(r.training.seed));
            out.full = [];
            for (const r of [...others, ...own]) addRun(out, r);
            writeKept(kept);
          });
        }
      }
    } finally {
      prep.loaded.task.model.dispose();
    }
  }
}


/** Validation-only tuning: every variant × seed, scored on rows carved from the training rows. */
async function tuneTask(def: TaskDef, budget: PriorBudget, variants: Record<string, TrainAndReportOptions>): Promise<void> {
  const id = def.id;
  const job = resolveJob({ ...def.job, priorBudget: budget });
  const { prep } = await prepared(budget === 'default' ? id : `${id}-${budget}`, job, nodeJobIO(def.baseDir));
  try {
    for (const [vname, v] of Object.entries(variants)) {
      const ranks: number[] = [];
      for (const seed of SEEDS) {
        const { result, explainer } = await trainAndReport(prep, { ...v, trainSeed: seed, evaluateOn: 'validation' });
        explainer.dispose();
        const ours = result.table[0];
        const best = bestPrior(result);
        const ev = result.training.evals[result.training.evals.length - 1];
        ranks.push(ours.meanRank);
        const line = { task: id, budget, variant: vname, seed, mode: result.training.mode, rank: ours.meanRank, bestPrior: best.method, bestPriorRank: best.meanRank, scores: ours.scores, z: result.supervision.counts.afterFilter, steps: result.training.steps.length, heldPC: ev?.lossPC, heldLC: ev?.lossLC, lastStepLC: result.training.steps[result.training.steps.length - 1]?.lossLC, lcOptimum: result.ceilings?.lossLC.optimum, lcReachable: result.ceilings?.lossLC.reachable, lcOnFit: result.ceilings?.lossLC.onFit, explainerLC: result.ceilings?.lossLC.explainer, rankGap: result.ceilings?.rankGap, rankBootstrap: result.rankBootstrap?.rows.find((r) => r.method === 'deepfaith'), finalAlpha: result.training.alpha.alpha, firstConv: result.training.steps.find((s) => s.converged)?.step ?? null, trainS: result.training.ms / 1000, options: v };
        appendFileSync('out/deepfaith-tune.jsonl', JSON.stringify(line) + '\n');
        console.error(`${id}/${budget} ${vname} seed ${seed}: rank ${ours.meanRank.toFixed(2)} (best prior ${best.method} ${best.meanRank.toFixed(2)}); held-out L_PC ${f3(ev?.lossPC ?? NaN)} L_LC ${f3(ev?.lossLC ?? NaN)} (optimum ${f3(line.lcOptimum ?? NaN)})${firstShare(result)}; ${result.training.steps.length} steps, first convergence ${line.firstConv}, final α ${f3(line.finalAlpha)}; ${line.trainS.toFixed(0)} s`);
      }
      console.error(`== ${id}/${budget} ${vname}: validation mean rank ${f2(meanSd(ranks).mean)} (${ranks.map(f2).join(', ')})`);
    }
  } finally {
    prep.loaded.task.model.dispose();
  }
}

interface TaskDef {
  id: string;
  name: string;
  job: JobInput;
  baseDir: string;
  note: string;
  paperKey?: string;
}

async function taskDef(id: string): Promise<TaskDef> {
  const maxRows = args['max-rows'] !== undefined ? Number(args['max-rows']) : undefined;
  if (id === 'nap' || id === 'wcd') {
    const isNap = id === 'nap';
    const csv = join(PAPER_DATA, isNap ? 'nhanes_age.csv' : 'wholesale.csv');
    const label = isNap ? 'age_group' : 'Channel';
    const drop = isNap ? ['SEQN', 'RIDAGEYR'] : [];
    const mlp = await trainMlp(csv, label, drop, join(CACHE, `mlp-${id}`), 1);
    // the demos' explainer and training settings (jobs/iris.json), δ and p from the paper's Table 13
    const demo = JSON.parse(readFileSync('jobs/iris.json', 'utf8')) as JobInput;
    const base: JobInput = { methods: 'paper', metrics: 'all', supervision: { delta: isNap ? 0.9 : 0.93, p: 0.15 }, explainer: demo.explainer, training: demo.training, seed: 0, mode: 'full' };
    const rows = maxRows ?? 0;
    const job: JobInput = { ...base, task: { ...(base.task ?? {}), model: mlp.model, data: csv, label, drop, maxRows: rows } };
    delete (job as { description?: string }).description;
    const rowsNote = rows ? ` Only the first ${rows} of the file's rows are used (maxRows ${rows}), to keep the run to minutes on 2 cores; the MLP is trained on all rows.` : '';
    const common = `Job: the paper's eight priors, all ten metrics (project defaults); explainer ${JSON.stringify(base.explainer)}, training ${JSON.stringify(base.training)}, supervision ${JSON.stringify(base.supervision)}.`;
    const note = isNap
      ? `NHANES age prediction (../shared/paper-data/nhanes_age.csv): label age_group; features RIAGENDR, PAQ605, BMXBMI, LBXGLU, DIQ010, LBXGLT, LBXIN (SEQN and RIDAGEYR dropped: RIDAGEYR is the age the label is cut from, so 7 tokens where the paper's Table 14 lists 8). Target: an MLP (7→64→64→2, ReLU, softmax; seeded Glorot init, no shuffling, 60 epochs Adam lr 1e-2, standardisation folded into the first layer) trained by this script, training accuracy ${f3(mlp.accuracy)}.${rowsNote} ${common}`
      : `Wholesale customers (../shared/paper-data/wholesale.csv): label Channel; features Region, Fresh, Milk, Grocery, Frozen, Detergents_Paper, Delicassen (7 tokens, as the paper's Table 14). Target: an MLP (7→64→64→2, trained as for NAP) trained by this script, training accuracy ${f3(mlp.accuracy)}.${rowsNote} ${common}`;
    return { id, name: isNap ? 'NAP + MLP (paper Table 25)' : 'WCD + MLP (paper Table 26)', job, baseDir: process.cwd(), note, paperKey: id };
  }
  const path = `jobs/${id}.json`;
  const job = JSON.parse(readFileSync(path, 'utf8')) as JobInput;
  delete (job as { description?: string }).description;
  if (maxRows !== undefined) job.task = { ...(job.task ?? {}), maxRows };
  const rowsNote = job.task?.maxRows ? ` Only the first ${job.task.maxRows} rows of the demo are used (maxRows), to keep the run to minutes on 2 cores.` : '';
  return { id, name: `${id} demo (${path})`, job, baseDir: resolve('jobs'), note: `Job file ${path}; explainer ${JSON.stringify(job.explainer)}, training ${JSON.stringify(job.training)}, supervision ${JSON.stringify(job.supervision)}.${rowsNote}` };
}

/** Budgets in the order PRIOR_BUDGETS lists them (default, then paper), whichever order they were measured in. */
const byBudget = (a: { budget: PriorBudget }, b: { budget: PriorBudget }) => PRIOR_BUDGETS.indexOf(a.budget) - PRIOR_BUDGETS.indexOf(b.budget);

const MARK = '<!-- measured tables below: written by scripts/results.ts -->';
const ORDER = ['iris', 'wine', 'penguins', 'breast-cancer', 'nap', 'wcd'];

/** Replace (or add) one task's section of the page and rebuild the summary from every task's kept results. */
function writeSection(id: string, text: string): void {
  withLock(OUT, () => writeSectionLocked(id, text));
}

function writeSectionLocked(id: string, text: string): void {
  let page = '# DeepFaith results\n\n<!-- summary:begin -->\n<!-- summary:end -->\n\n' + MARK + '\n';
  try {
    page = readFileSync(OUT, 'utf8');
  } catch {
    /* first run */
  }
  page = upsertSection(page, MARK, id, text, ORDER);
  const kept = ORDER.map(loadKept).filter((o): o is TaskOutcome => o !== undefined && o.budgets?.length > 0 && o.budgets.every((b) => b.full.length));
  page = replaceBlock(page, 'summary', summaryTable(kept));
  writeFileAtomic(OUT, replaceBlock(page, 'options', optionsTable(kept.filter((o) => o.options && Object.keys(o.options).length))));
}

/** The variants of a --tune or --options file (an object of name → settings). */
function readVariants(file: string, flag: string): Record<string, TrainAndReportOptions> {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${flag} ${file}: ${(e as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${flag} ${file}: an object of name → settings is expected.`);
  return v as Record<string, TrainAndReportOptions>;
}

const VARIANT_KEYS = ['training', 'explainer', 'supervision', 'mode'];

/** Each variant's fields checked like a job file's (core applyOverrides), and its mode; throws naming the variant. */
function checkVariants(job: Job, variants: Record<string, TrainAndReportOptions>, task: string): void {
  for (const [name, v] of Object.entries(variants)) {
    try {
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('settings must be an object');
      for (const k of Object.keys(v)) if (!VARIANT_KEYS.includes(k)) throw new Error(`"${k}" is not a variant field (known: ${VARIANT_KEYS.join(', ')})`);
      if (v.mode !== undefined && !(TRAIN_MODES as readonly string[]).includes(v.mode)) throw new Error(`mode ${JSON.stringify(v.mode)} is not known (${TRAIN_MODES.join(', ')})`);
      applyOverrides(job, v);
    } catch (e) {
      throw new Error(`variant "${name}" (task ${task}): ${(e as Error).message}`);
    }
  }
}

async function main() {
  await tf.setBackend('wasm');
  await tf.ready();
  mkdirSync('out', { recursive: true });
  const wanted = args.tasks ? args.tasks.split(',') : ORDER;
  const variants = args.tune ? readVariants(args.tune, '--tune') : undefined;
  const options = args.options ? readVariants(args.options, '--options') : undefined;
  // every variant checked against every task's job before the first model call (a misspelt setting
  // would otherwise be ignored, or refused only when its training starts, after hours of others)
  for (const set of [variants, options])
    if (set)
      for (const id of wanted) {
        const def = await taskDef(id);
        const job = resolveJob(def.job);
        checkVariants(job, set, id);
        // and the checks that need the task (a class frame the task's classes do not allow, synthetic rows on token ids, …)
        const loaded = await loadJobTask(job, nodeJobIO(def.baseDir));
        try {
          for (const [name, v] of Object.entries(set)) {
            try {
              checkJobForTask(applyOverrides(job, v), loaded.task.nFeatures, loaded.task);
            } catch (e) {
              throw new Error(`variant "${name}" (task ${id}): ${(e as Error).message}`);
            }
          }
        } finally {
          loaded.task.model.dispose();
        }
      }
  if (options) {
    for (const id of wanted) {
      const def = await taskDef(id);
      await runOptions(def, options);
      const kept = loadKept(id)!;
      writeSection(id, section(kept, kept.paperKey ? PAPER[kept.paperKey] : undefined));
      console.error(`${id}: options measured; wrote ${OUT}`);
    }
    return;
  }
  for (const id of wanted) {
    if (args.render) {
      const saved = loadKept(id);
      if (!saved) throw new Error(`--render: ${id} has no kept results (out/deepfaith-results/${id}.json).`);
      writeSection(id, section(saved, saved.paperKey ? PAPER[saved.paperKey] : undefined));
      console.error(`${id}: re-rendered from out/deepfaith-results/${id}.json`);
      continue;
    }
    const def = await taskDef(id);
    if (variants) {
      for (const budget of BUDGETS) await tuneTask(def, budget, variants);
      continue;
    }
    if (args.refresh) {
      // re-measure the explainer's seeds at the given budgets (bit-identical trainings; the report's
      // newer fields are filled in), keeping the task's ablations, frontier and other budgets
      const kept = loadKept(id);
      if (!kept) throw new Error(`--refresh: ${id} has no kept results (out/deepfaith-results/${id}.json); measure the task first.`);
      if (kept.seeds.join(',') !== SEEDS.join(',')) throw new Error(`--refresh: ${id} was measured with seeds ${kept.seeds.join(',')}; pass --seeds ${kept.seeds.join(',')}.`);
      for (const budget of BUDGETS) await runBudget(def, budget, false, kept);
      kept.budgets.sort(byBudget);
      save(kept);
      writeSection(id, section(kept, kept.paperKey ? PAPER[kept.paperKey] : undefined));
      console.error(`${id}: refreshed ${BUDGETS.join(', ')}; wrote ${OUT}`);
      continue;
    }
    const outcome: TaskOutcome = { id, name: def.name, note: def.note, paperKey: def.paperKey, primary: PRIMARY, budgets: [], ablations: {}, seeds: SEEDS };
    // options measured earlier stay with the task (a re-run reproduces the priors they were measured against)
    outcome.options = loadKept(id)?.options;
    // the primary budget first: its ablations and frontier are the longest part
    for (const budget of [PRIMARY, ...BUDGETS.filter((b) => b !== PRIMARY)]) await runBudget(def, budget, budget === PRIMARY, outcome);
    outcome.budgets.sort(byBudget);
    save(outcome);
    writeSection(id, section(outcome, def.paperKey ? PAPER[def.paperKey] : undefined));
    console.error(`${id}: done; wrote ${OUT}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
