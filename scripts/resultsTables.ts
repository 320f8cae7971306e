/**
 * The tfjs-free part of scripts/results.ts: what docs/results.md's measured sections and summary
 * say about a task's runs (mean ranks over seeds, the explainer's place, its held-out L_LC against
 * the L_LC optimum, the train-vs-test rank gap, both prior budgets), rendered as Markdown, and the
 * page's marked blocks replaced one at a time. Tested in tests/results-script.test.ts.
 */
import { rankTable } from '../src/core/ranking';
import { frontierMarkdown, rankBootstrapSentence } from '../src/core/job/markdown';
import type { JobResult, TrainAndReportOptions } from '../src/core/job/report';
import type { Frontier } from '../src/core/job/frontier';
import type { PriorBudget } from '../src/core/job/schema';
import { TRAIN_MODES, type TrainMode } from '../src/core/explainer/train';

/** One prior budget of a task: the explainer trained with each seed (`full`) against those priors. */
export interface BudgetOutcome {
  budget: PriorBudget;
  full: JobResult[];
  /** Seconds of the priors and their scores (NaN when they came from the cache). */
  priorSeconds: number;
  /** Seconds of the trainings and their scoring (and the ablations/frontier when this budget has them). */
  seconds: number;
  /** Per seed: held-out L_LC of the L_LC optimum after min–max normalisation per row (same subsets). */
  normalisedOptimumLC?: number[];
}

export interface TaskOutcome {
  id: string;
  name: string;
  note: string;
  paperKey?: string;
  /** The budget the ablations, the frontier and the trajectory were measured at. */
  primary: PriorBudget;
  budgets: BudgetOutcome[];
  ablations: Partial<Record<TrainMode, JobResult>>;
  frontier?: Frontier;
  seeds: number[];
  /**
   * Settings beyond the job's, measured on the test split after being chosen on validation rows
   * (`results.ts --options`): per option name, the overrides and one BudgetOutcome per budget.
   */
  options?: Record<string, { settings: TrainAndReportOptions; budgets: BudgetOutcome[] }>;
}

export type OptionRecord = NonNullable<TaskOutcome['options']>[string];

/**
 * Where an option's new runs at one budget go: the record kept for the option (its other budgets,
 * and this budget's runs of seeds not being re-run, stay when its settings are the same; new
 * settings start afresh) and the budget's outcome, already holding the runs kept (by seed).
 */
export function optionSlot(prev: OptionRecord | undefined, settings: TrainAndReportOptions, budget: PriorBudget, seeds: number[], budgetOrder: readonly PriorBudget[]): { record: OptionRecord; out: BudgetOutcome } {
  const same = prev !== undefined && JSON.stringify(prev.settings) === JSON.stringify(settings);
  const kept = same ? (prev.budgets.find((b) => b.budget === budget)?.full ?? []).filter((r) => !seeds.includes(r.training.seed)) : [];
  const out: BudgetOutcome = { budget, full: kept, priorSeconds: NaN, seconds: 0 };
  const budgets = [...(same ? prev.budgets.filter((b) => b.budget !== budget) : []), out].sort((a, b) => budgetOrder.indexOf(a.budget) - budgetOrder.indexOf(b.budget));
  return { record: { settings, budgets }, out };
}

/** Add a run to a budget's outcome, keeping its runs in seed order. */
export function addRun(out: BudgetOutcome, result: JobResult): void {
  out.full.push(result);
  out.full.sort((a, b) => a.training.seed - b.training.seed);
}

/** The paper's Tables 25–26 (mean rank column) and its DeepFaith row, for comparison. */
export interface PaperRow {
  deepfaith: Record<string, number>;
  meanRanks: Record<string, number>;
}

export const BUDGET_LABEL: Record<PriorBudget, string> = {
  default: "project defaults (Kernel SHAP 512, LIME 500, IG 50, GradSHAP 50, occlusion window 2)",
  paper: "paper's Table 6 (Kernel SHAP 100, LIME 100, IG 20, GradSHAP 5, occlusion window 1)",
};

