/**
 * The metric inspector: for a sample, a method and a metric, the perturbed rows that metric made
 * (baselined cells marked) and the model's target probability at each step. Curve metrics (DEL,
 * INS, POS, NEG, IROF): the point on the stored curve. Correlation metrics (FC, INF, FE, MC): the
 * worker replays the row through the metric's own kernel with the job seed (src/worker/trace.ts),
 * so the subsets/chunks are the ones the score used, and each step is a point in the
 * (saliency sum, Δ) scatter with the metric's correlation.
 */
import { useEffect, useRef, useState } from 'react';
import { argsortAsc, argsortDesc, nSteps } from '../../core/metrics/curves';
import { useStudio } from '../../store/hooks';
import type { TraceResult } from '../../worker/protocol';
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

const CORRELATION_METRICS = ['FC', 'INF', 'FE', 'MC'];

export function Inspector() {
  const evaluation = useStudio((s) => s.evaluation)!;
  const curveIds = Object.keys(CURVE_METRICS).filter((id) => evaluation.scores[0]?.metrics.some((m) => m.metricId === id));
  const corrIds = CORRELATION_METRICS.filter((id) => evaluation.scores[0]?.metrics.some((m) => m.metricId === id));
  const [metricId, setMetricId] = useState(curveIds[0] ?? corrIds[0] ?? 'DEL');
  const [methodId, setMethodId] = useState(evaluation.scores[0]?.methodId ?? '');
  const labelOf = useLabelOf();
  if (!curveIds.length && !corrIds.length) return null;
  const pickers = (
    <>
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
          {[...curveIds, ...corrIds].map((id) => (
            <option key={id}>{id}</option>
          ))}
        </select>
      </label>
    </>
  );
  return (
    <section className="inspector" aria-labelledby="insp-h" data-testid="inspector">
      <h3 id="insp-h">Metric inspector</h3>
      <p className="hint">Step through the perturbations a metric made for this sample: the row the model saw, its target probability, and the point on the metric’s curve or in its correlation scatter.</p>
      {CURVE_METRICS[metricId] ? <CurveInspector methodId={methodId} metricId={metricId} pickers={pickers} /> : <CorrelationInspector methodId={methodId} metricId={metricId} pickers={pickers} />}
    </section>
  );
}

