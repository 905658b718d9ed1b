import { serializers } from '../../lib/serializers/index.js';
import { adapters } from '../helpers/adapters.js';
import { manualClock } from '../helpers/clock.js';
import { perIp, rateHeaderLines } from '../helpers/koa-parity.js';

describe.each(adapters)('$name: the application’s own errors, in the limiter’s schema', (adapter) => {
  const build = (serializer = serializers.problem) =>
    adapter.build({
      errors: serializer,
      app: { now: manualClock().now, serializer, headers: 'x-ratelimit', scopes: [perIp(10)] },
    });

  test('an HttpError keeps its status, code, message and headers, and the rate-limit headers', async () => {
    const res = await build().get('/v1/fail/http').set('X-Request-Id', 'e-1');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.headers['x-request-id']).toBe('e-1');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(rateHeaderLines(res)).toEqual([
      'X-RateLimit-Limit: 10',
      'X-RateLimit-Remaining: 9',
      'X-RateLimit-Reset: 1761566460',
    ]);
    expect(res.body).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'User "carol" not found',
      code: 'USER_NOT_FOUND',
      request_id: 'e-1',
    });
  });

  test('any other error is a 500 that tells nothing of itself', async () => {
    const res = await build().get('/v1/fail/crash').set('X-Request-Id', 'e-2');
    expect(res.status).toBe(500);
    expect(res.text).not.toMatch(/hunter2/);
    expect(res.body).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'Internal Server Error',
      request_id: 'e-2',
    });
    expect(rateHeaderLines(res)).toHaveLength(3);
  });

  test('a malformed JSON body is a 400 that does not quote the body', async () => {
    const res = await build()
      .post('/v1/items')
      .set('Content-Type', 'application/json')
      .set('X-Request-Id', 'e-3')
      .send('{"secret": hunter2');
    expect(res.status).toBe(400);
    expect(res.text).not.toMatch(/hunter2/);
    expect(res.body).toEqual({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: 'The request body is not valid JSON',
      request_id: 'e-3',
    });
  });

  test('a preset serializer shapes refusals and errors alike', async () => {
    const client = build(serializers.firsthand);
    const notFound = await client.get('/v1/fail/http').set('X-Request-Id', 'e-4');
    expect(notFound.text).toBe(
      '{"error":{"type":"not_found_error","message":"User \\"carol\\" not found","request_id":"e-4"}}',
    );
    expect(notFound.headers['content-type']).toBe('application/json; charset=utf-8');
    for (let i = 0; i < 9; i++) await client.get('/ping');
    const refused = await client.get('/ping').set('X-Request-Id', 'e-5');
    expect(refused.status).toBe(429);
    expect(refused.text).toBe(
      '{"error":{"type":"rate_limit_error","message":"Too many requests. Please retry after 60 seconds.","request_id":"e-5"}}',
    );
  });
});
