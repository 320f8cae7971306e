// scripts/resultsTables.ts: what docs/results.md's measured sections and summary say about a task's
// runs (places, mean ranks over seeds, L_LC against the optimum, both budgets) and how the page's
// blocks are replaced. Hand-made results with known answers; no model runs.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import lockfile from 'proper-lockfile';
import { withLock } from '../scripts/lock';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addRun, budgetsRun, budgetStats, explainerPlace, meanSd, optionSettingsText, optionSlot, optionsTable, pctAbove, replaceBlock, roundedMeanRanks, section, summaryTable, upsertSection, type BudgetOutcome, type TaskOutcome } from '../scripts/resultsTables';
import type { JobResult, MethodRow } from '../src/core/job/report';
import type { Frontier } from '../src/core/job/frontier';

const METRICS = [
  { id: 'A', direction: 'higher' as const, params: {} },
  { id: 'B', direction: 'lower' as const, params: {} },
];

function row(method: string, meanRank: number, scores: Record<string, number> = { A: 0.5, B: 0.5 }, extra: Partial<MethodRow> = {}): MethodRow {
  return { method, label: method, isExplainer: method === 'deepfaith', scores, nNaN: { A: 0, B: 0 }, ranks: { A: meanRank, B: meanRank }, meanRank, msPerSample: 0.1, ...extra };
}

/** A result whose table has the explainer at `ours` and priors at the given mean ranks, plus one diagnostic row ranked better than all. */
function result(ours: number, priors: Record<string, number>, lc: { explainer: number; optimum: number }, gap?: { rows: number; train: number; test: number }): JobResult {
  const table = [row('deepfaith', ours), ...Object.entries(priors).map(([m, r]) => row(m, r)), row('lc-optimum', NaN, { A: 1, B: 0 }, { diagnostic: 'lc-optimum', label: 'L_LC optimum (diagnostic)' })];
  return {
    job: { seed: 0 },
    task: { source: { model: 'm', data: 'd' }, nRows: 178, nFeatures: 13, featureNames: [], classNames: [], baseline: 'zero', output: 'probability', target: 'predicted' },
    split: { trainRows: [1, 2, 3], testRows: [4] },
    priors: Object.keys(priors).map((id) => ({ id, label: id, ran: true, params: {}, msPerSample: 1 })),
    supervision: { options: { delta: 0.9, p: 0.15, dedup: true, filter: true }, counts: { total: 10, afterDedup: 8, afterFilter: 5, samples: 3, samplesWithoutSurvivor: 0 }, testCounts: { total: 1, afterDedup: 1, afterFilter: 1, samples: 1, samplesWithoutSurvivor: 0 }, record: [] },
    training: { mode: 'full', seed: 0, steps: [], evals: [], alpha: { alpha: 0 }, ms: 2000 },
    metrics: METRICS,
    table,
    ceilings: { lossLC: lc, agreement: { lime: 0.5 }, rankGap: gap },
  } as unknown as JobResult;
}

