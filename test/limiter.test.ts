import { createLimiter } from '../lib/core/limiter.js';
import { MemoryStore } from '../lib/stores/memory/index.js';
import { manualClock, T0 } from './helpers/clock.js';
import { requestFrom } from './helpers/requests.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;

describe('exactness', () => {
  test('1,000 concurrent requests on one key with limit 100 admit exactly 100', async () => {
    const clock = manualClock();
    const limiter = createLimiter({
      now: clock.now,
      scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 100, window: '1m' }] }],
    });
    const decisions = await Promise.all(Array.from({ length: 1000 }, () => limiter.check(requestFrom())));
    expect(decisions.filter((d) => d?.allowed)).toHaveLength(100);
    expect(decisions.filter((d) => d?.status === 429)).toHaveLength(900);
  });

  test('an async key function does not open a race between check and charge', async () => {
    const clock = manualClock();
    const limiter = createLimiter({
      now: clock.now,
      scopes: [{ name: 'user', key: async () => 'u1', limits: [{ max: 100, window: '1m' }] }],
    });
    const decisions = await Promise.all(Array.from({ length: 1000 }, () => limiter.check(requestFrom())));
    expect(decisions.filter((d) => d?.allowed)).toHaveLength(100);
  });
});

describe('several windows', () => {
  test('minute and hour limits hold exactly over a simulated two hours', async () => {
    const clock = manualClock();
    const store = new MemoryStore({ now: clock.now });
    const limiter = createLimiter({
      now: clock.now,
      store,
      scopes: [
        {
          name: 'ip',
          key: 'ip',
          limits: [
            { max: 10, window: '1m' },
            { max: 100, window: '1h' },
          ],
        },
      ],
    });
    const admittedPerMinute: number[] = [];
    const admittedPerHour = new Map<number, number>();
    // Every simulated second, a client tries 2 requests: far above both limits.
    for (let second = 0; second < 2 * 3600; second++) {
      for (let i = 0; i < 2; i++) {
        const decision = await limiter.check(requestFrom());
        if (decision?.allowed) {
          const minute = Math.floor((clock.now() - T0) / MINUTE);
          admittedPerMinute[minute] = (admittedPerMinute[minute] ?? 0) + 1;
          const hour = Math.floor((clock.now() - T0) / HOUR);
          admittedPerHour.set(hour, (admittedPerHour.get(hour) ?? 0) + 1);
        }
      }
      clock.advance(1000);
    }
    expect(Math.max(...Array.from(admittedPerMinute, (n) => n ?? 0))).toBe(10);
    expect([...admittedPerHour.values()]).toEqual([100, 100]);
    // The hour's 100 are taken in its first 10 minutes, 10 a minute; then nothing until the next hour.
    expect(admittedPerMinute.slice(0, 10)).toEqual(Array(10).fill(10));
    expect(Array.from(admittedPerMinute.slice(10, 60), (n) => n ?? 0)).toEqual(Array(50).fill(0));
    expect(admittedPerMinute.slice(60, 70)).toEqual(Array(10).fill(10));
  });

  test('a request refused by the hour limit leaves the minute counter unchanged', async () => {
    const clock = manualClock();
    const limiter = createLimiter({
      now: clock.now,
      scopes: [
        {
          name: 'ip',
          key: 'ip',
          limits: [
            { max: 5, window: '1m' },
            { max: 5, window: '1h' },
          ],
        },
      ],
    });
    for (let i = 0; i < 5; i++) expect((await limiter.check(requestFrom()))?.allowed).toBe(true);
    clock.advance(MINUTE);
    const refused = await limiter.check(requestFrom());
    expect(refused?.reason).toBe('ip_hour');
    const minute = refused?.policies.find((p) => p.id === 'ip_minute');
    expect(minute).toMatchObject({ allowed: true, remaining: 5 });
    expect(refused?.retryAfter).toBe((HOUR - MINUTE) / 1000);
  });

  test('a request refused by one scope consumes nothing from the others', async () => {
    const clock = manualClock();
    const limiter = createLimiter({
      now: clock.now,
      scopes: [
        { name: 'ip', key: 'ip', limits: [{ max: 100, window: '1m' }] },
        { name: 'partner', key: { header: 'x-partner-id' }, limits: [{ max: 2, window: '1m' }] },
      ],
    });
    const req = requestFrom({ headers: { 'x-partner-id': 'p1' } });
    await limiter.check(req);
    await limiter.check(req);
    for (let i = 0; i < 10; i++) expect((await limiter.check(req))?.reason).toBe('partner_minute');
    const other = await limiter.check(requestFrom());
    expect(other?.policies.find((p) => p.id === 'ip_minute')?.remaining).toBe(97);
  });
});

