/** The HTTP scenarios of issue 7, numbered as there. */

export type Framework = 'express' | 'koa';
export type Group = 'express' | 'redis' | 'koa' | 'calibration';

export interface HttpScenario {
  /** The number for the scenario. */
  readonly id: number;
  /** What the server child is told to mount (`BENCH_SCENARIO`). */
  readonly slug: string;
  readonly title: string;
  readonly group: Group;
  readonly framework: Framework;
  /** Distinct key values the load cycles through. */
  readonly keys: number;
  /** Share of requests meant to be refused (0 or 0.5). */
  readonly refuseShare: number;
  /** Needs the redis-server the runner starts. */
  readonly redis: boolean;
  /** A part of tollgate that may not be written yet: the scenario is skipped when it is missing. */
  readonly requires?: 'redis-store' | 'koa-adapter';
}

export const BARE_EXPRESS: HttpScenario = {
  id: 1,
  slug: 'bare',
  title: 'bare Express',
  group: 'express',
  framework: 'express',
  keys: 10_000,
  refuseShare: 0,
  redis: false,
};

export const BARE_KOA: HttpScenario = {
  id: 14,
  slug: 'bare',
  title: 'bare Koa',
  group: 'koa',
  framework: 'koa',
  keys: 10_000,
  refuseShare: 0,
  redis: false,
};

const express = (
  id: number,
  slug: string,
  title: string,
  extra: Partial<HttpScenario> = {},
): HttpScenario => ({
  id,
  slug,
  title,
  group: 'express',
  framework: 'express',
  keys: 10_000,
  refuseShare: 0,
  redis: false,
  ...extra,
});

const redis = (id: number, slug: string, title: string, tollgate: boolean): HttpScenario =>
  express(id, slug, title, {
    group: 'redis',
    redis: true,
    ...(tollgate ? { requires: 'redis-store' as const } : {}),
  });

/** Every scenario that runs against a bare framework, in the order a round runs them. */
export const MEASURED: readonly HttpScenario[] = [
  express(2, 'erl-memory', 'express-rate-limit, MemoryStore'),
  express(3, 'rlf-memory', 'rate-limiter-flexible RateLimiterMemory, minimal middleware'),
  express(4, 'tg-memory-1', 'tollgate memory, 1 rule'),
  express(5, 'tg-memory-fluid', 'tollgate memory, FLUID-like 4 scopes × 2 windows + burst'),
  express(6, 'tg-memory-refuse', 'tollgate memory, 1 rule, 50 % refused', { refuseShare: 0.5 }),
  express(7, 'tg-memory-1', 'tollgate memory, 1 rule, 100,000 distinct keys', { keys: 100_000 }),
  redis(8, 'rlf-redis-1', 'rate-limiter-flexible, 1 RateLimiterRedis', false),
  redis(9, 'rlf-redis-4', 'rate-limiter-flexible, 4 RateLimiterRedis awaited in turn', false),
  redis(10, 'erl-redis', 'express-rate-limit + rate-limit-redis', false),
  redis(11, 'tg-redis-1', 'tollgate Redis, 1 rule', true),
  redis(12, 'tg-redis-4x2', 'tollgate Redis, 4 scopes × 2 windows', true),
  redis(13, 'tg-redis-spend', 'tollgate Redis, 4 × 2 + daily spending cap', true),
  {
    id: 15,
    slug: 'tg-memory-4x2',
    title: 'tollgate Koa, memory, 4 scopes × 2 windows',
    group: 'koa',
    framework: 'koa',
    keys: 10_000,
    refuseShare: 0,
    redis: false,
    requires: 'koa-adapter',
  },
  // Not in the issue: the floors of the memory targets (support/floor.ts), to read tollgate's
  // figures against in the same run.
  express(201, 'floor-1', 'floor of 1 rule: Maps, req.rateLimit, the two IETF fields'),
  express(202, 'floor-fluid', 'floor of 4 × 2 + burst: Maps, req.rateLimit, the three RateLimit-* fields'),
  express(
    204,
    'floor-fluid-decision',
    'floor of 4 × 2 + burst with a Decision of the documented shape on req.rateLimit',
  ),
  // Not in the issue: the peers set up for the FLUID-like policy, for a like-for-like reading of
  // "ahead of express-rate-limit and rate-limiter-flexible" beside the issue's own (2 and 3).
  express(301, 'erl-memory-4x2', 'express-rate-limit, the 4 × 2 policy: 8 instances, MemoryStore'),
  express(
    302,
    'rlf-memory-fluid',
    'rate-limiter-flexible, the 4 × 2 + burst policy: 8 RateLimiterMemory (one in a BurstyRateLimiter) awaited in turn',
  ),
  {
    id: 203,
    slug: 'floor-4x2',
    title: 'floor of 4 × 2 in Koa: Maps, ctx.state.rateLimit, the two IETF fields',
    group: 'koa',
    framework: 'koa',
    keys: 10_000,
    refuseShare: 0,
    redis: false,
  },
];

/**
 * Not in the issue, and run only when asked for (`BENCH_ONLY=calibration`): what any
 * middleware costs in Express 5, to read the others against.
 */
export const CALIBRATION: readonly HttpScenario[] = [
  express(101, 'noop-sync', 'calibration: a synchronous middleware that only calls next()', {
    group: 'calibration',
  }),
  express(102, 'noop-async', 'calibration: an async middleware that awaits a resolved promise, then next()', {
    group: 'calibration',
  }),
];

export function baselineOf(scenario: HttpScenario): HttpScenario {
  return scenario.framework === 'koa' ? BARE_KOA : BARE_EXPRESS;
}
