/**
 * The metric inspector: for a sample, a method and a metric, the perturbed rows that metric made
 * (baselined cells marked) and the model's target probability at each step. Every metric is
 * replayed in the worker through its own kernel (prepareRow/planRow with the job seed,
 * src/worker/trace.ts), so what is shown is what the score used. Curve metrics (RP, DEL, INS,
 * POS, NEG, IROF; the kind comes from each metric's `info`): each step is a point of the curve,
 * shown next to the stored curve's point.
 * Correlation metrics (FC, INF, FE, MC): each step is a point in the (saliency sum, Δ) scatter
 * with the metric's correlation.
 */
import { useEffect, useRef, useState } from 'react';
import { useStudio } from '../../store/hooks';
import type { TraceResult } from '../../worker/protocol';
import { Plot, fmtNum } from '../components/common';
import { renderLines } from '../plots/lines';
import { useLabelOf } from './EvaluatePanel';
import { PerturbedImage } from '../image/PerturbedImage';
import { PerturbedSentence } from '../text/PerturbedSentence';

export function Inspector() {
  const evaluation = useStudio((s) => s.evaluation)!;
  const metrics = useStudio((s) => s.metrics);
  // the kind of each metric comes from the registry's metadata (info), never from a list kept here
  const scoredIds = (kind: 'curve' | 'correlation') => metrics.filter((m) => m.info.kind === kind && evaluation.scores[0]?.metrics.some((x) => x.metricId === m.id)).map((m) => m.id);
  const curveIds = scoredIds('curve');
  const corrIds = scoredIds('correlation');
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
      {curveIds.includes(metricId) ? <CurveInspector methodId={methodId} metricId={metricId} pickers={pickers} /> : <CorrelationInspector methodId={methodId} metricId={metricId} pickers={pickers} />}
    </section>
  );
}

/** Steps forward every 700 ms until the last step (the inspectors' Play). */
function usePlay(steps: number, setT: (f: (v: number) => number) => void): [boolean, (on: boolean) => void] {
  const [playing, setPlaying] = useState(false);
  const timer = useRef<number | null>(null);
  useEffect(() => {
    if (!playing) return;
    timer.current = window.setInterval(() => setT((v) => (v + 1 < steps ? v + 1 : (setPlaying(false), v))), 700);
    return () => {
      if (timer.current) window.clearInterval(timer.current);
    };
  }, [playing, steps, setT]);
  return [playing, setPlaying];
}

