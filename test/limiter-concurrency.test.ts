import { createLimiter } from '../lib/core/limiter.js';
import { TollgateConfigError } from '../lib/errors/errors.js';
import { MemoryStore } from '../lib/stores/memory/index.js';
import type { StoreRefundSpec } from '../lib/stores/store.js';
import { express as expressAdapter, koa as koaAdapter } from './helpers/adapters.js';
import { manualClock } from './helpers/clock.js';
import { requestFrom } from './helpers/requests.js';

/** Concurrency limits in the core: slots taken with the other limits, given back exactly once. */

const asKey = (key: string) => requestFrom({ headers: { 'x-api-key': key } });

function limited(max = 2, extra: object = {}) {
  const clock = manualClock();
  const store = new MemoryStore({ now: clock.now });
  const refunds: StoreRefundSpec[][] = [];
  const refund = store.refund.bind(store);
  store.refund = (list) => {
    refunds.push([...list]);
    refund(list);
  };
  const limiter = createLimiter<null>({
    now: clock.now,
    store,
    scopes: [{ name: 'gen', key: { header: 'x-api-key' }, concurrency: max }],
    ...extra,
  });
  return { clock, store, limiter, refunds };
}

test('a slot is taken per admitted request and refused past the limit, with its own reason', async () => {
  const { limiter } = limited(2);
  const first = await limiter.check(asKey('k'));
  const second = await limiter.check(asKey('k'));
  const third = await limiter.check(asKey('k'));
  expect([first?.allowed, second?.allowed, third?.allowed]).toEqual([true, true, false]);
  expect(third).toMatchObject({
    status: 429,
    reason: 'gen_concurrency',
    retryAfter: 1,
    message: 'Too many requests in flight for gen: at most 2 at once',
  });
  expect(third?.policies[0]).toMatchObject({
    kind: 'lease',
    unit: 'concurrent-requests',
    limit: 2,
    remaining: 0,
  });
  // An admitted request's headers report its windows, not its slots: there are none here.
  expect(first?.headers).toEqual([
    ['RateLimit-Policy', '"gen_concurrency";q=2;qu="concurrent-requests"'],
    ['RateLimit', '"gen_concurrency";r=1;t=0'],
  ]);
});

test('release gives a slot back once, and a refund after it gives back nothing more', async () => {
  const { limiter, refunds } = limited(1);
  const first = (await limiter.check(asKey('k')))!;
  await limiter.release(first);
  await limiter.release(first);
  await limiter.refund(first);
  expect(refunds.map((list) => list.map((refund) => refund.kind))).toEqual([['lease'], []]);
  expect((await limiter.check(asKey('k')))?.allowed).toBe(true);
});

test('a refund gives the slot back with the rest, and a release after it nothing', async () => {
  const { limiter, refunds } = limited(1, {
    scopes: [
      { name: 'gen', key: { header: 'x-api-key' }, concurrency: 1, limits: [{ max: 5, window: '1m' }] },
    ],
  });
  const first = (await limiter.check(asKey('k')))!;
  await limiter.refund(first);
  await limiter.release(first);
  expect(refunds.map((list) => list.map((refund) => refund.kind))).toEqual([['window', 'lease']]);
  expect((await limiter.check(asKey('k')))?.remaining).toBe(4);
});

test('a slot never given back ends with its lease', async () => {
  const { limiter, clock } = limited(1, {
    scopes: [
      { name: 'gen', key: { header: 'x-api-key' }, concurrency: { max: 1, lease: '90s', retryAfter: 5 } },
    ],
  });
  await limiter.check(asKey('k'));
  clock.advance(89_999);
  expect(await limiter.check(asKey('k'))).toMatchObject({ allowed: false, retryAfter: 1 });
  clock.advance(-80_000);
  expect(await limiter.check(asKey('k'))).toMatchObject({ allowed: false, retryAfter: 5 });
  clock.advance(80_001);
  expect((await limiter.check(asKey('k')))?.allowed).toBe(true);
});

test('tiers may set concurrency', async () => {
  const clock = manualClock();
  const limiter = createLimiter<null>({
    now: clock.now,
    scopes: [
      {
        name: 'gen',
        key: { header: 'x-api-key' },
        tiers: { free: { concurrency: 1 }, pro: { concurrency: 3, limits: [{ max: 10, window: '1m' }] } },
        tier: (req) => (String(req.headers['x-api-key']).startsWith('pro') ? 'pro' : 'free'),
      },
    ],
  });
  expect((await limiter.check(asKey('free1')))?.allowed).toBe(true);
  expect((await limiter.check(asKey('free1')))?.reason).toBe('gen_concurrency');
  for (let i = 0; i < 3; i++) expect((await limiter.check(asKey('pro1')))?.allowed).toBe(true);
  expect((await limiter.check(asKey('pro1')))?.reason).toBe('gen_concurrency');
});

test('the insurance store keeps its share of slots while the store is down', async () => {
  const clock = manualClock();
  const store = new MemoryStore({ now: clock.now });
  store.consume = () => {
    throw new Error('down');
  };
  const limiter = createLimiter<null>({
    now: clock.now,
    store,
    onStoreError: { insurance: { divisor: 2 } },
    scopes: [{ name: 'gen', key: { header: 'x-api-key' }, concurrency: 4 }],
  });
  const admitted = [];
  for (let i = 0; i < 3; i++) admitted.push((await limiter.check(asKey('k')))!);
  expect(admitted.map((decision) => decision.allowed)).toEqual([true, true, false]);
  await limiter.release(admitted[0]!);
  expect((await limiter.check(asKey('k')))?.allowed).toBe(true);
});

test.each([
  ['a lease under a second', { concurrency: { max: 1, lease: 500 } }, 'scopes[0].concurrency.lease'],
  ['a burst without limits', { concurrency: 1, burst: 2 }, 'scopes[0].burst'],
])('configuration: %s is refused', (_what, extra, path) => {
  let error: unknown;
  try {
    createLimiter({ scopes: [{ name: 'gen', key: 'ip', ...extra }] });
  } catch (thrown) {
    error = thrown;
  }
  expect(error).toBeInstanceOf(TollgateConfigError);
  expect((error as TollgateConfigError).path).toBe(path);
});

describe.each([expressAdapter, koaAdapter])('$name: stacked middleware', (adapter) => {
  test('a later refusal gives the earlier slot back, once, and the response end does not again', async () => {
    const clock = manualClock();
    const store = new MemoryStore({ now: clock.now });
    const released: string[] = [];
    const refund = store.refund.bind(store);
    store.refund = (list) => {
      for (const spec of list) if (spec.kind === 'lease') released.push(spec.leaseId);
      refund(list);
    };
    const client = adapter.build({
      app: { now: clock.now, store, scopes: [{ name: 'gen', key: 'ip', concurrency: 1 }] },
      route: {
        now: clock.now,
        store,
        scopes: [{ name: 'item', key: 'ip', limits: [{ max: 1, window: '1m' }] }],
      },
    });
    expect((await client.get('/v1/items/1')).status).toBe(200);
    expect((await client.get('/v1/items/1')).status).toBe(429);
    expect((await client.get('/ping')).status).toBe(200);
    await new Promise((resolve) => setImmediate(resolve));
    // Three requests, three slots, each given back exactly once.
    expect(released).toHaveLength(3);
    expect(new Set(released).size).toBe(3);
  });
});
