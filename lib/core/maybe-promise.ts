/** A value, or a promise of it: what key, tier, cost, budget and `skip` functions and stores may return. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * Whether a value is to be awaited: a promise, or any thenable (a query builder, another
 * library's or another realm's promise), as `await` would treat it.
 */
export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Runs the next stage with `value`: at once when it is a plain value, once it settles when it
 * is a promise. A pipeline built of such stages stays synchronous until something answers with
 * a promise and resumes from that stage afterwards, so nothing runs twice (the idiom of
 * graphql-js `promiseReduce`).
 */
export function resume<S, T, R>(
  value: T | PromiseLike<T>,
  state: S,
  stage: (state: S, value: T) => MaybePromise<R>,
): MaybePromise<R> {
  if (isPromiseLike(value)) return Promise.resolve(value).then((settled) => stage(state, settled));
  return stage(state, value as T);
}
