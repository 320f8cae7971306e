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
