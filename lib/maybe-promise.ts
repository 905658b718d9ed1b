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

/**
 * Runs a generator that yields promises to its end: synchronously while it yields nothing,
 * then awaiting each promise it yields and passing back its value (or throwing its error in).
 */
export function runToEnd<T>(steps: Generator<PromiseLike<unknown>, T, unknown>): MaybePromise<T> {
  const first = steps.next();
  return first.done === true ? first.value : resume(steps, first.value);
}

async function resume<T>(
  steps: Generator<PromiseLike<unknown>, T, unknown>,
  pending: PromiseLike<unknown>,
): Promise<T> {
  for (;;) {
    let value: unknown;
    let rejected = false;
    try {
      value = await pending;
    } catch (error) {
      rejected = true;
      value = error;
    }
    // A rejection is thrown in where the generator yielded, as an `await` there would throw it.
    const step = rejected ? steps.throw(value) : steps.next(value);
    if (step.done === true) return step.value;
    pending = step.value;
  }
}
