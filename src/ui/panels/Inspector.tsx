/**
 * The metric inspector: for a sample, a method and a curve metric, the perturbed rows that
 * metric made (baselined cells marked), the model's target probability at each step (asked from
 * the model now) and the matching point on the metric's stored curve.
 */
import { useEffect, useRef, useState } from 'react';
import { argsortAsc, argsortDesc, nSteps } from '../../core/metrics/curves';
import { useStudio } from '../../store/hooks';
import { minMaxRows } from '../../worker/normalise';
import { Plot, fmtNum } from '../components/common';
import { renderLines } from '../plots/lines';
import { useLabelOf } from './EvaluatePanel';

const CURVE_METRICS: Record<string, { order: 'desc' | 'asc'; mode: 'removal' | 'insertion'; y: string }> = {
  DEL: { order: 'desc', mode: 'removal', y: 'p_c(x \\ top_t)' },
  INS: { order: 'desc', mode: 'insertion', y: 'p_c(x° ∪ top_t)' },
  POS: { order: 'desc', mode: 'removal', y: 'p_c(x \\ top_t) until the class flips' },
  NEG: { order: 'asc', mode: 'removal', y: 'p_c(x \\ bottom_t) until the class flips' },
  IROF: { order: 'desc', mode: 'removal', y: 'p_c(x \\ top_t) (IROF divides by p_c(x))' },
};