describe('burst allowance', () => {
  // General tier: 100/min, 6,000/h, burst 20 — the bucket refills at 100/min, one unit per 600 ms.
  const general = {
    name: 'ip',
    key: 'ip' as const,
    limits: [
      { max: 100, window: '1m' },
      { max: 6000, window: '1h' },
    ],
    burst: 20,
  };

  test('at most `burst` requests arrive at once', async () => {
    const clock = manualClock();
    const limiter = createLimiter({ now: clock.now, scopes: [general] });
    const decisions = await Promise.all(Array.from({ length: 50 }, () => limiter.check(requestFrom())));
    expect(decisions.filter((d) => d?.allowed)).toHaveLength(20);
    const refused = decisions.find((d) => !d?.allowed);
    expect(refused?.reason).toBe('ip_burst');
    // One unit comes back every 600 ms; Retry-After rounds up to whole seconds.
    expect(refused?.retryAfter).toBe(1);
  });

  test('the bucket refills at the per-minute rate', async () => {
    const clock = manualClock();
    const limiter = createLimiter({ now: clock.now, scopes: [general] });
    for (let i = 0; i < 20; i++) await limiter.check(requestFrom());
    expect((await limiter.check(requestFrom()))?.allowed).toBe(false);
    clock.advance(599);
    expect((await limiter.check(requestFrom()))?.allowed).toBe(false);
    clock.advance(1);
    expect((await limiter.check(requestFrom()))?.allowed).toBe(true);
    clock.advance(6000);
    const admitted = await Promise.all(Array.from({ length: 20 }, () => limiter.check(requestFrom())));
    expect(admitted.filter((d) => d?.allowed)).toHaveLength(10);
  });

  test('the windows still cap the totals: a steady client gets 100 a minute, not more', async () => {
    const clock = manualClock();
    const limiter = createLimiter({ now: clock.now, scopes: [general] });
    let admitted = 0;
    for (let ms = 0; ms < MINUTE; ms += 100) {
      if ((await limiter.check(requestFrom()))?.allowed) admitted++;
      clock.advance(100);
    }
    expect(admitted).toBe(100);
  });
});

describe('cost', () => {
  test('a request takes its cost from every scope, and one that does not fit takes nothing', async () => {
    const clock = manualClock();
    const limiter = createLimiter({
      now: clock.now,
      cost: (req) => Number(req.headers['x-cost']),
      scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 10, window: '1m' }] }],
    });
    const heavy = (n: number) => requestFrom({ headers: { 'x-cost': String(n) } });
    expect((await limiter.check(heavy(7)))?.remaining).toBe(3);
    const refused = await limiter.check(heavy(4));
    expect(refused).toMatchObject({ allowed: false, remaining: 3 });
    expect((await limiter.check(heavy(3)))?.remaining).toBe(0);
  });

  test.each([[-1], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY], [2 ** 53]])(
    'a cost of %p is a 400 that never touches the store',
    async (cost) => {
      const store = new MemoryStore();
      const consume = jest.spyOn(store, 'consume');
      const limiter = createLimiter({
        store,
        cost: () => cost,
        scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 10, window: '1m' }] }],
      });
      expect(await limiter.check(requestFrom())).toMatchObject({
        allowed: false,
        status: 400,
        reason: 'invalid_cost',
      });
      expect(consume).not.toHaveBeenCalled();
    },
  );
});

describe('tiers', () => {
  const limiterWithTiers = (now: () => number) =>
    createLimiter({
      now,
      scopes: [
        {
          name: 'key',
          key: 'apiKey',
          tiers: {
            free: { limits: [{ max: 2, window: '1m' }] },
            standard: { limits: [{ max: 5, window: '1m' }] },
            enterprise: 'unlimited',
          },
          tier: async (req) => String(req.headers['x-plan']),
        },
      ],
    });

  test('a resolver picks the tier per request; unlimited counts nothing', async () => {
    const clock = manualClock();
    const limiter = limiterWithTiers(clock.now);
    const as = (plan: string, key: string) =>
      requestFrom({ headers: { authorization: `Bearer ${key}`, 'x-plan': plan } });
    expect((await limiter.check(as('free', 'a')))?.limit).toBe(2);
    expect((await limiter.check(as('standard', 'b')))?.limit).toBe(5);
    for (let i = 0; i < 100; i++) {
      const decision = await limiter.check(as('enterprise', 'c'));
      expect(decision).toMatchObject({ allowed: true, policies: [], headers: [] });
    }
  });

  test('a resolver naming no tier rejects with ERR_TOLLGATE_UNKNOWN_TIER', async () => {
    const limiter = limiterWithTiers(Date.now);
    await expect(
      limiter.check(requestFrom({ headers: { authorization: 'Bearer k', 'x-plan': 'gold' } })),
    ).rejects.toMatchObject({ code: 'ERR_TOLLGATE_UNKNOWN_TIER' });
  });
});

describe('missing keys', () => {
  test('an apiKey scope refuses a request without a key by default; other scopes count it under a shared keyless counter', async () => {
    const limiter = createLimiter({
      scopes: [
        { name: 'key', key: 'apiKey', code: 'UNAUTHORIZED', limits: [{ max: 5, window: '1m' }] },
        { name: 'partner', key: { header: 'x-partner-id' }, limits: [{ max: 5, window: '1m' }] },
      ],
    });
    expect(await limiter.check(requestFrom())).toMatchObject({
      allowed: false,
      status: 401,
      reason: 'key_missing',
      code: 'UNAUTHORIZED',
    });
    const withKey = await limiter.check(requestFrom({ headers: { 'x-api-key': 'k1' } }));
    expect(withKey?.policies.map((p) => p.id)).toEqual(['key_minute', 'partner_minute']);
  });
});

