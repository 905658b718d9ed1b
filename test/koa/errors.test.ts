import { bodyParser } from '@koa/bodyparser';
import type { Middleware } from 'koa';
import request from 'supertest';
import { errorHandler, HttpError, type KoaErrorHandlerOptions, rateLimit } from '../../lib/koa/index.js';
import { serializers } from '../../lib/serializers/index.js';
import { expectMatchesSchema } from '../helpers/examples.js';
import { perIp } from '../helpers/koa-parity.js';
import { koaVersions } from '../helpers/koa-versions.js';

describe.each(koaVersions)('%s errorHandler', (_name, KoaApp) => {
  function appWith(handler: Middleware, options: KoaErrorHandlerOptions = {}, before: Middleware[] = []) {
    const app = new KoaApp();
    const emitted: unknown[] = [];
    app.on('error', (error) => emitted.push(error));
    app.use(errorHandler(options));
    for (const middleware of before) app.use(middleware);
    app.use(handler);
    return { client: request(app.callback()), emitted };
  }

  test('ctx.throw with a code and details renders them; the error is still emitted on app', async () => {
    const { client, emitted } = appWith((ctx) =>
      ctx.throw(404, 'No such user', { code: 'USER_NOT_FOUND', details: { user_id: 'carol' } }),
    );
    const res = await client.get('/').set('X-Request-Id', 'k-1');
    expect(res.status).toBe(404);
    expect(res.headers['x-request-id']).toBe('k-1');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'No such user',
      code: 'USER_NOT_FOUND',
      request_id: 'k-1',
    });
    expect(emitted).toHaveLength(1);
  });

  test('a 5xx hides its message unless exposed; expose: true shows it', async () => {
    const hidden = appWith((ctx) => ctx.throw(503, 'redis at 10.0.0.7 refused'));
    expect((await hidden.client.get('/')).body).toMatchObject({ status: 503, detail: 'Service Unavailable' });
    const shown = appWith(() => {
      throw new HttpError(503, 'Down for maintenance', { retryAfter: 120 });
    });
    const res = await shown.client.get('/');
    expect([res.status, res.headers['retry-after'], res.body.detail]).toEqual([
      503,
      '120',
      'Down for maintenance',
    ]);
  });

  test('a thrown non-error value is a 500 that says nothing', async () => {
    const { client } = appWith(() => {
      throw 'a string';
    });
    const res = await client.get('/');
    expect([res.status, res.body.detail]).toEqual([500, 'Internal Server Error']);
  });

  test('as Koa does, headers of the failed handler go; the error’s own and the rate-limit headers stay', async () => {
    const { client } = appWith(
      (ctx) => {
        ctx.set('X-Half-Done', 'yes');
        ctx.throw(401, 'Who are you?', { headers: { 'WWW-Authenticate': 'Bearer' } });
      },
      {},
      [rateLimit({ scopes: [perIp(5)], headers: 'x-ratelimit' })],
    );
    const res = await client.get('/');
    expect(res.status).toBe(401);
    expect(res.headers['x-half-done']).toBeUndefined();
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.headers['x-ratelimit-remaining']).toBe('4');
  });

  test('a request id set upstream wins over the incoming one', async () => {
    const { client } = appWith(
      () => {
        throw new HttpError(400, 'Bad');
      },
      {},
      [
        (ctx, next) => {
          ctx.set('X-Request-Id', 'from-upstream');
          return next();
        },
      ],
    );
    const res = await client.get('/').set('X-Request-Id', 'from-client');
    expect([res.headers['x-request-id'], res.body.request_id]).toEqual(['from-upstream', 'from-upstream']);
  });

  test('malformed JSON through @koa/bodyparser is a 400 that does not quote the body', async () => {
    const { client } = appWith(
      (ctx) => {
        ctx.body = ctx.request.body;
      },
      { serializer: serializers.fastino },
      [bodyParser()],
    );
    const res = await client.post('/').set('Content-Type', 'application/json').send('{"password": hunter2');
    expect(res.status).toBe(400);
    expect(res.text).not.toMatch(/hunter2/);
    expectMatchesSchema(serializers.fastino, res.body);
  });

  test('a request nothing answered is a 404 in the schema, unless notFound is false', async () => {
    const silent: Middleware = async () => {};
    const rendered = await appWith(silent, { serializer: serializers.firsthand }).client.get('/nowhere');
    expect(rendered.status).toBe(404);
    expect(rendered.body.error).toMatchObject({ type: 'not_found_error', message: 'Not Found' });
    const plain = await appWith(silent, { notFound: false }).client.get('/nowhere');
    expect([plain.status, plain.text]).toEqual([404, 'Not Found']);
    const answered = await appWith((ctx) => {
      ctx.status = 404;
      ctx.body = { mine: true };
    }).client.get('/');
    expect(answered.body).toEqual({ mine: true });
  });

  test('an error after the headers went out is passed on: there is no answer left to give', async () => {
    const app = new KoaApp();
    let passedOn: unknown;
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        passedOn = error;
        ctx.res.end();
      }
    });
    app.use(errorHandler());
    app.use((ctx) => {
      ctx.res.flushHeaders();
      throw new Error('too late');
    });
    const res = await request(app.callback()).get('/');
    // What went out before the error stands: Koa's default status, and no body.
    expect([res.status, res.text]).toEqual([404, '']);
    expect((passedOn as Error).message).toBe('too late');
  });
});
