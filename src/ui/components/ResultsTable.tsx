import { averageRanks } from '../../core/metrics/correlation';
import type { EvaluateResult, MetricMeta } from '../../worker/protocol';
import { METRIC_HELP } from '../teaching';
import { fmtNum } from './common';

export interface Ranked {
  methodId: string;
  means: number[];
  ranks: number[];
  meanRank: number;
}

/** Ranks per metric (1 = best, ties share the average rank; NaN ranks last) and the mean rank. */
export function rankTable(evaluation: EvaluateResult, metrics: MetricMeta[]): { metricIds: string[]; rows: Ranked[] } {
  const metricIds = evaluation.scores[0]?.metrics.map((m) => m.metricId) ?? [];
  const rows: Ranked[] = evaluation.scores.map((e) => ({ methodId: e.methodId, means: e.metrics.map((m) => m.mean), ranks: [], meanRank: 0 }));
  metricIds.forEach((id, j) => {
    const dir = metrics.find((m) => m.id === id)?.direction ?? 'higher';
    // the engine's average ranks (ties share the mean rank), as the job's rankTable ranks; NaN ranks last
    const rk = averageRanks(rows.map((r) => (Number.isFinite(r.means[j]) ? (dir === 'higher' ? -r.means[j] : r.means[j]) : Infinity)));
    rows.forEach((r, i) => (r.ranks[j] = rk[i]));
  });
  for (const r of rows) r.meanRank = r.ranks.reduce((a, b) => a + b, 0) / Math.max(1, r.ranks.length);
  return { metricIds, rows };
}

export function ResultsTable({ evaluation, metrics, labelOf }: { evaluation: EvaluateResult; metrics: MetricMeta[]; labelOf: (id: string) => string }) {
  const { metricIds, rows } = rankTable(evaluation, metrics);
  const bestRank = metricIds.map((_, j) => Math.min(...rows.map((r) => r.ranks[j])));
  const bestMean = Math.min(...rows.map((r) => r.meanRank));
  return (
    <div className="table-wrap">
      <table className="results" data-testid="results-table">
        <caption>
          Mean over {evaluation.rows.length} rows{evaluation.normalised ? ' (explanations min–max normalised to [0,1])' : ''}; small number = rank for that metric (1 = best). Best per column highlighted.
        </caption>
        <thead>
          <tr>
            <th scope="col">Method</th>
            {metricIds.map((id) => {
              const m = metrics.find((x) => x.id === id);
              return (
                <th scope="col" key={id} className="metric-col" title={`${METRIC_HELP[id]?.title ?? id}: ${METRIC_HELP[id]?.better ?? ''}`}>
                  {id} <span className="arrow">{m?.direction === 'lower' ? '↓' : '↑'}</span>
                </th>
              );
            })}
            <th scope="col">Mean rank</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.methodId} data-method={r.methodId} className={r.methodId === 'deepfaith-explainer' ? 'explainer-row' : undefined}>
              <th scope="row">{labelOf(r.methodId)}</th>
              {r.means.map((v, j) => (
                <td key={j} className={r.ranks[j] === bestRank[j] ? 'best' : undefined} data-metric={metricIds[j]}>
                  {fmtNum(v)} <sub>{fmtNum(r.ranks[j], r.ranks[j] % 1 ? 1 : 0)}</sub>
                </td>
              ))}
              <td className={r.meanRank === bestMean ? 'best mean-rank' : 'mean-rank'}>{fmtNum(r.meanRank, 2)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