describe('store failures', () => {
  const failing = () => {
    const store = new MemoryStore();
    jest.spyOn(store, 'consume').mockImplementation(() => {
      throw new Error('connection lost');
    });
    return store;
  };
  const scopes = [{ name: 'ip', key: 'ip' as const, limits: [{ max: 4, window: '1m' }] }];

  test('fail open admits and reports store_unavailable', async () => {
    const onDecision = jest.fn();
    const limiter = createLimiter({ store: failing(), scopes, onStoreError: 'open', onDecision });
    const decision = await limiter.check(requestFrom());
    expect(decision).toMatchObject({ allowed: true, reason: 'store_unavailable' });
    expect(onDecision).toHaveBeenCalledWith(decision, expect.anything());
  });

  test('fail closed answers 503', async () => {
    const limiter = createLimiter({ store: failing(), scopes, onStoreError: 'closed' });
    expect(await limiter.check(requestFrom())).toMatchObject({
      allowed: false,
      status: 503,
      reason: 'store_unavailable',
    });
  });

  test('insurance enforces the limit divided by the number of instances', async () => {
    const clock = manualClock();
    const limiter = createLimiter({
      now: clock.now,
      store: failing(),
      scopes,
      onStoreError: { insurance: { divisor: 2 } },
    });
    const decisions = await Promise.all(Array.from({ length: 10 }, () => limiter.check(requestFrom())));
    expect(decisions.filter((d) => d?.allowed)).toHaveLength(2);
    expect(decisions[0]).toMatchObject({ limit: 2, storeError: expect.any(Error) });
  });

  test('a refund of an insurance decision gives back what the shrunk counters took', async () => {
    const clock = manualClock();
    const limiter = createLimiter({
      now: clock.now,
      store: failing(),
      // Insured: 5 a minute and a burst of 2 refilled at half the rate, per instance.
      scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 10, window: '1m' }], burst: 4 }],
      onStoreError: { insurance: { divisor: 2 } },
    });
    const first = await limiter.check(requestFrom());
    await limiter.refund(first!);
    const after = await Promise.all([1, 2, 3].map(() => limiter.check(requestFrom())));
    expect(after.map((decision) => decision?.allowed)).toEqual([true, true, false]);
  });
});

describe('hooks, skip, allow-list and shadow', () => {
  const scopes = [{ name: 'ip', key: 'ip' as const, limits: [{ max: 1, window: '1m' }] }];

  test('onDecision sees every decision and onRefusal every refusal; a throwing hook changes nothing', async () => {
    const onDecision = jest.fn(() => {
      throw new Error('metrics down');
    });
    const onRefusal = jest.fn();
    const limiter = createLimiter({ scopes, onDecision, onRefusal });
    await limiter.check(requestFrom());
    const refused = await limiter.check(requestFrom());
    expect(onDecision).toHaveBeenCalledTimes(2);
    expect(onRefusal).toHaveBeenCalledTimes(1);
    expect(onRefusal).toHaveBeenCalledWith(refused, expect.anything());
  });

  test('skip and the allow-list bypass counting entirely', async () => {
    const limiter = createLimiter({
      scopes,
      skip: (req) => req.path === '/health',
      allowList: ['10.0.0.0/8', '2001:db8::/32'],
    });
    expect(await limiter.check(requestFrom({ path: '/health' }))).toBeUndefined();
    expect(await limiter.check(requestFrom({ ip: '10.1.2.3' }))).toBeUndefined();
    expect(await limiter.check(requestFrom({ ip: '::ffff:10.1.2.3' }))).toBeUndefined();
    expect(await limiter.check(requestFrom({ ip: '2001:db8:1::5' }))).toBeUndefined();
    expect(await limiter.check(requestFrom({ ip: '11.0.0.1' }))).toBeDefined();
  });

  test('shadow mode computes the refusal but sends no refusal headers', async () => {
    const limiter = createLimiter({ scopes, shadow: true, headers: ['ratelimit'] });
    await limiter.check(requestFrom());
    const decision = await limiter.check(requestFrom());
    expect(decision).toMatchObject({ allowed: false, shadow: true, reason: 'ip_minute' });
    expect(decision?.headers.map(([name]) => name)).toEqual([
      'RateLimit-Limit',
      'RateLimit-Remaining',
      'RateLimit-Reset',
    ]);
  });
});

describe('refund', () => {
  test('gives back what a decision charged, once', async () => {
    const clock = manualClock();
    const limiter = createLimiter({
      now: clock.now,
      scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 3, window: '1m' }], burst: 3 }],
    });
    const first = await limiter.check(requestFrom());
    await limiter.check(requestFrom());
    await limiter.refund(first!);
    await limiter.refund(first!);
    expect((await limiter.check(requestFrom()))?.remaining).toBe(1);
  });
});
