import type { Request } from 'express';
import express from 'express';
import request from 'supertest';
import { createLimiter } from '../lib/core/limiter.js';
import { rateLimit, reportCost, usageHandler } from '../lib/express/index.js';
import { settle } from '../lib/spend/settlement.js';
import { MemoryStore } from '../lib/stores/memory/index.js';
import { manualClock } from './helpers/clock.js';
import { requestFrom } from './helpers/requests.js';

// Each test is named after what broke; found in review of stacked limiters and settlement.

const userCap = (budget: number, cost: number) => ({ key: { header: 'x-user' } as const, budget, cost });

test('a stacked refusal that refunds a spend charge is not refunded again when the response settles', async () => {
  const clock = manualClock();
  const store = new MemoryStore({ now: clock.now });
  const capped = createLimiter<Request>({ store, now: clock.now, spendCap: userCap(100, 3) });
  const app = express();
  app.get('/usage', usageHandler(capped));
  app.use(rateLimit(capped));
  // The later limiter fails closed on every request: a 503 after the cap charged.
  const broken = new MemoryStore();
  broken.consume = () => {
    throw new Error('down');
  };
  app.get('/ok', (_req, res) => res.send('ok'));
  app.get(
    '/broken',
    rateLimit({
      store: broken,
      onStoreError: 'closed',
      scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 9, window: '1m' }] }],
    }),
    (_req, res) => res.send('never'),
  );
  await request(app).get('/ok').set('x-user', 'u');
  await request(app).get('/ok').set('x-user', 'u');
  expect((await request(app).get('/broken').set('x-user', 'u')).status).toBe(503);
  await new Promise((resolve) => setImmediate(resolve));
  expect((await request(app).get('/usage').set('x-user', 'u')).body.used).toBe(6);
});

test('a replayed idempotent request refused by a stacked limiter does not refund the original charge', async () => {
  const clock = manualClock();
  const store = new MemoryStore({ now: clock.now });
  const capped = createLimiter<Request>({ store, now: clock.now, spendCap: userCap(100, 10) });
  const app = express();
  app.get('/usage', usageHandler(capped));
  app.use(rateLimit(capped));
  app.use(
    rateLimit({
      store,
      now: clock.now,
      scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 1, window: '1m' }] }],
    }),
  );
  app.post('/', (_req, res) => res.send('ok'));
  const headers = { 'x-user': 'u', 'idempotency-key': 'k1' };
  expect((await request(app).post('/').set(headers)).status).toBe(200);
  expect((await request(app).post('/').set(headers)).status).toBe(429);
  expect((await request(app).get('/usage').set('x-user', 'u')).body.used).toBe(10);
});

test("a shadow limiter's would-be refusal does not refuse through a later, enforcing limiter", async () => {
  const app = express();
  app.use(
    rateLimit({ shadow: true, scopes: [{ name: 'trial', key: 'ip', limits: [{ max: 1, window: '1m' }] }] }),
  );
  app.use(rateLimit({ scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 100, window: '1m' }] }] }));
  app.get('/', (_req, res) => res.send('ok'));
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await request(app).get('/')).status);
  expect(statuses).toEqual([200, 200, 200]);
});

test('a refund of an overflow charge gives back the overflow counter it was charged on', async () => {
  const clock = manualClock();
  const store = new MemoryStore({ now: clock.now, maxKeys: 1 });
  const first = createLimiter<null>({
    store,
    now: clock.now,
    scopes: [{ name: 'a', key: { header: 'x-k' }, limits: [{ max: 1, window: '1m' }] }],
  });
  store.consume([{ kind: 'window', key: 'filler', windowMs: 60_000, limit: 9, cost: 1 }]);
  for (let i = 0; i < 4; i++) {
    const decision = await first.check(requestFrom({ headers: { 'x-k': `new${i}` } }));
    expect(decision?.allowed).toBe(true);
    await first.refund(decision!);
  }
});

test('a cost above a limit’s whole capacity is a 400, not a 429 whose Retry-After never comes true', async () => {
  const limiter = createLimiter<null>({
    cost: 3,
    scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 100, window: '1m' }], burst: 2 }],
  });
  expect(await limiter.check(requestFrom())).toMatchObject({
    allowed: false,
    status: 400,
    reason: 'cost_exceeds_limit',
  });
});

test('reportCost is a no-op when nothing was reserved (an idempotent replay)', async () => {
  const limiter = createLimiter<Request>({ spendCap: userCap(100, 10) });
  const app = express();
  app.use(rateLimit(limiter));
  app.post('/', (req, res) => {
    reportCost(req, 5);
    res.send('ok');
  });
  const headers = { 'x-user': 'u', 'idempotency-key': 'k' };
  expect((await request(app).post('/').set(headers)).status).toBe(200);
  expect((await request(app).post('/').set(headers)).status).toBe(200);
});

test('a response cut short settles the reported cost but never refunds by status', async () => {
  const clock = manualClock();
  const limiter = createLimiter<null>({
    now: clock.now,
    spendCap: { ...userCap(1000, 100), refundWhen: () => true },
  });
  const decision = await limiter.check(requestFrom({ headers: { 'x-user': 'u' } }));
  const { reportActualCost } = await import('../lib/spend/settlement.js');
  reportActualCost(decision!, 40);
  await settle(decision!, 200, requestFrom(), false);
  expect((await limiter.getUsage('u')).used).toBe(40);
});

test('a constant spend cost above a constant budget is a configuration error', () => {
  expect(() => createLimiter({ spendCap: userCap(10, 11) })).toThrow(
    'spendCap.cost (11) is above spendCap.budget (10)',
  );
});
