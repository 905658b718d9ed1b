import type { Request } from 'express';
import express from 'express';
import { parseItem, parseList } from 'structured-headers';
import request from 'supertest';
import { rateLimit } from '../lib/express/index.js';
import type { TollgateOptions } from '../lib/options/options.js';
import { manualClock, T0 } from './helpers/clock.js';

// T0 is 2025-10-27T12:00:00Z = 1761566400; every request below is sent 15 s into the minute.
const general = {
  name: 'ip',
  key: 'ip' as const,
  code: 1453,
  limits: [
    { max: 100, window: '1m' },
    { max: 6000, window: '1h' },
  ],
  burst: 20,
};

function appWith(options: Omit<TollgateOptions<Request>, 'now'>) {
  const clock = manualClock(T0 + 15_000);
  const app = express();
  app.use(rateLimit({ ...options, now: clock.now }));
  app.get('/', (_req, res) => res.send('ok'));
  return { app, clock };
}

const pick = (headers: Record<string, string>, names: string[]) =>
  Object.fromEntries(names.map((n) => [n, headers[n]]));

describe('header dialects, byte for byte', () => {
  test('x-ratelimit with Unix-seconds reset reports the binding limit', async () => {
    const { app } = appWith({ scopes: [{ ...general, headerLimit: 'minute' }], headers: 'x-ratelimit' });
    const res = await request(app).get('/');
    expect(pick(res.headers, ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'])).toEqual({
      'x-ratelimit-limit': '100',
      'x-ratelimit-remaining': '99',
      'x-ratelimit-reset': '1761566460',
    });
    expect(res.headers['ratelimit-limit']).toBeUndefined();
    expect(res.headers.ratelimit).toBeUndefined();
  });

  test('x-ratelimit with ISO-8601 UTC reset', async () => {
    const { app } = appWith({
      scopes: [{ ...general, headerLimit: 'minute' }],
      headers: 'x-ratelimit',
      resetFormat: 'iso',
    });
    const res = await request(app).get('/');
    expect(res.headers['x-ratelimit-reset']).toBe('2025-10-27T12:01:00Z');
  });

  test('ratelimit with Unix-seconds reset', async () => {
    const { app } = appWith({ scopes: [{ ...general, headerLimit: 'minute' }], headers: ['ratelimit'] });
    const res = await request(app).get('/');
    expect(pick(res.headers, ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'])).toEqual({
      'ratelimit-limit': '100',
      'ratelimit-remaining': '99',
      'ratelimit-reset': '1761566460',
    });
  });

  test('without a pinned limit, the headers report the limit closest to refusing: the burst', async () => {
    const { app } = appWith({ scopes: [general], headers: ['ratelimit'] });
    const res = await request(app).get('/');
    expect(res.headers['ratelimit-limit']).toBe('20');
    expect(res.headers['ratelimit-remaining']).toBe('19');
    // The bucket is full again 600 ms after the request: rounded up to the next second.
    expect(res.headers['ratelimit-reset']).toBe('1761566416');
  });

  test('ietf: RateLimit-Policy lists every policy; RateLimit carries r and t; both valid RFC 9651', async () => {
    const { app } = appWith({ scopes: [{ ...general, headerLimit: 'minute' }], headers: 'ietf' });
    const res = await request(app).get('/');
    expect(res.headers['ratelimit-policy']).toBe(
      '"ip_minute";q=100;w=60, "ip_hour";q=6000;w=3600, "ip_burst";q=20;w=12',
    );
    expect(res.headers.ratelimit).toBe('"ip_minute";r=99;t=45');

    const policies = parseList(res.headers['ratelimit-policy']!);
    expect(policies.map(([name, params]) => [String(name), Object.fromEntries(params)])).toEqual([
      ['ip_minute', { q: 100, w: 60 }],
      ['ip_hour', { q: 6000, w: 3600 }],
      ['ip_burst', { q: 20, w: 12 }],
    ]);
    const [name, params] = parseItem(res.headers.ratelimit!);
    expect(String(name)).toBe('ip_minute');
    expect(Object.fromEntries(params)).toEqual({ r: 99, t: 45 });
  });

  test('RateLimit-Policy lists the policies that applied, whichever scopes and caps a request reached', async () => {
    const { app } = appWith({
      scopes: [
        { name: 'ip', key: 'ip', limits: [{ max: 100, window: '1m' }] },
        {
          name: 'partner',
          key: { header: 'x-partner' },
          onMissing: 'skip',
          limits: [{ max: 50, window: '1m' }],
        },
      ],
      spendCap: { key: { header: 'x-user' }, budget: 1000, cost: 10, onMissing: 'skip' },
    });
    const policy = async (headers: Record<string, string>) =>
      (await request(app).get('/').set(headers)).headers['ratelimit-policy'];
    const ip = '"ip_minute";q=100;w=60';
    const partner = '"partner_minute";q=50;w=60';
    const cap = '"spend_day";q=1000;w=86400';
    expect(await policy({ 'x-partner': 'p', 'x-user': 'u' })).toBe(`${ip}, ${partner}, ${cap}`);
    expect(await policy({ 'x-partner': 'p' })).toBe(`${ip}, ${partner}`);
    // As many counters as both scopes have, but one is the cap's: the list is not the scopes'.
    expect(await policy({ 'x-user': 'u' })).toBe(`${ip}, ${cap}`);
    expect(await policy({})).toBe(ip);
  });

  test('several dialects at once', async () => {
    const { app } = appWith({
      scopes: [{ ...general, headerLimit: 'minute' }],
      headers: ['x-ratelimit', 'ratelimit', 'ietf'],
    });
    const res = await request(app).get('/');
    for (const name of ['x-ratelimit-limit', 'ratelimit-limit', 'ratelimit-policy', 'ratelimit'])
      expect(res.headers[name]).toBeDefined();
  });

  test('headers: false sends none, but a refusal still has Retry-After and the reason', async () => {
    const { app } = appWith({
      scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 1, window: '1m' }] }],
      headers: false,
    });
    const ok = await request(app).get('/');
    expect(Object.keys(ok.headers).filter((n) => n.includes('ratelimit'))).toEqual([]);
    const refused = await request(app).get('/');
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('45');
    expect(refused.headers['x-ratelimit-reason']).toBe('ip_minute');
  });
});

