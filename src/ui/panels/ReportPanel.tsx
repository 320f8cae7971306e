import { useState } from 'react';
import { useStudio, useStudioStore } from '../../store/hooks';
import { jobToHash } from '../../store/job';
import { Empty, Help, ProblemBox, fmtMs, fmtNum } from '../components/common';
import { ResultsTable, rankTable } from '../components/ResultsTable';
import { downloadBlob } from '../plots/export';
import { provenance } from '../provenance';
import { PANEL_HELP } from '../teaching';
import { useLabelOf } from './EvaluatePanel';

export function ReportPanel() {
  const store = useStudioStore();
  const evaluation = useStudio((s) => s.evaluation);
  const attribution = useStudio((s) => s.attribution);
  const metrics = useStudio((s) => s.metrics);
  const explainer = useStudio((s) => s.explainer);
  const trainSteps = useStudio((s) => s.trainSteps);
  const labelOf = useLabelOf();
  const [note, setNote] = useState<string | null>(null);

  const prov = () => provenance(store.getState());
  const json = (name: string, value: unknown) => downloadBlob(new Blob([JSON.stringify(value, (_, v) => (v instanceof Float32Array || v instanceof Int32Array ? Array.from(v) : v), 2)], { type: 'application/json' }), name);

  function resultsCsv(): string {
    if (!evaluation) return '';
    const { metricIds, rows } = rankTable(evaluation, metrics);
    const p = prov();
    const head = Object.entries(p).map(([k, v]) => `# ${k}: ${v}`);
    const lines = ['method,' + metricIds.join(',') + ',mean_rank', ...rows.map((r) => [r.methodId, ...r.means.map((v) => String(v)), String(r.meanRank)].join(','))];
    return [...head, ...lines].join('\n') + '\n';
  }

  return (
    <section className="panel" aria-labelledby="rep-h">
      <header className="panel-head">
        <h2 id="rep-h">6 · Report</h2>
        <Help topic={PANEL_HELP.report} />
      </header>
      <div className="toolbar">
        <button type="button" onClick={() => json('job.json', { ...store.getState().job(), provenance: prov() })}>
          Download job JSON
        </button>
        <button
          type="button"
          data-testid="copy-link"
          onClick={async () => {
            const hash = jobToHash(store.getState().job());
            history.replaceState(null, '', hash);
            const url = location.href;
            try {
              await navigator.clipboard.writeText(url);
              setNote('Link copied: opening it restores this job.');
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
          {!evaluation.scores.some((e) => e.methodId === 'deepfaith-explainer') && explainer?.saliency && (
            <ProblemBox problem={{ what: 'The trained explainer is not in this table yet.', todo: 'Press “Evaluate” in step 3 again to score it with the other methods.' }} />
          )}
          <ResultsTable evaluation={evaluation} metrics={metrics} labelOf={labelOf} />
          <div className="toolbar">
            <button type="button" onClick={() => json('results.json', { provenance: prov(), job: store.getState().job(), attribution, evaluation, training: trainSteps })}>
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
                json('model.json', { ...a.modelJson, provenance: prov() });
                downloadBlob(new Blob([a.weights]), 'weights.bin');
              }}
            >
              Download explainer (model.json + weights.bin)
            </button>
          </div>
          <h3>Runtime</h3>
          <table className="runtime">
            <thead>
              <tr>
                <th>Method</th>
                <th>explain time</th>
                <th>scoring time (all metrics)</th>
                <th>model evaluations by the metrics</th>
              </tr>
            </thead>
            <tbody>
              {evaluation.scores.map((e) => (
                <tr key={e.methodId}>
                  <th scope="row">{labelOf(e.methodId)}</th>
                  <td>{fmtMs(attribution?.explanations.find((a) => a.methodId === e.methodId)?.ms ?? NaN)}</td>
                  <td>{fmtMs(e.metrics.reduce((a, m) => a + m.ms, 0))}</td>
                  <td>{e.metrics.reduce((a, m) => a + m.modelCalls, 0)}</td>
                </tr>
              ))}
              {trainSteps.length > 0 && (
                <tr>
                  <th scope="row">training</th>
                  <td colSpan={3}>{trainSteps.length} steps; last L_PC {fmtNum(trainSteps[trainSteps.length - 1].lPC, 4)}, L_LC {fmtNum(trainSteps[trainSteps.length - 1].lLC, 4)}</td>
                </tr>
              )}
            </tbody>
          </table>
          <p className="hint">Ablations (L_PC only, L_LC only): choose the loss in step 5, train, and evaluate again; each run’s table downloads here.</p>
        </>
      )}
    </section>
  );
}
