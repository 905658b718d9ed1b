import type { JsonSchema } from '../../options/validation.js';
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
import { Deadlines, type Waiting } from './deadlines.js';
import { STORE_SCRIPT, STORE_SCRIPT_SHA } from './script.js';

export type { IoRedisLike, NodeRedisLike, RedisClientLike };

export interface RedisStoreOptions {
  /**
   * A connected client: ioredis `new Redis()` or `new Cluster()`, or node-redis (v4+)
   * `createClient()` or `createCluster()`. The store never quits it. Configure it not to
   * queue commands while disconnected (see docs/redis.md): ioredis
   * `{ enableOfflineQueue: false, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false }`,
   * node-redis `{ disableOfflineQueue: true }`.
   */
  client: RedisClientLike;
  /** Prepended to every key, e.g. `'myapp:'`. No braces. Defaults to `''`. */
  prefix?: string;
  /**
   * The Redis Cluster hash tag every key carries, braces left out. All counters of one call
   * must live on one slot, so it is one constant tag: give limiters that never share a
   * request different tags to spread them over several slots. Defaults to `'tg'`.
   */
  hashTag?: string;
  /**
   * How long a call may take before it rejects with `ERR_TOLLGATE_REDIS_TIMEOUT`, so that
   * the limiter applies its `onStoreError` policy instead of hanging. Defaults to `100` ms.
   */
  timeoutMs?: number;
  /**
   * Tests only: the clock, ms since epoch, sent with each call in place of Redis `TIME`.
   * Defaults to Redis `TIME`, so that every instance shares one clock.
   */
  now?: () => number;
}

export const redisStoreOptionsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['client'],
  properties: {
    client: {
      anyOf: [
        { methods: ['evalsha', 'eval', 'defineCommand'] },
        { methods: ['evalSha', 'eval', 'sendCommand'] },
      ],
      expected: 'an ioredis Redis or Cluster, or a node-redis (v4+) client or cluster',
    },
    prefix: {
      type: 'string',
      pattern: '^[^{}\\s]{0,64}$',
      expected: 'a key prefix of at most 64 characters without braces or spaces',
    },
    hashTag: {
      type: 'string',
      pattern: '^[A-Za-z0-9_.:-]{1,32}$',
      expected: 'a hash tag of 1 to 32 letters, digits, "_", ".", ":" or "-" (no braces)',
    },
    timeoutMs: {
      type: 'integer',
      minimum: 1,
      maximum: 2_147_483_647,
      expected: 'a positive integer of ms',
    },
    now: { typeofFunction: true, expected: 'a function returning ms since epoch' },
  },
};

export type RedisStoreErrorCode =
  /** No reply within `timeoutMs`. The script may still run later; it is never sent again. */
  | 'ERR_TOLLGATE_REDIS_TIMEOUT'
  /** The client is not connected, so the call was not sent (it would only wait in a queue). */
  | 'ERR_TOLLGATE_REDIS_UNAVAILABLE'
  /** The client or Redis answered with an error; `cause` holds it. */
  | 'ERR_TOLLGATE_REDIS_FAILED'
  /** Redis answered something the script never returns: another script under the same SHA? */
  | 'ERR_TOLLGATE_REDIS_REPLY';

/** Why a Redis store call rejected. The limiter answers it with its `onStoreError` policy. */
export class RedisStoreError extends Error {
  readonly code: RedisStoreErrorCode;

  constructor(code: RedisStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedisStoreError';
    this.code = code;
  }
}

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

  // Not `async`: returning `decide`'s promise from an async function would wrap it in one more,
  // which costs a check two more microtask turns.
  consume(counters: readonly CounterSpec[]): Promise<ConsumeResult> {
    return this.decide('c', counters);
  }

  peek(counters: readonly CounterSpec[]): Promise<ConsumeResult> {
    return this.decide('p', counters);
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

  private async decide(op: 'c' | 'p', counters: readonly CounterSpec[]): Promise<ConsumeResult> {
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
        states[i] = windowState(
          counter,
          used,
          now - (now % counter.windowMs),
          charged,
          replayed,
          now,
          undefined,
        );
      } else {
        states[i] = bucketState(counter, value, admittedCharge && counter.cost > 0, now, undefined);
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
    const runner = this.runner;
    const why = runner.unavailable();
    // Sending now would park the call in the client's offline queue, to be replayed (and
    // charged) long after the limiter has answered the request without it.
    if (why !== undefined)
      return Promise.reject(
        new RedisStoreError('ERR_TOLLGATE_REDIS_UNAVAILABLE', `Redis is unavailable: ${why}`),
      );
    return new Promise((resolve, reject) => {
      const call = new ScriptCall(runner, keys, args, resolve, reject, this.deadlines);
      this.deadlines.add(call);
      call.send();
    });
  }
}

/**
 * One script call in flight: answered, failed, or timed out by the store's `Deadlines`,
 * whichever comes first; what comes after is ignored.
 */
class ScriptCall implements Waiting {
  deadline = 0;
  settled = false;
  private retried = false;

  constructor(
    private readonly runner: ScriptRunner,
    private readonly keys: readonly string[],
    private readonly args: readonly string[],
    private readonly resolve: (reply: unknown) => void,
    private readonly reject: (error: RedisStoreError) => void,
    private readonly deadlines: Deadlines,
  ) {}

  send(): void {
    try {
      this.runner.evalSha(STORE_SCRIPT_SHA, this.keys, this.args).then(this.answered, this.failed);
    } catch (error) {
      this.failed(error);
    }
  }

  timeOut(): void {
    this.reject(
      new RedisStoreError(
        'ERR_TOLLGATE_REDIS_TIMEOUT',
        `Redis did not answer within ${this.deadlines.timeoutMs} ms`,
      ),
    );
  }

  private readonly answered = (reply: unknown): void => {
    if (this.settled) return;
    this.settled = true;
    this.deadlines.release();
    this.resolve(reply);
  };

  private readonly failed = (error: unknown): void => {
    if (this.settled) return;
    // NOSCRIPT means the script did not run, so sending it whole cannot count twice. EVAL rather
    // than SCRIPT LOAD + EVALSHA: it is routed by key, so in a cluster it reaches (and caches the
    // script on) the node that refused. Any other error, and a timeout, may follow a run: those
    // are never retried.
    if (!this.retried && isNoScript(error)) {
      this.retried = true;
      try {
        this.runner.eval(STORE_SCRIPT, this.keys, this.args).then(this.answered, this.failed);
      } catch (thrown) {
        this.failed(thrown);
      }
      return;
    }
    this.settled = true;
    this.deadlines.release();
    this.reject(
      error instanceof RedisStoreError
        ? error
        : new RedisStoreError('ERR_TOLLGATE_REDIS_FAILED', `Redis call failed: ${messageOf(error)}`, {
            cause: error,
          }),
    );
  };
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

function isNoScript(error: unknown): boolean {
  return messageOf(error).startsWith('NOSCRIPT');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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
