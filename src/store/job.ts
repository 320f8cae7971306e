/**
 * The studio's job is the engine's job (src/core/job.ts `JobInput`): what "Download job JSON" writes
 * and "Copy link" puts in the URL hash is a file `deepfaith run` accepts as is. Studio-only choices
 * that are not part of a job (the backend) travel next to it in the hash.
 */
import type { BackendRequest } from '../core/backendNames';
import type { JobInput } from '../core/job';

import pkg from '../../package.json';

export const APP_VERSION: string = pkg.version;

function toBase64Url(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(s: string): string {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4);
  const bin = atob(b64);
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

export function jobToHash(job: JobInput, backend?: BackendRequest): string {
  return '#job=' + toBase64Url(JSON.stringify(job)) + (backend ? `&backend=${backend}` : '');
}

/** The job in a URL hash, or null when there is none; throws a readable Error when it is damaged. */
export function jobFromHash(hash: string): { job: JobInput; backend?: BackendRequest } | null {
  const m = /[#&]job=([A-Za-z0-9_-]+)/.exec(hash);
  if (!m) return null;
  let job: unknown;
  try {
    job = JSON.parse(fromBase64Url(m[1]));
  } catch {
    throw new Error('The link\'s job could not be read (it was cut or changed).');
  }
  if (!job || typeof job !== 'object' || Array.isArray(job) || !('task' in job)) throw new Error('The link does not hold a DeepFaith job.');
  const b = /[#&]backend=([a-z]+)/.exec(hash)?.[1] as BackendRequest | undefined;
  return { job: job as JobInput, backend: b };
}
