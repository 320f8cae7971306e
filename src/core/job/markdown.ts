/**
 * The job's report as Markdown: method × metric table (directions, ranks, mean rank), runtimes,
 * supervision counts, training summary. tfjs-free.
 */
import type { JobResult } from './report';
import type { Frontier, FrontierPoint } from './frontier';
import { costSentence } from '../explainer/cost';
import { TIMING_ABSOLUTE_MARGIN_MS, TIMING_RELATIVE_MARGIN } from '../timing';

const fmt = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');

/** "12.3 % above" / "4.5 % below": a held-out L_LC against a ceiling (report.md and the Report panel). */
export function relativeTo(v: number, ceiling: number): string {
  const pct = (100 * (v - ceiling)) / Math.max(1e-12, ceiling);
  return Number.isFinite(pct) ? `${fmt(Math.abs(pct), 1)} % ${pct < 0 ? 'below' : 'above'}` : 'n/a';
}

/**
 * What resampling the evaluation rows does to the ranking (`JobResult.rankBootstrap`), as one
 * sentence: the explainer's and the best prior's 95 % interval of the mean rank and how often each
 * is first alone or tied (report.md, the Report panel, docs/results.md). Empty for older reports.
 */
export function rankBootstrapSentence(r: Pick<JobResult, 'rankBootstrap' | 'table' | 'split'>, labelOf: (method: string) => string = (m) => m): string {
  const b = r.rankBootstrap;
  if (!b) return '';
  const byMethod = new Map(b.rows.map((row) => [row.method, row]));
  const ranked = r.table.filter((row) => !row.diagnostic);
  const ours = ranked.find((row) => row.isExplainer);
  const bestPrior = ranked.filter((row) => !row.isExplainer).sort((x, y) => x.meanRank - y.meanRank)[0];
  const pct = (v: number) => `${fmt(100 * v, 1)} %`;
  const part = (label: string, method: string | undefined) => {
    const row = method ? byMethod.get(method) : undefined;
    return row ? `${label} ${fmt(row.lo, 2)}–${fmt(row.hi, 2)}, first alone in ${pct(row.pBest)} of them and first or tied in ${pct(row.pBestOrTied)}` : '';
  };
  const parts = [part('the explainer', ours?.method), bestPrior ? part(`the best prior (${labelOf(bestPrior.method)})`, bestPrior.method) : ''].filter(Boolean);
  return `With the ${r.split.evaluatedOn === 'validation' ? 'validation' : 'test'} rows resampled ${b.resamples.toLocaleString('en-US')} times (with replacement), 95 % of the mean ranks lie in: ${parts.join('; ')}.`;
}

