import type { Cluster, Redis } from 'ioredis';
import { type FourScope, flexibleRedis, KEY_OF_INFO, KEYS, requestOf } from './policies.js';
import { type Limiter, loadTollgate, type Policy, type RequestInfo } from './tollgate.js';

/**
 * The checks the Redis measurements run (micro/redis-cpu.ts, micro/redis-instructions.ts): one
 * check is one request's `limiter.check`, or the peer's consumes for it. Each resolves to whether
 * the request was admitted.
 */
export type Check = (i: number) => Promise<boolean>;
/** A subject's check, built once per subject on the client it is handed. */
export type CheckOn = (client: Redis | Cluster) => Check;

const tollgate = await loadTollgate();
export const requests = Array.from({ length: KEYS }, (_, i) => requestOf(i));

/** The request of the i-th check. */
export type Requests = () => (i: number) => RequestInfo;
/** One of the 10,000 keys, which a subject's first `KEYS` checks made. */
export const known: Requests = () => (i) => requests[i % KEYS]!;
/**
 * A key never seen before on every check, as a key sees who comes less than once a window:
 * each check starts its windows. Keys from 2^20 up, clear of `known`'s and the flood subjects'.
 */
export const fresh: Requests = () => {
  let n = 2 ** 20;
  return () => requestOf(n++);
};

/** tollgate's `limiter.check` on a `RedisStore` over the client; a refusal or a store error throws. */
export function tollgateCheck(policy: Policy<null>, store: object = {}, requestAt = known): CheckOn {
  return (client) => {
    const limiter = tollgateLimiter(client, policy, store);
    const at = requestAt();
    return async (i) => {
      const decision = await limiter.check(at(i));
      if (decision?.allowed !== true)
        throw new Error(`tollgate refused a check: ${JSON.stringify(decision)}`);
      return true;
    };
  };
}

/** A new tollgate limiter on a `RedisStore` over the client, for subjects that decide themselves. */
export function tollgateLimiter(client: Redis | Cluster, policy: Policy<null>, store: object): Limiter {
  return tollgate.createLimiter({
    ...policy,
    store: new tollgate.RedisStore({ client, timeoutMs: 1000, ...store }),
    onStoreError: 'closed',
  });
}

/** rate-limiter-flexible: one `RateLimiterRedis` of `MINUTE_MAX` a minute per scope, awaited in turn. */
export function flexibleCheck(scopes: readonly FourScope[], requestAt = known): CheckOn {
  return (client) => {
    const limiters = flexibleRedis(client, scopes).map(({ scope, limiter }) => ({
      limiter,
      keyOf: KEY_OF_INFO[scope],
    }));
    const at = requestAt();
    return async (i) => {
      const request = at(i);
      for (const { limiter, keyOf } of limiters) await limiter.consume(keyOf(request));
      return true;
    };
  };
}

/** Runs `count` checks, `inFlight` at a time; resolves to how many were refused. */
export async function runChecks(check: Check, count: number, inFlight: number): Promise<number> {
  let next = 0;
  let refused = 0;
  const worker = async () => {
    while (next < count) if (!(await check(next++))) refused++;
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return refused;
}
