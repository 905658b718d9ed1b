import { BurstyRateLimiter, RateLimiterMemory } from 'rate-limiter-flexible';
import type { LimitOptions, ScopeOptions, TollgateOptions } from '../../lib/index.js';
import { REFUSE_HEADER } from './keys.js';

/**
 * The limiter configurations under test. Limits are far above what a run can reach, so that
 * nothing is refused unless the scenario says so.
 */

export const MINUTE_MAX = 1_000_000_000;
export const HOUR_MAX = 10_000_000_000;
/** Capacity of the burst bucket: refilled at the per-minute rate, so it never runs dry here. */
export const BURST = 1_000_000;

export const ONE_RULE: LimitOptions[] = [{ max: MINUTE_MAX, window: '1m' }];
export const TWO_WINDOWS: LimitOptions[] = [
  { max: MINUTE_MAX, window: '1m' },
  { max: HOUR_MAX, window: '1h' },
];

/** 1 rule: per client address, per minute. */
export function oneRuleOptions<Raw>(): TollgateOptions<Raw> {
  return { scopes: [{ name: 'ip', key: 'ip', limits: ONE_RULE }] };
}

/**
 * 4 scopes × 2 windows (minute, hour): client address, partner header, user header and the
 * `bankId` route parameter.
 */
export function fourByTwoScopes<Raw>(): ScopeOptions<Raw>[] {
  return [
    { name: 'ip', key: 'ip', limits: TWO_WINDOWS },
    { name: 'partner', key: { header: 'x-partner-id' }, limits: TWO_WINDOWS },
    { name: 'user', key: { header: 'x-user-id' }, limits: TWO_WINDOWS },
    { name: 'bank', key: { param: 'bankId' }, limits: TWO_WINDOWS },
  ];
}

export function fourByTwoOptions<Raw>(): TollgateOptions<Raw> {
  return { scopes: fourByTwoScopes<Raw>() };
}

/**
 * The FLUID-like policy (examples/fluid.ts): the 4 × 2 scopes, a burst bucket on the partner
 * scope, `RateLimit-*` headers pinned to the minute window, numeric codes per scope.
 */
export function fluidOptions<Raw>(): TollgateOptions<Raw> {
  const codes = [1453, 1454, 1456, 1455];
  return {
    headers: 'ratelimit',
    scopes: fourByTwoScopes<Raw>().map((scope, i) => ({
      ...scope,
      code: codes[i]!,
      headerLimit: 'minute',
      ...(scope.name === 'partner' ? { burst: BURST } : {}),
    })),
  };
}

/** The scopes of the 4 × 2 policy, in its order. */
export const FOUR_SCOPES = ['ip', 'partner', 'user', 'bank'] as const;
export type FourScope = (typeof FOUR_SCOPES)[number];

/**
 * The FLUID-like 4 × 2 + burst policy as rate-limiter-flexible glue, the peer's own way: a
 * minute and an hour `RateLimiterMemory` per scope, the partner's minute one wrapped in a
 * `BurstyRateLimiter` (rate-limiter-flexible's burst allowance: its burst limiter is consumed
 * only once the minute one refuses, so never in the benchmark). Consumed in turn, each under
 * its scope's key value.
 */
export function flexibleFluidLimiters(): Array<{
  readonly scope: FourScope;
  readonly limiter: Pick<RateLimiterMemory | BurstyRateLimiter, 'consume'>;
}> {
  return FOUR_SCOPES.flatMap((scope) => {
    const minute = new RateLimiterMemory({ keyPrefix: `${scope}-minute`, points: MINUTE_MAX, duration: 60 });
    const hour = new RateLimiterMemory({ keyPrefix: `${scope}-hour`, points: HOUR_MAX, duration: 3600 });
    const burst = new RateLimiterMemory({ keyPrefix: `${scope}-burst`, points: BURST, duration: 60 });
    return [
      { scope, limiter: scope === 'partner' ? new BurstyRateLimiter(minute, burst) : minute },
      { scope, limiter: hour },
    ];
  });
}

/**
 * 1 rule, where requests carrying `x-bench-refuse` cost more than the whole limit: they are
 * refused every time without touching any counter, so the refused share is exact.
 */
export function halfRefusedOptions<Raw>(): TollgateOptions<Raw> {
  return {
    scopes: [
      {
        name: 'ip',
        key: 'ip',
        limits: ONE_RULE,
        cost: (req) => (req.headers[REFUSE_HEADER] === undefined ? 1 : MINUTE_MAX + 1),
      },
    ],
  };
}

/** The spending cap of scenario 13: a daily budget per user, never reached. */
export const SPEND_CAP = { key: { header: 'x-user-id' }, budget: 1_000_000_000_000, cost: 1 } as const;

/** A micro target's policy by name (`1`, `4x2`, `fluid`), from the `POLICY` variable unless given; `4x2` by default. */
export function policyFromEnv(name = process.env.POLICY ?? '4x2'): TollgateOptions<null> {
  const policies: Record<string, () => TollgateOptions<null>> = {
    '1': oneRuleOptions,
    '4x2': fourByTwoOptions,
    fluid: fluidOptions,
  };
  const policy = policies[name];
  if (policy === undefined) throw new Error(`POLICY must be one of ${Object.keys(policies).join(', ')}`);
  return policy();
}
