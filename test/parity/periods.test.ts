import { createLimiter } from '../../lib/core/limiter.js';
import type { SpendCapOptions } from '../../lib/options/options.js';
import { MemoryStore } from '../../lib/stores/memory/index.js';
import type { Store } from '../../lib/stores/store.js';
import { adapters } from '../helpers/adapters.js';
import { type ManualClock, manualClock } from '../helpers/clock.js';
import { rateHeaderLines } from '../helpers/koa-parity.js';
import { type QuotaStores, quotaStores } from '../helpers/quota-stores.js';

/**
 * Spending caps by day, week and month through every adapter, on the memory store and a real
 * Redis: 1,000 credits a day and 20,000 a month (and a week where a test says so), checked and
 * charged together with a rate limit, in one store call.
 */

const stores: QuotaStores = quotaStores();
beforeAll(() => stores.start(), 30_000);
afterAll(() => stores.close());

const DAY_AND_MONTH: SpendCapOptions['budgets'] = [
  { period: 'day', budget: 1000 },
  { period: 'month', budget: 20_000 },
];

describe.each(stores.subjects)('%s', (_storeName, makeStore) => {
  describe.each(adapters)('$name', (adapter) => {
    function setUp(start: string, budgets = DAY_AND_MONTH, perMinute = 100) {
      const clock: ManualClock = manualClock(Date.parse(start));
      const store: Store = makeStore(clock);
      const limiter = createLimiter({
        now: clock.now,
        store,
        headers: ['ietf', 'x-ratelimit'],
        scopes: [{ name: 'user', key: { header: 'x-user' }, limits: [{ max: perMinute, window: '1m' }] }],
        spendCap: { key: { header: 'x-user' }, cost: { header: 'x-credits' }, budgets },
      });
      const client = adapter.build({ app: limiter, usage: limiter });
      const spend = (credits: number, status = 200, extra: Record<string, string> = {}) =>
        client.post(`/v1/spend/${status}`).set({ 'x-user': 'u', 'x-credits': String(credits), ...extra });
      const usage = async () => (await client.get('/usage').set('x-user', 'u')).body;
      return { clock, client, spend, usage };
    }

    /** Spends `days` days' worth at 1,000 a day, from `start` on, one request a day. */
    async function spendDays(t: ReturnType<typeof setUp>, days: number, credits = 1000): Promise<void> {
      for (let day = 0; day < days; day++) {
        expect((await t.spend(credits)).status).toBe(200);
        t.clock.advance(86_400_000);
      }
    }

    test('the monthly cap refuses with monthly_spend_cap_exceeded, Retry-After to the 1st, charging nothing', async () => {
      // 20 days of 1,000 from 2025-04-01: the month is spent, each day is not.
      const t = setUp('2025-04-01T10:00:00Z');
      await spendDays(t, 20);
      // 2025-04-21T10:00Z: ten days and 14 hours to 2025-05-01T00:00Z.
      const refused = await t.spend(1);
      expect(refused.status).toBe(429);
      const untilMay = (Date.parse('2025-05-01T00:00:00Z') - Date.parse('2025-04-21T10:00:00Z')) / 1000;
      expect(rateHeaderLines(refused)).toEqual([
        'X-RateLimit-Limit: 20000',
        'X-RateLimit-Remaining: 0',
        `X-RateLimit-Reset: ${Date.parse('2025-05-01T00:00:00Z') / 1000}`,
        // Each cap with its window; a month's is this month's length, April's 30 days.
        `RateLimit-Policy: "user_minute";q=100;w=60, "spend_day";q=1000;w=86400, "spend_month";q=20000;w=${30 * 86_400}`,
        `RateLimit: "spend_month";r=0;t=${untilMay}`,
        `Retry-After: ${untilMay}`,
        'X-RateLimit-Reason: monthly_spend_cap_exceeded',
      ]);
      expect(refused.body).toMatchObject({
        reason: 'monthly_spend_cap_exceeded',
        'violated-policies': ['spend_month'],
      });
      // Neither the day nor the minute was charged by the refusal.
      const usage = await t.usage();
      expect(usage.periods).toEqual({
        day: { used: 0, remaining: 1000, cap: 1000, resets_at: '2025-04-22T00:00:00Z' },
        month: { used: 20_000, remaining: 0, cap: 20_000, resets_at: '2025-05-01T00:00:00Z' },
      });
      // The top-level fields are the period with the fewest credits left.
      expect(usage).toMatchObject({ used: 20_000, remaining: 0, cap: 20_000 });
      // A free request charges the minute alone: had the refusal charged it, 98 would be left.
      const free = await t.spend(0);
      expect(free.status).toBe(200);
      expect(free.headers['x-ratelimit-remaining']).toBe('99');
      // The 1st of May clears the month.
      t.clock.set(Date.parse('2025-05-01T00:00:00Z'));
      expect((await t.spend(1000)).status).toBe(200);
    });

    test('the daily cap refuses first within a month: daily_spend_cap_exceeded, Retry-After to 00:00 UTC', async () => {
      const t = setUp('2025-02-28T22:00:00Z');
      expect((await t.spend(1000)).status).toBe(200);
      const refused = await t.spend(1);
      expect(refused.status).toBe(429);
      expect(refused.headers['x-ratelimit-reason']).toBe('daily_spend_cap_exceeded');
      expect(refused.headers['retry-after']).toBe('7200');
      // March starts at midnight: the day and the month clear together after February's 28 days.
      t.clock.set(Date.parse('2025-03-01T00:00:00Z'));
      expect(await t.usage()).toMatchObject({
        periods: {
          day: { used: 0, resets_at: '2025-03-02T00:00:00Z' },
          month: { used: 0, resets_at: '2025-04-01T00:00:00Z' },
        },
      });
    });

    test.each([
      ['February 2024 (29 days)', '2024-02-01T12:00:00Z', 29, '2024-03-01'],
      ['February 2025 (28 days)', '2025-02-01T12:00:00Z', 28, '2025-03-01'],
      ['June (30 days)', '2025-06-01T12:00:00Z', 30, '2025-07-01'],
      ['December (31 days), to the year end', '2025-12-01T12:00:00Z', 31, '2026-01-01'],
    ])('%s: the month holds its every day, then clears on the 1st', async (_what, start, days, next) => {
      // A month of `days` days at 100 a day fills a cap of days × 100 exactly on its last day.
      const t = setUp(start, [
        { period: 'day', budget: 1000 },
        { period: 'month', budget: days * 100 },
      ]);
      await spendDays(t, days, 100);
      expect(new Date(t.clock.now()).toISOString().slice(0, 10)).toBe(next);
      t.clock.set(Date.parse(`${next}T00:00:00Z`) - 1);
      expect((await t.usage()).periods.month.used).toBe(days * 100);
      expect((await t.spend(1)).headers['x-ratelimit-reason']).toBe('monthly_spend_cap_exceeded');
      t.clock.advance(1);
      expect((await t.spend(100)).status).toBe(200);
    });

    test('a weekly cap: the first ISO week of 2026 runs from Monday 29 December 2025', async () => {
      const t = setUp('2025-12-29T09:00:00Z', [
        { period: 'day', budget: 1000 },
        { period: 'week', budget: 2500 },
        { period: 'month', budget: 20_000 },
      ]);
      await spendDays(t, 2, 1000);
      // 2025-12-31: 2,000 of the week spent, and the year ends tonight.
      expect((await t.spend(500)).status).toBe(200);
      t.clock.set(Date.parse('2026-01-02T09:00:00Z'));
      const refused = await t.spend(1);
      expect(refused.headers['x-ratelimit-reason']).toBe('weekly_spend_cap_exceeded');
      expect(Number(refused.headers['retry-after'])).toBe(
        (Date.parse('2026-01-05T00:00:00Z') - t.clock.now()) / 1000,
      );
      // The month is January's: December's 2,500 is gone with the year.
      expect((await t.usage()).periods.month).toEqual({
        used: 0,
        remaining: 20_000,
        cap: 20_000,
        resets_at: '2026-02-01T00:00:00Z',
      });
    });

    test('idempotency, refunds and reportCost settle every period once', async () => {
      const t = setUp('2025-06-10T12:00:00Z');
      await t.spend(100, 200, { 'idempotency-key': 'k1' });
      await t.spend(100, 200, { 'idempotency-key': 'k1' });
      expect((await t.usage()).periods).toMatchObject({ day: { used: 100 }, month: { used: 100 } });
      await t.spend(300, 503);
      expect((await t.usage()).periods).toMatchObject({ day: { used: 100 }, month: { used: 100 } });
      await t.spend(100, 200, { 'x-actual': '40' });
      await t.spend(100, 200, { 'x-actual': '250' });
      expect((await t.usage()).periods).toMatchObject({ day: { used: 390 }, month: { used: 390 } });
    });
  });
});

describe('usage keeps its daily shape for a daily cap alone', () => {
  test('no periods field: the fields daily clients read', async () => {
    const clock = manualClock(Date.UTC(2025, 9, 27, 12));
    const limiter = createLimiter({
      now: clock.now,
      store: new MemoryStore({ now: clock.now }),
      spendCap: { key: { header: 'x-user' }, budget: 1000, cost: 10 },
    });
    expect(await limiter.getUsage('u')).toEqual({
      used: 0,
      remaining: 1000,
      cap: 1000,
      resets_at: '2025-10-28T00:00:00Z',
    });
  });

  test('a monthly cap alone reports its period', async () => {
    const clock = manualClock(Date.UTC(2025, 9, 27, 12));
    const limiter = createLimiter({
      now: clock.now,
      spendCap: { key: { header: 'x-user' }, budget: 5000, period: 'month', cost: 10 },
    });
    expect(await limiter.getUsage('u')).toEqual({
      used: 0,
      remaining: 5000,
      cap: 5000,
      resets_at: '2025-11-01T00:00:00Z',
      periods: { month: { used: 0, remaining: 5000, cap: 5000, resets_at: '2025-11-01T00:00:00Z' } },
    });
  });
});