/** The report: method × metric table (directions, ranks, mean rank), runtimes, supervision counts, training summary. */
export function reportMarkdown(r: JobResult): string {
  const arrow = (d: string) => (d === 'higher' ? '↑' : '↓');
  const sorted = r.table.filter((row) => !row.diagnostic).sort((a, b) => a.meanRank - b.meanRank);
  const diagnostics = r.table.filter((row) => row.diagnostic);
  const lines: string[] = [];
  const taskName = r.job.task.demo ?? r.task.source.data;
  lines.push(`# DeepFaith report: ${taskName}`, '');
  lines.push(`${r.task.nRows} rows × ${r.task.nFeatures} features; ${r.split.trainRows.length} train / ${r.split.testRows.length} test samples; baseline ${r.task.baseline}, output ${r.task.output}, target ${r.task.target}; mode ${r.training.mode}, job seed ${r.job.seed}, explainer seed ${r.training.seed}.`, '');
  lines.push('## Faithfulness on the test split (means over samples; every explanation min–max normalised)', '');
  lines.push(`| method | ${r.metrics.map((m) => `${m.id} ${arrow(m.direction)}`).join(' | ')} | mean rank | ms / sample |`);
  lines.push(`|---|${r.metrics.map(() => '---:').join('|')}|---:|---:|`);
  for (const row of sorted)
    lines.push(`| ${row.isExplainer ? '**DeepFaith**' : row.method} | ${r.metrics.map((m) => `${fmt(row.scores[m.id])} (${row.ranks[m.id]})`).join(' | ')} | ${fmt(row.meanRank, 2)} | ${fmt(row.msPerSample, 3)} |`);
  for (const row of diagnostics)
    lines.push(`| *${row.label}* | ${r.metrics.map((m) => fmt(row.scores[m.id])).join(' | ')} | – | – |`);
  lines.push('', 'Each cell: mean score (rank among the methods; ties share the mean rank).' + (diagnostics.length ? ' Rows in italics are diagnostics, not methods (never in Z, not ranked): the L_LC optimum is the per-sample least-squares fit of Δ on the removed subsets (the best L_LC can reach on them), the L_LC reachable the non-negative fit on fresh subsets (the best an explainer with outputs in [0,1] can reach), the Z mean is the mean of the surviving priors (the best L_PC can reach).' : ''), '');
  const boot = rankBootstrapSentence(r);
  if (boot) lines.push(boot, '');
  if (r.ceilings) {
    const c0 = r.ceilings;
    const l = c0.lossLC;
    const above = (v: number) => relativeTo(l.explainer, v);
    const signed = r.job.explainer.head === 'signed';
    const fits = l.reachable !== undefined ? ` Fitted on ${l.fitSubsets} fresh subsets of the same rows and scored on these: out-of-sample optimum ${fmt(l.outOfSample ?? NaN, 4)}${signed ? ` (explainer ${above(l.outOfSample ?? NaN)}: the ceiling of this explainer's signed head)` : ''}; with non-negative attributions (all ${signed ? 'a sigmoid head' : "the explainer's [0,1] outputs"} can express) non-negative ${fmt(l.nonNegative ?? NaN, 4)} on these subsets, reachable ${fmt(l.reachable, 4)} out of sample (explainer ${above(l.reachable)} the reachable).` : '';
    const onFit = l.onFit ? ` On the ${l.fitSubsets} fresh subsets, the optimum fitted to them: explainer ${fmt(l.onFit.explainer, 4)}, optimum ${fmt(l.onFit.optimum, 4)} (${relativeTo(l.onFit.explainer, l.onFit.optimum)}; with more subsets the optimum's fit to its own draw counts for less).` : '';
    lines.push(`Held-out L_LC: explainer ${fmt(l.explainer, 4)}, L_LC optimum ${fmt(l.optimum, 4)} (${above(l.optimum)}; the optimum is fitted to these very subsets).${fits}${onFit} Mean per-row Pearson of the explainer with: ${Object.entries(c0.agreement).map(([k, v]) => `${k} ${fmt(v, 2)}`).join(', ')}.`, '');
    if (r.cost) lines.push(costSentence(r.cost), '');
    if (c0.rankGap) lines.push(`Train-vs-test gap: the explainer's mean rank is ${fmt(c0.rankGap.train, 2)} on ${c0.rankGap.rows} of its own training rows and ${fmt(c0.rankGap.test, 2)} on the ${r.split.evaluatedOn === 'validation' ? 'validation' : 'test'} rows.`, '');
  }
  const nan = r.table.filter((row) => Object.values(row.nNaN).some((v) => v > 0));
  if (nan.length) lines.push(`NaN scores excluded from means: ${nan.map((row) => `${row.method} ${Object.entries(row.nNaN).filter(([, v]) => v > 0).map(([k, v]) => `${k}×${v}`).join(' ')}`).join('; ')}.`, '');
  const skipped = r.priors.filter((p) => !p.ran);
  if (skipped.length) lines.push('Skipped prior methods: ' + skipped.map((p) => `${p.id} (${p.reason})`).join('; ') + '.', '');
  if (r.frontier) lines.push(frontierMarkdown(r.frontier));
  const c = r.supervision.counts;
  lines.push('## Supervision set Z (training samples)', '');
  lines.push(`δ = ${r.supervision.options.delta}${r.supervision.options.dedup ? '' : ' (dedup off)'}, p = ${r.supervision.options.p}${r.supervision.options.filter ? '' : ' (filter off)'}: ${c.total} explanations → ${c.afterDedup} after dedup → ${c.afterFilter} after filter; ${c.samplesWithoutSurvivor} of ${c.samples} samples without a survivor.`, '');
  const kept = new Map<string, number>();
  for (const rec of r.supervision.record) for (const f of rec.fates) if (f.fate === 'kept') kept.set(f.method, (kept.get(f.method) ?? 0) + 1);
  lines.push('Pairs in Z per method: ' + r.priors.filter((p) => p.ran).map((p) => `${p.id} ${kept.get(p.id) ?? 0}`).join(', ') + '.', '');
  const st = r.training.steps;
  lines.push('## Training', '');
  if (st.length) {
    const firstConv = st.find((s) => s.converged);
    const resets = st.filter((s, i) => i > 0 && st[i - 1].converged && !s.converged).length;
    lines.push(`${st.length} steps in ${fmt(r.training.ms / 1000, 1)} s. L_PC ${fmt(st[0].lossPC)} → ${fmt(st[st.length - 1].lossPC)}, L_LC ${fmt(st[0].lossLC)} → ${fmt(st[st.length - 1].lossLC)}; final α ${fmt(r.training.alpha.alpha)}; ${firstConv ? `first convergence at step ${firstConv.step}` : 'L_PC never met the convergence test'}; ${resets} reset(s).`, '');
  }
  for (const e of r.training.evals) lines.push(`- held-out after epoch ${e.epoch + 1}: L_PC ${fmt(e.lossPC)}, L_LC ${fmt(e.lossLC)}`);
  lines.push('');
  return lines.join('\n');
}

/** The frontier as Markdown (one row per point, sorted by method and budget). */
export function frontierMarkdown(f: Frontier): string {
  const fmt = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : 'n/a');
  const lines = ['## When does the explainer pay off? (cost–faithfulness frontier on the test rows)', ''];
  lines.push('| method | budget | ms / row | mean rank if added | break-even rows |', '|---|---:|---:|---:|---:|');
  for (const p of f.points) lines.push(`| ${p.method} | ${p.param} ${p.budget} | ${fmt(p.msPerRow)} | ${fmt(p.meanRank, 2)} | ${breakEvenCell(p, f)} |`);
  lines.push(`| **DeepFaith** | – | ${fmt(f.explainer.msPerRow)} | ${fmt(f.explainer.meanRank, 2)} | – |`, '');
  lines.push(
    `Building the explainer took about ${fmt(f.explainer.buildMs / 1000, 1)} s (priors on the training rows and training; scoring left out, so break-evens are lower bounds). ` +
      frontierVerdict(f),
    '',
  );
  return lines.join('\n');
}

