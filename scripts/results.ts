/**
 * Reproduces docs/results.md: DeepFaith on the four demos (jobs/*.json; full pipeline with 3
 * explainer seeds, and the four ablations) and on the paper's NAP+MLP and WCD+MLP tasks
 * (data read from ../shared/paper-data; an MLP target trained here deterministically and kept in
 * the cache folder).
 *
 * Priors and their metric scores are computed once per task and kept on disk (git-ignored
 * out/deepfaith-cache/, keyed by task, methods, metrics, seed and test fraction); every training
 * run reuses them. Each task's section of the page is replaced on its own, so tasks can be run
 * one at a time. Each task's measured results are also kept in out/deepfaith-results/<task>.json;
 * `--render` rewrites the sections from them without training.
 *
 *   nice npx tsx scripts/results.ts [--tasks iris,wine,…] [--paper-data ../shared/paper-data] [--out docs/results.md]
 *
 * Tuning without the test split: `--tune variants.json` trains each variant (an object of
 * training / explainer / supervision overrides) for every seed, scoring on validation rows carved
 * out of the TRAINING rows (trainAndReport's evaluateOn 'validation'), and appends one JSON line
 * per run to out/deepfaith-tune.jsonl. The test split is not touched.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { exportPrepared, preparedKey, prepareJob, rankTable, resolveJob, trainAndReport, type Job, type JobIO, type JobInput, type JobResult, type PreparedCache, type PreparedJob, type TrainAndReportOptions } from '../src/core/job';
import { parseCsv } from '../src/core/data/csv';
import { TRAIN_MODES, type TrainMode } from '../src/core/explainer/train';
import { nodeJobIO } from '../src/cli/commands/run';

const { values: args } = parseArgs({
  options: { tasks: { type: 'string' }, 'paper-data': { type: 'string' }, out: { type: 'string' }, seeds: { type: 'string' }, cache: { type: 'string' }, tune: { type: 'string' }, 'max-rows': { type: 'string' }, render: { type: 'boolean' } },
});
const PAPER_DATA = resolve(args['paper-data'] ?? '../shared/paper-data');
const CACHE = resolve(args.cache ?? 'out/deepfaith-cache');
const OUT = args.out ?? 'docs/results.md';
const SEEDS = (args.seeds ?? '0,1,2').split(',').map(Number);

/** The paper's Tables 25–26 (mean rank column) and the DeepFaith row, for comparison. */
const PAPER: Record<string, { deepfaith: Record<string, number>; meanRanks: Record<string, number> }> = {
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
        writeFileSync(join(dir, 'model.json'), JSON.stringify({ modelTopology: a.modelTopology, format: a.format, generatedBy: a.generatedBy, convertedBy: a.convertedBy, weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs }] }));
        writeFileSync(join(dir, 'weights.bin'), new Uint8Array(a.weightData as ArrayBuffer));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    writeFileSync(info, JSON.stringify({ accuracy, seed, csvPath, label, drop }));
    return { model: join(dir, 'model.json'), accuracy };
  } finally {
    tf.dispose([xs, ys]);
    m.dispose();
    opt.dispose();
  }
}

const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');
const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const arrow = (d: string) => (d === 'higher' ? '↑' : '↓');

interface TaskOutcome {
  name: string;
  note: string;
  full: JobResult[];
  ablations: Record<TrainMode, JobResult>;
  prep: PreparedJob;
  seconds: number;
  /** Time of the priors and their scores (NaN when they came from the cache). */
  priorSeconds: number;
}

/** PreparedJob from the disk cache, or computed and cached. */
async function prepared(name: string, job: Job, io: JobIO): Promise<{ prep: PreparedJob; cached: boolean; seconds: number }> {
  const t0 = performance.now();
  mkdirSync(CACHE, { recursive: true });
  const file = join(CACHE, `${name}-${createHash('sha256').update(preparedKey(job)).digest('hex').slice(0, 16)}.json`);
  if (existsSync(file)) {
    const reuse = JSON.parse(readFileSync(file, 'utf8')) as PreparedCache;
    return { prep: await prepareJob(job, io, undefined, undefined, reuse), cached: true, seconds: (performance.now() - t0) / 1000 };
  }
  const prep = await prepareJob(job, io, (e) => e.stage !== 'train' && e.done === e.total && console.error(`${name}: ${e.stage} ${e.message ?? ''}`));
  writeFileSync(file, JSON.stringify(exportPrepared(prep)));
  return { prep, cached: false, seconds: (performance.now() - t0) / 1000 };
}

