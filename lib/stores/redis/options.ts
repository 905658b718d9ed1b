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