/** The sampling budgets the priors ran with (a job's own method parameters win over the named budget). */
export function budgetsRun(r: Pick<JobResult, 'priors'>): string {
  const parts = r.priors.filter((p) => p.ran).flatMap((p) => ['samples', 'steps', 'window'].filter((k) => p.params?.[k] !== undefined).map((k) => `${p.id} ${k} ${p.params[k]}`));
  return parts.length ? parts.join(', ') : 'no sampled prior';
}

export const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');
export const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'n/a');
const f1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : 'n/a');
const arrow = (d: string) => (d === 'higher' ? '↑' : '↓');

/** Mean and sample standard deviation (0 for one value). */
export function meanSd(xs: number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  return { mean, sd };
}

/** The ranked rows of a result (the diagnostic ceilings are reported apart). */
export function ranked(r: JobResult): JobResult {
  return { ...r, table: r.table.filter((row) => !row.diagnostic) };
}

/** Mean ranks recomputed from the scores rounded to 3 decimals (the values the tables print): differences below 0.0005 become ties. */
export function roundedMeanRanks(r: JobResult): number[] {
  const rows = ranked(r).table.map((row) => ({ scores: Object.fromEntries(Object.entries(row.scores).map(([k, v]) => [k, Number.isNaN(v) ? NaN : Math.round(v * 1000) / 1000])) }));
  return rankTable(rows, r.metrics).meanRank;
}

/** The best prior of a result (lowest mean rank; the first listed on a tie). */
export function bestPrior(r: JobResult): { method: string; meanRank: number } {
  const best = ranked(r).table.filter((row) => !row.isExplainer).reduce((a, b) => (b.meanRank < a.meanRank ? b : a));
  return { method: best.method, meanRank: best.meanRank };
}

/**
 * The explainer's place in a result's table: 1 + the priors with a strictly lower mean rank, and
 * how many priors share its mean rank exactly. "Best of the table" = place 1 with no tie.
 */
export function explainerPlace(r: JobResult): { place: number; tied: number; of: number } {
  const rows = ranked(r).table;
  const ours = rows.find((row) => row.isExplainer)!.meanRank;
  const priors = rows.filter((row) => !row.isExplainer);
  return { place: 1 + priors.filter((p) => p.meanRank < ours).length, tied: priors.filter((p) => p.meanRank === ours).length, of: rows.length };
}

/** 100·(a − b)/b: how far the explainer's held-out L_LC is above the optimum's. */
export function pctAbove(explainer: number, optimum: number): number {
  return (100 * (explainer - optimum)) / optimum;
}

/** What one budget's runs say, over the seeds. */
export interface BudgetStats {
  budget: PriorBudget;
  ranks: number[];
  mean: number;
  sd: number;
  /** The best prior in the first seed's table. */
  best: { method: string; meanRank: number };
  /** The explainer's place per seed. */
  places: { place: number; tied: number; of: number }[];
  /** Seeds in which the explainer has the best mean rank of the table (no tie). */
  bestOfTable: number;
  /**
   * Per seed: held-out L_LC of the explainer and of the optimum, and the % above; where measured,
   * the reachable L_LC (non-negative fit on fresh subsets, report.ts `lcOptimum`) and the % above it.
   */
  lc: { explainer: number; optimum: number; pct: number; normalisedOptimum?: number; reachable?: number; reachablePct?: number; outOfSample?: number; outOfSamplePct?: number; onFitPct?: number; fitSubsets?: number }[];
  /** Mean % above the optimum over the seeds. */
  lcPct: number;
  /** Mean % above the reachable L_LC over the seeds (NaN where not measured). */
  reachablePct: number;
  /** Per seed: the mean rank the 'L_LC reachable' diagnostic row would have among the priors (NaN where absent). */
  reachableRanks: number[];
  /** Per seed: the same for the 'L_LC optimum' and 'Z mean' rows. */
  optimumRanks: number[];
  zMeanRanks: number[];
  /** Train-vs-test mean ranks per seed (undefined where not measured). */
  gaps: ({ rows: number; train: number; test: number } | undefined)[];
  steps: number;
  trainSeconds: number[];
}