async function runTask(name: string, id: string, jobInput: JobInput, baseDir: string, note: string): Promise<TaskOutcome> {
  const t0 = performance.now();
  const job = resolveJob(jobInput);
  const { prep, cached, seconds } = await prepared(id, job, nodeJobIO(baseDir));
  console.error(`${id}: priors and scores ${cached ? 'from the cache' : 'computed'} (${seconds.toFixed(0)} s)`);
  try {
    const full: JobResult[] = [];
    for (const seed of SEEDS) {
      const { result, explainer } = await trainAndReport(prep, { mode: 'full', trainSeed: seed });
      explainer.dispose();
      full.push(result);
      console.error(`${id}: full seed ${seed}: explainer mean rank ${result.table[0].meanRank.toFixed(2)} (${(result.training.ms / 1000).toFixed(0)} s training)`);
    }
    const ablations = { full: full[0] } as Record<TrainMode, JobResult>;
    for (const mode of TRAIN_MODES.filter((m) => m !== 'full')) {
      const { result, explainer } = await trainAndReport(prep, { mode, trainSeed: SEEDS[0] });
      explainer.dispose();
      ablations[mode] = result;
      console.error(`${id}: ${mode}: explainer mean rank ${result.table[0].meanRank.toFixed(2)}`);
    }
    return { name, note, full, ablations, prep, seconds: (performance.now() - t0) / 1000, priorSeconds: cached ? NaN : seconds };
  } finally {
    prep.loaded.task.model.dispose();
  }
}

/** Validation-only tuning: every variant × seed, scored on rows carved from the training rows. */
async function tuneTask(id: string, jobInput: JobInput, baseDir: string, variants: Record<string, TrainAndReportOptions>): Promise<void> {
  const job = resolveJob(jobInput);
  const { prep } = await prepared(id, job, nodeJobIO(baseDir));
  try {
    for (const [vname, v] of Object.entries(variants)) {
      const ranks: number[] = [];
      for (const seed of SEEDS) {
        const { result, explainer } = await trainAndReport(prep, { ...v, trainSeed: seed, evaluateOn: 'validation' });
        explainer.dispose();
        const ours = result.table[0];
        const best = result.table.filter((r) => !r.isExplainer && !r.diagnostic).sort((a, b) => a.meanRank - b.meanRank)[0];
        const ev = result.training.evals[result.training.evals.length - 1];
        ranks.push(ours.meanRank);
        const line = { task: id, variant: vname, seed, mode: result.training.mode, rank: ours.meanRank, bestPrior: best.method, bestPriorRank: best.meanRank, scores: ours.scores, z: result.supervision.counts.afterFilter, steps: result.training.steps.length, heldPC: ev?.lossPC, heldLC: ev?.lossLC, lcOptimum: result.ceilings?.lossLC.optimum, explainerLC: result.ceilings?.lossLC.explainer, finalAlpha: result.training.alpha.alpha, firstConv: result.training.steps.find((s) => s.converged)?.step ?? null, trainS: result.training.ms / 1000, options: v };
        appendFileSync('out/deepfaith-tune.jsonl', JSON.stringify(line) + '\n');
        console.error(`${id} ${vname} seed ${seed}: rank ${ours.meanRank.toFixed(2)} (best prior ${best.method} ${best.meanRank.toFixed(2)}); held-out L_PC ${f3(ev?.lossPC ?? NaN)} L_LC ${f3(ev?.lossLC ?? NaN)}; ${result.training.steps.length} steps, first convergence ${line.firstConv}, final α ${f3(line.finalAlpha)}; ${line.trainS.toFixed(0)} s`);
      }
      const m = ranks.reduce((a, b) => a + b, 0) / ranks.length;
      console.error(`== ${id} ${vname}: validation mean rank ${m.toFixed(2)} (${ranks.map(f2).join(', ')})`);
    }
  } finally {
    prep.loaded.task.model.dispose();
  }
}

