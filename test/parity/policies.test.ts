import type { Decision } from '../../lib/core/decision.js';
import type { RequestInfo } from '../../lib/core/request.js';
import { MemoryStore } from '../../lib/stores/memory/index.js';
import { adapters } from '../helpers/adapters.js';
import { manualClock } from '../helpers/clock.js';
import { failingStore, perIp, rateHeaderLines } from '../helpers/koa-parity.js';

describe.each(adapters)('$name: policies and hooks', (adapter) => {
  test('shadow mode counts and reports but never refuses', async () => {
    const clock = manualClock();
    const client = adapter.build({ route: { now: clock.now, shadow: true, scopes: [perIp(1)] } });
    await client.get('/v1/items/1');
    const over = await client.get('/v1/items/1');
    expect(over.status).toBe(200);
    expect(over.body).toEqual({ id: '1', remaining: 0, scope: 'ip' });
    // Over the limit, the counters still speak, but no Retry-After: nothing was refused.
    expect(rateHeaderLines(over)).toEqual([
      'RateLimit-Policy: "ip_minute";q=1;w=60',
      'RateLimit: "ip_minute";r=0;t=60',
    ]);
  });

  test('skip leaves matching requests uncounted and unannotated', async () => {
    const clock = manualClock();
    const client = adapter.build({
      app: { now: clock.now, scopes: [perIp(1)], skip: (req) => req.headers['x-internal'] === 'yes' },
    });
    for (let i = 0; i < 3; i++) {
      const skipped = await client.get('/ping').set('X-Internal', 'yes');
      expect([skipped.status, rateHeaderLines(skipped)]).toEqual([200, []]);
    }
    expect((await client.get('/ping')).status).toBe(200);
    expect((await client.get('/ping')).status).toBe(429);
  });

  test('allow-listed addresses (IPv4 and IPv4-mapped IPv6 loopback) are never counted', async () => {
    const clock = manualClock();
    const client = adapter.build({ app: { now: clock.now, scopes: [perIp(1)], allowList: ['127.0.0.0/8'] } });
    for (let i = 0; i < 3; i++) {
      const res = await client.get('/ping');
      expect([res.status, rateHeaderLines(res)]).toEqual([200, []]);
    }
    const behindProxy = adapter.build({
      proxyHops: 1,
      app: { now: clock.now, scopes: [perIp(1)], allowList: ['10.0.0.0/8'] },
    });
    expect(
      (await behindProxy.get('/ping').set('X-Forwarded-For', '10.1.2.3')).headers.ratelimit,
    ).toBeUndefined();
    await behindProxy.get('/ping').set('X-Forwarded-For', '10.1.2.3, 192.0.2.1');
    expect((await behindProxy.get('/ping').set('X-Forwarded-For', '192.0.2.1')).status).toBe(429);
  });

  test('a request without the scope key is refused with missingStatus and the scope code', async () => {
    const clock = manualClock();
    const client = adapter.build({
      app: {
        now: clock.now,
        scopes: [{ name: 'apiKey', key: 'apiKey', code: 'UNAUTHORIZED', limits: [{ max: 5, window: '1m' }] }],
      },
    });
    const res = await client.get('/ping').set('X-Request-Id', 'r1');
    expect(res.status).toBe(401);
    expect(rateHeaderLines(res)).toEqual([]);
    expect(res.body).toEqual({
      type: 'about:blank',
      title: 'Unauthorized',
      status: 401,
      detail: 'This request has no apiKey to be counted against',
      code: 'UNAUTHORIZED',
      reason: 'apiKey_missing',
      request_id: 'r1',
    });
    expect((await client.get('/ping').set('X-API-Key', 'k')).status).toBe(200);
  });

  test('a cost that is not a non-negative integer is a 400', async () => {
    const client = adapter.build({ app: { now: manualClock().now, cost: () => -1, scopes: [perIp(5)] } });
    const res = await client.get('/ping');
    expect([res.status, res.body.reason]).toEqual([400, 'invalid_cost']);
  });

  test('a cost function charges several units', async () => {
    const client = adapter.build({
      app: { now: manualClock().now, cost: (req) => (req.method === 'POST' ? 3 : 1), scopes: [perIp(4)] },
    });
    expect((await client.post('/v1/items').send({})).headers.ratelimit).toBe('"ip_minute";r=1;t=60');
    expect((await client.post('/v1/items').send({})).status).toBe(429);
    expect((await client.get('/ping')).headers.ratelimit).toBe('"ip_minute";r=0;t=60');
  });

  test('store down, fail open: admitted without headers; the decision carries the error', async () => {
    const decisions: Decision[] = [];
    const client = adapter.build({
      app: {
        store: failingStore(),
        now: manualClock().now,
        scopes: [perIp(1)],
        onDecision: (decision) => decisions.push(decision),
      },
    });
    for (let i = 0; i < 3; i++) {
      const res = await client.get('/ping');
      expect([res.status, rateHeaderLines(res)]).toEqual([200, []]);
    }
    expect(decisions.map((d) => [d.allowed, d.reason, (d.storeError as Error).message])).toEqual(
      Array(3).fill([true, 'store_unavailable', 'connect ECONNREFUSED 127.0.0.1:6379']),
    );
  });

  test('store down, fail closed: 503 in the schema', async () => {
    const client = adapter.build({
      app: { store: failingStore(), onStoreError: 'closed', now: manualClock().now, scopes: [perIp(1)] },
    });
    const res = await client.get('/ping').set('X-Request-Id', 'r2');
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(res.body).toMatchObject({
      type: 'about:blank',
      status: 503,
      reason: 'store_unavailable',
      request_id: 'r2',
    });
    expect(rateHeaderLines(res)).toEqual([]);
  });

  test('store down, insurance: an in-process limit divided by the instance count', async () => {
    const client = adapter.build({
      app: {
        store: failingStore(),
        onStoreError: { insurance: { divisor: 2 } },
        now: manualClock().now,
        scopes: [perIp(4)],
      },
    });
    expect((await client.get('/ping')).headers['ratelimit-policy']).toBe('"ip_minute";q=2;w=60');
    expect((await client.get('/ping')).status).toBe(200);
    const refused = await client.get('/ping');
    expect([refused.status, refused.headers['retry-after']]).toEqual([429, '60']);
  });

  test('hooks see every decision, refusals once more, with the framework object as raw', async () => {
    const seen: Array<[string, boolean, string, string]> = [];
    const refusals: string[] = [];
    let raw: unknown;
    const hook = (decision: Decision, req: RequestInfo<unknown>) => {
      seen.push([req.method, decision.allowed, req.path, String(req.ip).replace(/^::ffff:/, '')]);
      raw = req.raw;
    };
    const client = adapter.build({
      app: {
        store: new MemoryStore(),
        scopes: [perIp(1)],
        onDecision: hook,
        onRefusal: (decision) => {
          refusals.push(String(decision.reason));
          throw new Error('a broken hook changes nothing');
        },
      },
    });
    expect((await client.get('/v1/items/1?x=1')).status).toBe(200);
    expect((await client.get('/ping')).status).toBe(429);
    expect(seen).toEqual([
      ['GET', true, '/v1/items/1', '127.0.0.1'],
      ['GET', false, '/ping', '127.0.0.1'],
    ]);
    expect(refusals).toEqual(['ip_minute']);
    expect(adapter.isRaw(raw)).toBe(true);
  });

  // Regression: Express's req.path is relative to the router's mount point, Koa's ctx.path is
  // the whole path; the Express adapter now describes baseUrl + path so both agree.
  test('a route-level middleware sees the whole path, as an app-level one does', async () => {
    const paths: string[] = [];
    const client = adapter.build({
      route: { now: manualClock().now, scopes: [perIp(5)], onDecision: (_d, req) => paths.push(req.path) },
    });
    await client.get('/v1/items/1');
    expect(paths).toEqual(['/v1/items/1']);
  });

  test('hooks receive the route parameters and parsed body', async () => {
    const infos: Array<Pick<RequestInfo<unknown>, 'params' | 'body' | 'query'>> = [];
    const client = adapter.build({
      app: {
        now: manualClock().now,
        scopes: [perIp(5)],
        onDecision: (_decision, req) => infos.push({ body: req.body, query: req.query }),
      },
      route: {
        now: manualClock().now,
        scopes: [perIp(5)],
        onDecision: (_decision, req) => infos.push({ params: req.params }),
      },
    });
    await client.post('/v1/items?x=1').send({ a: 1 });
    await client.get('/v1/items/9');
    expect(infos[0]).toEqual({ body: { a: 1 }, query: { x: '1' } });
    expect(infos[2]).toEqual({ params: { id: '9' } });
  });
});
