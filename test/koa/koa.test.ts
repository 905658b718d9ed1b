import Router from '@koa/router';
import type Koa from 'koa';
import request from 'supertest';
import type { Decision } from '../../lib/core/decision.js';
import { createLimiter } from '../../lib/core/limiter.js';
import { TollgateConfigError } from '../../lib/errors/errors.js';
import { errorHandler, type KoaOptions, rateLimit, rateLimitOf } from '../../lib/koa/index.js';
import { manualClock } from '../helpers/clock.js';
import { perIp } from '../helpers/koa-parity.js';
import { koaVersions } from '../helpers/koa-versions.js';

const LOOPBACK = /^(::ffff:)?127\.0\.0\.1$/;

describe.each(koaVersions)('%s', (_name, KoaApp) => {
  function appWith(
    options: Omit<KoaOptions, 'now'> | undefined,
    settings: { proxy?: boolean; maxIpsCount?: number } = {},
  ) {
    const app = new KoaApp(settings);
    app.silent = true;
    const errors: unknown[] = [];
    app.on('error', (error) => errors.push(error));
    const clock = manualClock();
    if (options !== undefined) app.use(rateLimit({ ...options, now: clock.now }));
    let reached = 0;
    app.use((ctx) => {
      reached++;
      const decision: Decision | undefined = ctx.state.rateLimit;
      ctx.body = { ip: ctx.ip, remaining: decision?.remaining };
    });
    return { app, client: request(app.callback()), errors, reached: () => reached, clock };
  }

  test('rateLimitOf(ctx) reads the decision; requestPropertyName moves it within ctx.state', async () => {
    const app = new KoaApp();
    app.use(rateLimit({ scopes: [perIp(5)], requestPropertyName: 'quota' }));
    app.use((ctx) => {
      const state = ctx.state as Record<string, Decision | undefined>;
      ctx.body = {
        quota: state.quota?.remaining,
        rateLimit: 'rateLimit' in state,
        reader: rateLimitOf(ctx) === state.quota,
      };
    });
    expect((await request(app.callback()).get('/')).body).toEqual({
      quota: 4,
      rateLimit: false,
      reader: true,
    });
  });

  test('app.use(): the decision is on ctx.state.rateLimit; a refusal never reaches the handler', async () => {
    const { client, reached } = appWith({ scopes: [perIp(1)] });
    expect((await client.get('/')).body).toEqual({ ip: expect.stringMatching(LOOPBACK), remaining: 0 });
    const refused = await client.get('/');
    expect(refused.status).toBe(429);
    expect(reached()).toBe(1);
  });

  test('with the memory store the next middleware runs in the same tick; an async key still counts', async () => {
    const app = new KoaApp();
    app.silent = true;
    // The handler answers whether it runs while tollgate's call is still on the stack.
    let inMiddleware = false;
    const watched =
      (middleware: Koa.Middleware): Koa.Middleware =>
      (ctx, next) => {
        inMiddleware = true;
        const pending = middleware(ctx, next);
        inMiddleware = false;
        return pending;
      };
    const byUser = { name: 'user', key: async () => 'u1', limits: [{ max: 1, window: '1m' }] };
    const byIp = watched(rateLimit({ scopes: [perIp(1)] }));
    const byAsyncKey = watched(rateLimit({ scopes: [byUser] }));
    app.use((ctx, next) => (ctx.path === '/sync' ? byIp(ctx, next) : byAsyncKey(ctx, next)));
    app.use((ctx) => {
      ctx.body = { sameTick: inMiddleware };
    });
    const client = request(app.callback());
    expect((await client.get('/sync')).body).toEqual({ sameTick: true });
    expect((await client.get('/sync')).status).toBe(429);
    expect((await client.get('/async')).body).toEqual({ sameTick: false });
    expect((await client.get('/async')).status).toBe(429);
  });

  test('without app.proxy, X-Forwarded-For is ignored: every forged address is one client', async () => {
    const { client } = appWith({ scopes: [perIp(2)] });
    expect((await client.get('/').set('X-Forwarded-For', '1.1.1.1')).body.ip).toMatch(LOOPBACK);
    await client.get('/').set('X-Forwarded-For', '2.2.2.2');
    expect((await client.get('/').set('X-Forwarded-For', '3.3.3.3')).status).toBe(429);
  });

  test('app.proxy with maxIpsCount 1: only the address the proxy appended counts', async () => {
    const { client } = appWith({ scopes: [perIp(2)] }, { proxy: true, maxIpsCount: 1 });
    const via = (forwarded: string) => client.get('/').set('X-Forwarded-For', forwarded);
    expect((await via('6.6.6.6, 203.0.113.5')).body.ip).toBe('203.0.113.5');
    expect((await via('7.7.7.7, 203.0.113.5')).status).toBe(200);
    expect((await via('8.8.8.8, 9.9.9.9, 203.0.113.5')).status).toBe(429);
    expect((await via('203.0.113.6')).status).toBe(200);
  });

  test('app.proxy with maxIpsCount 2: two hops are trusted, the rest is the client’s writing', async () => {
    const { client } = appWith({ scopes: [perIp(1)] }, { proxy: true, maxIpsCount: 2 });
    expect((await client.get('/').set('X-Forwarded-For', '6.6.6.6, 198.51.100.1, 10.0.0.2')).body.ip).toBe(
      '198.51.100.1',
    );
    expect((await client.get('/').set('X-Forwarded-For', '7.7.7.7, 198.51.100.1, 10.0.0.2')).status).toBe(
      429,
    );
  });

  test('app.proxy with maxIpsCount 0 (spoofable) is refused on every request, loudly', async () => {
    const { app, client, errors, reached } = appWith({ scopes: [perIp(100)] }, { proxy: true });
    for (let i = 0; i < 2; i++)
      expect((await client.get('/').set('X-Forwarded-For', `${i}.1.1.1`)).status).toBe(500);
    expect(reached()).toBe(0);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBeInstanceOf(TollgateConfigError);
    expect(errors[0]).toMatchObject({ code: 'ERR_TOLLGATE_UNSAFE_PROXY', path: 'app.maxIpsCount' });
    expect((errors[0] as Error).message).toMatch(/X-Forwarded-For.*maxIpsCount/);
    // Fixing the app is enough: the middleware reads the setting on each request.
    app.maxIpsCount = 1;
    expect((await client.get('/').set('X-Forwarded-For', '1.1.1.1')).status).toBe(200);
  });

  test('the refusal of a spoofable proxy renders in the schema under errorHandler', async () => {
    const app = new KoaApp({ proxy: true });
    app.silent = true;
    app.use(errorHandler());
    app.use(rateLimit({ scopes: [perIp(5)] }));
    const res = await request(app.callback()).get('/').set('X-Request-Id', 'spoof-1');
    expect(res.status).toBe(500);
    expect(res.body).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'Internal Server Error',
      request_id: 'spoof-1',
    });
  });

  test('a key function that throws reaches Koa’s error handling, not a hang', async () => {
    const { client, errors } = appWith({
      scopes: [
        {
          name: 'user',
          key: () => {
            throw new Error('session store down');
          },
          limits: [{ max: 1, window: '1m' }],
        },
      ],
    });
    expect((await client.get('/')).status).toBe(500);
    expect((errors[0] as Error).message).toBe('session store down');
  });

  test('per route through @koa/router, and stacked app + route limits refund on refusal', async () => {
    const clock = manualClock();
    const limiter = createLimiter<Koa.Context>({ now: clock.now, scopes: [perIp(10)] });
    const app = new KoaApp();
    app.use(rateLimit(limiter));
    const router = new Router();
    router.get(
      '/banks/:bankId/tx',
      rateLimit({
        now: clock.now,
        scopes: [{ name: 'bank', key: { param: 'bankId' }, limits: [{ max: 1, window: '1m' }] }],
      }),
      (ctx) => {
        ctx.body = { bank: ctx.params.bankId, scope: ctx.state.rateLimit?.scope };
      },
    );
    router.get('/free', (ctx) => {
      ctx.body = { remaining: ctx.state.rateLimit?.remaining };
    });
    app.use(router.routes()).use(router.allowedMethods());
    const client = request(app.callback());
    expect((await client.get('/banks/b1/tx')).body).toEqual({ bank: 'b1', scope: 'bank' });
    for (let i = 0; i < 3; i++) expect((await client.get('/banks/b1/tx')).status).toBe(429);
    expect((await client.get('/banks/b2/tx')).status).toBe(200);
    // 2 admitted bank requests and this one: the three refusals were refunded to the app limit.
    expect((await client.get('/free')).body).toEqual({ remaining: 7 });
  });

  test('a refund predicate sees the params of the decision, not those of a route matched later', async () => {
    const clock = manualClock();
    const seen: unknown[] = [];
    const app = new KoaApp();
    const router = new Router();
    router.use(
      '/v1/models/:model',
      rateLimit({
        now: clock.now,
        spendCap: {
          key: { header: 'x-user' },
          budget: 1000,
          cost: 100,
          refundWhen: (status, req) => {
            seen.push([status, req.path, req.params]);
            return false;
          },
        },
      }),
    );
    router.post('/v1/models/:name/generate', (ctx) => {
      ctx.status = 201;
      ctx.body = { ok: true };
    });
    app.use(router.routes());
    await request(app.callback()).post('/v1/models/m-7/generate').set('x-user', 'u').expect(201);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([[201, '/v1/models/m-7/generate', { model: 'm-7' }]]);
  });

  test('a refusal leaves downstream headers alone and sets Koa’s status, type and body', async () => {
    const app = new KoaApp();
    app.use(async (ctx, next) => {
      ctx.set('X-Upstream', 'kept');
      await next();
    });
    app.use(rateLimit({ scopes: [perIp(1)], headers: 'x-ratelimit' }));
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    const client = request(app.callback());
    await client.get('/');
    const refused = await client.get('/');
    expect(refused.status).toBe(429);
    expect(refused.headers['x-upstream']).toBe('kept');
    expect(refused.headers['content-length']).toBe(String(Buffer.byteLength(refused.text)));
    expect(refused.headers['x-ratelimit-remaining']).toBe('0');
  });
});
