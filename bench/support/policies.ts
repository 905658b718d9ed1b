import type { Cluster, Redis } from 'ioredis';
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import type { Limit, Policy, RequestInfo, Scope } from './tollgate.js';

/**
 * The key values every scenario draws from and the policies under test. Limits are far above
 * what a run reaches, so that nothing is refused unless a scenario says so.
 */

/** The i-th client address, `10.a.b.c`: distinct for i below 2^24. */
export const ipOf = (i: number): string => `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
export const partnerOf = (i: number): string => `partner-${i}`;
export const userOf = (i: number): string => `user-${i}`;
/** The route every HTTP scenario serves; `bankId` feeds the `bank` scope. */
export const ROUTE = '/v1/banks/:bankId/transactions';
export const pathOf = (i: number): string => `/v1/banks/bank-${i}/transactions`;
/** Distinct key values the load and the micro benchmarks cycle through. */
export const KEYS = 10_000;
/** Sent on the requests a scenario wants refused: they cost more than the whole limit. */
export const REFUSE_HEADER = 'x-bench-refuse';

/** The i-th request as `limiter.check` takes it. */
export function requestOf(i: number): RequestInfo {
  return {
    ip: ipOf(i),
    method: 'GET',
    path: pathOf(i),
    headers: { 'x-partner-id': partnerOf(i), 'x-user-id': userOf(i) },
    params: { bankId: `bank-${i}` },
    raw: null,
  };
}

/**
 * A key sees a few requests a second at most. Kept small enough that a burst bucket's interval
 * (60,000 ms / MINUTE_MAX) stays well above a double's precision at today's epoch milliseconds.
 */
export const MINUTE_MAX = 1_000_000;
export const HOUR_MAX = 60_000_000;
/** The partner's burst allowance: refilled at the per-minute rate, so never exhausted here. */
export const BURST = 100_000;

const ONE_RULE: readonly Limit[] = [{ max: MINUTE_MAX, window: '1m' }];
const TWO_WINDOWS: readonly Limit[] = [
  { max: MINUTE_MAX, window: '1m' },
  { max: HOUR_MAX, window: '1h' },
];

/** 1 rule: per client address, per minute. */
export const oneRule = <Raw>(): Policy<Raw> => ({ scopes: [{ name: 'ip', key: 'ip', limits: ONE_RULE }] });

/** 4 scopes × 2 windows: client address, partner header, user header, `bankId` route parameter. */
export function fourByTwo<Raw>(): Policy<Raw> {
  const scopes: Scope<Raw>[] = [
    { name: 'ip', key: 'ip', limits: TWO_WINDOWS },
    { name: 'partner', key: { header: 'x-partner-id' }, limits: TWO_WINDOWS },
    { name: 'user', key: { header: 'x-user-id' }, limits: TWO_WINDOWS },
    { name: 'bank', key: { param: 'bankId' }, limits: TWO_WINDOWS },
  ];
  return { scopes };
}

/** 4 scopes × 1 window (the minute): the scopes of 4 × 2, for the Redis CPU comparison. */
export function fourByOne<Raw>(): Policy<Raw> {
  return { scopes: fourByTwo<Raw>().scopes.map((scope) => ({ ...scope, limits: ONE_RULE })) };
}

/**
 * The FLUID-like policy (examples/fluid.ts): 4 × 2, a burst allowance on the partner scope,
 * `RateLimit-*` headers pinned to the minute window, a numeric code per scope.
 */
export function fluid<Raw>(): Policy<Raw> {
  const codes = [1453, 1454, 1456, 1455];
  return {
    headers: 'ratelimit',
    scopes: fourByTwo<Raw>().scopes.map((scope, i) => ({
      ...scope,
      code: codes[i]!,
      headerLimit: 'minute',
      ...(scope.name === 'partner' ? { burst: BURST } : {}),
    })),
  };
}

/** 1 rule, where requests carrying `x-bench-refuse` cost more than the limit: exactly half refused. */
export function halfRefused<Raw>(): Policy<Raw> {
  const cost: Scope<Raw>['cost'] = (req) => (req.headers[REFUSE_HEADER] === undefined ? 1 : MINUTE_MAX + 1);
  return { scopes: [{ name: 'ip', key: 'ip', limits: ONE_RULE, cost }] };
}

/** The flood subjects' limit: far above what one of the 10,000 clients asks, far below the flooders. */
export const FLOOD_MAX = 50;

/** 1 rule of `FLOOD_MAX` a minute per client address. */
export const flood = <Raw>(): Policy<Raw> => ({
  scopes: [{ name: 'ip', key: 'ip', limits: [{ max: FLOOD_MAX, window: '1m' }] }],
});

export const FOUR_SCOPES = ['ip', 'partner', 'user', 'bank'] as const;
export type FourScope = (typeof FOUR_SCOPES)[number];

/** The 4 × 2 policy's key value of a request description, per scope (for the peers' glue). */
export const KEY_OF_INFO: Record<FourScope, (req: RequestInfo) => string> = {
  ip: (req) => req.ip,
  partner: (req) => req.headers['x-partner-id']!,
  user: (req) => req.headers['x-user-id']!,
  bank: (req) => req.params.bankId!,
};

/**
 * The 4 × 2 + burst policy as rate-limiter-flexible users would write it: a minute and an hour
 * `RateLimiterMemory` per scope, the partner's minute one in a `BurstyRateLimiter` (whose burst
 * limiter is consumed only once the minute one refuses, so never here), consumed in turn.
 */
export function flexibleFluid(): Array<{ scope: FourScope; limiter: Pick<RateLimiterMemory, 'consume'> }> {
  return FOUR_SCOPES.flatMap((scope) => {
    const minute = new RateLimiterMemory({ keyPrefix: `${scope}-m`, points: MINUTE_MAX, duration: 60 });
    const hour = new RateLimiterMemory({ keyPrefix: `${scope}-h`, points: HOUR_MAX, duration: 3600 });
    const burst = new RateLimiterMemory({ keyPrefix: `${scope}-b`, points: BURST, duration: 60 });
    return [
      { scope, limiter: scope === 'partner' ? new BurstyRateLimiter(minute, burst) : minute },
      { scope, limiter: hour },
    ];
  });
}

/** rate-limiter-flexible on Redis: one `RateLimiterRedis` of `MINUTE_MAX` a minute per scope. */
export function flexibleRedis(
  client: Redis | Cluster,
  scopes: readonly FourScope[],
): Array<{ scope: FourScope; limiter: RateLimiterRedis }> {
  return scopes.map((scope) => ({
    scope,
    limiter: new RateLimiterRedis({
      storeClient: client,
      keyPrefix: `rlf-${scope}`,
      points: MINUTE_MAX,
      duration: 60,
    }),
  }));
}
