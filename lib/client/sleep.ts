/**
 * Resolves after `ms`, or at once when `signal` aborts: the caller then checks the signal. Only
 * `setTimeout`, so it runs in browsers and every Node.
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Lets timers and I/O run: a loop whose injected sleep returns at once must not starve them. */
export function nextMacrotask(): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, 0));
}
