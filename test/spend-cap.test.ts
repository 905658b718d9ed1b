import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Request } from 'express';
import express from 'express';
import request from 'supertest';
import { createLimiter } from '../lib/core/limiter.js';
import { rateLimit, reportCost, usageHandler } from '../lib/express/index.js';
import type { SpendCapOptions } from '../lib/options/options.js';
import { MemoryStore } from '../lib/stores/memory/index.js';
import { manualClock } from './helpers/clock.js';
import { requestFrom } from './helpers/requests.js';

const MIDNIGHT = Date.UTC(2025, 9, 28);
const userKey = { header: 'x-user' } as const;
const asUser = (user: string, headers: Record<string, string> = {}) =>
  requestFrom({ headers: { 'x-user': user, ...headers } });

function capped(options: Partial<SpendCapOptions<null>> = {}, start = MIDNIGHT - 3_600_000) {
  const clock = manualClock(start);
  const store = new MemoryStore({ now: clock.now });
  const limiter = createLimiter<null>({
    now: clock.now,
    store,
    spendCap: { key: userKey, budget: 1000, cost: { header: 'x-credits' }, ...options },
  });
  return { clock, store, limiter };
}

describe('check then reserve', () => {
  test('a request that costs more than what remains is refused and reserves nothing', async () => {
    const { limiter } = capped();
    expect((await limiter.check(asUser('u', { 'x-credits': '900' })))?.allowed).toBe(true);
    const refused = await limiter.check(asUser('u', { 'x-credits': '200' }));
    expect(refused).toMatchObject({ allowed: false, status: 429, reason: 'daily_spend_cap_exceeded' });
    // The refused 200 took nothing: exactly the 100 left still fit.
    expect((await limiter.check(asUser('u', { 'x-credits': '100' })))?.allowed).toBe(true);
    expect(await limiter.getUsage('u')).toEqual({
      used: 1000,
      remaining: 0,
      cap: 1000,
      resets_at: '2025-10-28T00:00:00Z',
    });
  });

  test('a limiter with only a spending cap reports the cap in its decision', async () => {
    const { limiter } = capped();
    expect(await limiter.check(asUser('u', { 'x-credits': '250' }))).toMatchObject({
      limit: 1000,
      remaining: 750,
      scope: 'spend',
    });
  });

  test('the refusal says daily_spend_cap_exceeded and Retry-After runs to the next 00:00 UTC', async () => {
    const { limiter, clock } = capped();
    clock.set(MIDNIGHT - 90_500);
    await limiter.check(asUser('u', { 'x-credits': '1000' }));
    const refused = await limiter.check(asUser('u', { 'x-credits': '1' }));
    expect(refused?.retryAfter).toBe(91);
    expect(refused?.headers).toEqual(
      expect.arrayContaining([
        ['Retry-After', '91'],
        ['X-RateLimit-Reason', 'daily_spend_cap_exceeded'],
      ]),
    );
  });

  test('a rate refusal and a spend refusal are told apart by reason', async () => {
    const clock = manualClock(MIDNIGHT - 3_600_000);
    const limiter = createLimiter<null>({
      now: clock.now,
      scopes: [{ name: 'user', key: userKey, limits: [{ max: 2, window: '1m' }] }],
      spendCap: { key: userKey, budget: 15, cost: 5 },
    });
    await limiter.check(asUser('u'));
    await limiter.check(asUser('u'));
    expect((await limiter.check(asUser('u')))?.reason).toBe('user_minute');
    clock.advance(60_000);
    expect((await limiter.check(asUser('u')))?.allowed).toBe(true);
    expect((await limiter.check(asUser('u')))?.reason).toBe('daily_spend_cap_exceeded');
  });

  test('the charge and the rate limits are decided in one store call', async () => {
    const clock = manualClock();
    const store = new MemoryStore({ now: clock.now });
    const consume = jest.spyOn(store, 'consume');
    const limiter = createLimiter<null>({
      now: clock.now,
      store,
      scopes: [
        {
          name: 'ip',
          key: 'ip',
          limits: [
            { max: 100, window: '1m' },
            { max: 1000, window: '1h' },
          ],
        },
      ],
      spendCap: { key: userKey, budget: 10, cost: 1 },
    });
    await limiter.check(asUser('u'));
    expect(consume).toHaveBeenCalledTimes(1);
    expect(consume.mock.calls[0]?.[0]).toHaveLength(3);
  });
});

