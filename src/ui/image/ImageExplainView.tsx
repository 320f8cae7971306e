/**
 * The Explain panel for image tasks: the chosen row's image with each method's map on top (and the
 * trained explainer's), with an opacity slider, raw or normalised values (each with its colour
 * legend), a patch-grid toggle, and the map per pixel for the methods that have one (gradient
 * methods: the engine's method on 1-pixel patches, computed in the worker on demand); below, every
 * explained row's image with one method's map, to pick a row.
 */
import { useEffect, useMemo, useState } from 'react';
import { useStudio } from '../../store/hooks';
import { EXPLAINER_ID } from '../../store/store';
import { ColorLegend, ImageHeatmap } from './ImageHeatmap';
import { mapScale, minMax, type ImageGeometry } from './heatmap';

export interface ViewOptions {
  opacity: number;
  grid: boolean;
  normalised: boolean;
  level: 'patch' | 'pixel';
}

/** The shared controls of the image views. */
export function HeatmapControls({ value, onChange, pixel = true }: { value: ViewOptions; onChange: (v: ViewOptions) => void; pixel?: boolean }) {
  return (
    <div className="toolbar heatmap-controls" data-testid="heatmap-controls">
      <label className="slider">
        Opacity <input type="range" min={0} max={1} step={0.05} value={value.opacity} onChange={(e) => onChange({ ...value, opacity: Number(e.target.value) })} data-testid="heatmap-opacity" /> <output>{Math.round(value.opacity * 100)} %</output>
      </label>
      <label>
        Values{' '}
        <select value={value.normalised ? 'normalised' : 'raw'} onChange={(e) => onChange({ ...value, normalised: e.target.value === 'normalised' })} data-testid="heatmap-values">
          <option value="raw">as the method gives them</option>
          <option value="normalised">min–max normalised (as scored)</option>
        </select>
      </label>
      {pixel && (
        <label>
          Map{' '}
          <select value={value.level} onChange={(e) => onChange({ ...value, level: e.target.value as 'patch' | 'pixel' })} data-testid="heatmap-level">
            <option value="patch">per patch (the features)</option>
            <option value="pixel">per pixel, where the method has one</option>
          </select>
        </label>
      )}
      <label className="check">
        <input type="checkbox" checked={value.grid} onChange={(e) => onChange({ ...value, grid: e.target.checked })} data-testid="heatmap-grid" /> patch grid
      </label>
    </div>
  );
}

/** One row's model-input values from the task info. */
export function rowPixels(x: Float32Array, g: ImageGeometry, row: number): Float32Array {
  const d = g.height * g.width * g.channels;
  return x.subarray(row * d, (row + 1) * d);
}

