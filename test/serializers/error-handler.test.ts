import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { describeError, renderError } from '../../lib/errors/http-errors.js';
import { errorHandler, HttpError, rateLimit } from '../../lib/express/index.js';
import { type Serializer, serializers } from '../../lib/serializers/index.js';
import { expectMatchesSchema, GENERATED_ID } from '../helpers/examples.js';

/** An app whose one route throws `error`, answered by `errorHandler`. */
function appThrowing(error: unknown, options: Parameters<typeof errorHandler>[0] = {}) {
  const app = express();
  app.post('/boom', express.json(), () => {
    throw error;
  });
  app.get('/boom', () => {
    throw error;
  });
  app.use(errorHandler(options));
  return app;
}

describe('HttpError', () => {
  test('carries status, code, message, details, headers and retryAfter', () => {
    const error = new HttpError(404, 'User "carol" not found', {
      code: 'USER_NOT_FOUND',
      details: { user_id: 'carol' },
      headers: { 'X-Hint': 'check the id' },
    });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: 'HttpError',
      status: 404,
      statusCode: 404,
      code: 'USER_NOT_FOUND',
      expose: true,
    });
    expect(new HttpError(503).message).toBe('Service Unavailable');
  });

  test.each([200, 399, 600, 404.5, Number.NaN])('refuses status %p', (status) => {
    expect(() => new HttpError(status)).toThrow(RangeError);
  });

  test('refuses a retryAfter that is not a positive integer', () => {
    expect(() => new HttpError(503, 'later', { retryAfter: 0 })).toThrow(RangeError);
    expect(() => new HttpError(503, 'later', { retryAfter: 1.5 })).toThrow(RangeError);
  });
});

describe('describeError', () => {
  test('an http-errors-like object (Koa ctx.throw, body-parser) is read by shape', () => {
    const { description, expected } = describeError(
      { status: 403, message: 'nope', expose: true, code: 'NOPE' },
      'r1',
    );
    expect(expected).toBe(true);
    expect(description).toMatchObject({ status: 403, message: 'nope', code: 'NOPE', requestId: 'r1' });
  });

  test('statusCode works as well as status', () => {
    expect(describeError({ statusCode: 410, message: 'gone' }, 'r').description).toMatchObject({
      status: 410,
      message: 'gone',
    });
  });

  test('a 5xx is not exposed unless it says so: its message and code stay inside', () => {
    const { description, expected } = describeError(
      { status: 502, message: 'upstream 10.0.0.3 died', code: 'X' },
      'r',
    );
    expect(expected).toBe(false);
    expect(description).toMatchObject({ status: 502, message: 'Bad Gateway', code: undefined });
    const shown = describeError(new HttpError(502, 'The upstream failed'), 'r');
    expect(shown.description.message).toBe('The upstream failed');
  });

  test.each([
    ['an Error', new Error('secret at /srv/app.js:12')],
    ['a string', 'oops'],
    ['null', null],
    ['an object with a 2xx status', { status: 200, message: 'fine' }],
    ['an object with a bogus status', { status: '404', message: 'x' }],
  ])('%s is a 500 that says nothing of it', (_name, error) => {
    const { description, expected } = describeError(error, 'r');
    expect(expected).toBe(false);
    expect(description).toMatchObject({ status: 500, message: 'Internal Server Error', code: undefined });
  });

  test('bad headers and headers the body sets itself are dropped', () => {
    const { headers } = describeError(
      new HttpError(401, 'x', {
        headers: {
          'WWW-Authenticate': 'Bearer',
          'Content-Type': 'text/html',
          'Bad Name': 'x',
          'X-Split': 'a\r\nb',
        },
        retryAfter: 9,
      }),
      'r',
    );
    expect(headers).toEqual([
      ['WWW-Authenticate', 'Bearer'],
      ['Retry-After', '9'],
    ]);
  });

  test('renderError defaults to the problem serializer', () => {
    const answer = renderError(new HttpError(404), { requestId: 'r' });
    expect(answer.contentType).toBe('application/problem+json; charset=utf-8');
    expect(JSON.parse(answer.body)).toMatchObject({ status: 404, title: 'Not Found', request_id: 'r' });
  });
});