export function Inspector() {
  const info = useStudio((s) => s.info)!;
  const attribution = useStudio((s) => s.attribution)!;
  const evaluation = useStudio((s) => s.evaluation)!;
  const explainer = useStudio((s) => s.explainer);
  const metricChoice = useStudio((s) => s.metricChoice);
  const sample = useStudio((s) => s.sample);
  const predict = useStudio((s) => s.predict);
  const labelOf = useLabelOf();
  const available = Object.keys(CURVE_METRICS).filter((id) => evaluation.scores[0]?.metrics.some((m) => m.metricId === id));
  const [methodId, setMethodId] = useState(evaluation.scores[0]?.methodId ?? '');
  const [metricId, setMetricId] = useState(available[0] ?? 'DEL');
  const [t, setT] = useState(0);
  const [probs, setProbs] = useState<Float32Array | null>(null);
  const [playing, setPlaying] = useState(false);
  const timer = useRef<number | null>(null);

  const n = info.nFeatures;
  const row = attribution.rows[sample];
  const c = attribution.target[sample];
  const x = info.x.subarray(row * n, (row + 1) * n);
  const rawAll = methodId === 'deepfaith-explainer' ? explainer?.saliency : attribution.explanations.find((e) => e.methodId === methodId)?.values;
  const s = rawAll ? (evaluation.normalised ? minMaxRows(rawAll.subarray(sample * n, (sample + 1) * n), 1, n) : rawAll.subarray(sample * n, (sample + 1) * n)) : null;
  const spec = CURVE_METRICS[metricId];
  const k = Math.max(1, Number(metricChoice[metricId]?.params.stepSize ?? 1));
  const T = nSteps(n, k);
  const order = s ? (spec?.order === 'asc' ? argsortAsc(s) : argsortDesc(s)) : new Int32Array(0);
  const stored = evaluation.scores.find((e) => e.methodId === methodId)?.metrics.find((m) => m.metricId === metricId)?.curves?.[sample];
  const steps = stored ? stored.length : T + 1;

  const rowsForStep = (step: number) => {
    const out = new Float32Array(n);
    const part = new Set(order.subarray(0, Math.min(step * k, n)));
    for (let j = 0; j < n; j++) out[j] = spec.mode === 'removal' ? (part.has(j) ? info.baselineVector[j] : x[j]) : part.has(j) ? x[j] : info.baselineVector[j];
    return { values: out, changed: spec.mode === 'removal' ? part : new Set([...Array(n).keys()].filter((j) => !part.has(j))) };
  };

  useEffect(() => {
    if (!s || !spec) return;
    let live = true;
    const all = new Float32Array((T + 1) * n);
    for (let st = 0; st <= T; st++) all.set(rowsForStep(st).values, st * n);
    predict(all, T + 1).then((r) => live && setProbs(Float32Array.from({ length: T + 1 }, (_, st) => r.proba[st * r.nClasses + c])));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [methodId, metricId, sample, evaluation]);

  useEffect(() => setT(0), [methodId, metricId, sample]);
  useEffect(() => {
    if (!playing) return;
    timer.current = window.setInterval(() => setT((v) => (v + 1 < steps ? v + 1 : (setPlaying(false), v))), 700);
    return () => {
      if (timer.current) window.clearInterval(timer.current);
    };
  }, [playing, steps]);

  if (!available.length) return null;
  const step = Math.min(t, steps - 1);
  const { values, changed } = s && spec ? rowsForStep(step) : { values: x, changed: new Set<number>() };
  const xAt = (st: number) => (steps > 1 ? st / (steps - 1) : 0);
  const curvePts = stored ? Array.from(stored, (y, st) => ({ x: xAt(st), y })) : [];
  return (
    <section className="inspector" aria-labelledby="insp-h" data-testid="inspector">
      <h3 id="insp-h">Metric inspector</h3>
      <p className="hint">Step through the perturbations a curve metric made for this sample: the row the model saw, its target probability, and the point on the metric’s curve.</p>
      <div className="toolbar">
        <label>
          Method{' '}
          <select value={methodId} onChange={(e) => setMethodId(e.target.value)} data-testid="insp-method">
            {evaluation.scores.map((e) => (
              <option key={e.methodId} value={e.methodId}>
                {labelOf(e.methodId)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Metric{' '}
          <select value={metricId} onChange={(e) => setMetricId(e.target.value)} data-testid="insp-metric">
            {available.map((id) => (
              <option key={id}>{id}</option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => setT(Math.max(0, step - 1))} disabled={step === 0} aria-label="previous step">
          ◀
        </button>
        <span data-testid="insp-step">
          step {step} / {steps - 1}
        </span>
        <button type="button" onClick={() => setT(Math.min(steps - 1, step + 1))} disabled={step >= steps - 1} aria-label="next step" data-testid="insp-next">
          ▶
        </button>
        <button type="button" onClick={() => setPlaying(!playing)}>
          {playing ? 'Pause' : 'Play'}
        </button>
      </div>
      <div className="cols">
        <div className="col">
          <table className="perturbed" data-testid="insp-row">
            <thead>
              <tr>
                <th>feature</th>
                <th>value the model saw</th>
                <th>original</th>
              </tr>
            </thead>
            <tbody>
              {info.featureNames.map((f, j) => (
                <tr key={f} className={changed.has(j) ? 'baselined' : undefined}>
                  <td>{f}</td>
                  <td>{fmtNum(values[j])}</td>
                  <td>{fmtNum(x[j])}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="legend-note">
            <span className="swatch baselined" /> cell set to the baseline ({info.baseline === 'mean' ? 'column mean' : 'zero'})
          </p>
          <p>
            Model’s probability of <strong>{info.classNames[c]}</strong> at this step: <strong data-testid="insp-prob">{probs ? fmtNum(probs[step], 4) : '…'}</strong>
            <br />
            Point on the {metricId} curve: <strong data-testid="insp-curve">{stored ? fmtNum(stored[step], 4) : '—'}</strong>
          </p>
        </div>
        <div className="col wide">
          {stored && (
            <Plot
              name={`inspector-${metricId}-${methodId}-row${row}`}
              deps={[stored, step]}
              draw={(el) => renderLines(el, { title: `${metricId} curve of ${labelOf(methodId)}, row ${row}`, series: [{ key: labelOf(methodId), points: curvePts }], highlight: { key: `step ${step}`, x: xAt(step), y: stored[step] } }, { xLabel: 't / T', yLabel: spec.y.length > 24 ? 'target probability' : spec.y, yDomain: [0, 1], width: 480 })}
            />
          )}
        </div>
      </div>
    </section>
  );
}
