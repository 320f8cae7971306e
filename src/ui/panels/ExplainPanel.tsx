import { useStudio } from '../../store/hooks';
import { EXPLAINER_ID } from '../../store/store';
import { Empty, Help, Plot, ProblemBox } from '../components/common';
import { ParamsEditor } from '../components/Params';
import { renderBars } from '../plots/bars';
import { PANEL_HELP } from '../teaching';
import { SamplePicker } from './SamplePicker';

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
                from row <input type="number" min={0} max={info.nRows - 1} value={rows.start} onChange={(e) => setRows({ start: Math.max(0, Number(e.target.value)) })} data-testid="rows-start" />
              </label>
              <label>
                count <input type="number" min={1} max={info.nRows} value={rows.count} onChange={(e) => setRows({ count: Math.max(1, Number(e.target.value)) })} data-testid="rows-count" />
              </label>
            </div>
            <h3>Methods</h3>
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
            <ProblemBox problem={error} testId="explain-error" />
          </div>
          <div className="col wide">
            {!attribution ? (
              <Empty>Choose methods and press “Explain”. Every method explains the model’s predicted class for each row.</Empty>
            ) : (
              <>
                <div className="toolbar">
                  <SamplePicker />
                  <label>
                    Sort bars{' '}
                    <select value={sortBy} onChange={(e) => setSort(e.target.value as 'feature' | 'magnitude')}>
                      <option value="feature">by feature</option>
                      <option value="magnitude">by |attribution|</option>
                    </select>
                  </label>
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
                <div className="bars-grid" data-testid="bars-grid">
                  {shown.map((s, i) => (
                    <Plot
                      key={s.id}
                      name={`attribution-${s.id}-row${attribution.rows[sample]}`}
                      deps={[s.values, lo, hi, sortBy, info.featureNames]}
                      draw={(el) => renderBars(el, { title: s.label, features: info.featureNames, values: s.values }, { domain: [lo, hi], sort: sortBy, showNames: i % 3 === 0 || sortBy === 'magnitude', width: i % 3 === 0 || sortBy === 'magnitude' ? 300 : 200 })}
                    />
                  ))}
                </div>
              </>
            )}
          </div>
        </div>
      )}
    </section>
  );
}