function CorrelationInspector({ methodId, metricId, pickers }: { methodId: string; metricId: string; pickers: React.ReactNode }) {
  const info = useStudio((s) => s.info)!;
  const meta = useStudio((s) => s.metrics.find((m) => m.id === metricId));
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
  const [playing, setPlaying] = usePlay(nSteps, setT);
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
          {K === 1 ? (meta?.info.perturbation ?? 'perturbation') : 'perturbation'} {step + 1} / {nSteps || '…'}
          {K > 1 && ` (chunk ${Math.floor(step / K) + 1}, noise baseline ${(step % K) + 1} of ${K})`}
        </span>
        <button type="button" onClick={() => setT(Math.min(nSteps - 1, step + 1))} disabled={step >= nSteps - 1} aria-label="next step" data-testid="insp-next">
          ▶
        </button>
        <button type="button" onClick={() => setPlaying(!playing)} disabled={nSteps < 2} data-testid="insp-play">
          {playing ? 'Pause' : 'Play'}
        </button>
      </div>
      {err && <p className="problem">{err}</p>}
      <div className="cols">
        <div className="col">
          {info.image ? <PerturbedImage row={row} input={cur?.input} marked={removed} /> : info.text ? <PerturbedSentence row={row} seen={res?.tokens?.[step]} marked={removed} /> : <PerturbedRowTable featureNames={info.featureNames} input={cur?.input} original={x} marked={removed} />}
          <p className="legend-note">
            <span className="swatch baselined" /> {info.image ? 'patch' : info.text ? 'token' : 'cell'} replaced by the {meta?.info.baseline === 'noise' ? (info.text ? 'noise baseline (a random token)' : 'noise baseline') : `baseline (${baselineWords(attribution.baseline, !!info.image, info.text)})`}
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
  const seed = useStudio((s) => s.seed);
  const sample = useStudio((s) => s.sample);
  const trace = useStudio((s) => s.trace);
  const labelOf = useLabelOf();
  const [t, setT] = useState(0);
  const [res, setRes] = useState<TraceResult | null>(null);
  const [err, setErr] = useState<string | null>(null);
  const meta = useStudio((s) => s.metrics.find((m) => m.id === metricId));

  const n = info.nFeatures;
  const row = attribution.rows[sample];
  const c = attribution.target[sample];
  const x = info.x.subarray(row * n, (row + 1) * n);
  const spec = meta?.info.curve;
  const scored = evaluation.scores.find((e) => e.methodId === methodId);
  const storedMetric = scored?.metrics.find((m) => m.metricId === metricId);
  const stored = storedMetric?.curves?.[sample];
  const storedValue = storedMetric?.perSample[sample];

  // the worker replays the row through the metric's own kernel (the explanation exactly as scored)
  useEffect(() => {
    if (!scored) return;
    let live = true;
    setRes(null);
    setErr(null);
    trace(row, c, scored.scored.slice(sample * n, (sample + 1) * n), metricId, metricChoice[metricId]?.params ?? {})
      .then((r) => live && setRes(r))
      .catch((e) => live && setErr(String(e?.message ?? e)));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [methodId, metricId, sample, evaluation, seed]);

  const steps = res?.steps.length ?? stored?.length ?? 0;
  useEffect(() => setT(0), [methodId, metricId, sample]);
  const [playing, setPlaying] = usePlay(steps, setT);

  const step = Math.max(0, Math.min(t, steps - 1));
  const cur = res?.steps[step];
  const changed = new Set(cur?.removed ?? []);
  // the x axis of the full curve: t/T (POS/NEG stop at the flip; their points sit at t/t*)
  const xAt = (st: number, len: number) => (len > 1 ? st / (len - 1) : 0);
  const curvePts = stored ? Array.from(stored, (y, st) => ({ x: xAt(st, stored.length), y })) : [];
  const isRatio = spec?.point === 'ratio';
  const isDelta = spec?.point === 'delta';
  const noCurve = res && res.steps.length === 0;
  return (
    <>
      <div className="toolbar">
        {pickers}
        <button type="button" onClick={() => setT(Math.max(0, step - 1))} disabled={step === 0} aria-label="previous step">
          ◀
        </button>
        <span data-testid="insp-step">
          step {step} / {Math.max(0, steps - 1)}
        </span>
        <button type="button" onClick={() => setT(Math.min(steps - 1, step + 1))} disabled={step >= steps - 1} aria-label="next step" data-testid="insp-next">
          ▶
        </button>
        <button type="button" onClick={() => setPlaying(!playing)} disabled={steps < 2}>
          {playing ? 'Pause' : 'Play'}
        </button>
      </div>
      {err && <p className="problem">{err}</p>}
      {noCurve && <p className="hint">The model does not predict this row’s target class, so {metricId} has no curve here (its value for this row is NaN).</p>}
      <div className="cols">
        <div className="col">
          {info.image ? <PerturbedImage row={row} input={cur?.input} marked={changed} /> : info.text ? <PerturbedSentence row={row} seen={res?.tokens?.[step]} marked={changed} /> : <PerturbedRowTable featureNames={info.featureNames} input={cur?.input} original={x} marked={changed} />}
          <p className="legend-note">
            <span className="swatch baselined" /> {info.image ? 'patch' : info.text ? 'token' : 'cell'} set to the baseline ({baselineWords(attribution.baseline, !!info.image, info.text)})
          </p>
          <p>
            Model’s probability of <strong>{info.classNames[c]}</strong> at this step (replayed through the {metricId} kernel): <strong data-testid="insp-prob">{cur ? fmtNum(cur.p, 4) : '…'}</strong>
            {isRatio && cur && res && (
              <>
                {' '}
                ÷ p_c(x) = {fmtNum(res.pClean, 4)} → <strong data-testid="insp-ratio">{fmtNum(cur.p / res.pClean, 4)}</strong>
              </>
            )}
            <br />
            {isDelta && cur && res && (
              <>
                Δ = p_c(x) − this probability = <strong data-testid="insp-delta">{fmtNum(res.pClean - cur.p, 4)}</strong>
                <br />
              </>
            )}
            Point on the stored {metricId} curve{isRatio ? ' (the ratio)' : isDelta ? ' (Δ)' : ''}: <strong data-testid="insp-curve">{stored && step < stored.length ? fmtNum(stored[step], 4) : '—'}</strong>
            <br />
            {metricId} of this row, replayed: <strong data-testid="insp-value">{res ? fmtNum(res.value, 4) : '…'}</strong> (stored score <span data-testid="insp-stored">{fmtNum(storedValue ?? NaN, 4)}</span>)
          </p>
        </div>
        <div className="col wide">
          {stored && stored.length > 0 && (
            <Plot
              name={`inspector-${metricId}-${methodId}-row${row}`}
              deps={[stored, step]}
              draw={(el) =>
                renderLines(
                  el,
                  { title: `${metricId} curve of ${labelOf(methodId)}, row ${row}`, series: [{ key: labelOf(methodId), points: curvePts }], highlight: step < stored.length ? { key: `step ${step}`, x: xAt(step, stored.length), y: stored[step] } : null },
                  { xLabel: spec?.stopsAtFlip ? 't / t* (stops where the class flips)' : 't / T (fraction of features ' + (spec?.mode === 'insertion' ? 'inserted)' : 'removed)'), yLabel: isRatio ? 'p_c(x \\ top_t) / p_c(x)' : isDelta ? 'Δ = p_c(x) − p_c(x \\ top_t)' : 'target probability p_c', yDomain: isRatio || isDelta ? undefined : [0, 1], width: 480 },
                )
              }
            />
          )}
        </div>
      </div>
    </>
  );
}

/** What a removed feature becomes, in words. */
function baselineWords(baseline: string, image: boolean, text?: { removalToken: string; maskToken?: string }): string {
  if (text) return text.maskToken !== undefined ? `the mask token ${text.removalToken}` : `the pad token ${text.removalToken}`;
  if (baseline === 'mean') return image ? 'per-pixel mean of the explained rows' : 'column mean of the explained rows';
  if (baseline === 'blur') return 'a Gaussian blur of the image itself';
  return 'zero';
}

/** The row as the model saw it at one step, beside the original; cells the metric replaced are marked. */
function PerturbedRowTable({ featureNames, input, original, marked }: { featureNames: string[]; input?: ArrayLike<number>; original: ArrayLike<number>; marked: Set<number> }) {
  return (
    <table className="perturbed" data-testid="insp-row">
      <thead>
        <tr>
          <th>feature</th>
          <th>value the model saw</th>
          <th>original</th>
        </tr>
      </thead>
      <tbody>
        {featureNames.map((f, j) => (
          <tr key={f} className={marked.has(j) ? 'baselined' : undefined}>
            <td>{f}</td>
            <td>{input ? fmtNum(input[j]) : '…'}</td>
            <td>{fmtNum(original[j])}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