export function budgetStats(b: BudgetOutcome): BudgetStats {
  const ranks = b.full.map((r) => r.table.find((row) => row.isExplainer)!.meanRank);
  const { mean, sd } = meanSd(ranks);
  const places = b.full.map(explainerPlace);
  const lc = b.full.map((r, i) => {
    const c = r.ceilings?.lossLC;
    const explainer = c?.explainer ?? NaN;
    const optimum = c?.optimum ?? NaN;
    return {
      explainer,
      optimum,
      pct: pctAbove(explainer, optimum),
      ...(b.normalisedOptimumLC ? { normalisedOptimum: b.normalisedOptimumLC[i] } : {}),
      ...(c?.reachable !== undefined ? { reachable: c.reachable, reachablePct: pctAbove(explainer, c.reachable) } : {}),
      ...(c?.outOfSample !== undefined ? { outOfSample: c.outOfSample, outOfSamplePct: pctAbove(explainer, c.outOfSample) } : {}),
      ...(c?.onFit !== undefined ? { onFitPct: pctAbove(c.onFit.explainer, c.onFit.optimum), fitSubsets: c.fitSubsets } : {}),
    };
  });
  return {
    budget: b.budget,
    ranks,
    mean,
    sd,
    best: bestPrior(b.full[0]),
    places,
    bestOfTable: places.filter((p) => p.place === 1 && p.tied === 0).length,
    lc,
    lcPct: meanSd(lc.map((x) => x.pct)).mean,
    reachablePct: meanSd(lc.map((x) => x.reachablePct ?? NaN)).mean,
    reachableRanks: b.full.map((r) => diagnosticRank(r, 'lc-reachable')),
    optimumRanks: b.full.map((r) => diagnosticRank(r, 'lc-optimum')),
    zMeanRanks: b.full.map((r) => diagnosticRank(r, 'z-mean')),
    gaps: b.full.map((r) => r.ceilings?.rankGap),
    steps: b.full[0].training.steps.length,
    trainSeconds: b.full.map((r) => r.training.ms / 1000),
  };
}

/** The mean rank a diagnostic row would have if it were ranked among the priors (the explainer left out); NaN when the row is absent. */
export function diagnosticRank(r: JobResult, diagnostic: NonNullable<JobResult['table'][number]['diagnostic']>): number {
  const d = r.table.find((row) => row.diagnostic === diagnostic);
  if (!d) return NaN;
  const priors = r.table.filter((row) => !row.isExplainer && !row.diagnostic);
  return rankTable([d, ...priors], r.metrics).meanRank[0];
}

const signedPct = (v: number) => `${v >= 0 ? '+' : ''}${f1(v)} %`;

const placeText = (p: { place: number; tied: number; of: number }) => `${p.place}${p.tied ? ` (tied with ${p.tied})` : ''}`;

/** The per-budget comparison rows of a task's section. */
export function budgetTable(o: TaskOutcome): string {
  const L = [
    '| prior budget | explainer mean rank (seeds ' + o.seeds.join(', ') + ') | best prior (seed ' + o.seeds[0] + ') | explainer\'s place per seed (of ' + (o.budgets[0] ? explainerPlace(o.budgets[0].full[0]).of : 9) + ') | held-out L_LC: explainer / optimum (% above), per seed | normalised optimum | explainer / reachable (% above), per seed | train-vs-test rank (seed ' + o.seeds[0] + ') |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const b of o.budgets) {
    const s = budgetStats(b);
    const gap = s.gaps[0];
    L.push(
      `| ${b.budget} | **${f2(s.mean)} ± ${f2(s.sd)}** (${s.ranks.map(f2).join(', ')}) | ${s.best.method} ${f2(s.best.meanRank)} | ${s.places.map(placeText).join(', ')} | ${s.lc.map((x) => `${f3(x.explainer)} / ${f3(x.optimum)} (+${f1(x.pct)} %)`).join('; ')} | ${s.lc.map((x) => f3(x.normalisedOptimum ?? NaN)).join(', ')} | ${s.lc.map((x) => (x.reachable !== undefined ? `${f3(x.explainer)} / ${f3(x.reachable)} (${signedPct(x.reachablePct!)})` : 'n/a')).join('; ')} | ${gap ? `${f2(gap.train)} on ${gap.rows} training rows / ${f2(gap.test)}` : 'n/a'} |`,
    );
  }
  return L.join('\n');
}