function CorrelationInspector({ methodId, metricId, pickers }: { methodId: string; metricId: string; pickers: React.ReactNode }) {
  const info = useStudio((s) => s.info)!;
  const attribution = useStudio((s) => s.attribution)!;
  const evaluation = useStudio((s) => s.evaluation)!;
  const metricChoice = useStudio((s) => s.metricChoice);
  const seed = useStudio((s) => s.seed);
  const sample = useStudio((s) => s.sample);
  const trace = useStudio((s) => s.trace);
  const labelOf = useLabelOf();
  const [t, setT] = useState(0);
  const [res, setRes] = useState<TraceResult | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const n = info.nFeatures;
  const row = attribution.rows[sample];
  const c = attribution.target[sample];
  const scored = evaluation.scores.find((e) => e.methodId === methodId);
  const storedValue = scored?.metrics.find((m) => m.metricId === metricId)?.perSample[sample];
  useEffect(() => {
    if (!scored) return;
    let live = true;
    setRes(null);
    setErr(null);
    setT(0);
    trace(row, c, scored.scored.slice(sample * n, (sample + 1) * n), metricId, metricChoice[metricId]?.params ?? {})
      .then((r) => live && setRes(r))
      .catch((e) => live && setErr(String(e?.message ?? e)));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [methodId, metricId, sample, evaluation, seed]);
  const x = info.x.subarray(row * n, (row + 1) * n);
  const nSteps = res?.steps.length ?? 0;
  const step = Math.min(t, Math.max(0, nSteps - 1));
  const cur = res?.steps[step];
  const removed = new Set(cur?.removed ?? []);
  const K = res?.groupSize ?? 1;
  // one point per subset (FC, INF) or chunk (FE); MC: per chunk, v_t = mean_k (p_k − p(x))² / p(x)²
  const points = res
    ? K === 1
      ? res.steps.map((st) => ({ x: st.saliencySum, y: st.delta }))
      : Array.from({ length: nSteps / K }, (_, g) => {
          const grp = res.steps.slice(g * K, (g + 1) * K);
          const scale = res.pClean === 0 ? 1 : res.pClean * res.pClean;
          return { x: grp[0].saliencySum, y: grp.reduce((a, st) => a + (st.p - res.pClean) ** 2, 0) / K / scale };
        })
    : [];
  const hi = res ? points[Math.floor(step / K)] : null;
  const yName = K === 1 ? 'Δ = p_c(x) − p_c(x \\ I)' : 'v_t (MC)';
  return (
    <>
      <div className="toolbar">
        {pickers}
        <button type="button" onClick={() => setT(Math.max(0, step - 1))} disabled={step === 0} aria-label="previous step">
          ◀
        </button>
        <span data-testid="insp-step">
          {K === 1 ? (metricId === 'FE' ? 'chunk' : 'subset') : 'perturbation'} {step + 1} / {nSteps || '…'}
          {K > 1 && ` (chunk ${Math.floor(step / K) + 1}, noise baseline ${(step % K) + 1} of ${K})`}
        </span>
        <button type="button" onClick={() => setT(Math.min(nSteps - 1, step + 1))} disabled={step >= nSteps - 1} aria-label="next step" data-testid="insp-next">
          ▶
        </button>
      </div>
      {err && <p className="problem">{err}</p>}
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
                <tr key={f} className={removed.has(j) ? 'baselined' : undefined}>
                  <td>{f}</td>
                  <td>{cur ? fmtNum(cur.input[j]) : '…'}</td>
                  <td>{fmtNum(x[j])}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="legend-note">
            <span className="swatch baselined" /> cell replaced by the {metricId === 'MC' ? 'noise baseline' : info.baseline === 'mean' ? 'baseline (column mean)' : 'baseline (zero)'}
          </p>
          <p>
            p_c(x), clean row: <strong data-testid="insp-pclean">{res ? fmtNum(res.pClean, 4) : '…'}</strong>
            <br />
            Model’s probability of <strong>{info.classNames[c]}</strong> for this perturbed row: <strong data-testid="insp-prob">{cur ? fmtNum(cur.p, 4) : '…'}</strong>
            <br />
            Δ = p_c(x) − this probability: <strong data-testid="insp-delta">{cur ? fmtNum(cur.delta, 4) : '…'}</strong>; saliency sum over the replaced cells: <strong data-testid="insp-sum">{cur ? fmtNum(cur.saliencySum, 4) : '…'}</strong>
            <br />
            {metricId} = {res?.correlation === 'spearman' ? 'Spearman' : 'Pearson'} of the scatter: <strong data-testid="insp-value">{res ? fmtNum(res.value, 4) : '…'}</strong> (stored score {fmtNum(storedValue ?? NaN, 4)})
          </p>
        </div>
        <div className="col wide">
          {res && hi && (
            <Plot
              name={`inspector-${metricId}-${methodId}-row${row}`}
              testId="insp-scatter"
              deps={[res, step]}
              draw={(el) =>
                renderLines(
                  el,
                  { title: `${metricId} of ${labelOf(methodId)}, row ${row}: ${res.correlation} = ${fmtNum(res.value, 3)}`, series: [{ key: K === 1 ? (metricId === 'FE' ? 'chunks' : 'subsets') : 'chunks', points, noLine: true }], highlight: { key: `step ${step + 1}`, x: hi.x, y: hi.y } },
                  { xLabel: 'saliency sum over the replaced features', yLabel: yName, width: 480 },
                )
              }
            />
          )}
        </div>
      </div>
    </>
  );
}

function CurveInspector({ methodId, metricId, pickers }: { methodId: string; metricId: string; pickers: React.ReactNode }) {
  const info = useStudio((s) => s.info)!;
  const attribution = useStudio((s) => s.attribution)!;
  const evaluation = useStudio((s) => s.evaluation)!;
  const metricChoice = useStudio((s) => s.metricChoice);
  const sample = useStudio((s) => s.sample);
  const predict = useStudio((s) => s.predict);
  const labelOf = useLabelOf();
  const [t, setT] = useState(0);
  const [probs, setProbs] = useState<Float32Array | null>(null);
  const [playing, setPlaying] = useState(false);
  const timer = useRef<number | null>(null);

  const n = info.nFeatures;
  const row = attribution.rows[sample];
  const c = attribution.target[sample];
  const x = info.x.subarray(row * n, (row + 1) * n);
  // the explanation exactly as the metrics scored it (normalised or not)
  const scoredAll = evaluation.scores.find((e) => e.methodId === methodId)?.scored;
  const s = scoredAll ? scoredAll.subarray(sample * n, (sample + 1) * n) : null;
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

  const step = Math.min(t, steps - 1);
  const { values, changed } = s && spec ? rowsForStep(step) : { values: x, changed: new Set<number>() };
  const xAt = (st: number) => (steps > 1 ? st / (steps - 1) : 0);
  const curvePts = stored ? Array.from(stored, (y, st) => ({ x: xAt(st), y })) : [];
  return (
    <>
      <div className="toolbar">
        {pickers}
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
    </>
  );
}
