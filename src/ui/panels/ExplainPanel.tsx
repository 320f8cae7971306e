import { useState } from 'react';
import { useStudio } from '../../store/hooks';
import { EXPLAINER_ID } from '../../store/store';
import { ConfirmRun, Empty, Help, Plot, ProblemBox } from '../components/common';
import { ParamsEditor } from '../components/Params';
import { renderBars } from '../plots/bars';
import { PANEL_HELP } from '../teaching';
import { SamplePicker } from './SamplePicker';
import { ImageExplainView } from '../image/ImageExplainView';
import { ImageSaliency } from '../image/ImageSaliency';
import { TextExplainView } from '../text/TextExplainView';
import { TextSaliency } from '../text/TextSaliency';
import { SentenceBox, SentenceView } from '../text/SentenceBox';

export function ExplainPanel() {
  const info = useStudio((s) => s.info);
  const methods = useStudio((s) => s.methods);
  const choice = useStudio((s) => s.methodChoice);
  const setMethod = useStudio((s) => s.setMethod);
  const rows = useStudio((s) => s.rows);
  const setRows = useStudio((s) => s.setRows);
  const attribution = useStudio((s) => s.attribution);
  const explainer = useStudio((s) => s.explainer);
  const sample = useStudio((s) => s.sample);
  const sortBy = useStudio((s) => s.sortBy);
  const setSort = useStudio((s) => s.setSort);
  const runExplain = useStudio((s) => s.runExplain);
  const error = useStudio((s) => s.explainError);
  const busy = useStudio((s) => s.busy);
  const explainerLoaded = useStudio((s) => s.explainerLoaded);
  const priorBudget = useStudio((s) => s.priorBudget);
  const setPriorBudget = useStudio((s) => s.setPriorBudget);

  const n = info?.nFeatures ?? 0;
  const shown = attribution ? attribution.explanations.map((e) => ({ id: e.methodId, label: methods.find((m) => m.id === e.methodId)?.label ?? e.methodId, values: e.values.subarray(sample * n, (sample + 1) * n) })) : [];
  if (attribution && explainer?.saliency && explainer.saliency.length === attribution.rows.length * n)
    shown.push({ id: EXPLAINER_ID, label: 'DeepFaith explainer', values: explainer.saliency.subarray(sample * n, (sample + 1) * n) });
  let lo = 0;
  let hi = 0;
  for (const s of shown) for (const v of s.values) if (Number.isFinite(v)) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));

  return (
    <section className="panel" aria-labelledby="explain-h">
      <header className="panel-head">
        <h2 id="explain-h">2 · Explain</h2>
        <Help topic={PANEL_HELP.explain} />
      </header>
      {!info ? (
        <Empty>Load a task first (step 1): pick a demo or drop a model and a CSV.</Empty>
      ) : (
        <div className="cols">
          <div className="col">
            <h3>Rows to explain</h3>
            <div className="form-row">
              <label>
                the first <input type="number" min={1} max={info.nRows} value={rows.count} onChange={(e) => setRows({ count: Math.max(1, Number(e.target.value)) })} data-testid="rows-count" /> rows
              </label>
            </div>
            <p className="hint">As a job’s <code>task.maxRows</code>: the job splits these samples 80/20 (seeded) into training and test rows.</p>
            {explainerLoaded && <ExplainAnyRow nRows={info.nRows} />}
            <SentenceBox />
            <h3>Methods</h3>
            <div className="form-row">
              <label>
                Budgets{' '}
                <select value={priorBudget} onChange={(e) => setPriorBudget(e.target.value as 'default' | 'paper')} data-testid="prior-budget">
                  <option value="default">the project’s defaults</option>
                  <option value="paper">the paper’s Table 6 (Kernel SHAP and LIME 100 samples, IG 20 steps, GradientSHAP 5, occlusion window 1)</option>
                </select>
              </label>
            </div>
            <ul className="method-list">
              {methods.map((m) => (
                <li key={m.id}>
                  <label className="check">
                    <input type="checkbox" checked={choice[m.id]?.enabled ?? false} onChange={(e) => setMethod(m.id, { enabled: e.target.checked })} data-method-check={m.id} />
                    <strong>{m.label}</strong>
                  </label>
                  <div className="desc">{m.description}</div>
                  <details className="param-box">
                    <summary>parameters</summary>
                    <ParamsEditor idPrefix={`m-${m.id}`} defaults={m.defaults} value={choice[m.id]?.params ?? {}} onChange={(p) => setMethod(m.id, { params: p })} />
                  </details>
                </li>
              ))}
            </ul>
            <button type="button" className="primary" disabled={!!busy} onClick={() => runExplain()} data-testid="run-explain">
              Explain {rows.count} rows
            </button>
            <ConfirmRun step="explain" />
            <ProblemBox problem={error} testId="explain-error" />
          </div>
          <div className="col wide">
            <SentenceView />
            {!attribution ? (
              <Empty>Choose methods and press “Explain”. Every method explains the model’s predicted class for each row.</Empty>
            ) : (
              <>
                <div className="toolbar">
                  <SamplePicker />
                  {!info.image && !info.text && <label>
                    Sort bars{' '}
                    <select value={sortBy} onChange={(e) => setSort(e.target.value as 'feature' | 'magnitude')}>
                      <option value="feature">by feature</option>
                      <option value="magnitude">by |attribution|</option>
                    </select>
                  </label>}
                </div>
                {attribution.skipped.length > 0 && (
                  <ul className="skipped">
                    {attribution.skipped.map((s) => (
                      <li key={s.methodId}>
                        {s.methodId} skipped: {s.reason}
                      </li>
                    ))}
                  </ul>
                )}
                {info.image ? <ImageExplainView /> : info.text ? <TextExplainView /> : <div className="bars-grid" data-testid="bars-grid">
                  {shown.map((s) => (
                    <Plot
                      key={s.id}
                      name={`attribution-${s.id}-row${attribution.rows[sample]}`}
                      deps={[s.values, lo, hi, sortBy, info.featureNames]}
                      draw={(el) => renderBars(el, { title: s.label, features: info.featureNames, values: s.values }, { domain: [lo, hi], sort: sortBy, showNames: true, width: 290 })}
                    />
                  ))}
                </div>}
              </>
            )}
          </div>
        </div>
      )}
    </section>
  );
}

