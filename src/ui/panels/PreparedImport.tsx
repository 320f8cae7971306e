/**
 * Open the priors' explanations and scores computed elsewhere — `deepfaith merge` of sharded
 * `deepfaith supervise --shard i/N` runs on a cluster (docs/scale.md) — as the job's Explain and
 * Evaluate results, so Supervise, Train and Report start from them.
 */
import { useStudio } from '../../store/hooks';

export function PreparedImport() {
  const importPrepared = useStudio((s) => s.importPrepared);
  const busy = useStudio((s) => s.busy);
  return (
    <p className="hint prepared-import">
      <label className="file-btn">
        Open merged results…
        <input
          type="file"
          accept=".json,application/json"
          disabled={!!busy}
          data-testid="import-prepared"
          onChange={async (e) => {
            const f = e.target.files?.[0];
            e.target.value = '';
            if (f) await importPrepared(await f.text(), f.name);
          }}
        />
      </label>{' '}
      the <code>prepared.json</code> of <code>deepfaith merge</code> (supervision sharded over many machines, docs/scale.md): its job, explanations and scores, ready for Supervise and Train.
    </p>
  );
}
