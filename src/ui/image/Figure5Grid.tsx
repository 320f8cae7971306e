/**
 * The paper's Figure 5 for an image task, in the Report panel: rows are samples (the job's test
 * rows), columns are the prior methods and, once trained, the DeepFaith explainer; each cell is
 * that explanation (min–max normalised, as scored) over the image, with its INS and DEL for that
 * row under it — scored in the worker by the engine (the priors' values are their stored scores).
 */
import { useState } from 'react';
import { useStudio } from '../../store/hooks';
import { useFigureGrid } from '../components/figureGrid';
import { fmtNum } from '../components/common';
import { ColorLegend, ImageHeatmap } from './ImageHeatmap';
import { rowPixels } from './ImageExplainView';
import { mapScale, minMax } from './heatmap';

export function Figure5Grid() {
  const info = useStudio((s) => s.info);
  const attribution = useStudio((s) => s.attribution);
  const report = useStudio((s) => s.report);
  const [opacity, setOpacity] = useState(0.6);
  const [grid, setGrid] = useState(false);
  // the explainer's raw output, min–max normalised per row as the report scores it
  const { ready, pool, rows, count, setCount, columns, scoreOf, error: err, labelOf } = useFigureGrid('image', (v) => minMax(v), 4);
  if (!ready) return null;
  const g = info!.image!;
  const n = info!.nFeatures;
  const scale = mapScale([0, 1], true);
  return (
    <section className="figure5" data-testid="figure5">
      <h3>Explanations side by side (the paper’s Figure 5)</h3>
      <p className="hint">
        Rows are samples ({report ? 'the job’s test rows' : 'the explained rows of the job’s test split'}), columns the prior methods{report ? ' and the trained explainer' : ' (the explainer joins once trained)'}; every map is min–max normalised as it was scored, with that row’s insertion (INS ↑) and deletion (DEL ↓) under it.
      </p>
      <div className="toolbar">
        <label>
          Samples <input type="number" min={1} max={Math.min(24, pool.length)} value={count} onChange={(e) => setCount(Number(e.target.value))} data-testid="figure5-count" />
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
