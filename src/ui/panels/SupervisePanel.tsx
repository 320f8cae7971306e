import { useMemo } from 'react';
import { useStudio } from '../../store/hooks';
import { supervisionSet } from '../../store/store';
import { Empty, Help, Plot } from '../components/common';
import { renderMatrix } from '../plots/matrix';
import { renderStrips } from '../plots/strips';
import { PANEL_HELP } from '../teaching';
import { SamplePicker } from './SamplePicker';

export function SupervisePanel() {
  const attribution = useStudio((s) => s.attribution);
  const evaluation = useStudio((s) => s.evaluation);
  const metrics = useStudio((s) => s.metrics);
  const methods = useStudio((s) => s.methods);
  const info = useStudio((s) => s.info);
  const delta = useStudio((s) => s.delta);
  const p = useStudio((s) => s.p);
  const setDelta = useStudio((s) => s.setDelta);
  const setP = useStudio((s) => s.setP);
  const sample = useStudio((s) => s.sample);
  const sup = useMemo(() => supervisionSet({ attribution, evaluation, metrics, methods, info, delta, p }), [attribution, evaluation, metrics, methods, info, delta, p]);
  const ps = sup?.perSample[sample];

  return (
    <section className="panel" aria-labelledby="sup-h">
      <header className="panel-head">
        <h2 id="sup-h">4 · Supervise</h2>
        <Help topic={PANEL_HELP.supervise} />
      </header>
      {!sup || !ps ? (
        <Empty>Score the prior explanations first (step 3, Evaluate); this step filters them into the supervision set.</Empty>
      ) : (
        <>
          <div className="toolbar">
            <label className="slider">
              δ (dedup cosine threshold) <input type="range" min={0} max={1} step={0.01} value={delta} onChange={(e) => setDelta(Number(e.target.value))} data-testid="delta" /> <output>{delta.toFixed(2)}</output>
            </label>
            <label className="slider">
              p (filter quantile) <input type="range" min={0} max={0.95} step={0.01} value={p} onChange={(e) => setP(Number(e.target.value))} data-testid="p" /> <output>{p.toFixed(2)}</output>
            </label>
            <SamplePicker />
          </div>
          <div className="counts" data-testid="counts">
            <div>
              <span className="big">{sup.total}</span> explanations in total
            </div>
            <div>
              <span className="big">{sup.afterDedup}</span> after dedup (δ = {delta.toFixed(2)})
            </div>
            <div>
              <span className="big" data-testid="after-filter">{sup.afterFilter}</span> after filter (p = {p.toFixed(2)})
            </div>
            <div>
              <span className="big">{sup.pairs.length}</span> pairs in Z from the {sup.trainRows.length} training rows ({sup.testRows.length} held out)
            </div>
            {sup.emptySamples > 0 && <div className="warn">{sup.emptySamples} samples have no survivor</div>}
          </div>
          <div className="plot-row">
            <Plot
              name={`figure2-row${attribution!.rows[sample]}`}
              deps={[ps, delta, p]}
              draw={(el) =>
                renderStrips(
                  el,
                  {
                    title: `Per-metric filter, row ${attribution!.rows[sample]}: red = filtered out, green = kept`,
                    strips: ps.result.thresholds.map((t, mi) => ({
                      metric: t.metricId,
                      direction: t.direction,
                      threshold: t.threshold,
                      points: sup.labels.map((label, i) => ({ method: label, value: ps.scores[i][mi], passed: ps.result.passed[i] })).filter((_, i) => ps.result.keptByDedup[i]),
                    })),
                  },
                  { width: 620 },
                )
              }
            />
            <Plot name={`dedup-cosine-row${attribution!.rows[sample]}`} deps={[ps, delta]} draw={(el) => renderMatrix(el, { title: `Cosine similarity, δ = ${delta.toFixed(2)}`, labels: sup.labels, values: ps.result.cos, delta, kept: ps.result.keptByDedup })} />
          </div>
          <table className="record">
            <caption>What happened to each method’s explanation of this row</caption>
            <tbody>
              {sup.labels.map((l, i) => (
                <tr key={l} className={ps.result.passed[i] ? 'kept' : 'dropped'}>
                  <th scope="row">{l}</th>
                  <td>{ps.result.passed[i] ? 'kept in Z' : ps.result.reasons[i]}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
