/**
 * "Which metric can I trust on this model?" — metric validation in the studio (core/ffidelity/validate.ts,
 * docs/ffidelity.md). One prior's explanation is degraded at noise ratios 0…1 and every metric of the
 * job (plus FFID± when F-Fidelity is ticked) scores each level; a trustworthy metric falls (↑) or rises
 * (↓) steadily with the noise. The same engine function serves `deepfaith validate`.
 */
import { useState } from 'react';
import { fmtSpread, fmtStat } from '../../core/ffidelity/validate';
import { useStudio } from '../../store/hooks';
import { EXPLAINER_ID } from '../../store/store';
import { Empty, Help, Plot, ProblemBox } from '../components/common';
import { renderLines } from '../plots/lines';
import { useLabelOf } from './EvaluatePanel';

const HELP = {
  title: 'Which metric can I trust?',
  plain:
    'A good explanation is spoiled on purpose: in every row a growing share of its scores (0 %, 20 %, … 100 %) is shuffled among themselves, five random copies per level. A metric you can trust scores the spoiled explanations worse the more they are spoiled. "trust" is the Spearman correlation of noise and score, signed so that +1 is perfect and −1 means the metric prefers the spoiled explanations. Tick F-Fidelity to add FFID+ and FFID−, which first fine-tune a copy of the model on randomly masked training rows (this takes a while).',
};

export function ValidationView() {
  const attribution = useStudio((s) => s.attribution);
  const validation = useStudio((s) => s.validation);
  const error = useStudio((s) => s.validationError);
  const busy = useStudio((s) => s.busy);
  const runValidate = useStudio((s) => s.runValidate);
  const labelOf = useLabelOf();
  const methodIds = attribution?.explanations.map((e) => e.methodId).filter((id) => id !== EXPLAINER_ID) ?? [];
  const [picked, setPicked] = useState<string>('');
  const [fidelity, setFidelity] = useState(false);
  const methodId = methodIds.includes(picked) ? picked : (methodIds[0] ?? '');
  const current = validation && attribution && validation.key === attribution.key ? validation : null;

  // each metric's mean score per noise level, rescaled to [0,1] per metric so one plot holds them all
  const series = (current?.metrics ?? []).map((m) => {
    const means = m.values.map((copies) => {
      const ok = copies.filter(Number.isFinite);
      return ok.length ? ok.reduce((a, b) => a + b, 0) / ok.length : NaN;
    });
    const finite = means.filter(Number.isFinite);
    const lo = Math.min(...finite);
    const hi = Math.max(...finite);
    return {
      key: `${m.id} ${m.direction === 'higher' ? '↑' : '↓'}`,
      flat: !(hi > lo),
      points: means.flatMap((y, i) => (Number.isFinite(y) && hi > lo ? [{ x: current!.levels[i], y: (y - lo) / (hi - lo) }] : [])),
    };
  });
  const undefinedIds = (current?.metrics ?? []).filter((m) => m.trust === 'undefined').map((m) => m.id);

  return (
    <details className="validation" data-testid="validation">
      <summary>
        <strong>Which metric can I trust on this model?</strong> — spoil a good explanation on purpose and see which metrics notice
      </summary>
      <Help topic={HELP} />
      {!methodIds.length ? (
        <Empty>Explain some rows with at least one method first.</Empty>
      ) : (
        <>
          <div className="toolbar">
            <label>
              explanation to spoil{' '}
              <select value={methodId} onChange={(e) => setPicked(e.target.value)} data-testid="validate-method">
                {methodIds.map((id) => (
                  <option key={id} value={id}>
                    {labelOf(id)}
                  </option>
                ))}
              </select>
            </label>
            <label className="check">
              <input type="checkbox" checked={fidelity} onChange={(e) => setFidelity(e.target.checked)} data-testid="validate-fidelity" /> add F-Fidelity (FFID+, FFID−; fine-tunes a copy of the model first)
            </label>
            <button type="button" className="primary" disabled={!!busy || !methodId} onClick={() => runValidate(methodId, fidelity)} data-testid="run-validate">
              Validate the metrics on {attribution!.rows.length} rows
            </button>
          </div>
          <ProblemBox problem={error} testId="validate-error" />
          {validation && !current && <p className="hint">The last validation belongs to other explanations; run it again for these.</p>}
          {current && (
            <>
              <table className="results" data-testid="validation-table">
                <caption>
                  {labelOf(current.methodId)} spoiled at noise {current.levels.join(', ')} ({current.copies} copies each) on {current.nRows} rows; trust = +1 when the metric always scores more noise worse, −1 when it prefers the noise
                </caption>
                <thead>
                  <tr>
                    <th className="left">metric</th>
                    <th>trust</th>
                    <th>macro ρ(noise, score)</th>
                    <th>micro ρ (along the curve)</th>
                  </tr>
                </thead>
                <tbody>
                  {current.metrics.map((m) => {
                    const t = m.trust;
                    const verdict = t === 'undefined' ? 'undefined' : t >= 0.8 ? 'good' : t <= 0 ? 'bad' : 'weak';
                    return (
                      <tr key={m.id} data-metric={m.id} className={`trust-${verdict}`}>
                        <th scope="row">
                          {m.id} {m.direction === 'higher' ? '↑' : '↓'}
                          {m.id.startsWith('FFID') && <span className="hint"> β = {String(m.params.beta)}</span>}
                        </th>
                        <td>
                          {fmtStat(t)}
                          {verdict !== 'undefined' && <span className="hint"> {verdict}</span>}
                        </td>
                        <td>{fmtSpread(m.macro)}</td>
                        <td>{fmtSpread(m.micro)}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
              {undefinedIds.length > 0 && (
                <p className="hint" data-testid="validation-undefined">
                  {undefinedIds.join(', ')}: undefined — the score was the same at every noise level (or not a number), so it cannot tell a spoiled explanation from a good one here (flat lines are not drawn). With few rows or features this is common; try more rows{undefinedIds.some((id) => id.startsWith('FFID')) ? ', or a task with more features (F-Fidelity removes ⌊β·n⌋ of n features)' : ''}.
                </p>
              )}
              <Plot
                name={`validation-${current.methodId}`}
                testId="validation-plot"
                deps={[current]}
                draw={(el) => renderLines(el, { title: `Mean score vs noise (${labelOf(current.methodId)}), each metric rescaled to [0,1]`, series: series.filter((x) => !x.flat) }, { xLabel: 'noise ratio r (share of scores shuffled per row)', yLabel: 'mean score, rescaled per metric', yDomain: [0, 1], width: 560 })}
              />
            </>
          )}
        </>
      )}
    </details>
  );
}
