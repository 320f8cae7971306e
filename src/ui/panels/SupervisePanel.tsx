import { useMemo } from 'react';
import { cosine } from '../../core/supervision/dedup';
import { useStudio } from '../../store/hooks';
import { Empty, Help, Plot } from '../components/common';
import { renderMatrix } from '../plots/matrix';
import { renderStrips } from '../plots/strips';
import { PANEL_HELP } from '../teaching';
import { SamplePicker } from './SamplePicker';
import { useLabelOf } from './EvaluatePanel';

/** Figure 2, the dedup matrix and the counts, all read from the engine's supervision record (src/core/supervision). */
export function SupervisePanel() {
  const attribution = useStudio((s) => s.attribution);
  const evaluation = useStudio((s) => s.evaluation);
  const metrics = useStudio((s) => s.metrics);
  const info = useStudio((s) => s.info);
  const delta = useStudio((s) => s.delta);
  const p = useStudio((s) => s.p);
  const setDelta = useStudio((s) => s.setDelta);
  const setP = useStudio((s) => s.setP);
  const sample = useStudio((s) => s.sample);
  const sup = useStudio((s) => s.supervision);
  const mode = useStudio((s) => s.trainSettings?.mode ?? 'full');
  const labelOf = useLabelOf();
  const row = attribution?.rows[sample];
  const rec = sup?.record.find((r) => r.row === row);
  const n = info?.nFeatures ?? 0;
  const cos = useMemo(
    () => (sup && rec ? sup.normalised.map((a) => sup.normalised.map((b) => cosine(a, b, sample * n, sample * n, n))) : null),
    [sup, rec, sample, n],
  );

  return (
    <section className="panel" aria-labelledby="sup-h">
      <header className="panel-head">
        <h2 id="sup-h">4 · Supervise</h2>
        <Help topic={PANEL_HELP.supervise} />
      </header>
      {!sup || !rec || !cos || !attribution || !evaluation ? (
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
          {mode !== 'full' && <p className="hint">Training mode {mode}: {mode === 'dedup-only' ? 'the filter is off' : mode === 'filter-only' ? 'dedup is off' : 'dedup and filter as usual'}.</p>}
          <div className="counts" data-testid="counts">
            <div>
              <span className="big">{sup.counts.total}</span> explanations of the {sup.counts.samples} explained rows
            </div>
            <div>
              <span className="big">{sup.counts.afterDedup}</span> after dedup (δ = {delta.toFixed(2)})
            </div>
            <div>
              <span className="big" data-testid="after-filter">{sup.counts.afterFilter}</span> after filter (p = {p.toFixed(2)})
            </div>
            <div>
              <span className="big" data-testid="z-pairs">{sup.nPairs}</span> pairs in Z from the {sup.split.train.length} training rows ({sup.split.test.length} held out: rows {sup.split.test.join(', ')})
            </div>
            {sup.counts.samplesWithoutSurvivor > 0 && <div className="warn">{sup.counts.samplesWithoutSurvivor === 1 ? '1 row has' : `${sup.counts.samplesWithoutSurvivor} rows have`} no surviving explanation</div>}
          </div>
          <p className="hint">
            The job’s seeded 80/20 split of the samples is made before Z (the same row never lands on both sides); {sup.split.train.includes(row!) ? `row ${row} is a training row` : `row ${row} is held out (test)`}.
          </p>
          <div className="plot-row">
            <Plot
              name={`figure2-row${row}`}
              deps={[rec, delta, p]}
              draw={(el) =>
                renderStrips(
                  el,
                  {
                    title: `Per-metric filter, row ${row}: red = filtered out, green = kept`,
                    strips: Object.entries(rec.thresholds ?? {}).map(([metricId, threshold]) => {
                      const mi = evaluation.scores[0].metrics.findIndex((m) => m.metricId === metricId);
                      const r = attribution.rows.indexOf(row!);
                      return {
                        metric: metricId,
                        direction: metrics.find((m) => m.id === metricId)?.direction ?? 'higher',
                        threshold,
                        points: rec.fates
                          .filter((f) => f.fate !== 'similar')
                          .map((f) => ({
                            method: labelOf(f.method),
                            value: evaluation.scores.find((e) => e.methodId === f.method)!.metrics[mi].perSample[r],
                            passed: f.fate === 'kept',
                          })),
                      };
                    }),
                  },
                  { width: 620 },
                )
              }
            />
            <Plot
              name={`dedup-cosine-row${row}`}
              deps={[cos, delta]}
              draw={(el) => renderMatrix(el, { title: `Cosine similarity, δ = ${delta.toFixed(2)}`, labels: sup.methodIds.map(labelOf), values: cos, delta, kept: rec.fates.map((f) => f.fate !== 'similar') })}
            />
          </div>
          <table className="record" data-testid="record">
            <caption>What happened to each method’s explanation of this row</caption>
            <tbody>
              {rec.fates.map((f) => (
                <tr key={f.method} className={f.fate === 'kept' ? 'kept' : 'dropped'}>
                  <th scope="row">{labelOf(f.method)}</th>
                  <td>
                    {f.fate === 'kept'
                      ? (sup.split.train.includes(row!) ? 'kept: a pair in Z' : 'passes dedup and filter (held-out row: not in Z)')
                      : f.fate === 'similar'
                        ? `dedup: cosine ${f.cosine.toFixed(3)} ≥ δ with ${labelOf(f.similarTo)}`
                        : `filter: ${f.failed.map((x) => `${x.metric} = ${Number.isFinite(x.value) ? x.value.toFixed(3) : 'NaN'} vs threshold ${x.threshold.toFixed(3)}`).join('; ')}`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