describe('days are UTC days', () => {
  test('a charge at 23:59:59.999 UTC and one at 00:00:00.000 land in different days', async () => {
    const { limiter, clock } = capped({ budget: 1 });
    clock.set(MIDNIGHT - 1);
    expect((await limiter.check(asUser('u', { 'x-credits': '1' })))?.allowed).toBe(true);
    expect((await limiter.check(asUser('u', { 'x-credits': '1' })))?.allowed).toBe(false);
    clock.set(MIDNIGHT);
    expect((await limiter.check(asUser('u', { 'x-credits': '1' })))?.allowed).toBe(true);
  });

  test('the results are identical under TZ=UTC, America/New_York and Asia/Kolkata', () => {
    const script = join(__dirname, 'helpers', 'midnight-scenario.ts');
    const runUnder = (tz: string) =>
      execFileSync(process.execPath, ['--import', 'tsx', script], {
        env: { ...process.env, TZ: tz },
        encoding: 'utf8',
      });
    const utc = runUnder('UTC');
    expect(JSON.parse(utc)).toMatchObject({ tz: 'UTC' });
    for (const tz of ['America/New_York', 'Asia/Kolkata']) {
      const other = JSON.parse(runUnder(tz));
      expect(other.tz).toBe(tz);
      expect(other.results).toEqual(JSON.parse(utc).results);
    }
  });
});

