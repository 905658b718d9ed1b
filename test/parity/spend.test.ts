import { createLimiter } from '../../lib/core/limiter.js';
import type { SpendCapOptions } from '../../lib/options/options.js';
import { MemoryStore } from '../../lib/stores/memory/index.js';
import type { Store } from '../../lib/stores/store.js';
import { adapters } from '../helpers/adapters.js';
import { manualClock } from '../helpers/clock.js';
import { rateHeaderLines } from '../helpers/koa-parity.js';

const MIDNIGHT = Date.UTC(2025, 9, 28);

describe.each(adapters)('$name: daily spending caps', (adapter) => {
  function capped(options: Partial<SpendCapOptions> = {}, wrap: (store: Store) => Store = (store) => store) {
    const clock = manualClock(MIDNIGHT - 3_600_000);
    const errors: unknown[] = [];
    const limiter = createLimiter({
      now: clock.now,
      store: wrap(new MemoryStore({ now: clock.now })),
      headers: 'ietf',
      onError: (error) => errors.push(error),
      spendCap: { key: { header: 'x-user' }, budget: 1000, cost: { header: 'x-credits' }, ...options },
    });
    const client = adapter.build({ app: limiter, usage: limiter });
    const spend = (status: number, credits: number, extra: Record<string, string> = {}) =>
      client.post(`/v1/spend/${status}`).set({ 'x-user': 'u', 'x-credits': String(credits), ...extra });
    const used = async () => (await client.get('/usage').set('x-user', 'u')).body.used;
    return { client, spend, used, errors };
  }

  test('a failed response (status ≥ 500) gets its reservation back when it finishes', async () => {
    const { client, spend } = capped();
    expect((await spend(503, 300)).status).toBe(503);
    expect((await spend(200, 300)).status).toBe(200);
    const usage = await client.get('/usage').set('x-user', 'u');
    expect(usage.headers['cache-control']).toBe('no-store');
    expect(usage.body).toEqual({ used: 300, remaining: 700, cap: 1000, resets_at: '2025-10-28T00:00:00Z' });
  });

  test('adjust-after: the reported actual cost replaces the estimate', async () => {
    const { spend, used } = capped();
    await spend(200, 100, { 'x-actual': '40' });
    expect(await used()).toBe(40);
    await spend(200, 100, { 'x-actual': '250' });
    expect(await used()).toBe(290);
  });

  test('refundWhen decides which statuses give the reservation back', async () => {
    const on4xx = capped({ refundWhen: (status) => status >= 400 });
    await on4xx.spend(404, 300);
    expect(await on4xx.used()).toBe(0);
    const never = capped({ refundWhen: 'never' });
    await never.spend(500, 300);
    expect(await never.used()).toBe(300);
  });

  test('over the cap: 429, daily_spend_cap_exceeded, Retry-After to 00:00 UTC, nothing reserved', async () => {
    const { spend, used } = capped();
    await spend(200, 900);
    const refused = await spend(200, 200);
    expect(refused.status).toBe(429);
    expect(rateHeaderLines(refused)).toEqual([
      'RateLimit-Policy: "spend_day";q=1000;w=86400',
      'RateLimit: "spend_day";r=100;t=3600',
      'Retry-After: 3600',
      'X-RateLimit-Reason: daily_spend_cap_exceeded',
    ]);
    expect(refused.body).toMatchObject({
      reason: 'daily_spend_cap_exceeded',
      'violated-policies': ['spend_day'],
    });
    expect(await used()).toBe(900);
    expect((await spend(200, 100)).status).toBe(200);
  });

  test('an idempotency key is charged once', async () => {
    const { spend, used } = capped();
    await spend(200, 100, { 'idempotency-key': 'k1' });
    await spend(200, 100, { 'idempotency-key': 'k1' });
    expect(await used()).toBe(100);
  });

  test('usage without a key is a 401 in the schema', async () => {
    const { client } = capped();
    const res = await client.get('/usage').set('X-Request-Id', 'u-1');
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ status: 401, reason: 'spend_missing', request_id: 'u-1' });
  });

  test('a settlement the store cannot make reaches onError, not the response', async () => {
    const { spend, errors } = capped({}, (store) => {
      store.refund = () => Promise.reject(new Error('store gone'));
      return store;
    });
    expect((await spend(500, 300)).status).toBe(500);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors.map((error) => (error as Error).message)).toEqual(['store gone']);
  });
});
