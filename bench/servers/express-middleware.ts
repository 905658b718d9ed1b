import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { rateLimit as expressRateLimit, ipKeyGenerator } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { RedisStore as ErlRedisStore, type RedisReply } from 'rate-limit-redis';
import {
  type BurstyRateLimiter,
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
} from 'rate-limiter-flexible';
import { rateLimit } from '../../lib/express/index.js';
import { putDecision } from '../../lib/express-decision.js';
import type { Decision, Store, TollgateOptions } from '../../lib/index.js';
import { createFloor, createFloorDecider, FLOOR_SCOPES, floorRateLimitField } from '../support/floor.js';
import {
  FOUR_SCOPES,
  type FourScope,
  flexibleFluidLimiters,
  fluidOptions,
  fourByTwoOptions,
  HOUR_MAX,
  halfRefusedOptions,
  MINUTE_MAX,
  oneRuleOptions,
  SPEND_CAP,
} from '../support/policies.js';
import { connectRedis, optional } from './common.js';

export interface Mounted {
  /** Mounted in front of the route's handler; several run in turn. */
  readonly middleware: RequestHandler | RequestHandler[] | undefined;
  readonly close: () => Promise<void>;
}

const nothing = async () => {};

/** The middleware of an Express scenario, by the slug the runner sends. */
export async function expressMiddleware(slug: string): Promise<Mounted> {
  switch (slug) {
    case 'bare':
      return { middleware: undefined, close: nothing };
    case 'erl-memory':
      return {
        middleware: expressRateLimit({
          windowMs: 60_000,
          limit: MINUTE_MAX,
          standardHeaders: 'draft-8',
          legacyHeaders: false,
        }),
        close: nothing,
      };
    case 'rlf-memory':
      return {
        middleware: flexible([
          { limiter: new RateLimiterMemory({ points: MINUTE_MAX, duration: 60 }), keyOf: (req) => req.ip! },
        ]),
        close: nothing,
      };
    case 'erl-memory-4x2':
      return { middleware: expressRateLimitFourByTwo(), close: nothing };
    case 'rlf-memory-fluid':
      // The minimal middleware writes no header and, unlike tollgate, keeps what earlier
      // limiters charged when a later one refuses.
      return {
        middleware: flexible(
          flexibleFluidLimiters().map(({ scope, limiter }) => ({ limiter, keyOf: PEER_KEY_OF[scope] })),
        ),
        close: nothing,
      };
    case 'noop-sync':
      return {
        middleware: function noop(_req: Request, _res: Response, next: NextFunction): void {
          next();
        },
        close: nothing,
      };
    case 'noop-async':
      return {
        middleware: async function noopAsync(
          _req: Request,
          _res: Response,
          next: NextFunction,
        ): Promise<void> {
          await Promise.resolve();
          next();
        },
        close: nothing,
      };
    case 'ip-only':
      // Profiles only: reading req.ip (Express's proxy-addr behind `trust proxy` 1), and nothing else.
      return {
        middleware: function ipOnly(req: Request, _res: Response, next: NextFunction): void {
          if (req.ip === undefined) throw new Error('no address');
          next();
        },
        close: nothing,
      };
    case 'req-property':
    case 'req-locals': {
      // Profiles only: ip-only, plus a decision object on req: assigned as an own property
      // (req-property), or kept where tollgate keeps it, in res.locals behind the req.rateLimit
      // accessor (req-locals, lib/express-decision.ts). No header.
      const locals = slug === 'req-locals';
      let n = 0;
      return {
        middleware: function reqProperty(req: Request, res: Response, next: NextFunction): void {
          if (req.ip === undefined) throw new Error('no address');
          const decision = { remaining: MINUTE_MAX - ++n } as Decision;
          if (locals) putDecision(req, res, decision);
          else req.rateLimit = decision;
          next();
        },
        close: nothing,
      };
    }
    case 'tg-floor': {
      // Profiles only: what any limiter doing tollgate's job must do in Express whatever its
      // store, with nothing counted: read req.ip, put a decision on req (as tollgate does), write
      // the two IETF fields.
      let n = 0;
      return {
        middleware: function floor(req: Request, res: Response, next: NextFunction): void {
          if (req.ip === undefined) throw new Error('no address');
          n++;
          const remaining = MINUTE_MAX - n;
          putDecision(req, res, { remaining } as Decision);
          res.setHeader('RateLimit-Policy', `"ip_minute";q=${MINUTE_MAX};w=60`);
          res.setHeader('RateLimit', `"ip_minute";r=${remaining};t=${n % 60}`);
          next();
        },
        close: nothing,
      };
    }
    case 'floor-1':
    case 'floor-fluid':
      return { middleware: expressFloor(slug === 'floor-1'), close: nothing };
    case 'floor-fluid-decision':
      return { middleware: expressFloorDecision(), close: nothing };
    case 'tg-memory-1':
      return { middleware: rateLimit(oneRuleOptions<Request>()), close: nothing };
    case 'tg-memory-1-no-headers':
      // Profiles only: what the response headers cost, against tg-memory-1.
      return { middleware: rateLimit({ ...oneRuleOptions<Request>(), headers: false }), close: nothing };
    case 'tg-memory-fluid':
      return { middleware: rateLimit(fluidOptions<Request>()), close: nothing };
    case 'tg-memory-refuse':
      return { middleware: rateLimit(halfRefusedOptions<Request>()), close: nothing };
    case 'rlf-redis-1':
    case 'rlf-redis-4': {
      const client = await connectRedis();
      const limiter = (keyPrefix: string) =>
        new RateLimiterRedis({ storeClient: client, keyPrefix, points: MINUTE_MAX, duration: 60 });
      const scopes = slug === 'rlf-redis-1' ? (['ip'] as const) : FOUR_SCOPES;
      const stacked = scopes.map((scope) => ({
        limiter: limiter(`rlf-${scope}`),
        keyOf: PEER_KEY_OF[scope],
      }));
      return { middleware: flexible(stacked), close: quit(client) };
    }
    case 'erl-redis': {
      const client = await connectRedis();
      const store = new ErlRedisStore({
        prefix: 'erl:',
        sendCommand: (command: string, ...args: string[]) =>
          client.call(command, ...args) as Promise<RedisReply>,
      });
      return {
        middleware: expressRateLimit({
          windowMs: 60_000,
          limit: MINUTE_MAX,
          standardHeaders: 'draft-8',
          legacyHeaders: false,
          store,
        }),
        close: quit(client),
      };
    }
    case 'tg-redis-1':
    case 'tg-redis-4x2':
    case 'tg-redis-spend': {
      const { RedisStore } = await optional('lib/stores/redis.ts', () => import('../../lib/stores/redis/index.js'));
      const client = await connectRedis();
      // A timeout or failure answers 503, which autocannon counts: a silent fail-open would
      // make a broken store look fast.
      const store: Store = new RedisStore({ client, timeoutMs: 1000 });
      const base: TollgateOptions<Request> =
        slug === 'tg-redis-1'
          ? oneRuleOptions<Request>()
          : slug === 'tg-redis-4x2'
            ? fourByTwoOptions<Request>()
            : { ...fourByTwoOptions<Request>(), spendCap: { ...SPEND_CAP } };
      return {
        middleware: rateLimit({ ...base, store, onStoreError: 'closed' }),
        close: quit(client),
      };
    }
    default:
      throw new Error(`unknown Express scenario ${slug}`);
  }
}