/** The method × metric table of one result (its first seed), ceilings in italics, and the paper's column where given. */
export function methodTable(r: JobResult, paper?: PaperRow): string {
  const r0 = ranked(r);
  const rounded0 = roundedMeanRanks(r0);
  const ms = r0.metrics;
  const L: string[] = [];
  L.push(`| method | ${ms.map((m) => `${m.id} ${arrow(m.direction)}`).join(' | ')} | mean rank | rank (3 dp) | ms/sample |${paper ? ' paper mean rank |' : ''}`);
  L.push(`|---|${ms.map(() => '---:').join('|')}|---:|---:|---:|${paper ? '---:|' : ''}`);
  for (const [i, row] of [...r0.table.entries()].sort((a, b) => a[1].meanRank - b[1].meanRank))
    L.push(`| ${row.isExplainer ? '**DeepFaith**' : row.method} | ${ms.map((m) => `${f3(row.scores[m.id])} (${row.ranks[m.id]})`).join(' | ')} | ${f2(row.meanRank)} | ${f2(rounded0[i])} | ${row.msPerSample.toFixed(3)} |${paper ? ` ${paper.meanRanks[row.method] ?? 'n/a'} |` : ''}`);
  for (const row of r.table.filter((x) => x.diagnostic)) L.push(`| *${row.label}* | ${ms.map((m) => f3(row.scores[m.id])).join(' | ')} | – | – | – |${paper ? ' |' : ''}`);
  if (paper) L.push(`| *paper's DeepFaith row* | ${ms.map((m) => f3(paper.deepfaith[m.id])).join(' | ')} | ${paper.meanRanks.deepfaith} | | | |`);
  return L.join('\n');
}

const ABLATION_LABEL: Record<TrainMode, string> = { full: 'L_OBJ (full)', 'pc-only': 'L_PC only', 'lc-only': 'L_LC only', 'dedup-only': 'L_OBJ, dedup only', 'filter-only': 'L_OBJ, filter only' };

