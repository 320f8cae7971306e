/**
 * Errors meant for a person: what went wrong and what to do about it.
 * Every loader and validator throws these; the CLI prints `message` and exits non-zero,
 * the studio shows them inline next to the input that caused them.
 */
export class UserError extends Error {
  readonly what: string;
  readonly todo: string;
  constructor(what: string, todo: string) {
    super(`${what} ${todo}`.trim());
    this.name = 'UserError';
    this.what = what;
    this.todo = todo;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof Error && (e as Error).name === 'UserError';
}

/** Cooperative cancellation: long loops call `signal?.throwIfAborted()` between batches. */
export class CancelledError extends Error {
  constructor() {
    super('Cancelled.');
    this.name = 'CancelledError';
  }
}

export function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}

/**
 * A backend running out of memory, as tfjs reports it: the wasm backend's "memory access out of
 * bounds" (its heap could not hold a kernel's tensors), an allocation that failed, or a GPU's
 * out-of-memory. Long stages turn it into a UserError that names the stage's size and what to lower.
 */
export function isOutOfMemory(e: unknown): boolean {
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return /memory access out of bounds|out of memory|Array buffer allocation failed|Failed to allocate|Cannot enlarge memory/i.test(msg);
}