/** Mean ranks recomputed from the scores rounded to 3 decimals (the values the tables print): differences below 0.0005 become ties. */
/** The ranked rows of a result (the diagnostic ceilings are reported apart). */
function ranked(r: JobResult): JobResult {
  return { ...r, table: r.table.filter((row) => !row.diagnostic) };
}

function roundedMeanRanks(r: JobResult): number[] {
  const rows = ranked(r).table.map((row) => ({ scores: Object.fromEntries(Object.entries(row.scores).map(([k, v]) => [k, Number.isNaN(v) ? NaN : Math.round(v * 1000) / 1000])) }));
  return rankTable(rows, r.metrics).meanRank;
}

function section(o: Omit<TaskOutcome, 'prep'>, paperKey?: string): string {
  const withCeilings = o.full[0];
  const r0 = ranked(withCeilings);
  const rounded0 = roundedMeanRanks(r0);
  const ms = r0.metrics;
  const L: string[] = [];
  L.push(`## ${o.name}`, '', o.note, '');
  const c = r0.supervision.counts;
  L.push(`${r0.task.nRows} rows × ${r0.task.nFeatures} features, ${r0.split.trainRows.length} train / ${r0.split.testRows.length} test. Priors that ran: ${r0.priors.filter((p) => p.ran).map((p) => p.id).join(', ')}${r0.priors.some((p) => !p.ran) ? `; skipped: ${r0.priors.filter((p) => !p.ran).map((p) => `${p.id} (${p.reason})`).join('; ')}` : ''}.`);
  L.push(`Z: ${c.total} explanations → ${c.afterDedup} after dedup (δ ${r0.supervision.options.delta}) → ${c.afterFilter} after filter (p ${r0.supervision.options.p}); ${c.samplesWithoutSurvivor} of ${c.samples} training samples without a survivor. Time: ${Number.isFinite(o.priorSeconds) ? `priors and scores ${o.priorSeconds.toFixed(0)} s, ` : 'priors and scores from the cache, '}7 trainings and their scoring ${(o.seconds - (Number.isFinite(o.priorSeconds) ? o.priorSeconds : 0)).toFixed(0)} s.`, '');
  const ranks = o.full.map((r) => r.table[0].meanRank);
  const mean = ranks.reduce((a, b) => a + b, 0) / ranks.length;
  const sd = Math.sqrt(ranks.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, ranks.length - 1));
  const bestPrior = r0.table.filter((r) => !r.isExplainer).sort((a, b) => a.meanRank - b.meanRank)[0];
  const rr = o.full.map((r) => roundedMeanRanks(r)[0]);
  const rmean = rr.reduce((a, b) => a + b, 0) / rr.length;
  const rsd = Math.sqrt(rr.reduce((a, b) => a + (b - rmean) ** 2, 0) / Math.max(1, rr.length - 1));
  const bestRounded = Math.min(...rounded0.filter((_, i) => !r0.table[i].isExplainer));
  L.push(`**Explainer mean rank over seeds ${SEEDS.join(', ')}: ${f2(mean)} ± ${f2(sd)}** (sample std; per seed ${ranks.map(f2).join(', ')}); best prior in the seed-${SEEDS[0]} table: ${bestPrior.method} ${f2(bestPrior.meanRank)}. With scores rounded to 3 decimals before ranking (differences < 0.0005 count as ties; a reading aid, not the pinned rule): explainer ${f2(rmean)} ± ${f2(rsd)}, best prior ${f2(bestRounded)}.`, '');
  L.push(`Method × metric on the test split (explainer seed ${SEEDS[0]}; each cell mean score (rank)):`, '');
  L.push(`| method | ${ms.map((m) => `${m.id} ${arrow(m.direction)}`).join(' | ')} | mean rank | rank (3 dp) | ms/sample |${paperKey ? ' paper mean rank |' : ''}`);
  L.push(`|---|${ms.map(() => '---:').join('|')}|---:|---:|---:|${paperKey ? '---:|' : ''}`);
  for (const [i, row] of [...r0.table.entries()].sort((a, b) => a[1].meanRank - b[1].meanRank))
    L.push(`| ${row.isExplainer ? '**DeepFaith**' : row.method} | ${ms.map((m) => `${f3(row.scores[m.id])} (${row.ranks[m.id]})`).join(' | ')} | ${f2(row.meanRank)} | ${f2(rounded0[i])} | ${row.msPerSample.toFixed(3)} |${paperKey ? ` ${PAPER[paperKey].meanRanks[row.method] ?? 'n/a'} |` : ''}`);
  for (const row of withCeilings.table.filter((x) => x.diagnostic)) L.push(`| *${row.label}* | ${ms.map((m) => f3(row.scores[m.id])).join(' | ')} | – | – | – |${paperKey ? ' |' : ''}`);
  if (paperKey) L.push(`| *paper's DeepFaith row* | ${ms.map((m) => f3(PAPER[paperKey].deepfaith[m.id])).join(' | ')} | ${PAPER[paperKey].meanRanks.deepfaith} | | | |`);
  if (withCeilings.ceilings) L.push('', `Held-out L_LC (seed ${SEEDS[0]}): explainer ${f3(withCeilings.ceilings.lossLC.explainer)}, L_LC optimum ${f3(withCeilings.ceilings.lossLC.optimum)}; rows in italics are diagnostics (never in Z, not ranked).`);
  L.push('', 'Ablations (explainer seed ' + SEEDS[0] + '; explainer scores on the test split, paper Table 4 shape; "rank" = the explainer\'s mean rank against the same priors):', '');
  L.push(`| ablation | ${ms.map((m) => `${m.id} ${arrow(m.direction)}`).join(' | ')} | rank | |Z| | final α | first convergence |`);
  L.push(`|---|${ms.map(() => '---:').join('|')}|---:|---:|---:|---|`);
  const label: Record<TrainMode, string> = { full: 'L_OBJ (full)', 'pc-only': 'L_PC only', 'lc-only': 'L_LC only', 'dedup-only': 'L_OBJ, dedup only', 'filter-only': 'L_OBJ, filter only' };
  for (const mode of TRAIN_MODES) {
    const r = o.ablations[mode];
    const row = r.table[0];
    const conv = r.training.steps.find((s) => s.converged);
    L.push(`| ${label[mode]} | ${ms.map((m) => f3(row.scores[m.id])).join(' | ')} | ${f2(row.meanRank)} | ${r.supervision.counts.afterFilter} | ${mode === 'pc-only' ? '1 (fixed)' : mode === 'lc-only' ? '0 (fixed)' : f3(r.training.alpha.alpha)} | ${mode === 'pc-only' || mode === 'lc-only' ? '–' : conv ? `step ${conv.step}` : 'never'} |`);
  }
  const st = r0.training.steps;
  const q = (i: number) => st[Math.min(st.length - 1, Math.max(0, i))];
  const points = [0, Math.floor(st.length / 4), Math.floor(st.length / 2), Math.floor((3 * st.length) / 4), st.length - 1].map(q);
  const resets = st.filter((s, i) => i > 0 && st[i - 1].converged && !s.converged).length;
  L.push('', `Trajectory (full, seed ${SEEDS[0]}; ${st.length} steps, ${resets} α reset(s)):`, '');
  L.push('| step | L_PC | L_LC | α |', '|---:|---:|---:|---:|');
  for (const s of points) L.push(`| ${s.step} | ${f3(s.lossPC)} | ${f3(s.lossLC)} | ${f3(s.alpha)} |`);
  const ev = r0.training.evals;
  if (ev.length) L.push('', `Held-out losses: ${ev.map((e) => `epoch ${e.epoch + 1}: L_PC ${f3(e.lossPC)}, L_LC ${f3(e.lossLC)}`).join('; ')}.`);
  L.push('');
  return L.join('\n');
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
  const maxRows = args['max-rows'] ? Number(args['max-rows']) : undefined;
  if (id === 'nap' || id === 'wcd') {
    const isNap = id === 'nap';
    const csv = join(PAPER_DATA, isNap ? 'nhanes_age.csv' : 'wholesale.csv');
    const label = isNap ? 'age_group' : 'Channel';
    const drop = isNap ? ['SEQN', 'RIDAGEYR'] : [];
    const mlp = await trainMlp(csv, label, drop, join(CACHE, `mlp-${id}`), 1);
    // the demos' explainer and training settings (jobs/iris.json), δ and p from the paper's Table 13
    const demo = JSON.parse(readFileSync('jobs/iris.json', 'utf8')) as JobInput;
    const base: JobInput = { methods: 'paper', metrics: 'all', supervision: { delta: isNap ? 0.9 : 0.93, p: 0.15 }, explainer: demo.explainer, training: demo.training, seed: 0, mode: 'full' };
    const rows = maxRows ?? (isNap ? 600 : 0);
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
  if (maxRows) job.task = { ...(job.task ?? {}), maxRows };
  const rowsNote = job.task?.maxRows ? ` Only the first ${job.task.maxRows} rows of the demo are used (maxRows), to keep the run to minutes on 2 cores.` : '';
  return { id, name: `${id} demo (${path})`, job, baseDir: resolve('jobs'), note: `Job file ${path}; explainer ${JSON.stringify(job.explainer)}, training ${JSON.stringify(job.training)}, supervision ${JSON.stringify(job.supervision)}.${rowsNote}` };
}

