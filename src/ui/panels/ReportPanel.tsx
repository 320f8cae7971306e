import { useState } from 'react';
import { useStudio, useStudioStore } from '../../store/hooks';
import { jobToHash } from '../../store/job';
import { reportTable } from '../../store/store';
import { breakEvenCell, frontierVerdict, rankBootstrapSentence, relativeTo } from '../../core/job/markdown';
import { costSentence } from '../../core/explainer/cost';
import { Empty, Help, Plot, ProblemBox, fmtMs, fmtNum } from '../components/common';
import { renderLines } from '../plots/lines';
import { ResultsTable } from '../components/ResultsTable';
import { downloadBlob } from '../plots/export';
import { provenance } from '../provenance';
import { PANEL_HELP } from '../teaching';
import { useLabelOf } from './EvaluatePanel';
import { Figure5Grid } from '../image/Figure5Grid';
import { TextFigureGrid } from '../text/TextFigureGrid';

export function ReportPanel() {
  const store = useStudioStore();
  const evaluation = useStudio((s) => s.evaluation);
  const attribution = useStudio((s) => s.attribution);
  const report = useStudio((s) => s.report);
  const explainer = useStudio((s) => s.explainer);
  const ablation = useStudio((s) => s.ablation);
  const ablationError = useStudio((s) => s.ablationError);
  const runAblations = useStudio((s) => s.runAblations);
  const cancel = useStudio((s) => s.cancel);
  const busy = useStudio((s) => s.busy);
  const ts = useStudio((s) => s.trainSettings);
  const trainSteps = useStudio((s) => s.trainSteps);
  const jobDefaults = useStudio((s) => s.jobDefaults);
  const labelOf = useLabelOf();
  const [note, setNote] = useState<string | null>(null);

  const prov = () => provenance(store.getState());
  const json = (name: string, value: unknown) => downloadBlob(new Blob([JSON.stringify(value, (_, v) => (v instanceof Float32Array || v instanceof Int32Array ? Array.from(v) : v), 2)], { type: 'application/json' }), name);
  const exported = () => store.getState().exportJob();

  function resultsCsv(): string {
    if (!report) return '';
    const t = reportTable(report);
    const p = prov();
    const head = Object.entries(p).map(([k, v]) => `# ${k}: ${v}`);
    head.push(`# table: means over the ${report.split.testRows.length} test rows (rows ${report.split.testRows.join(' ')}), as deepfaith run`);
    const lines = ['method,' + t.metrics.map((m) => m.id).join(',') + ',mean_rank', ...t.rows.map((r) => [r.method, ...t.metrics.map((m) => String(r.scores[m.id])), String(r.meanRank)].join(','))];
    if (ablation) {
      lines.push('', '# ablations (explainer trained per mode, scored on the test split)', 'mode,' + ablation.metrics.map((m) => m.id).join(',') + ',mean_rank');
      for (const r of ablation.rows) lines.push([r.mode, ...ablation.metrics.map((m) => String(r.scores[m.id])), String(r.meanRank)].join(','));
    }
    return [...head, ...lines].join('\n') + '\n';
  }

  return (
    <section className="panel" aria-labelledby="rep-h">
      <header className="panel-head">
        <h2 id="rep-h">6 · Report</h2>
        <Help topic={PANEL_HELP.report} />
      </header>
      <div className="toolbar">
        <button type="button" disabled={!jobDefaults} onClick={() => json('job.json', { ...exported(), description: `DeepFaith Studio job; ${Object.entries(prov()).map(([k, v]) => `${k}: ${v}`).join('; ')}` })}>
          Download job JSON
        </button>
        <button
          type="button"
          data-testid="copy-link"
          disabled={!jobDefaults}
          onClick={async () => {
            const hash = jobToHash(exported(), store.getState().backendRequest);
            history.replaceState(null, '', hash);
            const url = location.href;
            try {
              await navigator.clipboard.writeText(url);
              setNote('Link copied: opening it restores this job (deepfaith run accepts the same job: deepfaith run "<link>").');
            } catch {
              setNote(`The job is in the address bar now: ${url.length} characters.`);
            }
          }}
        >
          Copy link
        </button>
        {note && <span className="hint">{note}</span>}
      </div>
      {!evaluation ? (
        <Empty>Nothing to report yet: run Explain and Evaluate (and Train) first.</Empty>
      ) : (
        <>
          <h3>Final table</h3>
          {!report ? (
            <Empty>Train the explainer (step 5): the final table scores it beside the priors on the job’s test rows, as <code>deepfaith run</code> does.</Empty>
          ) : (
            <>
              <ResultsTable
                table={reportTable(report)}
                labelOf={labelOf}
                testId="report-table"
                caption={`Mean over the ${report.split.testRows.length} test rows of the job’s seeded split (rows ${report.split.testRows.slice(0, 12).join(', ')}${report.split.testRows.length > 12 ? ', …' : ''}), every explanation min–max normalised — the table deepfaith run writes for this job`}
              />
              {report.cost && (
                <p className="hint" data-testid="cost-model">
                  {costSentence(report.cost)}
                </p>
              )}
              {report.rankBootstrap && (
                <p className="hint" data-testid="rank-bootstrap">
                  {rankBootstrapSentence(report, labelOf)}
                </p>
              )}
              {report.ceilings && (
                <p className="hint ceilings" data-testid="ceilings">
                  How far the explainer is from what it can reach: held-out L_LC <strong>{fmtNum(report.ceilings.lossLC.explainer, 4)}</strong> against the L_LC optimum’s <strong>{fmtNum(report.ceilings.lossLC.optimum, 4)}</strong>
                  {report.ceilings.lossLC.optimum > 0 && ` (${relativeTo(report.ceilings.lossLC.explainer, report.ceilings.lossLC.optimum)}; fitted to these very subsets)`}
                  {report.ceilings.lossLC.reachable !== undefined && (
                    <span data-testid="lc-reachable">
                      {' '}
                      and the reachable L_LC’s <strong>{fmtNum(report.ceilings.lossLC.reachable, 4)}</strong>
                      {report.ceilings.lossLC.reachable > 0 && ` (${relativeTo(report.ceilings.lossLC.explainer, report.ceilings.lossLC.reachable)})`} — non-negative attributions (all [0,1] outputs can express) fitted on {report.ceilings.lossLC.fitSubsets?.toLocaleString("en-US")} fresh subsets
                    </span>
                  )}
                  {report.job.explainer.head === 'signed' && report.ceilings.lossLC.outOfSample !== undefined && (
                    <span data-testid="lc-out-of-sample">
                      ; this explainer’s head is signed, so its ceiling is the out-of-sample optimum’s <strong>{fmtNum(report.ceilings.lossLC.outOfSample, 4)}</strong>
                      {report.ceilings.lossLC.outOfSample > 0 && ` (${relativeTo(report.ceilings.lossLC.explainer, report.ceilings.lossLC.outOfSample)})`} — any sign, the same fresh subsets
                    </span>
                  )}
                  {report.ceilings.lossLC.onFit && (
                    <span data-testid="lc-on-fit">
                      ; on the {report.ceilings.lossLC.fitSubsets?.toLocaleString("en-US")} fresh subsets, with the optimum fitted to them, <strong>{fmtNum(report.ceilings.lossLC.onFit.explainer, 4)}</strong> against <strong>{fmtNum(report.ceilings.lossLC.onFit.optimum, 4)}</strong>
                      {report.ceilings.lossLC.onFit.optimum > 0 && ` (${relativeTo(report.ceilings.lossLC.onFit.explainer, report.ceilings.lossLC.onFit.optimum)})`}
                    </span>
                  )}
                  ; mean per-row Pearson with{' '}
                  {Object.entries(report.ceilings.agreement)
                    .map(([k, v]) => `${k === 'z-mean' ? 'the Z mean' : labelOf(k)} ${fmtNum(v, 2)}`)
                    .join(', ')}
                  {report.ceilings.rankGap && (
                    <>
                      . Mean rank on {report.ceilings.rankGap.rows} of its own training rows <strong data-testid="rank-train">{fmtNum(report.ceilings.rankGap.train, 2)}</strong>, on the test rows <strong>{fmtNum(report.ceilings.rankGap.test, 2)}</strong>
                      {report.ceilings.rankGap.train + 0.5 < report.ceilings.rankGap.test ? ' — it ranks better on rows it was trained on: it generalises poorly from these rows' : ''}
                    </>
                  )}
                  .
                </p>
              )}
              <div className="toolbar">
                <button type="button" onClick={() => json('results.json', { provenance: prov(), ...report })}>
                  Download results JSON
                </button>
                <button type="button" onClick={() => downloadBlob(new Blob([resultsCsv()], { type: 'text/csv' }), 'results.csv')}>
                  Download results CSV
                </button>
                <button
                  type="button"
                  disabled={!explainer?.artifacts}
                  onClick={() => {
                    const a = explainer!.artifacts as { modelJson: Record<string, unknown>; weights: ArrayBuffer };
                    // what deepfaith explain reads to rebuild the task (as `deepfaith run` writes it)
                    const t = report.job.task;
                    const trainedFor = { demo: t.demo, model: t.model, data: t.data, label: t.label, drop: t.drop, target: t.target, output: t.output, baseline: t.baseline, maxRows: t.maxRows };
                    json('model.json', { ...a.modelJson, trainedFor, provenance: prov() });
                    downloadBlob(new Blob([a.weights]), 'weights.bin');
                  }}
                >
                  Download explainer (model.json + weights.bin)
                </button>
              </div>
            </>
          )}
          <Figure5Grid />
          <TextFigureGrid />
          <h3>Runtime</h3>
          <table className="runtime">
            <thead>
              <tr>
                <th>Method</th>
                <th>explain time per row</th>
              </tr>
            </thead>
            <tbody>
              {evaluation.scores.map((e) => {
                const ms = attribution?.explanations.find((a) => a.methodId === e.methodId)?.ms ?? NaN;
                return (
                  <tr key={e.methodId}>
                    <th scope="row">{labelOf(e.methodId)}</th>
                    <td>{fmtMs(ms / Math.max(1, evaluation.rows.length))}</td>
                  </tr>
                );
              })}
              {report && (
                <tr>
                  <th scope="row">DeepFaith explainer</th>
                  <td>{fmtMs(report.table.find((r) => r.isExplainer)?.msPerSample ?? NaN)}</td>
                </tr>
              )}
              <tr>
                <th scope="row">scoring (all methods and metrics, shared batches)</th>
                <td>
                  {fmtMs(evaluation.ms)}, {evaluation.scores.reduce((a, e) => a + e.metrics.reduce((b, m) => b + m.modelCalls, 0), 0).toLocaleString('en')} model rows
                </td>
              </tr>
              {trainSteps.length > 0 && (
                <tr>
                  <th scope="row">training</th>
                  <td>
                    {trainSteps.length} steps; last L_PC {fmtNum(trainSteps[trainSteps.length - 1].lPC, 4)}, L_LC {fmtNum(trainSteps[trainSteps.length - 1].lLC, 4)}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
          <Frontier />
          <h3>Ablations (the paper’s Table 4)</h3>
          <div className="toolbar">
            <button type="button" className="primary" disabled={!!busy || !ts} onClick={() => runAblations()} data-testid="run-ablations">
              Run ablations (full, pc-only, lc-only, dedup-only, filter-only)
            </button>
            {busy?.label === 'Ablations' && (
              <button type="button" onClick={cancel} data-testid="cancel-ablations">
                Cancel ablations
              </button>
            )}
            {ts && <span className="hint">each mode trains the explainer with the job’s settings ({ts.training.epochs} epochs, batch {ts.training.batchSize}, d {ts.explainer.dModel}) and scores it on the test split</span>}
          </div>
          <ProblemBox problem={ablationError} testId="ablation-error" />
          {ablation ? (
            <div className="table-wrap">
              <table className="results" data-testid="ablation-table">
                <caption>Explainer trained under each mode, mean over the {ablation.testRows.length} test rows; small number = rank among the modes (1 = best); “Z n” = pairs in the mode’s supervision set.</caption>
                <thead>
                  <tr>
                    <th scope="col">Mode</th>
                    {ablation.metrics.map((m) => (
                      <th scope="col" key={m.id} className="metric-col">
                        {m.id} <span className="arrow">{m.direction === 'lower' ? '↓' : '↑'}</span>
                      </th>
                    ))}
                    <th scope="col" className="mean-rank-col">Mean rank</th>
                  </tr>
                </thead>
                <tbody>
                  {ablation.rows.map((r) => (
                    <tr key={r.mode} data-mode={r.mode}>
                      <th scope="row" title={`${r.nPairs} pairs in Z, ${r.steps} steps`}>
                        {r.mode} <sub className="z-pairs">Z {r.nPairs}</sub>
                      </th>
                      {ablation.metrics.map((m) => (
                        <td key={m.id} data-metric={m.id} className={r.ranks[m.id] === Math.min(...ablation.rows.map((o) => o.ranks[m.id])) ? 'best' : undefined}>
                          {fmtNum(r.scores[m.id])} <sub>{fmtNum(r.ranks[m.id], r.ranks[m.id] % 1 ? 1 : 0)}</sub>
                        </td>
                      ))}
                      <td className="mean-rank">{fmtNum(r.meanRank, 2)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : (
            <p className="hint">Not run yet: one click trains the explainer five times (as <code>deepfaith run</code> with each mode) and fills the mode × metric table.</p>
          )}
        </>
      )}
    </section>
  );
}

/** "When does the explainer pay off?": the cost–faithfulness frontier (core/job/frontier.ts). */
function Frontier() {
  const report = useStudio((s) => s.report);
  const frontier = useStudio((s) => s.frontier);
  const runFrontier = useStudio((s) => s.runFrontier);
  const busy = useStudio((s) => s.busy);
  const labelOf = useLabelOf();
  if (!report) return null;
  const methods = frontier ? [...new Set(frontier.points.map((p) => p.method))] : [];
  return (
    <>
      <h3>When does the explainer pay off?</h3>
      <div className="toolbar">
        <button type="button" disabled={!!busy} onClick={() => runFrontier()} data-testid="run-frontier">
          {frontier ? 'Compute the frontier again' : 'Compute the cost–faithfulness frontier'}
        </button>
        <span className="hint">each budgeted prior (Kernel SHAP, LIME, IG, GradientSHAP, SmoothGrad) at four budgets on the test rows, ranked as if added to the table above (a budget that gives a method's own scores ties with its row)</span>
      </div>
      {frontier && (
        <div>
          <div>
            <Plot
              name="frontier"
              testId="frontier-plot"
              deps={[frontier]}
              draw={(el) =>
                renderLines(
                  el,
                  {
                    title: 'Mean rank against time per explained row',
                    series: [
                      ...methods.map((m) => ({ key: labelOf(m), points: frontier.points.filter((p) => p.method === m).map((p) => ({ x: Math.log10(p.msPerRow), y: p.meanRank })) })),
                      { key: 'DeepFaith explainer', points: [{ x: Math.log10(frontier.explainer.msPerRow), y: frontier.explainer.meanRank }], noLine: true },
                    ],
                  },
                  { xLabel: 'log₁₀ ms per explained row (left is cheaper)', yLabel: 'mean rank if added (lower is better)', width: 560 },
                )
              }
            />
          </div>
          <div>
            <table className="runtime" data-testid="frontier-table">
              <thead>
                <tr>
                  <th>Method</th>
                  <th>budget</th>
                  <th>ms / row</th>
                  <th>mean rank if added</th>
                  <th>break-even rows</th>
                </tr>
              </thead>
              <tbody>
                {frontier.points.map((p) => (
                  <tr key={`${p.method}-${p.budget}`}>
                    <th scope="row">{labelOf(p.method)}</th>
                    <td>
                      {p.param} {p.budget}
                    </td>
                    <td>{fmtNum(p.msPerRow, 3)}</td>
                    <td>{fmtNum(p.meanRank, 2)}</td>
                    <td>{breakEvenCell(p, frontier)}</td>
                  </tr>
                ))}
                <tr className="explainer-row">
                  <th scope="row">DeepFaith explainer</th>
                  <td>–</td>
                  <td>{fmtNum(frontier.explainer.msPerRow, 3)}</td>
                  <td>{fmtNum(frontier.explainer.meanRank, 2)}</td>
                  <td>–</td>
                </tr>
              </tbody>
            </table>
            <p className="hint" data-testid="frontier-summary">
              Building the explainer took about {fmtMs(frontier.explainer.buildMs)} (priors on the training rows and training).{' '}
              {frontierVerdict(frontier)}
            </p>
          </div>
        </div>
      )}
    </>
  );
}
