import { validateOptions } from '../../options/validation.js';
import { bucketState, windowState } from '../counter-state.js';
import type { ConsumeResult, CounterSpec, CounterState, RefundSpec, Store } from '../store.js';
import {
  type IoRedisLike,
  type NodeRedisLike,
  type RedisClientLike,
  type ScriptRunner,
  scriptRunner,
} from './clients.js';
import { Deadlines } from './deadlines.js';
import { RedisStoreError, type RedisStoreErrorCode } from './errors.js';
import { type RedisStoreOptions, redisStoreOptionsSchema } from './options.js';
import { callScript } from './script-call.js';

export type { IoRedisLike, NodeRedisLike, RedisClientLike, RedisStoreErrorCode };
export { RedisStoreError, type RedisStoreOptions, redisStoreOptionsSchema };

/**
 * A store that keeps counters in Redis (standalone or Cluster). Every `consume` checks and
 * charges all its counters in one `EVALSHA` of one Lua script, atomically, on Redis's clock.
 * @example
 * import Redis from 'ioredis';
 * import { RedisStore } from 'tollgate/redis';
 * const client = new Redis({ enableOfflineQueue: false, maxRetriesPerRequest: 0 });
 * const store = new RedisStore({ client, timeoutMs: 100 });
 * app.use(rateLimit({ store, onStoreError: 'open', scopes: [scope.ip({ limits: [{ max: 100, window: '1m' }] })] }));
 */
export class RedisStore implements Store {
  readonly timeoutMs: number;
  /** `<prefix>{<hashTag>}:`, the start of every key. */
  readonly keyPrefix: string;
  private readonly runner: ScriptRunner;
  private readonly now: (() => number) | undefined;
  private readonly deadlines: Deadlines;

  constructor(options: RedisStoreOptions) {
    validateOptions(redisStoreOptionsSchema, options, 'RedisStore options');
    this.runner = scriptRunner(options.client);
    this.timeoutMs = options.timeoutMs ?? 100;
    this.deadlines = new Deadlines(this.timeoutMs);
    this.keyPrefix = `${options.prefix ?? ''}{${options.hashTag ?? 'tg'}}:`;
    this.now = options.now;
  }

  /** The Redis key a counter is kept under. */
  keyOf(counter: Pick<CounterSpec, 'key'>): string {
    return this.keyPrefix + counter.key;
  }

  // Not `async`: an async function would wrap `evaluate`'s promise in one more, and answer later.
  consume(counters: readonly CounterSpec[]): Promise<ConsumeResult> {
    return this.evaluate('c', counters);
  }

  peek(counters: readonly CounterSpec[]): Promise<ConsumeResult> {
    return this.evaluate('p', counters);
  }

  async refund(refunds: readonly RefundSpec[]): Promise<void> {
    if (refunds.length === 0) return;
    await this.run('r', refunds);
  }

  /**
   * Adds each counter's cost to the window it names, without checking its limit (settling
   * work already done). A charge aimed at an ended window does nothing.
   */
  async charge(charges: readonly RefundSpec[]): Promise<void> {
    if (charges.length === 0) return;
    await this.run('a', charges);
  }

  async reset(counters: readonly CounterSpec[]): Promise<void> {
    if (counters.length === 0) return;
    await this.run('x', counters);
  }