/** A task's section of docs/results.md. */
export function section(o: TaskOutcome, paper?: PaperRow): string {
  const L: string[] = [];
  L.push(`## ${o.name}`, '', o.note, '');
  const primary = o.budgets.find((b) => b.budget === o.primary) ?? o.budgets[0];
  const r0 = primary.full[0];
  const skipped = r0.priors.filter((p) => !p.ran);
  L.push(`${r0.task.nRows} rows × ${r0.task.nFeatures} features, ${r0.split.trainRows.length} train / ${r0.split.testRows.length} test. Priors that ran: ${r0.priors.filter((p) => p.ran).map((p) => p.id).join(', ')}${skipped.length ? `; skipped: ${skipped.map((p) => `${p.id} (${p.reason})`).join('; ')}` : ''}.`);
  for (const b of o.budgets) {
    const c = b.full[0].supervision.counts;
    const s = budgetStats(b);
    L.push(
      `${b.budget === 'paper' ? 'Paper budgets' : 'Default budgets'}: Z ${c.total} explanations → ${c.afterDedup} after dedup (δ ${b.full[0].supervision.options.delta}) → ${c.afterFilter} after filter (p ${b.full[0].supervision.options.p}); ${c.samplesWithoutSurvivor} of ${c.samples} training samples without a survivor; ${s.steps} steps per training, ${s.trainSeconds.map((t) => t.toFixed(0)).join(', ')} s (seeds ${o.seeds.join(', ')}); priors and scores ${Number.isFinite(b.priorSeconds) ? `${b.priorSeconds.toFixed(0)} s` : 'from the cache'}, trainings and their scoring ${b.seconds.toFixed(0)} s.`,
    );
  }
  L.push('', `Explainer against the priors at each budget (mean rank out of ${explainerPlace(r0).of}, lower is better; "optimum" = the L_LC optimum row's held-out L_LC on the same subsets; "normalised optimum" = the same least-squares fit after per-row min–max normalisation, i.e. in the range every scored explanation has):`, '');
  L.push(budgetTable(o), '');
  const budgetsInOrder = [...o.budgets].sort((a, b) => (a.budget === o.primary ? -1 : b.budget === o.primary ? 1 : 0));
  for (const b of budgetsInOrder) {
    const r = b.full[0];
    const s = budgetStats(b);
    const rr = b.full.map((x) => roundedMeanRanks(x)[0]);
    const rs = meanSd(rr);
    L.push(`### ${b.budget === 'paper' ? "At the paper's prior budgets" : "At the project's default prior budgets"} (\`"priorBudget": "${b.budget}"\`: ${BUDGET_LABEL[b.budget]} where the job sets no parameter; as run: ${budgetsRun(r)})`, '');
    L.push(`**Explainer mean rank over seeds ${o.seeds.join(', ')}: ${f2(s.mean)} ± ${f2(s.sd)}** (sample std; per seed ${s.ranks.map(f2).join(', ')}); best prior in the seed-${o.seeds[0]} table: ${s.best.method} ${f2(s.best.meanRank)}. With scores rounded to 3 decimals before ranking (a reading aid, not the pinned rule): explainer ${f2(rs.mean)} ± ${f2(rs.sd)}.`, '');
    L.push(`Method × metric on the test split (explainer seed ${o.seeds[0]}; each cell mean score (rank); rows in italics are diagnostics, never in Z, not ranked):`, '');
    L.push(methodTable(r, b.budget === 'paper' ? paper : undefined), '');
    if (r.ceilings) {
      const c = r.ceilings;
      const l = c.lossLC;
      const reach = l.reachable !== undefined ? ` Fitted on ${l.fitSubsets} fresh subsets and scored on the same held-out ones: out-of-sample optimum ${f3(l.outOfSample ?? NaN)}; non-negative (what [0,1] outputs can express) ${f3(l.nonNegative ?? NaN)} in sample, **reachable ${f3(l.reachable)}** out of sample (explainer ${signedPct(pctAbove(l.explainer, l.reachable))}); the reachable row ranks ${f2(diagnosticRank(r, 'lc-reachable'))} among the priors.` : '';
      L.push(`Held-out L_LC (seed ${o.seeds[0]}): explainer ${f3(c.lossLC.explainer)}, L_LC optimum ${f3(c.lossLC.optimum)} (${f1(pctAbove(c.lossLC.explainer, c.lossLC.optimum))} % above).${reach} Mean per-row Pearson of the explainer with: ${Object.entries(c.agreement).map(([k, v]) => `${k} ${f2(v)}`).join(', ')}.`, '');
    }
    const boot = rankBootstrapSentence(r);
    if (boot) L.push(`Seed ${o.seeds[0]}: ${boot}`, '');
  }
  const modes = TRAIN_MODES.filter((m) => o.ablations[m]);
  if (modes.length) {
    const ms = primary.full[0].metrics;
    L.push(`### Ablations (${o.primary} budgets, explainer seed ${o.seeds[0]}; explainer scores on the test split, paper Table 4 shape; "rank" = the explainer's mean rank against the same priors)`, '');
    L.push(`| ablation | ${ms.map((m) => `${m.id} ${arrow(m.direction)}`).join(' | ')} | rank | |Z| | final α | first convergence |`);
    L.push(`|---|${ms.map(() => '---:').join('|')}|---:|---:|---:|---|`);
    for (const mode of modes) {
      const r = o.ablations[mode]!;
      const row = r.table[0];
      const conv = r.training.steps.find((s) => s.converged);
      L.push(`| ${ABLATION_LABEL[mode]} | ${ms.map((m) => f3(row.scores[m.id])).join(' | ')} | ${f2(row.meanRank)} | ${r.supervision.counts.afterFilter} | ${mode === 'pc-only' ? '1 (fixed)' : mode === 'lc-only' ? '0 (fixed)' : f3(r.training.alpha.alpha)} | ${mode === 'pc-only' || mode === 'lc-only' ? '–' : conv ? `step ${conv.step}` : 'never'} |`);
    }
    L.push('');
  }
  if (o.frontier) L.push(frontierMarkdown(o.frontier).replace(/^## When does the explainer pay off\? \(cost–faithfulness frontier on the test rows\)/, `### Cost–faithfulness frontier (${o.primary} budgets, explainer seed ${o.seeds[0]}, test rows)`));
  const st = r0.training.steps;
  if (st.length) {
    const q = (i: number) => st[Math.min(st.length - 1, Math.max(0, i))];
    const points = [...new Set([0, Math.floor(st.length / 4), Math.floor(st.length / 2), Math.floor((3 * st.length) / 4), st.length - 1])].map(q);
    const resets = st.filter((s, i) => i > 0 && st[i - 1].converged && !s.converged).length;
    L.push(`### Trajectory (full, ${o.primary} budgets, seed ${o.seeds[0]}; ${st.length} steps, ${resets} α reset(s))`, '');
    L.push('| step | L_PC | L_LC | α |', '|---:|---:|---:|---:|');
    for (const s of points) L.push(`| ${s.step} | ${f3(s.lossPC)} | ${f3(s.lossLC)} | ${f3(s.alpha)} |`);
    const ev = r0.training.evals;
    if (ev.length) L.push('', `Held-out losses: ${ev.map((e) => `epoch ${e.epoch + 1}: L_PC ${f3(e.lossPC)}, L_LC ${f3(e.lossLC)}`).join('; ')}.`);
    L.push('');
  }
  return L.join('\n');
}

/** One row per task and budget: the Summary table the script keeps at the top of the page. */
export function summaryTable(outcomes: TaskOutcome[]): string {
  const L = [
    '| task | rows × features | prior budget | explainer mean rank (3 seeds) | best prior (seed 0) | explainer best of the table | held-out L_LC vs optimum (mean % above) | within 10 % | held-out L_LC vs reachable (mean % above) | within 10 % of reachable | ranks the ceilings would have among the priors: L_LC optimum / reachable / Z mean (mean over seeds) | train-vs-test rank (seed 0) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const o of outcomes)
    for (const b of o.budgets) {
      const s = budgetStats(b);
      const r = b.full[0];
      const gap = s.gaps[0];
      L.push(
        `| ${o.id} | ${r.task.nRows} × ${r.task.nFeatures} | ${b.budget} | ${f2(s.mean)} ± ${f2(s.sd)} | ${s.best.method} ${f2(s.best.meanRank)} | ${s.bestOfTable} of ${s.ranks.length} seeds (places ${s.places.map(placeText).join(', ')}) | +${f1(s.lcPct)} % | ${s.lc.every((x) => x.pct <= 10) ? 'yes' : 'no'} | ${Number.isFinite(s.reachablePct) ? signedPct(s.reachablePct) : 'n/a'} | ${Number.isFinite(s.reachablePct) ? (s.lc.every((x) => x.reachablePct! <= 10) ? 'yes' : 'no') : 'n/a'} | ${[s.optimumRanks, s.reachableRanks, s.zMeanRanks].map((v) => (v.every(Number.isFinite) ? f2(meanSd(v).mean) : 'n/a')).join(' / ')} | ${gap ? `${f2(gap.train)} / ${f2(gap.test)}` : 'n/a'} |`,
      );
    }
  return L.join('\n');
}

/**
 * Replace (or add) one task's section below `mark`, keeping the hand-written part above it and the
 * other tasks' sections (in `order`; unknown ids after, in the order met).
 */
export function upsertSection(page: string, mark: string, id: string, text: string, order: string[]): string {
  if (!page.includes(mark)) page += '\n' + mark + '\n';
  const head = page.slice(0, page.indexOf(mark) + mark.length);
  const body = page.slice(page.indexOf(mark) + mark.length);
  const sections = new Map<string, string>();
  const re = /<!-- task:([\w-]+) -->\n([\s\S]*?)<!-- \/task:\1 -->/g;
  for (let m = re.exec(body); m; m = re.exec(body)) sections.set(m[1], m[2]);
  // whatever follows the last section (hand-written parts after the tables) stays where it is
  const lastEnd = [...body.matchAll(/<!-- \/task:[\w-]+ -->\n?/g)].pop();
  const tail = lastEnd ? body.slice(lastEnd.index! + lastEnd[0].length) : '';
  sections.set(id, text.endsWith('\n') ? text : text + '\n');
  const pos = (k: string) => (order.includes(k) ? order.indexOf(k) : order.length + [...sections.keys()].indexOf(k));
  const ids = [...sections.keys()].sort((a, b) => pos(a) - pos(b));
  return head + '\n\n' + ids.map((k) => `<!-- task:${k} -->\n${sections.get(k)}<!-- /task:${k} -->\n`).join('\n') + (tail.trim() ? '\n' + tail.replace(/^\n+/, '') : '');
}

/** Replace the text between `<!-- name:begin -->` and `<!-- name:end -->` (the markers stay); the page is unchanged when they are absent. */
export function replaceBlock(page: string, name: string, text: string): string {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const i = page.indexOf(begin);
  const j = page.indexOf(end);
  if (i < 0 || j < i) return page;
  return page.slice(0, i + begin.length) + '\n' + text.trim() + '\n' + page.slice(j);
}

/** One option's settings in words: the overrides as `section.key value`, the mode first. */
export function optionSettingsText(o: TrainAndReportOptions): string {
  const parts: string[] = [];
  if (o.mode) parts.push(`mode ${o.mode}`);
  for (const sec of ['explainer', 'training', 'supervision'] as const)
    for (const [k, v] of Object.entries(o[sec] ?? {})) parts.push(`${sec}.${k} ${typeof v === 'object' ? JSON.stringify(v) : v}`);
  return parts.join(', ') || 'the job\'s settings';
}

/**
 * Options beside the job's settings, on the test split: per task, budget and option, the explainer's
 * mean rank and held-out L_LC against the job's own settings at the same budget (the task's kept
 * runs), the optimum, the out-of-sample fit and the reachable L_LC.
 */
export function optionsTable(outcomes: TaskOutcome[]): string {
  const L = [
    '| task | option | prior budget | explainer mean rank (seeds) | place per seed; best of the table | with the job\'s settings | held-out L_LC vs optimum (mean % above; per seed) | within 10 % of the optimum on every seed | on the fit subsets, the optimum fitted to them (mean % above; per seed; within 10 % on every seed) | vs out-of-sample fit (mean % above) | vs reachable (mean % above) | with the job\'s settings: vs optimum / reachable | training s (mean) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const o of outcomes)
    for (const [name, opt] of Object.entries(o.options ?? {}))
      for (const b of opt.budgets) {
        const s = budgetStats(b);
        const baseB = o.budgets.find((x) => x.budget === b.budget);
        const base = baseB ? budgetStats(baseB) : undefined;
        const oos = meanSd(s.lc.map((x) => x.outOfSamplePct ?? NaN)).mean;
        const onFit = s.lc.every((x) => x.onFitPct !== undefined)
          ? `${signedPct(meanSd(s.lc.map((x) => x.onFitPct!)).mean)} (${s.lc.map((x) => signedPct(x.onFitPct!)).join(', ')}; ${s.lc[0].fitSubsets} subsets); ${s.lc.every((x) => x.onFitPct! <= 10) ? 'yes' : 'no'}`
          : 'n/a';
        L.push(
          `| ${o.id} | ${name}: ${optionSettingsText(opt.settings)} | ${b.budget} | ${f2(s.mean)} ± ${f2(s.sd)} (${s.ranks.map(f2).join(', ')}) | ${s.places.map(placeText).join(', ')} (of ${s.places[0]?.of ?? 'n/a'}); ${s.bestOfTable} of ${s.ranks.length} seeds | ${base ? `${f2(base.mean)} ± ${f2(base.sd)}` : 'n/a'} | ${signedPct(s.lcPct)} (${s.lc.map((x) => signedPct(x.pct)).join(', ')}) | ${s.lc.every((x) => x.pct <= 10) ? 'yes' : 'no'} | ${onFit} | ${Number.isFinite(oos) ? signedPct(oos) : 'n/a'} | ${Number.isFinite(s.reachablePct) ? signedPct(s.reachablePct) : 'n/a'} | ${base ? `${signedPct(base.lcPct)} / ${Number.isFinite(base.reachablePct) ? signedPct(base.reachablePct) : 'n/a'}` : 'n/a'} | ${f1(meanSd(s.trainSeconds).mean)} |`,
        );
      }
  return L.join('\n');
}

/** The explainer's share of first places over the resampled evaluation rows, for log lines ('' for older results). */
export function firstShare(r: JobResult): string {
  const b = r.rankBootstrap?.rows.find((row) => row.method === 'deepfaith');
  return b ? `; first alone in ${(100 * b.pBest).toFixed(1)} % of ${r.rankBootstrap!.resamples} row resamples (with ties ${(100 * b.pBestOrTied).toFixed(1)} %), mean rank ${b.lo.toFixed(2)}–${b.hi.toFixed(2)}` : '';
}
