import type { AlertEvent, ClientOptions } from '../../lib/client/index.js';
import { T0 } from '../helpers/clock.js';
import { reply, type Sent, scriptedClient, type scriptedFetch } from './helpers/fakes.js';

const BASE = 'https://api.example.test';

function setup(replies: Parameters<typeof scriptedFetch>[1], options: Partial<ClientOptions> = {}) {
  const setUp = scriptedClient(BASE, replies, { throttle: false, concurrency: 1, ...options });
  const alerts: AlertEvent[] = [];
  setUp.api.on('alert', (alert) => alerts.push(alert));
  return { ...setUp, alerts };
}

const minute = (remaining: number, limit = 100) =>
  reply(200, {
    'RateLimit-Limit': String(limit),
    'RateLimit-Remaining': String(remaining),
    'RateLimit-Reset': String(T0 / 1000 + 60),
  });

describe('metrics', () => {
  test('counts requests, 429s, retries and error codes (FLUID figures)', async () => {
    const { api } = setup([
      reply(
        429,
        { 'Retry-After': '1' },
        { error: { code: 1454, message: 'Rate limit exceeded for payment partner' } },
      ),
      reply(200),
      reply(404, {}, { error: { code: 404, message: 'No such route' } }),
      reply(503),
      reply(200),
    ]);
    await api.fetch('/a');
    await api.fetch('/b');
    await api.fetch('/c');
    expect(api.metrics()).toMatchObject({
      total_requests: 5,
      rate_limited: 1,
      rate_limited_share: 0.2,
      rate_limited_share_last_minute: 0.2,
      by_error_code: { 1454: 1, 404: 1, 503: 1 },
      retries: 2,
      queued: 0,
      in_flight: 0,
    });
  });

  test('utilisation per policy, current and peak usage', async () => {
    const { api, clock } = setup([minute(70), minute(40), minute(100)]);
    await api.fetch('/x');
    expect(api.metrics()).toMatchObject({
      current_usage: 0.3,
      peak_usage: 0.3,
      utilisation: { default: 0.3 },
    });
    await api.fetch('/x');
    expect(api.metrics()).toMatchObject({ current_usage: 0.6, peak_usage: 0.6 });
    expect(api.metrics().policies.default).toEqual({
      limit: 100,
      remaining: 40,
      reset_at: T0 + 60_000,
      window_ms: undefined,
      utilisation: 0.6,
      peak_utilisation: 0.6,
      peak_used: 60,
    });
    // Once the window has reset, nothing of it is used any more; the peak stays.
    clock.advance(60_000);
    expect(api.metrics()).toMatchObject({ current_usage: 0, peak_usage: 0.6, utilisation: { default: 0 } });
    expect(api.metrics().policies.default?.remaining).toBe(100);
  });

  test('resetMetrics returns the figures, zeroes the counters and keeps the peaks', async () => {
    const { api } = setup([reply(429, { 'Retry-After': '1' }), minute(10)]);
    await api.fetch('/x');
    const before = api.resetMetrics();
    expect(before).toMatchObject({ total_requests: 2, rate_limited: 1, peak_usage: 0.9 });
    expect(api.metrics()).toMatchObject({
      total_requests: 0,
      rate_limited: 0,
      rate_limited_share: 0,
      by_error_code: {},
      retries: 0,
      peak_usage: 0.9,
      current_usage: 0.9,
    });
    expect(api.metrics().policies.default?.peak_used).toBe(90);
  });

  test('a policy named __proto__ by a hostile server stays a plain key', async () => {
    const { api } = setup([
      reply(200, { RateLimit: '"__proto__";r=1;t=1', 'RateLimit-Policy': '"__proto__";q=2;w=1' }),
    ]);
    await api.fetch('/x');
    const m = api.metrics();
    expect(Object.keys(m.utilisation)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(m.utilisation)).toBe(Object.prototype);
  });
});

describe('alerts', () => {
  test('utilisation passing 80 % warns and 90 % is high, once each until it falls back', async () => {
    const { api, alerts, clock } = setup([
      minute(30),
      minute(19),
      minute(15),
      minute(9),
      minute(5),
      minute(95),
    ]);
    for (let i = 0; i < 5; i++) await api.fetch('/x');
    expect(alerts).toEqual([
      { kind: 'utilisation', level: 'warning', policy: 'default', utilisation: 0.81, threshold: 0.8 },
      { kind: 'utilisation', level: 'high', policy: 'default', utilisation: 0.91, threshold: 0.9 },
    ]);
    // A new window: usage falls back, which re-arms both.
    clock.advance(61_000);
    await api.fetch('/x');
    expect(alerts).toHaveLength(2);
  });

  test('a 429 is a high alert', async () => {
    const { api, alerts } = setup([
      reply(429, { 'Retry-After': '1', 'X-RateLimit-Reason': 'ip_minute' }),
      reply(200),
    ]);
    await api.fetch('/x');
    expect(alerts).toEqual([
      { kind: 'rate_limited', level: 'high', status: 429, reason: 'ip_minute', url: `${BASE}/x` },
    ]);
  });

  test('more than 5 % of the last minute’s requests rate limited is critical', async () => {
    const limited = (s: Sent) => (Number(new URL(s.url).pathname.slice(1)) % 10 === 3 ? 429 : 200);
    const seen = new Set<string>();
    const { api, alerts } = setup([
      (s) => {
        // Each call is refused once at most: its retry goes through.
        const first = !seen.has(s.url);
        seen.add(s.url);
        return reply(first ? limited(s) : 200, { 'Retry-After': '0' });
      },
    ]);
    for (let i = 0; i < 20; i++) await api.fetch(`/${i}`);
    const critical = alerts.filter((a) => a.kind === 'rate_limited_share');
    // 2 of the first 20 requests (10 %) once 20 have been seen: one alert, not one per request.
    expect(critical).toHaveLength(1);
    expect(critical[0]).toMatchObject({ level: 'critical', threshold: 0.05, requests: 20 });
    expect(api.metrics().rate_limited_share_last_minute).toBeCloseTo(2 / 22);
  });

  test('the share counts only the last minute', async () => {
    const { api, clock } = setup([reply(429, { 'Retry-After': '0' }), reply(200)]);
    await api.fetch('/x');
    expect(api.metrics().rate_limited_share_last_minute).toBe(0.5);
    clock.advance(60_001);
    expect(api.metrics().rate_limited_share_last_minute).toBe(0);
    expect(api.metrics().rate_limited_share).toBe(0.5);
  });

  test('one error code more than 10 times in a minute is critical', async () => {
    const { api, alerts } = setup([reply(404, {}, { error: { code: 'USER_NOT_FOUND' } })]);
    for (let i = 0; i < 12; i++) await api.fetch('/users/ghost');
    expect(alerts).toEqual([
      { kind: 'error_code', level: 'critical', code: 'USER_NOT_FOUND', count: 11, threshold: 10 },
    ]);
  });

  test('a listener that throws breaks nothing; unsubscribing stops events', async () => {
    const { api } = setup([reply(429, { 'Retry-After': '0' }), reply(200)]);
    const calls: string[] = [];
    const off = api.on('retry', () => {
      calls.push('retry');
      throw new Error('listener bug');
    });
    expect((await api.fetch('/x')).status).toBe(200);
    off();
    await api.fetch('/x');
    expect(calls).toEqual(['retry']);
  });
});
