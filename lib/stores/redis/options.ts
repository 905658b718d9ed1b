import type { JsonSchema } from '../../options/validation.js';
import type { RedisClientLike } from './clients.js';

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
   * One Redis Cluster hash tag for every key, braces left out: all of the store on one slot, so
   * that every request is one script on one master (strict single-slot atomicity, no scale-out).
   * Left out (the default), each scope value is its own hash tag, so that a cluster spreads
   * the keys and the load over its masters (see docs/redis.md).
   */
  hashTag?: string;
  /**
   * How long a call may take before it rejects with `ERR_TOLLGATE_REDIS_TIMEOUT`, so that
   * the limiter applies its `onStoreError` policy instead of hanging. Defaults to `100` ms.
   */
  timeoutMs?: number;
  /**
   * Refusals remembered in this process, so that repeats of a request refused for a window that
   * has not ended are answered without Redis; `false` turns it off. `size`: counters remembered
   * at most, the oldest dropped first. Defaults to `{ size: 10000 }`.
   */
  refusalCache?: false | { size?: number };
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
    refusalCache: {
      anyOf: [
        { const: false },
        {
          type: 'object',
          additionalProperties: false,
          properties: {
            size: { type: 'integer', minimum: 1, maximum: 10_000_000, expected: 'a positive integer' },
          },
        },
      ],
      expected: 'false, or { size } with a positive integer size',
    },
    now: { typeofFunction: true, expected: 'a function returning ms since epoch' },
  },
};
