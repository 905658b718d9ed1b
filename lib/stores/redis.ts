import type { JsonSchema } from '../config-validation.js';
import { validateOptions } from '../config-validation.js';
import type { ConsumeResult, CounterSpec, CounterState, RefundSpec, Store } from '../store.js';
import {
  type IoRedisLike,
  type NodeRedisLike,
  type RedisClientLike,
  type ScriptRunner,
  scriptRunner,
} from './redis/clients.js';
import { ARGS_PER_COUNTER, REPLY_FIELDS, STORE_SCRIPT, STORE_SCRIPT_SHA } from './redis/script.js';

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
 * How long a window key outlives its window. The script alone decides which window a key
 * counts for, so this only covers a promoted replica whose clock runs a little behind: it
 * still finds the count instead of an expired key and a fresh window.
 */
const WINDOW_MARGIN_MS = 1_000;
const MARGIN_ARG = String(WINDOW_MARGIN_MS);

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

  constructor(options: RedisStoreOptions) {
    validateOptions(redisStoreOptionsSchema, options, 'RedisStore options');
    this.runner = scriptRunner(options.client);
    this.timeoutMs = options.timeoutMs ?? 100;
    this.keyPrefix = `${options.prefix ?? ''}{${options.hashTag ?? 'tg'}}:`;
    this.now = options.now;
  }

  /** The Redis key a counter is kept under. */
  keyOf(counter: Pick<CounterSpec, 'key'>): string {
    return this.keyPrefix + counter.key;
  }

  async consume(counters: readonly CounterSpec[]): Promise<ConsumeResult> {
    return this.decide('c', counters);
  }

  async peek(counters: readonly CounterSpec[]): Promise<ConsumeResult> {
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
    const reply = await this.run(op, counters);
    if (!Array.isArray(reply) || reply.length !== 2 + counters.length * REPLY_FIELDS) throw badReply();
    const states: CounterState[] = new Array(counters.length);
    for (let i = 0; i < counters.length; i++) {
      const at = 2 + i * REPLY_FIELDS;
      const replayed = replyNumber(reply[at + 5]) === 1;
      states[i] = {
        allowed: replyNumber(reply[at]) === 1,
        remaining: replyNumber(reply[at + 1]),
        resetAt: replyNumber(reply[at + 2]),
        retryAt: replyNumber(reply[at + 3]),
        windowStart: counters[i]!.kind === 'window' ? replyNumber(reply[at + 4]) : undefined,
        // One shape for every state, as the memory store gives: `undefined` rather than absent.
        replayed: replayed ? true : undefined,
        key: undefined,
      };
    }
    return { admitted: replyNumber(reply[0]) === 1, now: replyNumber(reply[1]), counters: states };
  }

  private run(op: string, counters: readonly (CounterSpec | RefundSpec)[]): Promise<unknown> {
    const keys: string[] = new Array(counters.length);
    const args: string[] = new Array(3 + counters.length * ARGS_PER_COUNTER);
    args[0] = op;
    args[1] = this.now === undefined ? '' : String(this.now());
    args[2] = MARGIN_ARG;
    for (let i = 0; i < counters.length; i++) {
      // Read loosely: refunds carry `windowStart`, and window counters may carry an
      // `idempotencyKey`, which the core hashes before it gets here.
      const counter = counters[i] as (CounterSpec | RefundSpec) & {
        windowStart?: number;
        idempotencyKey?: string;
      };
      const at = 3 + i * ARGS_PER_COUNTER;
      keys[i] = this.keyPrefix + counter.key;
      // String() writes the shortest text that reads back as the same double, which Lua's
      // tonumber (strtod) does: a fractional intervalMs reaches the script unrounded.
      if (counter.kind === 'window') {
        args[at] = 'w';
        args[at + 1] = String(counter.windowMs);
        args[at + 2] = String(counter.limit);
        args[at + 5] = counter.idempotencyKey ?? '';
      } else {
        args[at] = 'b';
        args[at + 1] = String(counter.capacity);
        args[at + 2] = String(counter.intervalMs);
        args[at + 5] = '';
      }
      args[at + 3] = String(counter.cost);
      args[at + 4] = counter.windowStart === undefined ? '' : String(counter.windowStart);
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
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        reject(
          new RedisStoreError(
            'ERR_TOLLGATE_REDIS_TIMEOUT',
            `Redis did not answer within ${this.timeoutMs} ms`,
          ),
        );
      }, this.timeoutMs);
      timer.unref?.();
      const attempt = async (): Promise<unknown> => {
        try {
          return await runner.evalSha(STORE_SCRIPT_SHA, keys, args);
        } catch (error) {
          // NOSCRIPT means the script did not run, so sending it whole cannot count twice. EVAL
          // rather than SCRIPT LOAD + EVALSHA: it is routed by key, so in a cluster it reaches
          // (and caches the script on) the node that refused. Any other error, and a timeout,
          // may follow a run: those are never retried.
          if (settled || !isNoScript(error)) throw error;
          return await runner.eval(STORE_SCRIPT, keys, args);
        }
      };
      attempt().then(
        (reply) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(reply);
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          reject(
            error instanceof RedisStoreError
              ? error
              : new RedisStoreError('ERR_TOLLGATE_REDIS_FAILED', `Redis call failed: ${messageOf(error)}`, {
                  cause: error,
                }),
          );
        },
      );
    });
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
