/** A value, or a promise of it: what key, tier, cost, budget and `skip` functions and stores may return. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Whether a value is to be awaited: a promise, or any thenable (a query builder, another
 * library's or another realm's promise), as `await` would treat it. Plain values, which the
 * synchronous path sees, fail the first test.
 */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}
