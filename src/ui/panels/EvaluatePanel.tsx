import { useStudio } from '../../store/hooks';
import type { MetricMeta } from '../../worker/protocol';
import { EXPLAINER_ID, evaluationTable, rowsWanted } from '../../store/store';
import { ConfirmRun, Empty, Help, Plot, ProblemBox } from '../components/common';
import { ParamsEditor } from '../components/Params';
import { ResultsTable } from '../components/ResultsTable';
import { renderLines } from '../plots/lines';
import { METRIC_HELP, PANEL_HELP } from '../teaching';
import { Inspector } from './Inspector';
import { SamplePicker } from './SamplePicker';
import { ValidationView } from './ValidationView';

export function useLabelOf() {
  const methods = useStudio((s) => s.methods);
  return (id: string) => (id === EXPLAINER_ID || id === 'deepfaith' ? 'DeepFaith explainer' : (methods.find((m) => m.id === id)?.label ?? id));
}

export function EvaluatePanel() {
  const metrics = useStudio((s) => s.metrics);
  const choice = useStudio((s) => s.metricChoice);
  const attribution = useStudio((s) => s.attribution);
  const evaluation = useStudio((s) => s.evaluation);
  const runEvaluate = useStudio((s) => s.runEvaluate);
  const error = useStudio((s) => s.evaluateError);
  const busy = useStudio((s) => s.busy);
  const sample = useStudio((s) => s.sample);
  const labelOf = useLabelOf();
  const info = useStudio((s) => s.info);
  const wanted = useStudio((s) => rowsWanted(s));
  const cleared = useStudio((s) => s.evaluationCleared);
  const rerunAll = useStudio((s) => s.rerunExplainAndEvaluate);

  // the full deletion and insertion curves of p_c along π (DEL, INS), found by their metadata
  const probabilityCurves = metrics.filter((m) => m.info.curve && m.info.curve.point === 'probability' && m.info.curve.order === 'descending' && !m.info.curve.stopsAtFlip).map((m) => ({ id: m.id, mode: m.info.curve!.mode }));
  const curvesOf = (metricId: string) =>
    evaluation?.scores
      .map((e) => {
        const m = e.metrics.find((x) => x.metricId === metricId);
        const c = m?.curves?.[sample];
        return c ? { key: labelOf(e.methodId), points: Array.from(c, (y, t) => ({ x: c.length > 1 ? t / (c.length - 1) : 0, y })) } : null;
      })
      .filter((s): s is NonNullable<typeof s> => !!s) ?? [];

  return (
    <section className="panel" aria-labelledby="eval-h">
      <header className="panel-head">
        <h2 id="eval-h">3 · Evaluate</h2>
        <Help topic={PANEL_HELP.evaluate} />
      </header>
      {!attribution ? (
        <Empty>Explain some rows first (step 2); then score the explanations here.</Empty>
      ) : (
        <>
          <div className="metric-grid">
            {metrics.filter((m) => !m.beyond).map((m) => (
              <MetricCard key={m.id} m={m} />
            ))}
          </div>
          <details className="beyond" data-testid="beyond-ten" open={metrics.some((m) => m.beyond && choice[m.id]?.enabled)}>
            <summary>
              <strong>Beyond the ten</strong> — F-Fidelity (FFID±, scored on a copy of the model fine-tuned on randomly masked rows), R-Fidelity, plain Fidelity and the activation deviation along insertion/deletion (AD-INS/AD-DEL). Chosen ones are scored, ranked and used by the supervision filter like the ten, as in <code>deepfaith run</code>.
            </summary>
            <div className="metric-grid">
              {metrics.filter((m) => m.beyond).map((m) => (
                <MetricCard key={m.id} m={m} />
              ))}
            </div>
          </details>
          <div className="toolbar">
            <span className="hint">every explanation is min–max normalised to [0,1] per row before scoring, as in the DeepFaith pipeline and <code>deepfaith run</code></span>
            <button type="button" className="primary" disabled={!!busy} onClick={() => runEvaluate()} data-testid="run-evaluate">
              Evaluate {attribution.explanations.length} methods on {attribution.rows.length} rows
            </button>
          </div>
          {info && attribution.rows.length !== wanted ? (
            <div className="stale" role="status" data-testid="stale">
              <span>
                The row count is now <strong>{wanted}</strong>, but the explanations (and everything scored from them) cover <strong>{attribution.rows.length}</strong> rows.
              </span>
              <button type="button" className="primary" disabled={!!busy} onClick={() => rerunAll()} data-testid="rerun-stale">
                Explain {wanted} rows and evaluate
              </button>
            </div>
          ) : (
            !evaluation &&
            cleared && (
              <div className="stale" role="status" data-testid="stale">
                <span>
                  The explanations were re-run on <strong>{attribution.rows.length}</strong> rows, so the table for {cleared.rows} rows was cleared; Supervise, Train and Report wait for it.
                </span>
                <button type="button" className="primary" disabled={!!busy} onClick={() => runEvaluate()} data-testid="rerun-stale">
                  Evaluate {attribution.rows.length} rows again
                </button>
              </div>
            )
          )}
          <ConfirmRun step="evaluate" />
          <ProblemBox problem={error} testId="evaluate-error" />
          {!evaluation ? (
            <Empty>Press “Evaluate” to fill the method × metric table.</Empty>
          ) : (
            <>
              <ResultsTable table={evaluationTable(evaluation, metrics)} labelOf={labelOf} caption={`Mean over all ${evaluation.rows.length} explained rows (explanations min–max normalised to [0,1]); these stored scores feed the supervision filter`} />
              <div className="toolbar">
                <SamplePicker />
              </div>
              <div className="plot-row">
                {probabilityCurves.map(({ id, mode }) =>
                  curvesOf(id).length ? (
                    <Plot
                      key={id}
                      name={`${id}-curves-row${evaluation.rows[sample]}`}
                      testId={`curve-${id}`}
                      deps={[evaluation, sample, id]}
                      draw={(el) =>
                        renderLines(el, { title: `${mode === 'removal' ? 'Deletion' : 'Insertion'} curves (${id}), row ${evaluation.rows[sample]}`, series: curvesOf(id) }, { xLabel: mode === 'removal' ? 'fraction of features removed (t/T)' : 'fraction of features inserted (t/T)', yLabel: 'target probability p_c', yDomain: [0, 1], width: 520 })
                      }
                    />
                  ) : null,
                )}
              </div>
              <Inspector />
              <ValidationView />
            </>
          )}
        </>
      )}
    </section>
  );
}

/** One metric's choice: on/off, its help and its parameters. */
function MetricCard({ m }: { m: MetricMeta }) {
  const choice = useStudio((s) => s.metricChoice[m.id]);
  const setMetric = useStudio((s) => s.setMetric);
  return (
    <div className="metric-card">
      <label className="check">
        <input type="checkbox" checked={choice?.enabled ?? false} onChange={(e) => setMetric(m.id, { enabled: e.target.checked })} data-testid={`metric-${m.id}`} />
        <strong>
          {m.id} {m.direction === 'lower' ? '↓' : '↑'}
        </strong>{' '}
        {m.label}
      </label>
      <Help topic={METRIC_HELP[m.id] ?? { title: m.label, plain: m.description }} label="what is this" />
      <details className="param-box">
        <summary>parameters</summary>
        <ParamsEditor idPrefix={`e-${m.id}`} defaults={m.defaults} value={choice?.params ?? {}} onChange={(p) => setMetric(m.id, { params: p })} />
      </details>
    </div>
  );
}
