import { defineSerializer, PROBLEM_QUOTA_EXCEEDED } from '../../lib/serializers/index.js';
import { adapters, type SharedOptions } from '../helpers/adapters.js';
import { manualClock, T0 } from '../helpers/clock.js';
import { perIp, rateHeaderLines } from '../helpers/koa-parity.js';

// T0 is 2025-10-27T12:00:00Z = 1761566400; requests go out 15 s into the minute.
const AT = T0 + 15_000;

describe.each(adapters)('$name: headers, bodies and codes', (adapter) => {
  const build = (options: Omit<SharedOptions, 'now'>, where: 'app' | 'route' = 'app') => {
    const clock = manualClock(AT);
    return { client: adapter.build({ [where]: { ...options, now: clock.now } }), clock };
  };

  test('x-ratelimit, Unix-seconds reset: admitted, then refused', async () => {
    const { client } = build({ scopes: [perIp(2)], headers: 'x-ratelimit' });
    expect(rateHeaderLines(await client.get('/ping'))).toEqual([
      'X-RateLimit-Limit: 2',
      'X-RateLimit-Remaining: 1',
      'X-RateLimit-Reset: 1761566460',
    ]);
    await client.get('/ping');
    expect(rateHeaderLines(await client.get('/ping'))).toEqual([
      'X-RateLimit-Limit: 2',
      'X-RateLimit-Remaining: 0',
      'X-RateLimit-Reset: 1761566460',
      'Retry-After: 45',
      'X-RateLimit-Reason: ip_minute',
    ]);
  });

  test('x-ratelimit with ISO-8601 reset and no reason header', async () => {
    const { client } = build({
      scopes: [perIp(1)],
      headers: 'x-ratelimit',
      resetFormat: 'iso',
      reasonHeader: false,
    });
    await client.get('/ping');
    expect(rateHeaderLines(await client.get('/ping'))).toEqual([
      'X-RateLimit-Limit: 1',
      'X-RateLimit-Remaining: 0',
      'X-RateLimit-Reset: 2025-10-27T12:01:00Z',
      'Retry-After: 45',
    ]);
  });

  test('ratelimit (draft 6 style) fields', async () => {
    const { client } = build({ scopes: [perIp(5)], headers: 'ratelimit' });
    expect(rateHeaderLines(await client.get('/ping'))).toEqual([
      'RateLimit-Limit: 5',
      'RateLimit-Remaining: 4',
      'RateLimit-Reset: 1761566460',
    ]);
  });

  test('ietf RateLimit and RateLimit-Policy list every policy, report the closest', async () => {
    const { client } = build({
      scopes: [
        {
          name: 'ip',
          key: 'ip',
          limits: [
            { max: 10, window: '1m' },
            { max: 600, window: '1h' },
          ],
          burst: 4,
        },
      ],
    });
    expect(rateHeaderLines(await client.get('/ping'))).toEqual([
      'RateLimit-Policy: "ip_minute";q=10;w=60, "ip_hour";q=600;w=3600, "ip_burst";q=4;w=24',
      'RateLimit: "ip_burst";r=3;t=6',
    ]);
  });

  test('all three dialects at once, in a fixed order', async () => {
    const { client } = build({ scopes: [perIp(1)], headers: ['ietf', 'x-ratelimit', 'ratelimit'] });
    await client.get('/ping');
    expect(rateHeaderLines(await client.get('/ping'))).toEqual([
      'X-RateLimit-Limit: 1',
      'X-RateLimit-Remaining: 0',
      'X-RateLimit-Reset: 1761566460',
      'RateLimit-Limit: 1',
      'RateLimit-Remaining: 0',
      'RateLimit-Reset: 1761566460',
      'RateLimit-Policy: "ip_minute";q=1;w=60',
      'RateLimit: "ip_minute";r=0;t=45',
      'Retry-After: 45',
      'X-RateLimit-Reason: ip_minute',
    ]);
  });

  test('headers: false sends none, even on a refusal, but still Retry-After', async () => {
    const { client } = build({ scopes: [perIp(1)], headers: false });
    expect(rateHeaderLines(await client.get('/ping'))).toEqual([]);
    expect(rateHeaderLines(await client.get('/ping'))).toEqual([
      'Retry-After: 45',
      'X-RateLimit-Reason: ip_minute',
    ]);
  });

  test('the problem+json refusal: status, content type, body, request id, cache', async () => {
    const { client } = build({ scopes: [perIp(1, { code: 1453 })] });
    await client.get('/ping');
    const res = await client.get('/ping').set('X-Request-Id', 'trace-42.a:b');
    expect(res.status).toBe(429);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(res.headers['x-request-id']).toBe('trace-42.a:b');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toBe(
      JSON.stringify({
        type: PROBLEM_QUOTA_EXCEEDED,
        title: 'Request cannot be satisfied as assigned quota has been exceeded',
        status: 429,
        detail: 'Rate limit exceeded for ip: 1 requests per 1 minute',
        'violated-policies': ['ip_minute'],
        code: 1453,
        reason: 'ip_minute',
        retry_after: 45,
        request_id: 'trace-42.a:b',
      }),
    );
  });

  test('an unsafe X-Request-Id is replaced by a generated one, echoed in the header', async () => {
    const { client } = build({ scopes: [perIp(1)] });
    await client.get('/ping');
    const res = await client.get('/ping').set('X-Request-Id', 'bad id\twith spaces');
    expect(res.headers['x-request-id']).toMatch(/^req_[0-9A-Z]{26}$/);
    expect(res.body.request_id).toBe(res.headers['x-request-id']);
  });

  test('a custom serializer decides body and content type; scope message and string code', async () => {
    const serializer = defineSerializer(
      (error) => ({ error: { code: error.code, message: error.message, retry: error.retryAfter } }),
      { contentType: 'application/vnd.api+json' },
    );
    const { client } = build({
      serializer,
      scopes: [perIp(1, { code: 'RATE_LIMIT_EXCEEDED', message: 'Slow down' })],
    });
    await client.get('/ping');
    const res = await client.get('/ping');
    expect(res.headers['content-type']).toBe('application/vnd.api+json');
    expect(res.text).toBe('{"error":{"code":"RATE_LIMIT_EXCEEDED","message":"Slow down","retry":45}}');
  });

  test('admitted responses carry the decision to the handler', async () => {
    const { client } = build({ scopes: [perIp(3)] }, 'route');
    const res = await client.get('/v1/items/7');
    expect(res.body).toEqual({ id: '7', remaining: 2, scope: 'ip' });
    const unlimited = await adapter.build({}).get('/v1/items/8');
    expect(unlimited.body).toEqual({ id: '8', remaining: null, scope: null });
  });

  test('retry-after rounds up and tracks the injected clock', async () => {
    const { client, clock } = build({ scopes: [perIp(1)], headers: 'x-ratelimit' });
    await client.get('/ping');
    clock.advance(44_001);
    const res = await client.get('/ping');
    expect(res.headers['retry-after']).toBe('1');
    expect(res.body.retry_after).toBe(1);
    clock.advance(999);
    expect((await client.get('/ping')).status).toBe(200);
  });
});
