/**
 * The data behind the Report's Figure 5 grids (image and text): the samples (the job's test rows:
 * the last training's, else the explained rows of the job's split, else the explained rows), one
 * column per prior (its explanation as scored) and, once trained, the DeepFaith explainer (its
 * output normalised per row as the report scores it: `normaliseRow`), and each cell's INS and DEL
 * scored in the worker by the engine (`figureScores`), shown only when they belong to these scores,
 * rows and columns.
 */
import { useEffect, useMemo, useState } from 'react';
import { useStudio } from '../../store/hooks';
import { EXPLAINER_ID } from '../../store/store';
import type { FigureScoresResult } from '../../worker/protocol';

export interface FigureGrid {
  ready: boolean;
  /** Rows the grid may show, and those it shows (the first `count`). */
  pool: number[];
  rows: number[];
  count: number;
  setCount: (n: number) => void;
  /** One column per explanation: [rows, nFeatures] values as scored. */
  columns: { id: string; values: Float32Array }[];
  /** INS or DEL of a column for the i-th shown row (undefined until scored). */
  scoreOf: (id: string, metric: string, i: number) => number | undefined;
  error: string | null;
  labelOf: (id: string) => string;
}

export function useFigureGrid(kind: 'image' | 'text', normaliseRow: (values: Float32Array, row: number) => Float32Array, initialCount: number): FigureGrid {
  const info = useStudio((s) => s.info);
  const attribution = useStudio((s) => s.attribution);
  const evaluation = useStudio((s) => s.evaluation);
  const report = useStudio((s) => s.report);
  const explainer = useStudio((s) => s.explainer);
  const methods = useStudio((s) => s.methods);
  const figureScores = useStudio((s) => s.figureScores);
  const [count, setCount] = useState(initialCount);
  const [scores, setScores] = useState<FigureScoresResult | null>(null);
  const [error, setError] = useState<string | null>(null);

  const ready = !!(info?.[kind] && attribution && evaluation && attribution.rows.length === evaluation.rows.length);
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
      const v = pick(explainer.saliency);
      rows.forEach((r, i) => v.set(normaliseRow(v.subarray(i * n, (i + 1) * n), r), i * n));
      cols.push({ id: EXPLAINER_ID, values: v });
    }
    return cols;
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ready, evaluation, attribution, report, explainer, rows.join(','), n]);

  useEffect(() => {
    if (!ready || !columns.length) return;
    let live = true;
    setError(null);
    figureScores(rows, columns)
      .then((r) => live && setScores(r))
      .catch((e) => live && setError(String(e?.message ?? e)));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [columns]);

  // a score shown only when it belongs to these scores, rows and columns
  const fresh = ready && scores && scores.key === evaluation!.key && scores.rows.join(',') === rows.join(',') ? scores : null;
  const scoreOf = (id: string, metric: string, i: number) => {
    const c = fresh?.scores.find((s) => s.id === id);
    const m = fresh?.metricIds.indexOf(metric) ?? -1;
    return c && m >= 0 ? c.perSample[m][i] : undefined;
  };
  const labelOf = (id: string) => (id === EXPLAINER_ID ? 'DeepFaith explainer' : (methods.find((m) => m.id === id)?.label ?? id));
  const setCountClamped = (v: number) => setCount(Math.max(1, Math.min(24, pool.length, v)));
  return { ready, pool, rows, count, setCount: setCountClamped, columns, scoreOf, error, labelOf };
}
