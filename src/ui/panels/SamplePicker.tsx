import { useStudio } from '../../store/hooks';

/** Which explained row the panels show; states the row's label and prediction. */
export function SamplePicker() {
  const attribution = useStudio((s) => s.attribution);
  const info = useStudio((s) => s.info);
  const sample = useStudio((s) => s.sample);
  const setSample = useStudio((s) => s.setSample);
  if (!attribution || !info) return null;
  const row = attribution.rows[sample];
  const c = attribution.target[sample];
  return (
    <label className="sample-pick">
      Sample{' '}
      <select value={sample} onChange={(e) => setSample(Number(e.target.value))} data-testid="sample-pick">
        {attribution.rows.map((r, i) => (
          <option key={r} value={i}>
            row {r}
          </option>
        ))}
      </select>{' '}
      <span className="hint">
        label {info.classNames[info.labels[row]]}, predicted {info.classNames[c]} (p = {info.proba[row * info.nClasses + c]?.toFixed(3)})
      </span>
    </label>
  );
}
