/**
 * The paper's Figure 5 for a text task, in the Report panel: for each sample (the job's test rows)
 * its sentence under every prior method and, once trained, the DeepFaith explainer — each
 * explanation min–max normalised over the sentence's tokens (as scored) — with that row's INS and
 * DEL beside it, scored in the worker by the engine (the priors' values are their stored scores).
 */
import { useStudio } from '../../store/hooks';
import { useFigureGrid } from '../components/figureGrid';
import { fmtNum } from '../components/common';
import { ColorLegend } from '../image/ImageHeatmap';
import { TokenSentence } from './TokenSentence';
import { rowTokens } from './TextExplainView';
import { normaliseTokens, tokenScale } from './tokens';

export function TextFigureGrid() {
  const info = useStudio((s) => s.info);
  const attribution = useStudio((s) => s.attribution);
  const report = useStudio((s) => s.report);
  // the explainer's output normalised over each sentence's tokens, as the report scores it
  const { ready, pool, rows, count, setCount, columns, scoreOf, error: err, labelOf } = useFigureGrid('text', (v, r) => normaliseTokens(v, info!.text!.lengths[r]), 3);
  if (!ready) return null;
  const n = info!.nFeatures;
  const legend = tokenScale([0, 1], 2, true);
  return (
    <section className="figure5 text-figure" data-testid="figure5">
      <h3>Explanations side by side (the paper’s Figure 5, for sentences)</h3>
      <p className="hint">
        For each sample ({report ? 'the job’s test rows' : 'the explained rows of the job’s test split'}) its sentence under every prior method{report ? ' and the trained explainer' : ' (the explainer joins once trained)'}, min–max normalised over the sentence’s tokens as it was scored, with that row’s insertion (INS ↑) and deletion (DEL ↓).
      </p>
      <div className="toolbar">
        <label>
          Samples <input type="number" min={1} max={Math.min(24, pool.length)} value={count} onChange={(e) => setCount(Number(e.target.value))} data-testid="figure5-count" />
        </label>
        <ColorLegend scale={legend} label="normalised attribution" testId="figure5-legend" />
      </div>
      {err && <p className="problem">{err}</p>}
      <table className="figure5-grid text-grid" data-testid="figure5-grid">
        <thead>
          <tr>
            <th>row</th>
            <th>method</th>
            <th>the sentence, each token’s attribution</th>
            <th>INS ↑</th>
            <th>DEL ↓</th>
          </tr>
        </thead>
        {rows.map((r, i) => {
          const pos = attribution!.rows.indexOf(r);
          const c = attribution!.target[pos];
          const { tokens, unknown } = rowTokens(info!, r);
          return (
            <tbody key={r} data-row={r}>
              {columns.map((col, k) => {
                const v = col.values.subarray(i * n, (i + 1) * n);
                const ins = scoreOf(col.id, 'INS', i);
                const del = scoreOf(col.id, 'DEL', i);
                return (
                  <tr key={col.id} data-row={r} data-method={col.id}>
                    {k === 0 && (
                      <th scope="rowgroup" rowSpan={columns.length}>
                        {r}
                        <br />
                        <span className="hint">
                          label {info!.classNames[info!.labels[r]]}
                          <br />
                          explained {info!.classNames[c]}
                        </span>
                      </th>
                    )}
                    <th scope="row" className="method" data-method={col.id}>
                      {labelOf(col.id)}
                    </th>
                    <td>
                      <TokenSentence tokens={tokens} values={v} scale={legend} unknown={unknown} valueName="normalised attribution" testId={`fig5-${r}-${col.id}`} className="compact" />
                    </td>
                    <td className="num" data-metric="INS">
                      {ins === undefined ? '…' : fmtNum(ins, 3)}
                    </td>
                    <td className="num" data-metric="DEL">
                      {del === undefined ? '…' : fmtNum(del, 3)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          );
        })}
      </table>
    </section>
  );
}