/**
 * The floor of a policy in Express (support/floor.ts): the key values read, the policy counted
 * in plain Maps, the result on `req.rateLimit` (kept where tollgate keeps it, the cheapest way
 * known: see lib/express-decision.ts) and the fields tollgate answers with written, as
 * any limiter answering with tollgate's headers and decision must: the two IETF fields for 1
 * rule, the three `RateLimit-*` fields (`headers: 'ratelimit'`) for the FLUID-like 4 × 2 + burst.
 */
function expressFloor(oneRule: boolean): RequestHandler {
  const scopes = oneRule ? ['ip'] : FLOOR_SCOPES;
  const floor = createFloor({ scopes, oneRule, burst: !oneRule });
  return function expressFloor(req: Request, res: Response, next: NextFunction): void {
    const now = Date.now();
    const values = oneRule
      ? [req.ip]
      : [
          req.ip,
          firstHeader(req, 'x-partner-id'),
          firstHeader(req, 'x-user-id'),
          req.params.bankId as string,
        ];
    const result = floor.count(values, now, { allowed: true, remaining: 0, resetAt: 0 });
    putDecision(req, res, result as unknown as Decision);
    if (oneRule) {
      res.setHeader('RateLimit-Policy', floor.policyField);
      res.setHeader('RateLimit', floorRateLimitField('ip', result, now));
    } else {
      // The FLUID-like policy answers with the three `RateLimit-*` fields of its minute window.
      res.setHeader('RateLimit-Limit', String(MINUTE_MAX));
      res.setHeader('RateLimit-Remaining', String(result.remaining));
      res.setHeader('RateLimit-Reset', String(Math.ceil(result.resetAt / 1000)));
    }
    next();
  };
}

