/**
 * The paper's Figure 5 for an image task, in the Report panel: rows are samples (the job's test
 * rows), columns are the prior methods and, once trained, the DeepFaith explainer; each cell is
 * that explanation (min–max normalised, as scored) over the image, with its INS and DEL for that
 * row under it — scored in the worker by the engine (the priors' values are their stored scores).
 */
import { useEffect, useMemo, useState } from 'react';
import { useStudio } from '../../store/hooks';
import { EXPLAINER_ID } from '../../store/store';
import type { FigureScoresResult } from '../../worker/protocol';
import { fmtNum } from '../components/common';
import { ColorLegend, ImageHeatmap } from './ImageHeatmap';
import { rowPixels } from './ImageExplainView';
import { mapScale, minMax } from './heatmap';

export function Figure5Grid() {
  const info = useStudio((s) => s.info);
  const attribution = useStudio((s) => s.attribution);
  const evaluation = useStudio((s) => s.evaluation);
  const report = useStudio((s) => s.report);
  const explainer = useStudio((s) => s.explainer);
  const methods = useStudio((s) => s.methods);
  const figureScores = useStudio((s) => s.figureScores);
  const [count, setCount] = useState(4);
  const [opacity, setOpacity] = useState(0.6);
  const [grid, setGrid] = useState(false);
  const [scores, setScores] = useState<FigureScoresResult | null>(null);
  const [err, setErr] = useState<string | null>(null);

  const ready = !!(info?.image && attribution && evaluation && attribution.rows.length === evaluation.rows.length);
  const n = info?.nFeatures ?? 0;
  const pool = ready ? (report?.split.testRows.length ? report.split.testRows : attribution!.split.test.length ? attribution!.split.test : attribution!.rows) : [];
  const rows = pool.slice(0, count);
  const columns = useMemo(() => {
    if (!ready) return [];
    const at = (r: number) => attribution!.rows.indexOf(r);
    const pick = (all: Float32Array) => {
      const out = new Float32Array(rows.length * n);
      rows.forEach((r, i) => out.set(all.subarray(at(r) * n, (at(r) + 1) * n), i * n));
      return out;
    };
    const cols = evaluation!.scores.map((e) => ({ id: e.methodId, values: pick(e.scored) }));
    if (report && explainer?.saliency && explainer.key === evaluation!.key && explainer.saliency.length === attribution!.rows.length * n) {
      // the explainer's raw output, min–max normalised per row as the report scores it
      const v = pick(explainer.saliency);
      for (let i = 0; i < rows.length; i++) v.set(minMax(v.subarray(i * n, (i + 1) * n)), i * n);
      cols.push({ id: EXPLAINER_ID, values: v });
    }
    return cols;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ready, evaluation, attribution, report, explainer, rows.join(','), n]);

  useEffect(() => {
    if (!ready || !columns.length) return;
    let live = true;
    setErr(null);
    figureScores(rows, columns)
      .then((r) => live && setScores(r))
      .catch((e) => live && setErr(String(e?.message ?? e)));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [columns]);

  if (!ready) return null;
  const g = info!.image!;
  const labelOf = (id: string) => (id === EXPLAINER_ID ? 'DeepFaith explainer' : (methods.find((m) => m.id === id)?.label ?? id));
  // a score shown only when it belongs to these scores, rows and columns
  const fresh = scores && scores.key === evaluation!.key && scores.rows.join(',') === rows.join(',') ? scores : null;
  const scoreOf = (id: string, metric: string, i: number) => {
    const c = fresh?.scores.find((s) => s.id === id);
    const m = fresh?.metricIds.indexOf(metric) ?? -1;
    return c && m >= 0 ? c.perSample[m][i] : undefined;
  };
  const scale = mapScale([0, 1], true);
  return (
    <section className="figure5" data-testid="figure5">
      <h3>Explanations side by side (the paper’s Figure 5)</h3>
      <p className="hint">
        Rows are samples ({report ? 'the job’s test rows' : 'the explained rows of the job’s test split'}), columns the prior methods{report ? ' and the trained explainer' : ' (the explainer joins once trained)'}; every map is min–max normalised as it was scored, with that row’s insertion (INS ↑) and deletion (DEL ↓) under it.
      </p>
      <div className="toolbar">
        <label>
          Samples <input type="number" min={1} max={Math.min(24, pool.length)} value={count} onChange={(e) => setCount(Math.max(1, Math.min(24, pool.length, Number(e.target.value))))} data-testid="figure5-count" />
        </label>
        <label className="slider">
          Opacity <input type="range" min={0} max={1} step={0.05} value={opacity} onChange={(e) => setOpacity(Number(e.target.value))} /> <output>{Math.round(opacity * 100)} %</output>
        </label>
        <label className="check">
          <input type="checkbox" checked={grid} onChange={(e) => setGrid(e.target.checked)} /> patch grid
        </label>
        <ColorLegend scale={scale} label="normalised attribution" testId="figure5-legend" />
      </div>
      {err && <p className="problem">{err}</p>}
      <div className="figure5-scroll">
        <table className="figure5-grid" data-testid="figure5-grid">
          <thead>
            <tr>
              <th>row</th>
              {columns.map((c) => (
                <th key={c.id} data-method={c.id}>
                  {labelOf(c.id)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => {
              const pos = attribution!.rows.indexOf(r);
              const c = attribution!.target[pos];
              return (
                <tr key={r} data-row={r}>
                  <th scope="row">
                    {r}
                    <br />
                    <span className="hint">
                      label {info!.classNames[info!.labels[r]]}
                      <br />
                      explained {info!.classNames[c]}
                    </span>
                  </th>
                  {columns.map((col) => {
                    const v = col.values.subarray(i * n, (i + 1) * n);
                    const ins = scoreOf(col.id, 'INS', i);
                    const del = scoreOf(col.id, 'DEL', i);
                    return (
                      <td key={col.id} data-method={col.id}>
                        <ImageHeatmap x={rowPixels(info!.x, g, r)} geometry={g} values={v} scale={scale} opacity={opacity} grid={grid} size={96} testId={`fig5-${r}-${col.id}`}>
                          <span className="fig5-scores" data-testid="fig5-scores">
                            INS <span data-metric="INS">{ins === undefined ? '…' : fmtNum(ins, 3)}</span> · DEL <span data-metric="DEL">{del === undefined ? '…' : fmtNum(del, 3)}</span>
                          </span>
                        </ImageHeatmap>
                      </td>
                    );
                  })}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
