import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import express5 from 'express';
import Koa3 from 'koa';
import request from 'supertest';
import { rateLimit as expressRateLimit } from '../../lib/express.js';
import { rateLimit as koaRateLimit } from '../../lib/koa.js';
import type { Limiter } from '../../lib/limiter.js';
import type { TollgateOptions } from '../../lib/options.js';

// The npm aliases of the previous majors ship no types; they share the current majors' API.
const express4 = require('express4') as typeof express5;
const Koa2 = require('koa2') as typeof Koa3;

/** Options written once for every adapter: functions in them read only the `RequestInfo` fields. */
export type SharedOptions = TollgateOptions<unknown>;

/**
 * The app every adapter builds. Routes:
 * - `GET /ping` → 200 `{ ok: true }` (outside the router)
 * - `GET /v1/items/:id` → 200 `{ id, remaining, scope }` from the request's decision
 * - `POST /v1/items` (JSON) → 201 `{ created: body }`
 */
export interface AppSpec {
  /** Mounted with `app.use()` after the body parser: every route. */
  readonly app?: SharedOptions | Limiter;
  /** Mounted on the `/v1` router: its routes only. */
  readonly router?: SharedOptions | Limiter;
  /** Mounted on `GET /v1/items/:id` only. */
  readonly route?: SharedOptions | Limiter;
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

function itemBody(id: string | undefined, decision: { remaining: number; scope: string | undefined } | undefined) {
  const summary: ItemDecision = {
    // JSON has no Infinity: an unlimited decision reports null.
    remaining: decision === undefined || !Number.isFinite(decision.remaining) ? null : decision.remaining,
    scope: decision?.scope ?? null,
  };
  return { id, ...summary };
}

function expressAdapter(name: string, express: typeof express5): Adapter {
  return {
    name,
    framework: 'express',
    build(spec) {
      const app = express();
      if (spec.proxyHops !== undefined) app.set('trust proxy', spec.proxyHops);
      app.use(express.json());
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
      app.use('/v1', router);
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
      app.use(bodyParser());
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