  /** Consume (`c`) and peek (`p`): one script call, and the counters' states from its reply. */
  private async evaluate(op: 'c' | 'p', counters: readonly CounterSpec[]): Promise<ConsumeResult> {
    const clock = this.now?.();
    const reply = await this.run(op, counters, clock);
    const count = counters.length;
    // admitted, now, one number per counter, then (index, start) pairs: see script.ts.
    if (!Array.isArray(reply) || reply.length < 2 + count || (reply.length - count) % 2 !== 0)
      throw badReply();
    // The clock the script read: the one sent, or Redis TIME (whole ms, an integer reply).
    const now = clock ?? replyNumber(reply[1]);
    const admitted = replyNumber(reply[0]) === 1;
    const admittedCharge = admitted && op === 'c';
    const states: CounterState[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const counter = counters[i]!;
      const value = replyNumber(reply[2 + i]);
      // The arithmetic of the memory store (counter-state.ts), on the numbers the script
      // decided with, so that both stores agree to the bit.
      if (counter.kind === 'window') {
        const replayed = value < 0;
        const used = replayed ? -1 - value : value;
        const charged = admittedCharge && !replayed && counter.cost > 0;
        const windowStart = now - (now % counter.windowMs);
        states[i] = windowState(counter, { used, windowStart, charged, replayed, key: undefined }, now);
      } else {
        const charged = admittedCharge && counter.cost > 0;
        states[i] = bucketState(counter, { tat: value, charged, key: undefined }, now);
      }
    }
    // Windows the key holds later than the clock's: the clock stepped back (see script.ts).
    for (let at = 2 + count; at < reply.length; at += 2) {
      const i = replyNumber(reply[at]) - 1;
      const counter = counters[i];
      const state = states[i];
      if (counter?.kind !== 'window' || state === undefined) throw badReply();
      const windowStart = replyNumber(reply[at + 1]);
      const resetAt = windowStart + counter.windowMs;
      states[i] = { ...state, resetAt, retryAt: state.allowed ? now : resetAt, windowStart };
    }
    return { admitted, now, counters: states };
  }

  private run(
    op: string,
    counters: readonly (CounterSpec | RefundSpec)[],
    clock = this.now?.(),
  ): Promise<unknown> {
    const count = counters.length;
    const time = clock === undefined ? '' : String(clock);
    const first = counters[0] as (CounterSpec & { idempotencyKey?: string }) | undefined;
    // One window counter without an idempotency key, the commonest check, takes the script's
    // short path: ops `C` and `P`, its numbers as three arguments (see script.ts).
    if (
      count === 1 &&
      (op === 'c' || op === 'p') &&
      first!.kind === 'window' &&
      first!.idempotencyKey === undefined
    ) {
      const args = [
        op === 'c' ? 'C' : 'P',
        String(first!.windowMs),
        String(first!.limit),
        String(first!.cost),
      ];
      if (clock !== undefined) args.push(time);
      return this.send([this.keyPrefix + first!.key], args);
    }
    const keys: string[] = new Array(count);
    const args: string[] = [op, time];
    const aimed = op === 'r' || op === 'a';
    for (let i = 0; i < count; i++) {
      // Read loosely: refunds carry `windowStart`, and window counters may carry an
      // `idempotencyKey`, which the core hashes before it gets here.
      const counter = counters[i] as (CounterSpec | RefundSpec) & {
        windowStart?: number;
        idempotencyKey?: string;
      };
      keys[i] = this.keyPrefix + counter.key;
      // One argument per counter, '<kind><a>:<b>:<cost>' (see script.ts). A number in a
      // template is written as String() writes it, the shortest text that reads back as the
      // same double, which Lua's tonumber (strtod) does: a fractional intervalMs arrives unrounded.
      if (counter.kind === 'window') {
        const idempotencyKey = counter.idempotencyKey;
        args.push(
          `${idempotencyKey === undefined ? 'w' : 'i'}${counter.windowMs}:${counter.limit}:${counter.cost}`,
        );
        if (aimed) args.push(String(counter.windowStart));
        if (idempotencyKey !== undefined) args.push(idempotencyKey);
      } else {
        args.push(`b${counter.capacity}:${counter.intervalMs}:${counter.cost}`);
      }
    }
    return this.send(keys, args);
  }

  private send(keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return callScript(this.runner, this.deadlines, keys, args);
  }
}

/**
 * Builds a `RedisStore`.
 * @example
 * import { createClient } from 'redis';
 * import { createRedisStore } from 'tollgate/redis';
 * const client = await createClient({ disableOfflineQueue: true }).connect();
 * const store = createRedisStore({ client });
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  return new RedisStore(options);
}

function badReply(): RedisStoreError {
  return new RedisStoreError('ERR_TOLLGATE_REDIS_REPLY', 'Redis answered the tollgate script unexpectedly');
}

function replyNumber(value: unknown): number {
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