describe('refusal headers', () => {
  test('Retry-After is whole seconds, rounded up, and never before a retry would succeed', async () => {
    const { app, clock } = appWith({ scopes: [general], headers: 'ietf' });
    await Promise.all(Array.from({ length: 20 }, () => request(app).get('/')));
    const refused = await request(app).get('/');
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.headers['x-ratelimit-reason']).toBe('ip_burst');
    // 599 ms later is still too early; the retry the header allows (after 1 s) succeeds.
    clock.advance(599);
    expect((await request(app).get('/')).status).toBe(429);
    clock.advance(401);
    expect((await request(app).get('/')).status).toBe(200);
  });

  test('a refusal by the minute window names it and waits for the next minute', async () => {
    const { app, clock } = appWith({
      scopes: [
        {
          name: 'ip',
          key: 'ip',
          limits: [
            { max: 2, window: '1m' },
            { max: 10, window: '1h' },
          ],
        },
      ],
      headers: 'ietf',
    });
    await request(app).get('/');
    await request(app).get('/');
    const refused = await request(app).get('/');
    expect(refused.headers['x-ratelimit-reason']).toBe('ip_minute');
    expect(refused.headers['retry-after']).toBe('45');
    expect(refused.headers.ratelimit).toBe('"ip_minute";r=0;t=45');
    clock.advance(45_000);
    expect((await request(app).get('/')).status).toBe(200);
  });

  test('reasonHeader: false leaves out X-RateLimit-Reason', async () => {
    const { app } = appWith({
      scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 1, window: '1m' }] }],
      reasonHeader: false,
    });
    await request(app).get('/');
    const refused = await request(app).get('/');
    expect(refused.headers['x-ratelimit-reason']).toBeUndefined();
    expect(refused.headers['retry-after']).toBe('45');
  });
});
