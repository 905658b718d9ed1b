/**
 * An Express 5 server for one scenario (support/scenarios.ts), started by the runner:
 * `BENCH_SCENARIO` names what it mounts, `TOLLGATE_DIST` the tollgate build, `REDIS_PORT` the
 * runner's redis-server. Client addresses come from `X-Forwarded-For` behind one trusted proxy.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { rateLimit as expressRateLimit, ipKeyGenerator } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { RedisStore as ErlRedisStore, type RedisReply } from 'rate-limit-redis';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import {
  FOUR_SCOPES,
  type FourScope,
  flexibleFluid,
  flexibleRedis,
  fluid,
  fourByTwo,
  HOUR_MAX,
  halfRefused,
  MINUTE_MAX,
  oneRule,
  ROUTE,
} from '../support/policies.js';
import { loadMetrics, loadTollgate } from '../support/tollgate.js';
import { announce, connectRedis } from './common.js';

interface Mounted {
  readonly middleware: RequestHandler[];
  /** Whether the limiter leaves its decision on `req.rateLimit`, which the handler then reads. */
  readonly decision: boolean;
  readonly client?: Redis;
}

/** The 4 × 2 policy's key values, as the peers' users would read them. */
const KEY_OF: Record<FourScope, (req: Request) => string> = {
  ip: (req) => req.ip!,
  partner: (req) => String(req.headers['x-partner-id']),
  user: (req) => String(req.headers['x-user-id']),
  bank: (req) => String(req.params.bankId),
};

/**
 * rate-limiter-flexible as its README wires it into Express: consume, then next(); a rejection
 * with a `RateLimiterRes` is a refusal, an `Error` a store failure. Several limiters are awaited
 * in turn, as an application combining them would.
 */
function flexible(
  limiters: ReadonlyArray<{ limiter: Pick<RateLimiterMemory, 'consume'>; keyOf: (req: Request) => string }>,
): RequestHandler {
  return async function rateLimiterFlexible(req: Request, res: Response, next: NextFunction): Promise<void> {
    try {
      for (const { limiter, keyOf } of limiters) await limiter.consume(keyOf(req));
    } catch (rejection) {
      if (rejection instanceof Error) return next(rejection);
      res.status(429).send('Too Many Requests');
      return;
    }
    next();
  };
}

const erl = (windowMs: number, limit: number, extra: Parameters<typeof expressRateLimit>[0] = {}) =>
  expressRateLimit({ windowMs, limit, standardHeaders: 'draft-8', legacyHeaders: false, ...extra });

async function mount(name: string): Promise<Mounted> {
  const peer = (middleware: RequestHandler[], decision = false, client?: Redis): Mounted => ({
    middleware,
    decision,
    ...(client === undefined ? {} : { client }),
  });
  switch (name) {
    case 'bare':
      return peer([]);
    case 'erl-1':
      return peer([erl(60_000, MINUTE_MAX)], true);
    case 'rlf-1':
      return peer([
        flexible([
          { limiter: new RateLimiterMemory({ points: MINUTE_MAX, duration: 60 }), keyOf: KEY_OF.ip },
        ]),
      ]);
    case 'erl-4x2':
      // One instance per scope and window, mounted in turn; an IPv6 client counted by its /56
      // as express-rate-limit's own key generator does. The minute ones write the draft-6
      // `RateLimit-*` fields, as the FLUID-like policy does; no burst allowance exists.
      return peer(
        FOUR_SCOPES.flatMap((scope) => {
          const keyGenerator = scope === 'ip' ? (req: Request) => ipKeyGenerator(req.ip!) : KEY_OF[scope];
          return [
            erl(60_000, MINUTE_MAX, { keyGenerator, standardHeaders: 'draft-6' }),
            erl(3_600_000, HOUR_MAX, { keyGenerator, standardHeaders: false }),
          ];
        }),
        true,
      );
    case 'rlf-fluid':
      // No header; what earlier limiters charged stays charged when a later one refuses.
      return peer([
        flexible(flexibleFluid().map(({ scope, limiter }) => ({ limiter, keyOf: KEY_OF[scope] }))),
      ]);
    case 'rlf-redis-1':
    case 'rlf-redis-4': {
      const client = await connectRedis();
      const scopes = name === 'rlf-redis-1' ? (['ip'] as const) : FOUR_SCOPES;
      const limiters = flexibleRedis(client, scopes).map(({ scope, limiter }) => ({
        limiter,
        keyOf: KEY_OF[scope],
      }));
      return peer([flexible(limiters)], false, client);
    }
    case 'erl-redis': {
      const client = await connectRedis();
      const sendCommand = (command: string, ...args: string[]) =>
        client.call(command, ...args) as Promise<RedisReply>;
      return peer(
        [erl(60_000, MINUTE_MAX, { store: new ErlRedisStore({ prefix: 'erl:', sendCommand }) })],
        true,
        client,
      );
    }
  }
  const tollgate = await loadTollgate();
  const memory = { 'tg-1': oneRule, 'tg-fluid': fluid, 'tg-1-refuse': halfRefused }[name];
  if (memory !== undefined) return peer([tollgate.express.rateLimit(memory())], true);
  if (name === 'tg-1-metrics') {
    // As an application runs it: prom-client's registry, scraped elsewhere; here never scraped.
    const promClient = await import('prom-client');
    const { prometheusMetrics } = await loadMetrics();
    const metrics = prometheusMetrics({ registry: new promClient.Registry(), client: promClient });
    return peer([tollgate.express.rateLimit({ ...oneRule(), metrics })], true);
  }
  if (name === 'tg-redis-1' || name === 'tg-redis-4x2') {
    const client = await connectRedis();
    // A store failure answers 503, which autocannon counts: a silent fail-open would look fast.
    const store = new tollgate.RedisStore({ client, timeoutMs: 1000 });
    const policy = name === 'tg-redis-1' ? oneRule() : fourByTwo();
    return peer([tollgate.express.rateLimit({ ...policy, store, onStoreError: 'closed' })], true, client);
  }
  throw new Error(`unknown Express scenario ${name}`);
}

const { middleware, decision, client } = await mount(process.env.BENCH_SCENARIO ?? 'bare');
const app = express();
app.set('trust proxy', 1);
app.get(ROUTE, ...middleware, (req: Request, res: Response) => {
  // Read the decision as an application would; a missing one answers 500, which the runner reports.
  if (decision && (req as { rateLimit?: unknown }).rateLimit === undefined) res.status(500);
  res.json({ ok: true });
});
const server = app.listen(0, '127.0.0.1', () =>
  announce(server, async () => {
    await client?.quit();
  }),
);