describe('scripts/resultsTables', () => {
  it('--tune and --options check every variant against every task (its fields, then against the loaded task) before the first prior or training, naming the variant', () => {
    const dir = mkdtempSync(join(tmpdir(), 'df-results-'));
    const file = join(dir, 'variants.json');
    const out = join(dir, 'results.md');
    const script = (flag: string, variants: unknown) => {
      writeFileSync(file, JSON.stringify(variants));
      return spawnSync(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'scripts/results.ts', flag, file, '--tasks', 'iris,wine', '--seeds', '0', '--budgets', 'paper', '--out', out], { encoding: 'utf8', timeout: 60_000 });
    };
    // the second variant is misspelt: refused before the first (valid) one trains on iris
    let r = script('--tune', { good: { training: { epochs: 1 } }, wide: { training: { epoch: 2 } } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/variant "wide" \(task iris\): Job section training has no parameter "epoch"/);
    expect(r.stderr).not.toMatch(/priors|options measured/);
    r = script('--options', { frame: { explainer: { classFrame: 'sign', nHeads: 3 } } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/variant "frame" \(task iris\): Job explainer\.dModel = \d+ is not a multiple of explainer\.nHeads = 3/);
    // a check that needs the task: the sign frame on Iris's three classes, refused before its priors run
    r = script('--options', { frame: { explainer: { classFrame: 'sign' } } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/variant "frame" \(task iris\): The explainer's class frame "sign" mirrors class 1's explanation .* this task has 3 classes/);
    expect(r.stderr).not.toMatch(/priors/);
    r = script('--options', { typo: { trainng: {} } });
    expect(r.stderr).toMatch(/variant "typo" \(task iris\): "trainng" is not a variant field \(known: training, explainer, supervision, mode\)/);
    r = script('--tune', { m: { mode: 'lc' } });
    expect(r.stderr).toMatch(/variant "m" \(task iris\): mode "lc" is not known/);
    r = script('--tune', ['not', 'an', 'object']);
    expect(r.stderr).toMatch(/--tune .*variants\.json: an object of name → settings is expected/);
    expect(existsSync(out)).toBe(false);
  });

  it('places the explainer among the priors only (diagnostic rows left out), counting exact ties', () => {
    expect(explainerPlace(result(2.5, { lime: 2, 'kernel-shap': 2.5, saliency: 3 }, { explainer: 1, optimum: 1 }))).toEqual({ place: 2, tied: 1, of: 4 });
    expect(explainerPlace(result(1.5, { lime: 2, saliency: 3 }, { explainer: 1, optimum: 1 }))).toEqual({ place: 1, tied: 0, of: 3 });
  });

  it('mean and sample standard deviation; % above the optimum', () => {
    expect(meanSd([4.5, 4.7, 4.6]).mean).toBeCloseTo(4.6, 12);
    expect(meanSd([4.5, 4.7, 4.6]).sd).toBeCloseTo(0.1, 12);
    expect(meanSd([3]).sd).toBe(0);
    expect(pctAbove(0.184, 0.092)).toBeCloseTo(100, 10);
    expect(pctAbove(0.33, 0.3)).toBeCloseTo(10, 10);
  });

  it('one budget over seeds: mean rank, best prior of the first seed, best-of-table seeds, L_LC % above', () => {
    const b: BudgetOutcome = {
      budget: 'paper',
      full: [
        result(1.5, { lime: 2, saliency: 3 }, { explainer: 0.33, optimum: 0.3 }, { rows: 30, train: 1.2, test: 1.5 }),
        result(2, { lime: 2, saliency: 3 }, { explainer: 0.4, optimum: 0.32 }),
        result(2.5, { lime: 1.5, saliency: 3 }, { explainer: 0.5, optimum: 0.25 }),
      ],
      priorSeconds: NaN,
      seconds: 10,
      normalisedOptimumLC: [0.35, 0.36, 0.3],
    };
    const s = budgetStats(b);
    expect(s.ranks).toEqual([1.5, 2, 2.5]);
    expect(s.mean).toBeCloseTo(2, 12);
    expect(s.sd).toBeCloseTo(0.5, 12);
    expect(s.best).toEqual({ method: 'lime', meanRank: 2 });
    // seed 1 ties lime at 2.0: not best of the table
    expect(s.bestOfTable).toBe(1);
    expect(s.places.map((p) => [p.place, p.tied])).toEqual([[1, 0], [1, 1], [2, 0]]);
    expect(s.lc.map((x) => x.pct)).toEqual([pctAbove(0.33, 0.3), pctAbove(0.4, 0.32), 100]);
    expect(s.lcPct).toBeCloseTo((10 + 25 + 100) / 3, 10);
    expect(s.lc.map((x) => x.normalisedOptimum)).toEqual([0.35, 0.36, 0.3]);
    expect(s.gaps[0]).toEqual({ rows: 30, train: 1.2, test: 1.5 });
  });

  it('rounded mean ranks: scores equal to 3 decimals tie', () => {
    const r = result(1, { lime: 2 }, { explainer: 1, optimum: 1 });
    r.table[0].scores = { A: 0.5001, B: 0.2 };
    r.table[1].scores = { A: 0.5004, B: 0.3 };
    // A: 0.500 vs 0.500 → tie (1.5 each); B (lower is better): 0.2 beats 0.3
    expect(roundedMeanRanks(r)).toEqual([(1.5 + 1) / 2, (1.5 + 2) / 2]);
  });

  const outcome = (): TaskOutcome => ({
    id: 'wine',
    name: 'wine demo (jobs/wine.json)',
    note: 'Job file jobs/wine.json.',
    primary: 'paper',
    seeds: [0, 1],
    budgets: [
      { budget: 'default', full: [result(3, { lime: 2 }, { explainer: 0.3, optimum: 0.2 }), result(3, { lime: 2 }, { explainer: 0.3, optimum: 0.2 })], priorSeconds: 5, seconds: 20 },
      { budget: 'paper', full: [result(1, { lime: 2 }, { explainer: 0.21, optimum: 0.2 }), result(1, { lime: 2 }, { explainer: 0.22, optimum: 0.2 })], priorSeconds: NaN, seconds: 20 },
    ],
    ablations: {},
  });

  it('summary: one row per task and budget, the goals read from the numbers', () => {
    const t = summaryTable([outcome()]).split('\n');
    expect(t).toHaveLength(4);
    expect(t[2]).toBe('| wine | 178 × 13 | default | 3.00 ± 0.00 | lime 2.00 | 0 of 2 seeds (places 2, 2) | +50.0 % | no | n/a | n/a | 1.00 / n/a / n/a | n/a |');
    // 5 % and 10 % above: within 10 % on every seed
    expect(t[3]).toBe('| wine | 178 × 13 | paper | 1.00 ± 0.00 | lime 2.00 | 2 of 2 seeds (places 1, 1) | +7.5 % | yes | n/a | n/a | 1.00 / n/a / n/a | n/a |');
  });

  it('the reachable L_LC: % above it per seed, within 10 % only when every seed is, and the reachable row ranked among the priors', () => {
    const withReach = (ours: number, explainer: number, reachable: number, reachScores: Record<string, number>) => {
      const r = result(ours, { lime: 2, saliency: 3 }, { explainer, optimum: 0.1, reachable, outOfSample: 0.15, nonNegative: 0.12, fitSubsets: 1000 } as never);
      r.table.push(row('lc-reachable', NaN, reachScores, { diagnostic: 'lc-reachable', label: 'L_LC reachable (diagnostic)' }));
      // the priors' own scores: lime A 0.6 B 0.4, saliency A 0.2 B 0.9
      r.table[1].scores = { A: 0.6, B: 0.4 };
      r.table[2].scores = { A: 0.2, B: 0.9 };
      return r;
    };
    const b: BudgetOutcome = {
      budget: 'paper',
      // seed 0: reachable beats both priors on A and B → rank 1; seed 1: between them on A, worst on B → (2 + 3)/2
      full: [withReach(2.5, 0.22, 0.2, { A: 0.9, B: 0.1 }), withReach(2.5, 0.3, 0.2, { A: 0.5, B: 0.95 })],
      priorSeconds: NaN,
      seconds: 1,
    };
    const s = budgetStats(b);
    expect(s.lc.map((x) => x.reachablePct)).toEqual([pctAbove(0.22, 0.2), pctAbove(0.3, 0.2)]);
    expect(s.reachablePct).toBeCloseTo((10 + 50) / 2, 10);
    expect(s.reachableRanks).toEqual([1, 2.5]);
    // the lc-optimum row of result() scores A 1, B 0: best of both metrics
    expect(s.optimumRanks).toEqual([1, 1]);
    expect(s.zMeanRanks.every(Number.isNaN)).toBe(true);
    const o: TaskOutcome = { id: 'wine', name: 'w', note: '', primary: 'paper', seeds: [0, 1], budgets: [b], ablations: {} };
    expect(summaryTable([o]).split('\n')[2]).toBe('| wine | 178 × 13 | paper | 2.50 ± 0.00 | lime 2.00 | 0 of 2 seeds (places 2, 2) | +160.0 % | no | +30.0 % | no | 1.00 / 1.75 / n/a | n/a |');
    const sec = section(o);
    expect(sec).toContain('0.220 / 0.200 (+10.0 %); 0.300 / 0.200 (+50.0 %)');
    expect(sec).toContain('**reachable 0.200** out of sample (explainer +10.0 %); the reachable row ranks 1.00 among the priors.');
  });

  it('options on the test split: the option\'s mean rank and L_LC against the optimum, the out-of-sample fit and the reachable, beside the job\'s own settings at the same budget', () => {
    const lc = (explainer: number, optimum: number, outOfSample: number, reachable: number, onFit?: { explainer: number; optimum: number }) => ({ explainer, optimum, outOfSample, reachable, fitSubsets: 1000, ...(onFit ? { onFit } : {}) }) as never;
    const base: BudgetOutcome = { budget: 'paper', full: [result(4, { lime: 2, saliency: 3 }, lc(0.3, 0.2, 0.22, 0.27)), result(5, { lime: 2, saliency: 3 }, lc(0.5, 0.2, 0.22, 0.4))], priorSeconds: NaN, seconds: 1 };
    const opt: BudgetOutcome = { budget: 'paper', full: [result(2, { lime: 2, saliency: 3 }, lc(0.21, 0.2, 0.22, 0.27, { explainer: 0.21, optimum: 0.2 })), result(3, { lime: 2, saliency: 3 }, lc(0.24, 0.2, 0.22, 0.4, { explainer: 0.23, optimum: 0.2 }))], priorSeconds: NaN, seconds: 1 };
    const settings = { mode: 'lc-only' as const, explainer: { head: 'signed' as const }, training: { epochs: 1000 } };
    expect(optionSettingsText(settings)).toBe('mode lc-only, explainer.head signed, training.epochs 1000');
    expect(optionSettingsText({})).toBe("the job's settings");
    const o: TaskOutcome = { id: 'wine', name: 'w', note: '', primary: 'paper', seeds: [0, 1], budgets: [base], ablations: {}, options: { signed: { settings, budgets: [opt] } } };
    const t = optionsTable([o]).split('\n');
    expect(t).toHaveLength(3);
    // vs optimum: +5 %, +20 % (mean 12.5); vs out of sample: (0.21−0.22)/0.22 = −4.5 %, (0.24−0.22)/0.22 = +9.1 % (mean +2.3 %); vs reachable: −22.2 %, −40 % (mean −31.1 %);
    // the job's settings: vs optimum +50 %, +150 % (mean +100 %), vs reachable +11.1 %, +25 % (mean +18.1 %); training 2 s
    // on the fit subsets: +5 %, +15 % (mean +10 %), not within 10 % on every seed
    // places: seed 0 (2) ties lime (2) → 1 tied with 1; seed 1 (3) ties saliency behind lime → 2 tied with 1
    expect(t[2]).toBe('| wine | signed: mode lc-only, explainer.head signed, training.epochs 1000 | paper | 2.50 ± 0.71 (2.00, 3.00) | 1 (tied with 1), 2 (tied with 1) (of 3); 0 of 2 seeds | 4.50 ± 0.71 | +12.5 % (+5.0 %, +20.0 %) | no | +10.0 % (+5.0 %, +15.0 %; 1000 subsets); no | +2.3 % | -31.1 % | +100.0 % / +18.1 % | 2.0 |');
    // within 10 % only when every seed is; a seed without the fit-subset comparison gives n/a
    opt.full[1] = result(3, { lime: 2, saliency: 3 }, lc(0.212, 0.2, 0.22, 0.4));
    expect(optionsTable([o]).split('\n')[2]).toContain('| +5.5 % (+5.0 %, +6.0 %) | yes | n/a |');
    opt.full[1] = result(3, { lime: 2, saliency: 3 }, lc(0.212, 0.2, 0.22, 0.4, { explainer: 0.219, optimum: 0.2 }));
    expect(optionsTable([o]).split('\n')[2]).toContain('| +5.5 % (+5.0 %, +6.0 %) | yes | +7.2 % (+5.0 %, +9.5 %; 1000 subsets); yes |');
    opt.full[0] = result(1.5, { lime: 2, saliency: 3 }, lc(0.21, 0.2, 0.22, 0.27));
    expect(optionsTable([o]).split('\n')[2]).toContain('| 1, 2 (tied with 1) (of 3); 1 of 2 seeds |');
    expect(optionsTable([{ ...o, options: undefined }]).split('\n')).toHaveLength(2);
  });

  it('an option re-run with other seeds keeps the runs of the seeds it does not re-run (same settings), in seed order; other settings start afresh', () => {
    const run = (seed: number, ours: number) => {
      const r = result(ours, { lime: 2 }, { explainer: 0.3, optimum: 0.2 });
      return { ...r, training: { ...r.training, seed } } as JobResult;
    };
    const settings = { training: { lcAugment: 4 } };
    const prev = { settings, budgets: [{ budget: 'default' as const, full: [run(0, 9)], priorSeconds: NaN, seconds: 1 }, { budget: 'paper' as const, full: [run(0, 1), run(1, 2)], priorSeconds: NaN, seconds: 1 }] };
    const order = ['default', 'paper'] as const;
    const { record, out } = optionSlot(prev, { training: { lcAugment: 4 } }, 'paper', [1, 2], order);
    expect(out.full.map((r) => r.training.seed)).toEqual([0]);
    addRun(out, run(2, 3));
    addRun(out, run(1, 4));
    expect(out.full.map((r) => [r.training.seed, r.table[0].meanRank])).toEqual([[0, 1], [1, 4], [2, 3]]);
    expect(record.budgets.map((b) => b.budget)).toEqual(['default', 'paper']);
    expect(record.budgets[1]).toBe(out);
    const fresh = optionSlot(prev, { training: { lcAugment: 8 } }, 'paper', [1], order);
    expect(fresh.out.full).toEqual([]);
    expect(fresh.record.budgets.map((b) => b.budget)).toEqual(['paper']);
    expect(optionSlot(undefined, settings, 'default', [0], order).record.budgets).toHaveLength(1);
  });

  it('section: both budgets, the primary one first, ceilings in italics, the frontier under its own heading', () => {
    const o = outcome();
    o.frontier = { points: [{ method: 'lime', param: 'samples', budget: 25, msPerRow: 1, meanRank: 2.5, scores: {}, breakEvenRows: null }], explainer: { msPerRow: 0.1, meanRank: 1, buildMs: 1000 }, verdict: { kind: 'no-alternative' }, breakEvenRows: null } as Frontier;
    const s = section(o);
    const paperAt = s.indexOf("### At the paper's prior budgets");
    const defaultAt = s.indexOf("### At the project's default prior budgets");
    expect(paperAt).toBeGreaterThan(0);
    expect(defaultAt).toBeGreaterThan(paperAt);
    expect(s).toContain('| *L_LC optimum (diagnostic)* | 1.000 | 0.000 | – | – | – |');
    expect(s).toContain('### Cost–faithfulness frontier (paper budgets, explainer seed 0, test rows)');
    expect(s).not.toContain('## When does the explainer pay off');
    expect(s).toContain('| paper | **1.00 ± 0.00** (1.00, 1.00) | lime 2.00 | 1, 1 | 0.210 / 0.200 (+5.0 %); 0.220 / 0.200 (+10.0 %) | n/a, n/a | n/a; n/a | n/a |');
  });

  it('a budget heading names the sampling budgets the priors ran with (a job\'s own parameters win over the named budget)', () => {
    const r = {
      priors: [
        { id: 'lime', params: { samples: 200, kernelWidth: 0.25 }, ran: true },
        { id: 'integrated-gradients', params: { steps: 20, rule: 'gausslegendre' }, ran: true },
        { id: 'occlusion', params: { window: 1, stride: 1 }, ran: true },
        { id: 'saliency', params: { abs: true }, ran: true },
        { id: 'deeplift', params: {}, ran: false, reason: 'not a Dense chain' },
      ],
    } as unknown as JobResult;
    expect(budgetsRun(r)).toBe('lime samples 200, integrated-gradients steps 20, occlusion window 1');
    expect(budgetsRun({ priors: [{ id: 'saliency', params: { abs: true }, ran: true }] } as unknown as JobResult)).toBe('no sampled prior');
  });

  it('upsertSection replaces one task, keeps the others in order and keeps what follows the last section', () => {
    const mark = '<!-- measured -->';
    const page = `# R\n\nhand-written\n\n${mark}\n\n<!-- task:wcd -->\nold wcd\n<!-- /task:wcd -->\n\n<!-- task:iris -->\nold iris\n<!-- /task:iris -->\n\n## F-Fidelity\n\nkept text\n`;
    const out = upsertSection(page, mark, 'wcd', 'new wcd\n', ['iris', 'wine', 'wcd']);
    expect(out).toBe(`# R\n\nhand-written\n\n${mark}\n\n<!-- task:iris -->\nold iris\n<!-- /task:iris -->\n\n<!-- task:wcd -->\nnew wcd\n<!-- /task:wcd -->\n\n## F-Fidelity\n\nkept text\n`);
    // a new task not in the order goes last among the sections, still before the tail
    const added = upsertSection(out, mark, 'digits', 'digits\n', ['iris', 'wine', 'wcd']);
    expect(added.indexOf('<!-- task:digits -->')).toBeGreaterThan(added.indexOf('<!-- /task:wcd -->'));
    expect(added.indexOf('## F-Fidelity')).toBeGreaterThan(added.indexOf('<!-- /task:digits -->'));
    // no mark yet: appended
    expect(upsertSection('# R\n', mark, 'iris', 'x', [])).toBe(`# R\n\n${mark}\n\n<!-- task:iris -->\nx\n<!-- /task:iris -->\n`);
  });

  it('replaceBlock swaps the text between its markers and leaves a page without them alone', () => {
    const page = 'a\n<!-- summary:begin -->\nold\n<!-- summary:end -->\nb\n';
    expect(replaceBlock(page, 'summary', '| new |\n')).toBe('a\n<!-- summary:begin -->\n| new |\n<!-- summary:end -->\nb\n');
    expect(replaceBlock('a\nb\n', 'summary', 'x')).toBe('a\nb\n');
  });

  it('parallel processes updating one kept-results file under withLock lose no update (without it they do); a dead process\'s lock is taken over, a live one is waited for and named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'df-lock-'));
    const count = async (mode: string) => {
      const file = join(dir, `${mode}.json`);
      writeFileSync(file, JSON.stringify({ n: 0 }));
      const run = () =>
        new Promise<number>((done) => spawn(process.execPath, ['--import', 'tsx', 'tests/helpers/lock-counter.ts', file, '25', mode], { stdio: mode === 'lock' ? 'inherit' : 'ignore' }).on('exit', (code) => done(code ?? -1)));
      const codes = await Promise.all([run(), run(), run()]);
      // without the lock a process may also read a half-written file and stop
      if (mode === 'lock') expect(codes).toEqual([0, 0, 0]);
      return JSON.parse(readFileSync(file, 'utf8')).n as number;
    };
    expect(await count('lock')).toBe(75);
    expect(await count('nolock')).toBeLessThan(75); // the test's own check that the race is real
    // a lock left by a process that died (its folder not refreshed for longer than staleMs) is taken over
    const stale = join(dir, 'stale.json');
    mkdirSync(`${stale}.lock`);
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${stale}.lock`, old, old);
    expect(withLock(stale, () => 'ran', { staleMs: 30_000 })).toBe('ran');
    expect(existsSync(`${stale}.lock`)).toBe(false);
    // a live lock: waited for, then refused by name
    const held = join(dir, 'held.json');
    const release = lockfile.lockSync(held, { realpath: false });
    try {
      expect(() => withLock(held, () => 'ran', { waitMs: 300 })).toThrow(/held\.json stayed locked for 0 s by another process/);
    } finally {
      release();
    }
    expect(withLock(held, () => 'ran')).toBe('ran');
  }, 60_000);
});
