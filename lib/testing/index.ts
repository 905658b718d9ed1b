import { parseDuration } from '../core/duration.js';
import type { Store } from '../stores/store.js';

/**
 * `tollgate/testing`: a clock a test moves by hand, and a way to clear a store between tests.
 * See docs/testing.md.
 */

export interface TestClock {
  /** The clock's time, ms since epoch: give it as `now` to the limiter and to the store. */
  readonly now: () => number;
  /** Moves the clock on by ms or a duration (`'1m'`, `'61s'`) and returns the new time. */
  advance(by: number | string): number;
  /** Sets the clock to a moment: ms since epoch, a `Date`, or an ISO-8601 string. */
  set(to: number | Date | string): void;
}

/**
 * A clock that moves only when told to. Give `clock.now` to `createTollgate({ now })` (whose
 * default memory store then takes it too) or to a limiter and its store, including
 * `new RedisStore({ client, now: clock.now })`, so that one call moves every window.
 * Starts at `start` (default `2025-01-01T00:00:00Z`, a round minute, hour and UTC day).
 * @example
 * const clock = createTestClock();
 * const tollgate = createTollgate({ now: clock.now });
 * clock.advance('1m');
 */
export function createTestClock(start: number | Date | string = Date.UTC(2025, 0, 1)): TestClock {
  let current = momentOf(start);
  return {
    now: () => current,
    advance(by) {
      const ms = typeof by === 'number' ? by : parseDuration(by);
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance: ${String(by)} is not a duration`);
      current += ms;
      return current;
    },
    set(to) {
      current = momentOf(to);
    },
  };
}

function momentOf(moment: number | Date | string): number {
  const ms = typeof moment === 'number' ? moment : new Date(moment).getTime();
  if (!Number.isFinite(ms)) throw new RangeError(`${String(moment)} is not a moment`);
  return ms;
}

/** A Redis client as `clearStore` uses it: ioredis (`call`) or node-redis (`sendCommand`). */
export type RedisCommandClient =
  | { call(command: string, ...args: string[]): Promise<unknown> }
  | { sendCommand(args: string[]): Promise<unknown> };

/**
 * Forgets every counter a store holds, e.g. in `beforeEach`: a `MemoryStore` at once; a
 * `RedisStore` by deleting the keys under its prefix (`SCAN` and `UNLINK`), for which give the
 * client it uses. Other stores need a `clear()` method.
 * @example
 * beforeEach(() => clearStore(tollgate.store));
 */
export async function clearStore(store: Store, options: { client?: RedisCommandClient } = {}): Promise<void> {
  const clearable = store as Store & {
    clear?: () => unknown;
    keyPrefix?: unknown;
    refusals?: { clear(): void };
  };
  if (typeof clearable.clear === 'function') {
    await clearable.clear();
    return;
  }
  if (typeof clearable.keyPrefix === 'string' && options.client !== undefined) {
    await deleteUnder(options.client, clearable.keyPrefix);
    // Refusals this process remembers would outlive the counters they were read from.
    clearable.refusals?.clear();
    return;
  }
  throw new TypeError(
    'clearStore: this store has no clear() method; for a RedisStore pass its client: clearStore(store, { client })',
  );
}

async function deleteUnder(client: RedisCommandClient, prefix: string): Promise<void> {
  const send = (args: string[]) =>
    'call' in client ? client.call(args[0]!, ...args.slice(1)) : client.sendCommand(args);
  // Glob characters in the prefix are matched as themselves.
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let cursor = '0';
  do {
    const reply = (await send(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'])) as [unknown, unknown[]];
    cursor = String(reply[0]);
    const keys = reply[1].map(String);
    if (keys.length > 0) await send(['UNLINK', ...keys]);
  } while (cursor !== '0');
}