const MARK = '<!-- measured tables below: written by scripts/results.ts -->';
const ORDER = ['iris', 'wine', 'penguins', 'breast-cancer', 'nap', 'wcd'];

/** Replace (or add) one task's section of the page, keeping the hand-written part and the other tasks. */
function writeSection(id: string, text: string): void {
  let page = '# DeepFaith results\n\n' + MARK + '\n';
  try {
    page = readFileSync(OUT, 'utf8');
  } catch {
    /* first run */
  }
  if (!page.includes(MARK)) page += '\n' + MARK + '\n';
  const head = page.slice(0, page.indexOf(MARK) + MARK.length);
  const body = page.slice(page.indexOf(MARK) + MARK.length);
  const sections = new Map<string, string>();
  const re = /<!-- task:([\w-]+) -->\n([\s\S]*?)<!-- \/task:\1 -->/g;
  for (let m = re.exec(body); m; m = re.exec(body)) sections.set(m[1], m[2]);
  sections.set(id, text.endsWith('\n') ? text : text + '\n');
  const ids = [...sections.keys()].sort((a, b) => (ORDER.indexOf(a) + 99 * +(ORDER.indexOf(a) < 0)) - (ORDER.indexOf(b) + 99 * +(ORDER.indexOf(b) < 0)));
  writeFileSync(OUT, head + '\n\n' + ids.map((k) => `<!-- task:${k} -->\n${sections.get(k)}<!-- /task:${k} -->\n`).join('\n'));
}