export function ImageExplainView() {
  const info = useStudio((s) => s.info)!;
  const attribution = useStudio((s) => s.attribution)!;
  const explainer = useStudio((s) => s.explainer);
  const methods = useStudio((s) => s.methods);
  const sample = useStudio((s) => s.sample);
  const setSample = useStudio((s) => s.setSample);
  const pixelMap = useStudio((s) => s.pixelMap);
  const g = info.image!;
  const n = info.nFeatures;
  const row = attribution.rows[sample];
  const [opts, setOpts] = useState<ViewOptions>({ opacity: 0.6, grid: true, normalised: false, level: 'patch' });
  const [pixels, setPixels] = useState<Record<string, { key: string; row: number; values: Float32Array } | { key: string; row: number; error: string }>>({});
  const [stripMethod, setStripMethod] = useState<string>('');
  const labelOf = (id: string) => (id === EXPLAINER_ID ? 'DeepFaith explainer' : (methods.find((m) => m.id === id)?.label ?? id));
  const hasPixels = (id: string) => !!methods.find((m) => m.id === id)?.needsGradients;

  const columns = useMemo(() => {
    const cols = attribution.explanations.map((e) => ({ id: e.methodId, raw: e.values.subarray(sample * n, (sample + 1) * n), normalised: e.normalised.subarray(sample * n, (sample + 1) * n) }));
    if (explainer?.saliency && explainer.saliency.length === attribution.rows.length * n) {
      const v = explainer.saliency.subarray(sample * n, (sample + 1) * n);
      cols.push({ id: EXPLAINER_ID, raw: v, normalised: minMax(v) });
    }
    return cols;
  }, [attribution, explainer, sample, n]);

  // pixel maps on demand, for this row and these explanations only (stale answers are dropped)
  useEffect(() => {
    if (opts.level !== 'pixel') return;
    let live = true;
    for (const c of columns) {
      if (!hasPixels(c.id)) continue;
      const have = pixels[c.id];
      if (have && have.key === attribution.key && have.row === row) continue;
      pixelMap(c.id, [row])
        .then((r) => live && r.key === attribution.key && setPixels((p) => ({ ...p, [c.id]: { key: r.key, row, values: r.values } })))
        .catch((e) => live && setPixels((p) => ({ ...p, [c.id]: { key: attribution.key, row, error: String(e?.message ?? e) } })));
    }
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [opts.level, row, attribution.key, columns]);

  const x = rowPixels(info.x, g, row);
  const stripId = stripMethod || columns[0]?.id || '';
  const strip = attribution.explanations.find((e) => e.methodId === stripId);
  return (
    <div className="image-explain" data-testid="image-explain">
      <HeatmapControls value={opts} onChange={setOpts} />
      <div className="heatmap-grid-view" data-testid="heatmaps">
        {columns.map((c) => {
          const px = opts.level === 'pixel' && hasPixels(c.id) ? pixels[c.id] : undefined;
          const pxOk = px && 'values' in px && px.key === attribution.key && px.row === row ? px.values : null;
          const values = pxOk ? (opts.normalised ? minMax(pxOk) : pxOk) : opts.normalised ? c.normalised : c.raw;
          const scale = mapScale(values, opts.normalised);
          const note =
            opts.level !== 'pixel' ? null
            : !hasPixels(c.id) ? 'patch map: this method scores whole patches'
            : pxOk ? 'per pixel'
            : px && 'error' in px ? `per pixel failed: ${px.error}`
            : 'computing the map per pixel…';
          return (
            <ImageHeatmap key={c.id} x={x} geometry={g} values={values} level={pxOk ? 'pixel' : 'patch'} scale={scale} opacity={opts.opacity} grid={opts.grid} title={labelOf(c.id)} testId={`heatmap-${c.id}`}>
              <ColorLegend scale={scale} label={opts.normalised ? 'normalised attribution' : 'attribution'} testId={`legend-${c.id}`} />
              {note && <span className="hint heatmap-note">{note}</span>}
            </ImageHeatmap>
          );
        })}
      </div>
      <h4>
        Every explained row with{' '}
        <select value={stripId} onChange={(e) => setStripMethod(e.target.value)} data-testid="strip-method">
          {attribution.explanations.map((e) => (
            <option key={e.methodId} value={e.methodId}>
              {labelOf(e.methodId)}
            </option>
          ))}
        </select>{' '}
        <span className="hint">(normalised; click a row to show it above)</span>
      </h4>
      <div className="heatmap-strip" data-testid="heatmap-strip">
        {strip &&
          attribution.rows.slice(0, 60).map((r, i) => {
            const v = strip.normalised.subarray(i * n, (i + 1) * n);
            return (
              <button key={r} type="button" className={i === sample ? 'thumb current' : 'thumb'} onClick={() => setSample(i)} aria-label={`row ${r}`} data-row={r}>
                <ImageHeatmap x={rowPixels(info.x, g, r)} geometry={g} values={v} scale={mapScale(v, true)} opacity={opts.opacity} size={56} title={`row ${r}`} />
              </button>
            );
          })}
        {attribution.rows.length > 60 && <span className="hint">… the first 60 of {attribution.rows.length} rows (pick others with the sample picker)</span>}
      </div>
    </div>
  );
}