/** The trained explainer (held by the worker, also after a reload) explains any row of the data. */
function ExplainAnyRow({ nRows }: { nRows: number }) {
  const info = useStudio((s) => s.info)!;
  const explainRows = useStudio((s) => s.explainRows);
  const [row, setRow] = useState(nRows - 1);
  const [values, setValues] = useState<{ row: number; v: Float32Array } | null>(null);
  const [err, setErr] = useState<string | null>(null);
  return (
    <div className="explain-any" data-testid="explain-any">
      <h3>DeepFaith explainer on any row</h3>
      <div className="form-row">
        <label>
          row <input type="number" min={0} max={nRows - 1} value={row} onChange={(e) => setRow(Math.max(0, Math.min(nRows - 1, Number(e.target.value))))} data-testid="explain-any-row" />
        </label>
        <button
          type="button"
          data-testid="explain-any-run"
          onClick={async () => {
            setErr(null);
            try {
              setValues({ row, v: await explainRows([row]) });
            } catch (e) {
              setErr(String((e as Error)?.message ?? e));
            }
          }}
        >
          Explain this row
        </button>
      </div>
      {err && <p className="problem">{err}</p>}
      {values && info.image && <ImageSaliency row={values.row} values={values.v} title={`DeepFaith explainer, row ${values.row}`} testId="explain-any-plot" />}
      {values && info.text && <TextSaliency row={values.row} values={values.v} title={`DeepFaith explainer, row ${values.row}`} testId="explain-any-plot" />}
      {values && !info.image && !info.text && (
        <Plot name={`explainer-row${values.row}`} testId="explain-any-plot" deps={[values]} draw={(el) => renderBars(el, { title: `DeepFaith explainer, row ${values.row}`, features: info.featureNames, values: values.v }, { domain: [0, 1], width: 300 })} />
      )}
    </div>
  );
}
