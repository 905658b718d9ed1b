import express from 'express';
import Koa from 'koa';
import * as promClient from 'prom-client';
import { Registry } from 'prom-client';
import request from 'supertest';
import type { Decision } from '../../lib/core/decision.js';
import { createLimiter } from '../../lib/core/limiter.js';
import { rateLimit as expressRateLimit, reportCost as expressReportCost } from '../../lib/express/index.js';
import { rateLimit as koaRateLimit, reportCost as koaReportCost } from '../../lib/koa/index.js';
import { prometheusMetrics } from '../../lib/metrics/index.js';
import type { TollgateOptions } from '../../lib/options/options.js';
import { MemoryStore } from '../../lib/stores/memory/index.js';
import { RedisStoreError } from '../../lib/stores/redis/errors.js';
import type { Store } from '../../lib/stores/store.js';
import { manualClock } from '../helpers/clock.js';
import { Scrape } from '../helpers/prometheus.js';
import { requestFrom } from '../helpers/requests.js';

/**
 * The Prometheus flavour end to end: a known traffic pattern through Express and Koa, then
 * `/metrics` scraped from the application's own route and parsed as Prometheus text.
 */

type Framework = 'express' | 'koa';

/** The application: tollgate on every route but `/metrics`, which serves the registry. */
function appWith(framework: Framework, registry: Registry, options: TollgateOptions) {
  if (framework === 'express') {
    const app = express();
    app.get('/metrics', async (_req, res) => {
      res.type(registry.contentType).send(await registry.metrics());
    });
    app.use(expressRateLimit(options));
    app.all('/spend/:status', (req, res) => {
      const actual = req.headers['x-actual'];
      if (typeof actual === 'string') expressReportCost(req, Number(actual));
      res.status(Number(req.params.status)).send('done');
    });
    app.get('/{*rest}', (_req, res) => {
      res.send('ok');
    });
    return request(app);
  }
  const app = new Koa();
  app.silent = true;
  app.use(async (ctx, next) => {
    if (ctx.path !== '/metrics') return next();
    ctx.type = registry.contentType;
    ctx.body = await registry.metrics();
  });
  app.use(koaRateLimit(options));
  app.use((ctx) => {
    const match = /^\/spend\/(\d+)$/.exec(ctx.path);
    if (match === null) {
      ctx.body = 'ok';
      return;
    }
    const actual = ctx.headers['x-actual'];
    if (typeof actual === 'string') koaReportCost(ctx, Number(actual));
    ctx.status = Number(match[1]);
    ctx.body = 'done';
  });
  return request(app.callback());
}

describe.each(['express', 'koa'] as const)('prometheusMetrics through %s', (framework) => {
  let registry: Registry;
  beforeEach(() => {
    registry = new Registry();
  });

  const scrape = async (client: ReturnType<typeof appWith>) => {
    const res = await client.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    return new Scrape(res.text);
  };

  test('decisions by scope, limit and outcome, near-limit admissions and store timings: exact counts', async () => {
    const clock = manualClock();
    const client = appWith(framework, registry, {
      now: clock.now,
      metrics: prometheusMetrics({ registry }),
      skip: (req) => req.path === '/health',
      scopes: [
        {
          name: 'ip',
          key: 'ip',
          limits: [
            { max: 3, window: '1m' },
            { max: 100, window: '1h' },
          ],
        },
      ],
    });
    for (let i = 0; i < 5; i++) await client.get('/items');
    await client.get('/health');
    const scraped = await scrape(client);
    expect(scraped.families.get('tollgate_decisions_total')?.type).toBe('counter');
    expect(scraped.series('tollgate_decisions_total')).toEqual(
      expect.arrayContaining([
        { labels: { scope: 'ip', limit: 'ip_minute', outcome: 'allowed' }, value: 3 },
        { labels: { scope: 'ip', limit: 'ip_minute', outcome: 'limited', status: '429' }, value: 2 },
        { labels: { scope: '', limit: '', outcome: 'skipped' }, value: 1 },
      ]),
    );
    expect(scraped.series('tollgate_decisions_total')).toHaveLength(3);
    // 3 a minute, 20 %: an admission that leaves less than 0.6 is near the limit, the third.
    expect(scraped.series('tollgate_near_limit_total')).toEqual([
      { labels: { scope: 'ip', limit: 'ip_minute' }, value: 1 },
    ]);
    const [duration] = scraped.series('tollgate_store_duration_seconds');
    expect(duration).toMatchObject({ labels: { operation: 'consume' }, count: 5 });
    expect(duration!.sum).toBeGreaterThanOrEqual(0);
    expect(scraped.families.get('tollgate_store_duration_seconds')?.type).toBe('histogram');
    expect(scraped.series('tollgate_store_errors_total')).toEqual([]);
  });

  test('a store that fails: errors by code, outcome store_unavailable, admissions by the failure policy', async () => {
    const failing: Store = new MemoryStore();
    failing.consume = () => Promise.reject(new RedisStoreError('ERR_TOLLGATE_REDIS_TIMEOUT', 'late'));
    const client = appWith(framework, registry, {
      store: failing,
      metrics: prometheusMetrics({ registry }),
      onStoreError: 'open',
      scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 3, window: '1m' }] }],
    });
    await client.get('/a');
    await client.get('/b');
    const scraped = await scrape(client);
    expect(
      scraped.value('tollgate_store_errors_total', {
        operation: 'consume',
        code: 'ERR_TOLLGATE_REDIS_TIMEOUT',
      }),
    ).toBe(2);
    expect(scraped.value('tollgate_failure_admissions_total', { policy: 'open' })).toBe(2);
    expect(
      scraped.value('tollgate_decisions_total', { scope: '', limit: '', outcome: 'store_unavailable' }),
    ).toBe(2);
  });

  test('spend: credits reserved, refunded and settled by cap; refunds by cause', async () => {
    const client = appWith(framework, registry, {
      metrics: prometheusMetrics({ registry }),
      spendCap: { name: 'credits', key: { header: 'x-user' }, budget: 1000, cost: { header: 'x-credits' } },
    });
    const spend = (status: number, credits: number, actual?: number) =>
      client.post(`/spend/${status}`).set({
        'x-user': 'u',
        'x-credits': String(credits),
        ...(actual === undefined ? {} : { 'x-actual': String(actual) }),
      });
    await spend(503, 300);
    await spend(200, 100, 40);
    await spend(200, 100, 250);
    await spend(200, 50);
    // Settlement runs when the response finishes: a turn of the event loop after it is sent.
    await new Promise((resolve) => setImmediate(resolve));
    const scraped = await scrape(client);
    expect(scraped.value('tollgate_spend_reserved_credits_total', { cap: 'credits' })).toBe(550);
    expect(scraped.value('tollgate_spend_refunded_credits_total', { cap: 'credits' })).toBe(360);
    expect(scraped.value('tollgate_spend_settled_credits_total', { cap: 'credits' })).toBe(340);
    expect(scraped.value('tollgate_refunds_total', { cause: 'failed_response' })).toBe(1);
  });
});

