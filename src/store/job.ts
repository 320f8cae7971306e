/**
 * The studio's job: a JSON description of a run (task, methods, metrics, supervision, training,
 * seed), downloadable and carried in the URL hash ("copy link").
 */
import type { BackendRequest } from '../core/backend';
import type { Params } from '../core/attribution/types';
import type { BaselineKind } from '../core/task/featureSpace';
import type { OutputMode } from '../core/task/model';
import type { TargetRule } from '../core/task/task';

import pkg from '../../package.json';

export const APP_VERSION: string = pkg.version;

export interface StudioJob {
  app: 'deepfaith-studio';
  version: string;
  task: { demo: string } | { files: { model: string; data: string; label?: string }; modelSha256?: string; dataSha256?: string };
  output: OutputMode;
  baseline: BaselineKind;
  target: TargetRule;
  rows: { start: number; count: number };
  methods: { id: string; params: Params }[];
  metrics: { id: string; params: Params }[];
  normalise: boolean;
  supervision: { delta: number; p: number };
  train: { epochs: number; batchSize: number; learningRate: number; lossMode: 'full' | 'pc-only' | 'lc-only'; nSubsets: number; dModel: number; nHeads: number; nLayers: number };
  seed: number;
  backend: BackendRequest;
}

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

export function jobToHash(job: StudioJob): string {
  return '#job=' + toBase64Url(JSON.stringify(job));
}

/** The job in a URL hash, or null when there is none; throws a readable Error when it is damaged. */
export function jobFromHash(hash: string): StudioJob | null {
  const m = /[#&]job=([A-Za-z0-9_-]+)/.exec(hash);
  if (!m) return null;
  let job: unknown;
  try {
    job = JSON.parse(fromBase64Url(m[1]));
  } catch {
    throw new Error('The link\'s job could not be read (it was cut or changed).');
  }
  if (!job || typeof job !== 'object' || (job as StudioJob).app !== 'deepfaith-studio') throw new Error('The link does not hold a DeepFaith Studio job.');
  return job as StudioJob;
}