async function main() {
  await tf.setBackend('wasm');
  await tf.ready();
  mkdirSync('out', { recursive: true });
  const wanted = args.tasks ? args.tasks.split(',') : ORDER;
  const variants = args.tune ? (JSON.parse(readFileSync(args.tune, 'utf8')) as Record<string, TrainAndReportOptions>) : undefined;
  for (const id of wanted) {
    if (args.render) {
      const saved = JSON.parse(readFileSync(`out/deepfaith-results/${id}.json`, 'utf8')) as Omit<TaskOutcome, 'prep'> & { paperKey?: string };
      writeSection(id, section(saved, saved.paperKey));
      console.error(`${id}: re-rendered from out/deepfaith-results/${id}.json`);
      continue;
    }
    const def = await taskDef(id);
    if (variants) {
      await tuneTask(id, def.job, def.baseDir, variants);
      continue;
    }
    const outcome = await runTask(def.name, id, def.job, def.baseDir, def.note);
    // keep the measured results (without the prepared job) so the page can be re-rendered without retraining
    const { prep: _prep, ...saved } = outcome;
    mkdirSync('out/deepfaith-results', { recursive: true });
    writeFileSync(`out/deepfaith-results/${id}.json`, JSON.stringify({ ...saved, paperKey: def.paperKey }));
    writeSection(id, section(outcome, def.paperKey));
    console.error(`${id}: done; wrote ${OUT}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
