import { APP_VERSION } from '../store/job';
import type { StudioState } from '../store/store';

/** Provenance carried by every download. */
export function provenance(s: Pick<StudioState, 'backend' | 'seed' | 'info' | 'source'>) {
  return {
    app: 'deepfaith-studio',
    appVersion: APP_VERSION,
    backend: s.backend?.chosen ?? 'unknown',
    seed: s.seed,
    task: s.info?.sourceLabel ?? null,
    modelSha256: s.info?.modelSha256 ?? null,
    dataSha256: s.info?.dataSha256 ?? null,
    createdAt: new Date().toISOString(),
  };
}
