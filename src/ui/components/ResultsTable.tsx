import type { TableRow } from '../../store/selectors';
import { METRIC_HELP } from '../teaching';
import { fmtNum } from './common';

/**
 * A ranked method × metric table (ranks, NaN rule and mean rank from the engine's core/ranking.ts,
 * through store selectors). `caption` says which rows the means are over.
 */
export function ResultsTable({ table, labelOf, caption, testId = 'results-table' }: { table: { metrics: { id: string; direction: 'higher' | 'lower' }[]; rows: TableRow[] }; labelOf: (id: string) => string; caption: string; testId?: string }) {
  const { metrics, rows } = table;
  const ranked = rows.filter((r) => !r.diagnostic);
  const bestRank = metrics.map((m) => Math.min(...ranked.map((r) => r.ranks[m.id])));
  const bestMean = Math.min(...ranked.map((r) => r.meanRank));
  const nanNotes = rows.flatMap((r) => metrics.filter((m) => r.nNaN[m.id] > 0).map((m) => `${labelOf(r.method)} ${m.id}: ${r.nNaN[m.id]}`));
  return (
    <div className="table-wrap">
      <table className="results" data-testid={testId}>
        <caption>
          {caption}; small number = rank for that metric (1 = best). Best per column highlighted.
          {nanNotes.length > 0 && <span data-testid="nan-note"> Rows without a value (left out of the mean, counted): {nanNotes.join('; ')}.</span>}
        </caption>
        <thead>
          <tr>
            <th scope="col">Method</th>
            {metrics.map((m) => (
              <th scope="col" key={m.id} className="metric-col" title={`${METRIC_HELP[m.id]?.title ?? m.id}: ${METRIC_HELP[m.id]?.better ?? ''}`}>
                {m.id} <span className="arrow">{m.direction === 'lower' ? '↓' : '↑'}</span>
              </th>
            ))}
            <th scope="col">Mean rank</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.method} data-method={r.method} className={r.isExplainer ? 'explainer-row' : r.diagnostic ? 'diagnostic-row' : undefined} title={r.diagnostic ? 'A diagnostic, not a method: never in Z, not ranked' : undefined}>
              <th scope="row">{r.label ?? labelOf(r.method)}</th>
              {metrics.map((m, j) => (
                <td key={m.id} className={!r.diagnostic && r.ranks[m.id] === bestRank[j] ? 'best' : undefined} data-metric={m.id}>
                  {fmtNum(r.scores[m.id])}
                  {r.nNaN[m.id] > 0 && <span className="nan-count" title={`${r.nNaN[m.id]} rows without a value`}>*</span>} {!r.diagnostic && <sub>{fmtNum(r.ranks[m.id], r.ranks[m.id] % 1 ? 1 : 0)}</sub>}
                </td>
              ))}
              <td className={!r.diagnostic && r.meanRank === bestMean ? 'best mean-rank' : 'mean-rank'}>{r.diagnostic ? '–' : fmtNum(r.meanRank, 2)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
