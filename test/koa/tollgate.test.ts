import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import request from 'supertest';
import type { TollgateError } from '../../lib/errors/errors.js';
import { createTollgate, rateLimit } from '../../lib/koa/index.js';
import { scope } from '../../lib/options/presets.js';
import { serializers } from '../../lib/serializers/index.js';
import { createTestClock } from '../../lib/testing/index.js';
import { expectMatchesSchema } from '../helpers/examples.js';
import { koaVersions } from '../helpers/koa-versions.js';

const perMinute = (max: number) => [{ max, window: '1m' }];

describe.each(koaVersions)('%s', (_name, KoaApp) => {
  test('createTollgate: limits share the store, clock, dialect and schema; reset unblocks a key', async () => {
    const clock = createTestClock();
    const tollgate = createTollgate({
      now: clock.now,
      headers: 'x-ratelimit',
      serializer: serializers.firsthand,
    });
    const app = new KoaApp();
    app.silent = true;
    app.use(tollgate.errorHandler());
    app.use(tollgate.limit({ scopes: [scope.ip({ limits: perMinute(100) })] }));
    const router = new Router();
    router.post('/v1/jobs', tollgate.limit({ scopes: [scope.apiKey({ limits: perMinute(1) })] }), (ctx) => {
      ctx.status = 201;
      ctx.body = { ok: true };
    });
    app.use(router.routes());
    const client = request(app.callback());
    const post = () => client.post('/v1/jobs').set('Authorization', 'Bearer fh_live_1');
    const first = await post();
    expect(first.status).toBe(201);
    expect(first.headers['x-ratelimit-limit']).toBe('1');
    expect(first.headers.ratelimit).toBeUndefined();
    const refused = await post();
    expect(refused.status).toBe(429);
    expectMatchesSchema(serializers.firsthand, refused.body);
    await tollgate.reset({ scope: 'apiKey', key: 'fh_live_1' });
    expect((await post()).status).toBe(201);
    const missing = await client.get('/nowhere');
    expect(missing.status).toBe(404);
    expectMatchesSchema(serializers.firsthand, missing.body);
  });

  test('a body scope ahead of the body parser, and a route-param scope at app level, are reported once each', async () => {
    const warnings: TollgateError[] = [];
    const app = new KoaApp();
    app.use(
      rateLimit({
        onWarning: (warning) => warnings.push(warning),
        scopes: [scope.payment({ limits: perMinute(5) }), scope.bank({ limits: perMinute(5) })],
      }),
    );
    app.use(bodyParser());
    app.use((ctx) => {
      ctx.body = { ok: true };
    });
    for (let i = 0; i < 2; i++)
      await request(app.callback()).post('/v1/banks/b1').send({ source_account: 'a1' });
    expect(warnings.map((w) => w.code).sort()).toEqual([
      'ERR_TOLLGATE_BODY_NOT_PARSED',
      'ERR_TOLLGATE_NO_ROUTE_PARAM',
    ]);
  });

  test('a key function that throws is a 500 in the limiter schema, emitted on app', async () => {
    const app = new KoaApp();
    app.silent = true;
    const errors: unknown[] = [];
    app.on('error', (error) => errors.push(error));
    app.use(
      rateLimit({
        serializer: serializers.fastapi,
        scopes: [{ name: 'user', key: () => Promise.reject(new Error('db down')), limits: perMinute(5) }],
      }),
    );
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    const res = await request(app.callback()).get('/');
    expect(res.status).toBe(500);
    expect(res.text).not.toContain('db down');
    expectMatchesSchema(serializers.fastapi, res.body);
    expect(errors).toEqual([expect.objectContaining({ message: 'db down' })]);
  });
});
