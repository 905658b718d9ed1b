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
 * The answers a computation got from its calls (the application's functions, which may answer
 * with a promise, and its reads of its input), so that it can stop at a promise and be run
 * again from the start once the promise settles: each call it made before is answered from
 * here, in order, instead of being made again. A computation that meets no promise runs once,
 * as a plain function.
 *
 * What a run asks, and everything it does besides asking, may depend only on the answers it
 * got before: it reads its input through `ask` too, and reads no clock, counter or store
 * before its last call. Then each run repeats the one before up to where that one stopped,
 * asking the same calls in the same order, even when a call changed the input meanwhile.
 */
export class Replay {
  private readonly answers: unknown[] = [];
  /** Per answer, whether it is a rejection, to be thrown where the call was made. */
  private readonly rejected: boolean[] = [];
  private next = 0;
  private pending: PromiseLike<unknown> | undefined = undefined;

  /** The answer to the next call: recorded, or got from `call(arg)` and recorded. */
  ask<A, T>(call: (arg: A) => T, arg: A): T {
    if (this.next < this.answers.length) {
      const at = this.next++;
      if (this.rejected[at]) throw this.answers[at];
      return this.answers[at] as T;
    }
    const answer = call(arg);
    // A promise is recorded once it settles (`settle`); the caller stops at it.
    if (!isPromiseLike(answer)) {
      this.answers.push(answer);
      this.rejected.push(false);
      this.next++;
    }
    return answer;
  }

  /** Marks the computation as stopped at `pending`; return it from the run. */
  stopAt(pending: PromiseLike<unknown>): this {
    this.pending = pending;
    return this;
  }

  /** Waits for the promise the run stopped at, records how it settled, and rewinds. */
  async settle(): Promise<void> {
    try {
      this.answers.push(await this.pending);
      this.rejected.push(false);
    } catch (error) {
      this.answers.push(error);
      this.rejected.push(true);
    }
    this.pending = undefined;
    this.next = 0;
  }
}

/** Runs `run` again, after each promise it stops at settles, until it answers. */
export async function replayed<T>(
  replay: Replay,
  run: (replay: Replay) => T | Promise<T> | Replay,
): Promise<T> {
  for (;;) {
    await replay.settle();
    const outcome = run(replay);
    if (!(outcome instanceof Replay)) return outcome;
  }
}