/**
 * A point's break-even cell: the rows (thousands separated) where it has one, "never (not
 * measurably slower)" where it is as faithful as the explainer but not measurably slower per row,
 * and "– (less faithful)" where its mean rank is worse than the explainer's.
 */
export function breakEvenCell(p: FrontierPoint, f: Pick<Frontier, 'explainer'>): string {
  if (p.breakEvenRows !== null) return p.breakEvenRows.toLocaleString('en');
  return p.meanRank > f.explainer.meanRank ? '– (less faithful)' : 'never (not measurably slower)';
}

/** The frontier's verdict in one sentence. */
export function frontierVerdict(f: Frontier): string {
  const v = f.verdict;
  if (v.kind === 'no-alternative') return 'No prior budget is as faithful as the explainer (mean rank ≤ its own): here only the explainer reaches its faithfulness.';
  if (v.kind === 'never') {
    const e = f.explainer;
    if (e.noiseMsPerRow === undefined || e.timedRows === undefined) return `It never pays off here: ${v.against} is at least as faithful and no slower per row.`;
    return (
      `It never pays off here: ${v.against} is at least as faithful and not measurably slower per row ` +
      `(a prior counts as slower only by ${e.noiseMsPerRow.toPrecision(2)} ms per row or more: the larger of ${100 * TIMING_RELATIVE_MARGIN} % of the explainer's time and ${TIMING_ABSOLUTE_MARGIN_MS} ms over the ${e.timedRows.toLocaleString('en')} timed rows).`
    );
  }
  return `It pays off after ${v.rows.toLocaleString('en')} explained rows, against ${v.against}, the cheapest prior budget at least as faithful.`;
}