/**
 * The floor of the FLUID-like policy, answering as tollgate's documented API does: a `Decision`
 * with one `PolicyState` per limit on `req.rateLimit` for the request's lifetime, and its three
 * `RateLimit-*` fields written from it. Against `floor-fluid`, what that shape costs any
 * limiter that offers it; against tollgate, what tollgate adds beyond the shape.
 */
function expressFloorDecision(): RequestHandler {
  const decide = createFloorDecider(createFloor({ scopes: FLOOR_SCOPES, burst: true }), FLOOR_SCOPES, {
    burst: true,
    headers: 'ratelimit',
  });
  return function expressFloorDecision(req: Request, res: Response, next: NextFunction): void {
    const decision = decide(
      [req.ip, firstHeader(req, 'x-partner-id'), firstHeader(req, 'x-user-id'), req.params.bankId as string],
      Date.now(),
    );
    putDecision(req, res, decision);
    const headers = decision.headers;
    for (let i = 0; i < headers.length; i++) res.setHeader(headers[i]![0], headers[i]![1]);
    next();
  };
}

/**
 * The 4 × 2 policy as express-rate-limit users would write it: one instance per scope and
 * window, each with its own MemoryStore and key generator, mounted in turn. express-rate-limit
 * has no burst allowance. The minute instances write the draft-6 `RateLimit-*` fields, as the
 * FLUID-like policy pins its fields to the minute window; the hour ones write none, so that
 * no field is written twice per scope.
 */
function expressRateLimitFourByTwo(): RequestHandler[] {
  // An IPv6 client is counted by its /56, as express-rate-limit's own key generator counts it.
  const keyOf = FOUR_SCOPES.map((scope) =>
    scope === 'ip' ? (req: Request) => ipKeyGenerator(req.ip!) : PEER_KEY_OF[scope],
  );
  return keyOf.flatMap((keyGenerator) => [
    expressRateLimit({
      windowMs: 60_000,
      limit: MINUTE_MAX,
      keyGenerator,
      standardHeaders: 'draft-6',
      legacyHeaders: false,
    }),
    expressRateLimit({
      windowMs: 3_600_000,
      limit: HOUR_MAX,
      keyGenerator,
      standardHeaders: false,
      legacyHeaders: false,
    }),
  ]);
}

/** The 4 × 2 policy's key values in Express, as the peers' users would read them. */
const PEER_KEY_OF: Record<FourScope, (req: Request) => string> = {
  ip: (req) => req.ip!,
  partner: (req) => header(req, 'x-partner-id'),
  user: (req) => header(req, 'x-user-id'),
  bank: (req) => String(req.params.bankId),
};

function firstHeader(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function header(req: Request, name: string): string {
  const value = req.headers[name];
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

function quit(client: Redis): () => Promise<void> {
  return async () => {
    await client.quit();
  };
}

/** A rate-limiter-flexible limiter and the key it counts a request under. */
interface Stacked {
  readonly limiter: Pick<RateLimiterAbstract | BurstyRateLimiter, 'consume'>;
  readonly keyOf: (req: Request) => string;
}

/**
 * rate-limiter-flexible as its README wires it into Express: consume, then next(); a rejection
 * with a `RateLimiterRes` is a refusal, an `Error` a store failure. Stacked limiters are
 * awaited in turn, as an application combining several would.
 */
function flexible(limiters: readonly Stacked[]): RequestHandler {
  return async function rateLimiterFlexible(req: Request, res: Response, next: NextFunction): Promise<void> {
    try {
      for (const { limiter, keyOf } of limiters) await limiter.consume(keyOf(req));
    } catch (rejection) {
      if (rejection instanceof Error) {
        next(rejection);
        return;
      }
      res.status(429).send('Too Many Requests');
      return;
    }
    next();
  };
}
