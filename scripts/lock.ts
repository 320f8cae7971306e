/**
 * An inter-process lock around a read-modify-write of a results file (proper-lockfile: a
 * `<file>.lock` folder, refreshed while held, taken over once stale). Several `scripts/results.ts`
 * processes (e.g. `--options` runs of one task with different seeds) read the kept results, add
 * theirs and write the file back; without the lock one write could drop what another process wrote
 * between its read and its write. The critical sections are synchronous and short, so the wait is
 * synchronous too.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Run `fn` while holding the lock of `file` (which need not exist yet), waiting up to `waitMs` for
 * another process to release it. A lock left by a process that died is taken over after `staleMs`.
 */
export function withLock<T>(file: string, fn: () => T, { waitMs = 120_000, staleMs = 30_000 } = {}): T {
  mkdirSync(dirname(file), { recursive: true }); // the lock folder sits beside the file
  const t0 = Date.now();
  let release: (() => void) | undefined;
  for (;;) {
    try {
      release = lockfile.lockSync(file, { realpath: false, stale: staleMs });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
      if (Date.now() - t0 > waitMs) throw new Error(`${file} stayed locked for ${Math.round(waitMs / 1000)} s by another process (${file}.lock); if none is running, delete ${file}.lock.`);
      sleep(50);
    }
  }
  try {
    return fn();
  } finally {
    release();
  }
}