describe('bad costs never touch the store', () => {
  test.each([
    ['0 is free: admitted, charges nothing', '0', 200],
    ['negative', '-1', 400],
    ['NaN', 'NaN', 400],
    ['Infinity', 'Infinity', 400],
    ['fractional', '1.5', 400],
    ['exponent notation', '1e3', 400],
    ['above the cap', '1001', 400],
    ['above 2^53', '9007199254740993', 400],
    ['empty', '', 400],
  ])('%s', async (_what, credits, status) => {
    const { limiter, store } = capped();
    const consume = jest.spyOn(store, 'consume');
    const decision = await limiter.check(asUser('u', { 'x-credits': credits }));
    expect(decision?.status).toBe(status);
    if (status === 400) expect(consume).not.toHaveBeenCalled();
    expect((await limiter.getUsage('u')).used).toBe(0);
  });

  test('a cost function returning a bad value is a 400 too', async () => {
    for (const bad of [-5, 2.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      const { limiter } = capped({ cost: async () => bad });
      expect((await limiter.check(asUser('u')))?.reason).toBe('invalid_cost');
    }
  });

  test('a cost above the whole cap is told apart from a malformed one', async () => {
    const { limiter } = capped();
    expect((await limiter.check(asUser('u', { 'x-credits': '5000' })))?.reason).toBe('cost_exceeds_cap');
  });
});

describe('concurrency', () => {
  test('500 concurrent charges of random cost: never above the cap, the counter equals the sum admitted', async () => {
    const { limiter } = capped({ budget: 10_000 });
    const costs = Array.from({ length: 500 }, (_, i) => 1 + ((i * 7919) % 97));
    const decisions = await Promise.all(
      costs.map((c) => limiter.check(asUser('u', { 'x-credits': String(c) }))),
    );
    const admitted = costs.filter((_, i) => decisions[i]?.allowed).reduce((a, b) => a + b, 0);
    expect(admitted).toBeLessThanOrEqual(10_000);
    expect((await limiter.getUsage('u')).used).toBe(admitted);
    // Admitted in arrival order: no request was admitted whose cost exceeded what remained.
    let remaining = 10_000;
    costs.forEach((cost, i) => {
      const allowed = decisions[i]?.allowed === true;
      expect(allowed).toBe(cost <= remaining);
      if (allowed) remaining -= cost;
    });
  });
});

describe('idempotency', () => {
  test('the same Idempotency-Key retried 10 times concurrently is charged once', async () => {
    const { limiter } = capped();
    const retry = () => limiter.check(asUser('u', { 'x-credits': '100', 'idempotency-key': 'order-42' }));
    const decisions = await Promise.all(Array.from({ length: 10 }, retry));
    expect(decisions.every((d) => d?.allowed)).toBe(true);
    expect((await limiter.getUsage('u')).used).toBe(100);
    // Another key is another charge; another user's identical key is theirs.
    await limiter.check(asUser('u', { 'x-credits': '100', 'idempotency-key': 'order-43' }));
    await limiter.check(asUser('v', { 'x-credits': '100', 'idempotency-key': 'order-42' }));
    expect((await limiter.getUsage('u')).used).toBe(200);
    expect((await limiter.getUsage('v')).used).toBe(100);
  });

  test('refunds are idempotent and the counter never goes below 0', async () => {
    const { limiter } = capped();
    const first = await limiter.check(asUser('u', { 'x-credits': '100', 'idempotency-key': 'k' }));
    await Promise.all(Array.from({ length: 5 }, () => limiter.refund(first!)));
    expect((await limiter.getUsage('u')).used).toBe(0);
    // After a refund the mark is gone, so the retry is charged again, once.
    await Promise.all(
      Array.from({ length: 3 }, () =>
        limiter.check(asUser('u', { 'x-credits': '100', 'idempotency-key': 'k' })),
      ),
    );
    expect((await limiter.getUsage('u')).used).toBe(100);
  });

  test('a malformed Idempotency-Key is a 400', async () => {
    const { limiter } = capped();
    expect(
      (await limiter.check(asUser('u', { 'x-credits': '1', 'idempotency-key': 'x'.repeat(300) })))?.reason,
    ).toBe('invalid_idempotency_key');
  });
});

describe('settlement through Express', () => {
  function app(options: Partial<SpendCapOptions<Request>> = {}) {
    const clock = manualClock(MIDNIGHT - 3_600_000);
    const limiter = createLimiter<Request>({
      now: clock.now,
      headers: 'ietf',
      spendCap: { key: userKey, budget: 1000, cost: { header: 'x-credits' }, ...options },
    });
    const server = express();
    server.get('/billing/usage/requests', usageHandler(limiter));
    server.use(rateLimit(limiter));
    server.post('/ok', (_req, res) => res.send('ok'));
    server.post('/fail', (_req, res) => res.status(503).send('down'));
    server.post('/tokens', (req, res) => {
      reportCost(req, Number(req.headers['x-actual']));
      res.send('done');
    });
    return { server, limiter };
  }
  const usage = async (server: express.Express) =>
    (await request(server).get('/billing/usage/requests').set('x-user', 'u')).body;

  test('a failed response (status ≥ 500) gets its reservation back, once', async () => {
    const { server } = app();
    await request(server).post('/fail').set({ 'x-user': 'u', 'x-credits': '300' });
    await request(server).post('/ok').set({ 'x-user': 'u', 'x-credits': '300' });
    expect(await usage(server)).toEqual({
      used: 300,
      remaining: 700,
      cap: 1000,
      resets_at: '2025-10-28T00:00:00Z',
    });
  });

  test('refundWhen can be a predicate, or never', async () => {
    const never = app({ refundWhen: 'never' });
    await request(never.server).post('/fail').set({ 'x-user': 'u', 'x-credits': '300' });
    expect((await usage(never.server)).used).toBe(300);
    const on4xx = app({ refundWhen: (status) => status >= 400 });
    await request(on4xx.server).post('/fail').set({ 'x-user': 'u', 'x-credits': '300' });
    expect((await usage(on4xx.server)).used).toBe(0);
  });

  test('a refund predicate sees the path and params of the decision, not what routing left after the response', async () => {
    const clock = manualClock(MIDNIGHT - 3_600_000);
    const seen: unknown[] = [];
    const limiter = createLimiter<Request>({
      now: clock.now,
      store: new MemoryStore({ now: clock.now }),
      spendCap: {
        key: userKey,
        budget: 1000,
        cost: 100,
        refundWhen: (status, req) => {
          seen.push([status, req.path, req.params]);
          return false;
        },
      },
    });
    const server = express();
    const v1 = express.Router();
    v1.use('/models/:model', rateLimit(limiter));
    server.use('/v1', v1);
    // Routing goes on past the limiter: by the time the response finishes, req.baseUrl and
    // req.params are the route's.
    server.post('/v1/models/:name/generate', (_req, res) => {
      res.status(201).json({ ok: true });
    });
    await request(server).post('/v1/models/m-7/generate').set('x-user', 'u').expect(201);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([[201, '/v1/models/m-7/generate', { model: 'm-7' }]]);
  });

  test('adjust-after: reserve an estimate, settle the actual cost when the response finishes', async () => {
    const { server } = app();
    await request(server).post('/tokens').set({ 'x-user': 'u', 'x-credits': '100', 'x-actual': '40' });
    expect((await usage(server)).used).toBe(40);
    await request(server).post('/tokens').set({ 'x-user': 'u', 'x-credits': '100', 'x-actual': '250' });
    expect((await usage(server)).used).toBe(290);
  });

  test('the usage endpoint answers 401 without a key', async () => {
    const { server } = app();
    const res = await request(server).get('/billing/usage/requests');
    expect(res.status).toBe(401);
  });

  test('the 429 carries the reason header and Retry-After to midnight', async () => {
    const { server } = app();
    await request(server).post('/ok').set({ 'x-user': 'u', 'x-credits': '1000' });
    const refused = await request(server).post('/ok').set({ 'x-user': 'u', 'x-credits': '1' });
    expect(refused.status).toBe(429);
    expect(refused.headers['x-ratelimit-reason']).toBe('daily_spend_cap_exceeded');
    expect(refused.headers['retry-after']).toBe('3600');
    expect(refused.body).toMatchObject({
      reason: 'daily_spend_cap_exceeded',
      'violated-policies': ['spend_day'],
    });
  });
});
