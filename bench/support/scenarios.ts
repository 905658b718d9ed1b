/**
 * The HTTP scenarios. Each runs beside a fresh bare server of its framework; `server` is what
 * the server child mounts (servers/express.ts, servers/koa.ts). To add one: a line here and a
 * case in the server file.
 */

export type Framework = 'express' | 'koa';
export type Group = 'express' | 'redis' | 'koa' | 'baseline';

export interface Scenario {
  /** Stable id, for `BENCH_ONLY` and results.json. */
  readonly id: string;
  readonly title: string;
  readonly group: Group;
  readonly framework: Framework;
  /** What the server child mounts (`BENCH_SCENARIO`). */
  readonly server: string;
  /** Which tollgate build the server loads: this one, or the baseline (`BENCH_BASELINE_DIST`). */
  readonly build: 'this' | 'baseline';
  /** Share of requests sent to be refused (0 or 0.5). */
  readonly refuseShare: number;
  readonly redis: boolean;
}

function scenario(id: string, title: string, extra: Partial<Scenario> = {}): Scenario {
  return {
    id,
    title,
    group: 'express',
    framework: 'express',
    server: id,
    build: 'this',
    refuseShare: 0,
    redis: false,
    ...extra,
  };
}

const redis = { group: 'redis', redis: true } as const;
const koa = { group: 'koa', framework: 'koa' } as const;

export const BARE: Record<Framework, Scenario> = {
  express: scenario('bare-express', 'bare Express', { server: 'bare' }),
  koa: scenario('bare-koa', 'bare Koa', { ...koa, server: 'bare' }),
};

/** In the order a round runs them. */
export const SCENARIOS: readonly Scenario[] = [
  scenario('erl-1', 'express-rate-limit, MemoryStore, 1 rule'),
  scenario('rlf-1', 'rate-limiter-flexible, RateLimiterMemory, 1 rule'),
  scenario('tg-1', 'tollgate memory, 1 rule'),
  scenario('erl-4x2', 'express-rate-limit, 4 × 2: 8 instances (no burst)'),
  scenario('rlf-fluid', 'rate-limiter-flexible, 4 × 2 + burst: 8 limiters awaited in turn'),
  scenario('tg-fluid', 'tollgate memory, 4 × 2 + burst (FLUID-like)'),
  scenario('tg-1-refuse', 'tollgate memory, 1 rule, 50 % refused', { refuseShare: 0.5 }),
  scenario('tg-1-metrics', 'tollgate memory, 1 rule, Prometheus metrics (prom-client)'),
  scenario('rlf-redis-1', 'rate-limiter-flexible, 1 RateLimiterRedis', redis),
  scenario('rlf-redis-4', 'rate-limiter-flexible, 4 RateLimiterRedis awaited in turn', redis),
  scenario('erl-redis', 'express-rate-limit + rate-limit-redis, 1 rule', redis),
  scenario('tg-redis-1', 'tollgate Redis, 1 rule', redis),
  scenario('tg-redis-4x2', 'tollgate Redis, 4 × 2', redis),
  scenario('tg-koa-4x2', 'tollgate Koa, memory, 4 × 2', { ...koa, server: 'tg-4x2' }),
];

/** The tollgate scenarios run again against the baseline build when one is given. */
export const BASELINE_SCENARIOS: readonly Scenario[] = SCENARIOS.filter((s) =>
  ['tg-1', 'tg-fluid', 'tg-koa-4x2'].includes(s.id),
).map((s) => ({ ...s, id: `base-${s.id}`, group: 'baseline', build: 'baseline' }));

/** The scenario of this build that a baseline scenario repeats. */
export const counterpartOf = (id: string): string => id.replace(/^base-/, '');
