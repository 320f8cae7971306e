import type { Params } from '../../core/attribution/types';

/** Editable parameters, one input per default (number, checkbox or text by the default's type). */
export function ParamsEditor({ defaults, value, onChange, idPrefix }: { defaults: Params; value: Params; onChange: (p: Params) => void; idPrefix: string }) {
  const keys = Object.keys(defaults);
  if (!keys.length) return <span className="hint">no parameters</span>;
  return (
    <div className="params">
      {keys.map((k) => {
        const d = defaults[k];
        const v = value[k] ?? d;
        const id = `${idPrefix}-${k}`;
        return (
          <label key={k} htmlFor={id} className="param">
            <span>{k}</span>
            {typeof d === 'boolean' ? (
              <input id={id} type="checkbox" checked={Boolean(v)} onChange={(e) => onChange({ [k]: e.target.checked })} />
            ) : typeof d === 'number' ? (
              <input id={id} type="number" step="any" value={Number(v)} onChange={(e) => e.target.value !== '' && onChange({ [k]: Number(e.target.value) })} />
            ) : (
              <input id={id} type="text" value={String(v)} onChange={(e) => onChange({ [k]: e.target.value })} />
            )}
          </label>
        );
      })}
    </div>
  );
}
