/**
 * Backend names, without tfjs: the studio's main thread imports these (the selector) and must not
 * pull tfjs into its bundle. src/core/backend.ts re-exports them and stays the module that
 * initialises backends.
 */
export const BACKENDS = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendRequest = (typeof BACKENDS)[number];
export type BackendName = Exclude<BackendRequest, 'auto'>;

export function isBackendRequest(s: string): s is BackendRequest {
  return (BACKENDS as readonly string[]).includes(s);
}

/** The stages that may run on different backends: `score` (the target model: priors, metric scoring, supervision, the report's table) and `train` (the explainer's training). */
export const STAGES = ['score', 'train'] as const;
export type Stage = (typeof STAGES)[number];
/** What was asked for each stage ('auto' or a backend name). */
export type StageRequests = Record<Stage, BackendRequest>;
/** The backend a stage runs on, and why, in a sentence for the user. */
export interface StageChoice {
  backend: BackendName;
  reason: string;
}
export type StageBackends = Record<Stage, StageChoice>;
