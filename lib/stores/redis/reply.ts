import { bucketState, windowState } from '../counter-state.js';
import type { CounterSpec, CounterState } from '../store.js';
import type { Batch } from './batch.js';
import { RedisStoreError } from './errors.js';

/**
 * What the scripts of one store call read, per counter (see script.ts for the reply): enough to
 * compute each counter's state once the call's outcome is known, and to remember a refusal.
 */
export interface Readings {
  /** A window's units used before the call (`-1 - used` when replayed); a bucket's arrival time. */
  readonly values: number[];
  /** The clock of the script that read the counter (each master of a cluster reads its own). */
  readonly clocks: number[];
  /** The later window a counter counts in when the clock stepped back, else `undefined`. */
  readonly later: Array<number | undefined>;
}

export function emptyReadings(count: number): Readings {
  return { values: new Array(count), clocks: new Array(count), later: new Array(count) };
}

/** Reads one script's reply into `readings`; returns whether it admitted, and its clock. */
export function readReply(
  reply: unknown,
  batch: Batch,
  readings: Readings,
  clock: number | undefined,
): { admitted: boolean; now: number } {
  const { order } = batch;
  const count = order.length;
  // admitted, now, one number per counter, then (position, start) pairs: see script.ts.
  if (!Array.isArray(reply) || reply.length < 2 + count || (reply.length - count) % 2 !== 0) throw badReply();
  // The clock the script read: the one sent, or Redis TIME (whole ms, an integer reply).
  const now = clock ?? replyNumber(reply[1]);
  for (let p = 0; p < count; p++) {
    const i = order[p]!;
    readings.values[i] = replyNumber(reply[2 + p]);
    readings.clocks[i] = now;
  }
  for (let at = 2 + count; at < reply.length; at += 2) {
    const i = order[replyNumber(reply[at]) - 1];
    if (i === undefined) throw badReply();
    readings.later[i] = replyNumber(reply[at + 1]);
  }
  return { admitted: replyNumber(reply[0]) === 1, now };
}

/**
 * Each counter's state from what was read: the arithmetic of the memory store (counter-state.ts)
 * on the numbers the script decided with, so that both stores agree to the bit. `charged`: the
 * call charged its counters (a consume that was admitted everywhere).
 */
export function statesOf(
  counters: readonly CounterSpec[],
  readings: Readings,
  charged: boolean,
): CounterState[] {
  const count = counters.length;
  const states: CounterState[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const counter = counters[i]!;
    const value = readings.values[i]!;
    const now = readings.clocks[i]!;
    if (counter.kind === 'bucket') {
      states[i] = bucketState(
        counter,
        { tat: value, charged: charged && counter.cost > 0, key: undefined },
        now,
      );
      continue;
    }
    const replayed = value < 0;
    const used = replayed ? -1 - value : value;
    // Windows the counter holds later than the clock's: the clock stepped back (see script.ts).
    const windowStart = readings.later[i] ?? now - (now % counter.windowMs);
    const reading = {
      used,
      windowStart,
      charged: charged && !replayed && counter.cost > 0,
      replayed,
      key: undefined,
    };
    states[i] = windowState(counter, reading, now);
  }
  return states;
}

export function badReply(): RedisStoreError {
  return new RedisStoreError('ERR_TOLLGATE_REDIS_REPLY', 'Redis answered the tollgate script unexpectedly');
}

/** A number of the script's reply, as either client library hands it over. */
export function replyNumber(value: unknown): number {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string'
        ? Number(value)
        : value instanceof Uint8Array
          ? Number(Buffer.from(value).toString())
          : Number.NaN;
  if (Number.isNaN(n)) throw badReply();
  return n;
}
