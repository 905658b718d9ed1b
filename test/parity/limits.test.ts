import { createLimiter } from '../../lib/core/limiter.js';
import { MemoryStore } from '../../lib/stores/memory/index.js';
import { adapters } from '../helpers/adapters.js';
import { manualClock } from '../helpers/clock.js';
import { delayedStore, perIp, rateHeaderLines } from '../helpers/koa-parity.js';

describe.each(adapters)('$name: limits', (adapter) => {
  test('exactness: 1000 concurrent requests against a limit of 100 admit exactly 100', async () => {
    const clock = manualClock();
    // The store answers a macrotask later, so that the 1000 decisions are all in flight at once.
    const store = delayedStore(new MemoryStore({ now: clock.now }));
    const client = adapter.build({ app: { store, now: clock.now, scopes: [perIp(100)] } });
    const statuses = await Promise.all(Array.from({ length: 1000 }, () => client.get('/ping')));
    const admitted = statuses.filter((res) => res.status === 200).length;
    const refused = statuses.filter((res) => res.status === 429).length;
    expect([admitted, refused]).toEqual([100, 900]);
  });

  test('several windows: the minute binds first, then the hour, each with its Retry-After', async () => {
    const clock = manualClock();
    const client = adapter.build({
      app: {
        now: clock.now,
        headers: 'x-ratelimit',
        scopes: [
          {
            name: 'ip',
            key: 'ip',
            limits: [
              { max: 3, window: '1m' },
              { max: 5, window: '1h' },
            ],
          },
        ],
      },
    });
    for (let i = 0; i < 3; i++) expect((await client.get('/ping')).status).toBe(200);
    const minute = await client.get('/ping');
    expect([minute.status, minute.headers['retry-after'], minute.headers['x-ratelimit-reason']]).toEqual([
      429,
      '60',
      'ip_minute',
    ]);
    clock.advance(60_000);
    for (let i = 0; i < 2; i++) expect((await client.get('/ping')).status).toBe(200);
    const hour = await client.get('/ping');
    expect([hour.status, hour.headers['retry-after'], hour.headers['x-ratelimit-reason']]).toEqual([
      429,
      '3540',
      'ip_hour',
    ]);
    expect(hour.headers['x-ratelimit-limit']).toBe('5');
  });

  test('burst: a bucket refuses a rush the window would admit, and refills at the minute rate', async () => {
    const clock = manualClock();
    const client = adapter.build({
      app: { now: clock.now, scopes: [{ ...perIp(6), burst: 2 }] },
    });
    expect((await client.get('/ping')).status).toBe(200);
    expect((await client.get('/ping')).status).toBe(200);
    const rushed = await client.get('/ping');
    expect(rushed.status).toBe(429);
    expect(rateHeaderLines(rushed)).toEqual([
      'RateLimit-Policy: "ip_minute";q=6;w=60, "ip_burst";q=2;w=20',
      'RateLimit: "ip_burst";r=0;t=20',
      'Retry-After: 10',
      'X-RateLimit-Reason: ip_burst',
    ]);
    clock.advance(10_000);
    expect((await client.get('/ping')).status).toBe(200);
  });

  test('router and route limits stack; a refusal by the route gives back the router charge', async () => {
    const clock = manualClock();
    const store = new MemoryStore({ now: clock.now });
    const client = adapter.build({
      router: {
        store,
        now: clock.now,
        scopes: [{ name: 'global', key: 'ip', limits: [{ max: 10, window: '1m' }] }],
      },
      route: {
        store,
        now: clock.now,
        scopes: [{ name: 'item', key: 'ip', limits: [{ max: 2, window: '1m' }] }],
      },
    });
    expect((await client.get('/v1/items/1')).body).toEqual({ id: '1', remaining: 1, scope: 'item' });
    await client.get('/v1/items/1');
    for (let i = 0; i < 5; i++) {
      const refused = await client.get('/v1/items/1');
      expect([refused.status, refused.body.reason]).toEqual([429, 'item_minute']);
      expect(refused.headers.ratelimit).toBe('"item_minute";r=0;t=60');
      expect(refused.headers['ratelimit-policy']).toBe('"global_minute";q=10;w=60, "item_minute";q=2;w=60');
    }
    // Five refusals charged nothing: the router scope has spent only the two admitted requests.
    const created = await client.post('/v1/items').send({ name: 'x' });
    expect(created.status).toBe(201);
    expect(created.headers.ratelimit).toBe('"global_minute";r=7;t=60');
  });

  test('a prebuilt limiter shared by two mounts shares its counters', async () => {
    const limiter = createLimiter({ now: manualClock().now, scopes: [perIp(2)] });
    const client = adapter.build({ app: limiter, route: limiter });
    // /v1/items/:id passes both mounts: two units per request.
    expect((await client.get('/v1/items/1')).status).toBe(200);
    expect((await client.get('/ping')).status).toBe(429);
  });

  test('keys from route parameters and JSON bodies', async () => {
    const clock = manualClock();
    const byItem = adapter.build({
      route: {
        now: clock.now,
        scopes: [{ name: 'item', key: { param: 'id' }, limits: [{ max: 1, window: '1m' }] }],
      },
    });
    expect((await byItem.get('/v1/items/a')).status).toBe(200);
    expect((await byItem.get('/v1/items/a')).status).toBe(429);
    expect((await byItem.get('/v1/items/b')).status).toBe(200);

    const byAccount = adapter.build({
      app: {
        now: clock.now,
        scopes: [{ name: 'payment', key: { body: 'source_account' }, limits: [{ max: 1, window: '1m' }] }],
      },
    });
    const pay = (account: string) => byAccount.post('/v1/items').send({ source_account: account });
    expect((await pay('acc_1')).status).toBe(201);
    expect((await pay('acc_1')).status).toBe(429);
    expect((await pay('acc_2')).status).toBe(201);
    // No body, no key: counted under the scope's one keyless counter, never left out.
    expect((await byAccount.get('/ping')).headers.ratelimit).toBe('"payment_minute";r=0;t=60');
    expect((await byAccount.get('/ping')).status).toBe(429);
  });

  test('keys from headers and the query string; API keys from Bearer tokens', async () => {
    const clock = manualClock();
    const client = adapter.build({
      app: {
        now: clock.now,
        scopes: [
          { name: 'tenant', key: { query: 'tenant' }, onMissing: 'skip', limits: [{ max: 1, window: '1m' }] },
          { name: 'apiKey', key: 'apiKey', onMissing: 'skip', limits: [{ max: 5, window: '1m' }] },
        ],
      },
    });
    expect((await client.get('/ping?tenant=t1')).status).toBe(200);
    expect((await client.get('/ping?tenant=t1')).status).toBe(429);
    expect((await client.get('/ping?tenant=t2').set('Authorization', 'Bearer k1')).headers.ratelimit).toBe(
      '"tenant_minute";r=0;t=60',
    );
    const keyed = await client.get('/ping').set('Authorization', 'Bearer k1');
    expect(keyed.headers.ratelimit).toBe('"apiKey_minute";r=3;t=60');
  });

  test('behind one trusted proxy, a spoofed X-Forwarded-For lands in the bucket of the real client', async () => {
    const clock = manualClock();
    const client = adapter.build({ proxyHops: 1, app: { now: clock.now, scopes: [perIp(3)] } });
    const from = (forwarded: string) => client.get('/ping').set('X-Forwarded-For', forwarded);
    // The proxy appends the address it saw; everything to its left is the client's own writing.
    expect((await from('1.1.1.1, 198.51.100.9')).status).toBe(200);
    expect((await from('2.2.2.2, 198.51.100.9')).status).toBe(200);
    expect((await from('3.3.3.3, 4.4.4.4, 198.51.100.9')).status).toBe(200);
    expect((await from('5.5.5.5, 198.51.100.9')).status).toBe(429);
    expect((await from('198.51.100.10')).status).toBe(200);
  });
});