describe('prometheusMetrics', () => {
  test('10,000 distinct keys make no more series than ten do, and no key value is a label', async () => {
    const registry = new Registry();
    const clock = manualClock();
    const limiter = createLimiter<null>({
      now: clock.now,
      metrics: prometheusMetrics({ registry }),
      scopes: [
        { name: 'ip', key: 'ip', limits: [{ max: 2, window: '1m' }] },
        { name: 'key', key: 'apiKey', limits: [{ max: 1, window: '1m' }], concurrency: 3 },
      ],
      spendCap: {
        key: { header: 'x-user' },
        budgets: [
          { period: 'day', budget: 5 },
          { period: 'month', budget: 9 },
        ],
        cost: 1,
      },
    });
    const keys: string[] = [];
    const drive = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
        const apiKey = `sk_live_${i}`;
        const user = `user-${i}`;
        keys.push(ip, apiKey, user);
        const req = requestFrom({ ip, headers: { authorization: `Bearer ${apiKey}`, 'x-user': user } });
        // Twice each: the second is refused by the API key's minute.
        for (const attempt of [0, 1]) {
          const decision = (await limiter.check(req)) as Decision;
          expect(decision.allowed).toBe(attempt === 0);
          await limiter.release(decision);
        }
      }
    };
    await drive(0, 10);
    const seriesAfterTen = new Scrape(await registry.metrics()).tollgateSeries.length;
    await drive(10, 10_000);
    const scraped = new Scrape(await registry.metrics());
    expect(scraped.tollgateSeries.length).toBe(seriesAfterTen);
    expect(
      scraped.value('tollgate_decisions_total', {
        scope: 'key',
        limit: 'key_minute',
        outcome: 'limited',
        status: '429',
      }),
    ).toBe(10_000);
    const labelValues = new Set(scraped.tollgateSeries.flatMap((series) => Object.values(series.labels)));
    expect(keys.filter((key) => labelValues.has(key))).toEqual([]);
    expect([...labelValues].sort()).toEqual(
      expect.arrayContaining([
        'allowed',
        'limited',
        '429',
        'key',
        'key_minute',
        'consume',
        'refund',
        'spend',
      ]),
    );
    expect(labelValues.size).toBeLessThan(20);
  });

  test('two limiters on one registry share the metrics; prom-client may be passed in', async () => {
    const registry = new Registry();
    const first = createLimiter<null>({
      metrics: prometheusMetrics({ registry }),
      scopes: [{ name: 'a', key: 'ip', limits: [{ max: 5, window: '1m' }] }],
    });
    const second = createLimiter<null>({
      metrics: prometheusMetrics({ registry, client: promClient }),
      scopes: [{ name: 'b', key: 'ip', limits: [{ max: 5, window: '1m' }] }],
    });
    await first.check(requestFrom());
    await second.check(requestFrom());
    const scraped = new Scrape(await registry.metrics());
    expect(
      scraped.value('tollgate_decisions_total', { scope: 'a', limit: 'a_minute', outcome: 'allowed' }),
    ).toBe(1);
    expect(
      scraped.value('tollgate_decisions_total', { scope: 'b', limit: 'b_minute', outcome: 'allowed' }),
    ).toBe(1);
  });

  test("the default registry is prom-client's", async () => {
    promClient.register.removeSingleMetric('tollgate_decisions_total');
    const limiter = createLimiter<null>({
      metrics: prometheusMetrics(),
      shadow: true,
      scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 1, window: '1m' }] }],
    });
    await limiter.check(requestFrom());
    await limiter.check(requestFrom());
    const scraped = new Scrape(await promClient.register.metrics());
    expect(
      scraped.value('tollgate_decisions_total', {
        scope: 'ip',
        limit: 'ip_minute',
        outcome: 'shadow_limited',
        status: '429',
      }),
    ).toBe(1);
    promClient.register.clear();
  });

  test('a near-limit share out of range is refused', () => {
    expect(() => prometheusMetrics({ registry: new Registry(), nearLimitShare: 2 })).toThrow(RangeError);
  });
});
