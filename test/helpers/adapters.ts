import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import express5 from 'express';
import request from 'supertest';
import type { Limiter } from '../../lib/core/limiter.js';
import { HttpError } from '../../lib/errors/http-errors.js';
import {
  errorHandler as expressErrors,
  rateLimit as expressRateLimit,
  reportCost as expressReportCost,
  usageHandler as expressUsage,
} from '../../lib/express/index.js';
import {
  errorHandler as koaErrors,
  rateLimit as koaRateLimit,
  reportCost as koaReportCost,
  usageHandler as koaUsage,
} from '../../lib/koa/index.js';
import type { TollgateOptions } from '../../lib/options/options.js';
import type { Serializer } from '../../lib/serializers/index.js';
import { Koa2, Koa3 } from './koa-versions.js';

// The npm alias of Express 4 ships no types; the adapter uses only what both majors share.
const express4 = require('express4') as typeof express5;

/** Options written once for every adapter: functions in them read only the `RequestInfo` fields. */
export type SharedOptions = TollgateOptions<unknown>;

/**
 * The app every adapter builds. Routes:
 * - `GET /ping` → 200 `{ ok: true }` (outside the router)
 * - `GET /v1/items/:id` → 200 `{ id, remaining, scope }` from the request's decision
 * - `POST /v1/items` (JSON) → 201 `{ created: body }`
 * - `GET /v1/fail/http` throws an `HttpError` (404 `USER_NOT_FOUND`, details, `WWW-Authenticate`);
 *   `GET /v1/fail/crash` throws a plain `Error` whose message must not leak
 * - `POST /v1/spend/:status` answers that status; with `X-Actual: n` it reports the actual cost n
 * - `GET /usage` → the spending-cap usage of `spec.usage` (mounted before every limit)
 */
export interface AppSpec {
  /** Mounted with `app.use()` after the body parser: every route. */
  readonly app?: SharedOptions | Limiter;
  /** Mounted on the `/v1` router: its routes only. */
  readonly router?: SharedOptions | Limiter;
  /** Mounted on `GET /v1/items/:id` only. */
  readonly route?: SharedOptions | Limiter;
  /** Serves `GET /usage` with the adapter's `usageHandler` for this limiter. */
  readonly usage?: Limiter;
  /** Mounts the adapter's `errorHandler` with this serializer. */
  readonly errors?: Serializer;
  /** Proxy hops trusted: Express `trust proxy` = n; Koa `proxy` with `maxIpsCount` = n. */
  readonly proxyHops?: number;
}

export type Client = ReturnType<typeof request>;

export interface Adapter {
  readonly name: string;
  readonly framework: 'express' | 'koa';
  /** Builds the app and returns a supertest client bound to one server. */
  build(spec: AppSpec): Client;
  /** Whether `raw` (a hook's `req.raw`) is this framework's request object. */
  isRaw(raw: unknown): boolean;
}

interface ItemDecision {
  remaining: number | null;
  scope: string | null;
}

function itemBody(
  id: string | undefined,
  decision: { remaining: number; scope: string | undefined } | undefined,
) {
  const summary: ItemDecision = {
    // JSON has no Infinity: an unlimited decision reports null.
    remaining: decision === undefined || !Number.isFinite(decision.remaining) ? null : decision.remaining,
    scope: decision?.scope ?? null,
  };
  return { id, ...summary };
}

/** What the failing routes throw; thrown synchronously so that Express 4 catches it too. */
function fail(kind: string | undefined): never {
  if (kind === 'http')
    throw new HttpError(404, 'User "carol" not found', {
      code: 'USER_NOT_FOUND',
      details: { user_id: 'carol' },
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  throw new Error('database password is hunter2');
}

function expressAdapter(name: string, express: typeof express5): Adapter {
  return {
    name,
    framework: 'express',
    build(spec) {
      const app = express();
      if (spec.proxyHops !== undefined) app.set('trust proxy', spec.proxyHops);
      app.use(express.json());
      if (spec.usage !== undefined) app.get('/usage', expressUsage(spec.usage));
      if (spec.app !== undefined) app.use(expressRateLimit(spec.app));
      app.get('/ping', (_req, res) => {
        res.json({ ok: true });
      });
      const router = express.Router();
      if (spec.router !== undefined) router.use(expressRateLimit(spec.router));
      const itemLimit = spec.route === undefined ? [] : [expressRateLimit(spec.route)];
      router.get('/items/:id', ...itemLimit, (req, res) => {
        res.json(itemBody(req.params.id as string, req.rateLimit));
      });
      router.post('/items', (req, res) => {
        res.status(201).json({ created: req.body });
      });
      router.get('/fail/:kind', (req) => fail(req.params.kind as string));
      router.post('/spend/:status', (req, res) => {
        const actual = req.headers['x-actual'];
        if (typeof actual === 'string') expressReportCost(req, Number(actual));
        res.status(Number(req.params.status)).send('done');
      });
      app.use('/v1', router);
      if (spec.errors !== undefined) app.use(expressErrors({ serializer: spec.errors }));
      return request(app);
    },
    isRaw: (raw) => typeof raw === 'object' && raw !== null && 'res' in raw && !('state' in raw),
  };
}

function koaAdapter(name: string, KoaApp: typeof Koa3): Adapter {
  return {
    name,
    framework: 'koa',
    build(spec) {
      const app = new KoaApp();
      app.silent = true;
      if (spec.proxyHops !== undefined) {
        app.proxy = true;
        app.maxIpsCount = spec.proxyHops;
      }
      if (spec.errors !== undefined) app.use(koaErrors({ serializer: spec.errors }));
      app.use(bodyParser());
      if (spec.usage !== undefined) {
        const usage = koaUsage(spec.usage);
        app.use((ctx, next) => (ctx.path === '/usage' ? usage(ctx, next) : next()));
      }
      if (spec.app !== undefined) app.use(koaRateLimit(spec.app));
      app.use(async (ctx, next) => {
        if (ctx.method !== 'GET' || ctx.path !== '/ping') return next();
        ctx.body = { ok: true };
      });
      const router = new Router({ prefix: '/v1' });
      if (spec.router !== undefined) router.use(koaRateLimit(spec.router));
      const itemLimit = spec.route === undefined ? [] : [koaRateLimit(spec.route)];
      router.get('/items/:id', ...itemLimit, (ctx) => {
        ctx.body = itemBody(ctx.params.id, ctx.state.rateLimit);
      });
      router.post('/items', (ctx) => {
        ctx.status = 201;
        ctx.body = { created: ctx.request.body };
      });
      router.get('/fail/:kind', (ctx) => fail(ctx.params.kind));
      router.post('/spend/:status', (ctx) => {
        const actual = ctx.headers['x-actual'];
        if (typeof actual === 'string') koaReportCost(ctx, Number(actual));
        ctx.status = Number(ctx.params.status);
        ctx.body = 'done';
      });
      app.use(router.routes());
      return request(app.callback());
    },
    isRaw: (raw) => typeof raw === 'object' && raw !== null && 'state' in raw && 'request' in raw,
  };
}

export const express = expressAdapter('express 5', express5);
export const koa = koaAdapter('koa 3', Koa3);

/** Every supported framework major: the parity suites run `describe.each(adapters)`. */
export const adapters: readonly Adapter[] = [
  express,
  expressAdapter('express 4', express4),
  koa,
  koaAdapter('koa 2', Koa2),
];