describe('errorHandler (Express)', () => {
  const PRESETS: Serializer[] = Object.values(serializers);

  test.each(PRESETS.map((s) => [s.name, s] as const))(
    '%s: every kind of error renders in the schema',
    async (_n, serializer) => {
      for (const error of [
        new HttpError(400, 'bad', { code: 'INVALID_REQUEST', details: { field: 'x' } }),
        new HttpError(401),
        new HttpError(403),
        new HttpError(404),
        new HttpError(504, 'slow', { code: 'TIMEOUT' }),
        new HttpError(503, 'later', { retryAfter: 5 }),
        { status: 413, message: 'request entity too large', expose: true, type: 'entity.too.large' },
        new Error('internal'),
      ]) {
        const res = await request(appThrowing(error, { serializer })).get('/boom');
        expect(res.headers['content-type']).toBe(serializer.contentType);
        expectMatchesSchema(serializer, res.body);
      }
    },
  );

  test('malformed JSON from express.json() is a 400 that does not quote the parser', async () => {
    const app = appThrowing(new Error('unreachable'), { serializer: serializers.fastino });
    const res = await request(app).post('/boom').set('Content-Type', 'application/json').send('{"secret": ');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'INVALID_REQUEST',
      message: 'The request body is not valid JSON',
    });
    expect(res.text).not.toContain('secret');
    expect(res.text).not.toContain('Unexpected');
  });

  test('an unexpected error is a 500 with nothing of it, and goes to onError', async () => {
    const seen: unknown[] = [];
    const error = new Error('password=hunter2');
    const res = await request(
      appThrowing(error, { serializer: serializers.firsthand, onError: (e) => seen.push(e) }),
    ).get('/boom');
    expect(res.status).toBe(500);
    expect(res.body.error).toMatchObject({ type: 'api_error', message: 'Internal Server Error' });
    expect(res.text).not.toContain('hunter2');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(seen).toEqual([error]);
  });

  test('an expected error does not go to onError, and an onError that throws changes nothing', async () => {
    const onError = jest.fn(() => {
      throw new Error('logger down');
    });
    expect((await request(appThrowing(new HttpError(404), { onError })).get('/boom')).status).toBe(404);
    expect(onError).not.toHaveBeenCalled();
    expect((await request(appThrowing(new Error('x'), { onError })).get('/boom')).status).toBe(500);
    expect(onError).toHaveBeenCalledTimes(1);
  });

  test('headers of the error and Retry-After are sent', async () => {
    const res = await request(
      appThrowing(
        new HttpError(503, 'Maintenance', { retryAfter: 120, headers: { 'WWW-Authenticate': 'Bearer' } }),
        {
          serializer: serializers.fluid,
        },
      ),
    ).get('/boom');
    expect(res.headers['retry-after']).toBe('120');
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.body.error.details.retry_after).toBe(120);
  });

  test('X-Request-Id: echoed when safe, generated otherwise, the application’s own when it set one', async () => {
    const app = appThrowing(new HttpError(404), { serializer: serializers.firsthand });
    const echoed = await request(app).get('/boom').set('X-Request-Id', 'abc.123');
    expect(echoed.headers['x-request-id']).toBe('abc.123');
    expect(echoed.body.error.request_id).toBe('abc.123');
    const replaced = await request(app).get('/boom').set('X-Request-Id', 'no spaces allowed');
    expect(replaced.body.error.request_id).toMatch(GENERATED_ID);
    expect(replaced.headers['x-request-id']).toBe(replaced.body.error.request_id);

    const own = express();
    own.use((_req, res, next) => {
      res.setHeader('X-Request-Id', 'app-assigned-1');
      next();
    });
    own.get('/boom', () => {
      throw new HttpError(404);
    });
    own.use(errorHandler({ serializer: serializers.firsthand }));
    const res = await request(own).get('/boom').set('X-Request-Id', 'client-1');
    expect(res.body.error.request_id).toBe('app-assigned-1');
  });

  test('rate-limit headers set by tollgate stay on the error answer', async () => {
    const app = express();
    app.use(
      rateLimit({
        headers: 'x-ratelimit',
        scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 5, window: '1m' }] }],
      }),
    );
    app.get('/missing', () => {
      throw new HttpError(404, 'No such thing', { code: 'NOT_FOUND' });
    });
    app.use(errorHandler({ serializer: serializers.fastino }));
    const res = await request(app).get('/missing');
    expect(res.status).toBe(404);
    expect(res.headers['x-ratelimit-limit']).toBe('5');
    expect(res.headers['x-ratelimit-remaining']).toBe('4');
  });

  test('once the headers are sent, the error goes on to Express', () => {
    const handler = errorHandler();
    const next = jest.fn();
    const error = new Error('late');
    handler(error, {} as Request, { headersSent: true } as Response, next as NextFunction);
    expect(next).toHaveBeenCalledWith(error);
  });
});
