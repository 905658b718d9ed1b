// The limiter through `decideNow`, the entry the adapters call (split from limiter.test.ts).
import { createLimiter, decideNow } from '../lib/core/limiter.js';
import { MemoryStore } from '../lib/stores/memory/index.js';
import type { Store } from '../lib/stores/store.js';
import { manualClock } from './helpers/clock.js';
import { requestFrom } from './helpers/requests.js';

describe("decideNow (the adapters' entry): the same decision, without a promise when nothing is asynchronous", () => {
  const limits = [{ max: 2, window: '1m' }];

  test('the memory store and synchronous key, tier and cost functions answer in the same tick', () => {
    const clock = manualClock();
    const limiter = createLimiter({
      now: clock.now,
      scopes: [
        { name: 'ip', key: 'ip', limits },
        {
          name: 'user',
          key: (req) => req.headers['x-user'] as string | undefined,
          tier: () => 'free',
          tiers: { free: { limits } },
          cost: () => 1,
        },
      ],
      spendCap: { key: { header: 'x-user' }, budget: () => 10, cost: () => 1 },
    });
    const request = requestFrom({ headers: { 'x-user': 'u1' } });
    const first = decideNow(limiter, request);
    expect(first).not.toBeInstanceOf(Promise);
    expect(first).toMatchObject({ allowed: true, remaining: 1 });
    decideNow(limiter, request);
    expect(decideNow(limiter, request)).toMatchObject({ allowed: false, status: 429, reason: 'ip_minute' });
  });

  test('a key function that returns a promise makes it a promise, with the same counting', async () => {
    const limiter = createLimiter({ scopes: [{ name: 'user', key: async () => 'u1', limits }] });
    const pending = decideNow(limiter, requestFrom());
    expect(pending).toBeInstanceOf(Promise);
    await pending;
    expect(await decideNow(limiter, requestFrom())).toMatchObject({ allowed: true, remaining: 0 });
    expect(await decideNow(limiter, requestFrom())).toMatchObject({ allowed: false, reason: 'user_minute' });
  });

  test('an asynchronous store that rejects gets the configured failure policy, as with check', async () => {
    // The memory store's interface, answering as a remote store does: with a promise.
    const memory = new MemoryStore();
    const store: Store = {
      consume: () => Promise.reject(new Error('connection lost')),
      peek: (counters) => memory.peek(counters),
      refund: (refunds) => memory.refund(refunds),
      charge: (charges) => memory.charge(charges),
      reset: (counters) => memory.reset(counters),
    };
    const limiter = createLimiter({
      store,
      scopes: [{ name: 'ip', key: 'ip', limits }],
      onStoreError: 'closed',
    });
    expect(await decideNow(limiter, requestFrom())).toMatchObject({
      status: 503,
      reason: 'store_unavailable',
    });
  });

  test('a resolver that throws throws from decideNow and rejects from check', async () => {
    const limiter = createLimiter({
      scopes: [{ name: 'user', key: 'ip', tier: () => 'gold', tiers: { free: { limits } } }],
    });
    expect(() => decideNow(limiter, requestFrom())).toThrow(
      expect.objectContaining({ code: 'ERR_TOLLGATE_UNKNOWN_TIER' }),
    );
    await expect(limiter.check(requestFrom())).rejects.toMatchObject({ code: 'ERR_TOLLGATE_UNKNOWN_TIER' });
  });

  test('skip, tier and budget functions may answer with a promise or any thenable, and are awaited', async () => {
    // Typed as promises, as a query builder passes for one.
    const thenable = <T>(value: T): Promise<T> =>
      ({
        // biome-ignore lint/suspicious/noThenProperty: a thenable, as a query builder or another library's promise is
        then: (resolve: (value: T) => unknown) => Promise.resolve(value).then(resolve),
      }) as unknown as Promise<T>;
    const onDecision = jest.fn();
    const limiter = createLimiter({
      onDecision,
      skip: (req) => (req.headers['x-skip'] === 'promise' ? Promise.resolve(true) : thenable(false)),
      scopes: [{ name: 'ip', key: 'ip', tier: async () => 'free', tiers: { free: { limits } } }],
      spendCap: { key: { header: 'x-user' }, budget: () => thenable(3), cost: 1 },
    });
    const user = { 'x-user': 'u1' };
    expect(
      await decideNow(limiter, requestFrom({ headers: { ...user, 'x-skip': 'promise' } })),
    ).toBeUndefined();
    expect(await decideNow(limiter, requestFrom({ headers: user }))).toMatchObject({
      allowed: true,
      remaining: 1,
    });
    expect((await limiter.getUsage('u1', 3)).used).toBe(1);
    expect(onDecision).toHaveBeenCalledTimes(1);
  });

  test('with the memory store a decision is reported to onDecision once, before decideNow returns', () => {
    const onDecision = jest.fn();
    const limiter = createLimiter({ onDecision, scopes: [{ name: 'ip', key: 'ip', limits }] });
    const decision = decideNow(limiter, requestFrom());
    expect(onDecision).toHaveBeenCalledTimes(1);
    expect(onDecision).toHaveBeenCalledWith(decision, expect.anything());
  });

  test('a store that throws synchronously gets the failure policy too, open or insurance', () => {
    const store = new MemoryStore();
    jest.spyOn(store, 'consume').mockImplementation(() => {
      throw new Error('connection lost');
    });
    const scopes = [{ name: 'ip', key: 'ip' as const, limits }];
    expect(decideNow(createLimiter({ store, scopes }), requestFrom())).toMatchObject({
      allowed: true,
      reason: 'store_unavailable',
    });
    const insured = createLimiter({ store, scopes, onStoreError: { insurance: { divisor: 2 } } });
    expect(decideNow(insured, requestFrom())).toMatchObject({ allowed: true, limit: 1 });
    expect(decideNow(insured, requestFrom())).toMatchObject({ allowed: false, status: 429 });
  });

  test("each of the application's functions is called once per decision, however many of them answer with a promise", async () => {
    // A decision that meets a promise resumes from that stage once it settles: no function may
    // be called twice, and each must get its own answer back.
    const calls: string[] = [];
    const called =
      <T>(name: string, answer: () => T) =>
      (): T => {
        calls.push(name);
        return answer();
      };
    const memory = new MemoryStore();
    const store: Store = {
      consume: (counters) => {
        calls.push('consume');
        return Promise.resolve(memory.consume(counters));
      },
      peek: (counters) => memory.peek(counters),
      refund: (refunds) => memory.refund(refunds),
      charge: (charges) => memory.charge(charges),
      reset: (counters) => memory.reset(counters),
    };
    const onDecision = jest.fn();
    const limiter = createLimiter({
      store,
      onDecision,
      skip: called('skip', () => false),
      scopes: [
        { name: 'ip', key: 'ip', tier: called('tier', () => 'free'), tiers: { free: { limits } } },
        {
          name: 'user',
          key: called('user key', async () => 'u1'),
          limits: [{ max: 10, window: '1m' }],
          cost: called('user cost', () => 2),
        },
        {
          name: 'team',
          key: called('team key', () => 't1'),
          limits: [{ max: 10, window: '1m' }],
          cost: called('team cost', async () => 3),
        },
      ],
      spendCap: {
        key: called('spend key', () => 's1'),
        budget: called('budget', async () => 50),
        cost: called('spend cost', () => 4),
      },
    });
    const decision = await decideNow(limiter, requestFrom());
    expect(decision).toMatchObject({ allowed: true });
    expect(calls).toEqual([
      'skip',
      'tier',
      'user key',
      'user cost',
      'team key',
      'team cost',
      'spend key',
      'budget',
      'spend cost',
      'consume',
    ]);
    expect(onDecision).toHaveBeenCalledTimes(1);
    // Each scope was counted under its own key, at its own cost.
    expect(decision?.policies.map((p) => [p.id, p.limit - p.remaining])).toEqual([
      ['ip_minute', 1],
      ['user_minute', 2],
      ['team_minute', 3],
      ['spend_day', 4],
    ]);
    expect((await limiter.getUsage('s1', 50)).used).toBe(4);
  });

  test('a stage reads the request as the application functions before it left it, as any async middleware would', async () => {
    // The user key function fills the body in while the decision waits for it; the account scope
    // after it reads the body then and counts the account, and the tier resolver runs once.
    const tier = jest.fn(() => 'free');
    const limiter = createLimiter<null>({
      scopes: [
        {
          name: 'user',
          key: async (req) => {
            (req as { body?: unknown }).body = { account: 'a1' };
            return 'u1';
          },
          limits,
        },
        { name: 'account', key: { body: 'account' }, tier, tiers: { free: { limits } } },
      ],
    });
    const decision = await decideNow(limiter, requestFrom());
    expect(decision?.policies.map((p) => p.id)).toEqual(['user_minute', 'account_minute']);
    expect(tier).toHaveBeenCalledTimes(1);
  });

  test('a scope before the function that changes the request reads it as it was then', async () => {
    const limiter = createLimiter<null>({
      scopes: [
        { name: 'account', key: { body: 'account' }, onMissing: 'skip', limits },
        {
          name: 'user',
          key: async (req) => {
            (req as { body?: unknown }).body = { account: 'a1' };
            return 'u1';
          },
          limits,
        },
      ],
    });
    const decision = await decideNow(limiter, requestFrom());
    expect(decision?.policies.map((p) => p.id)).toEqual(['user_minute']);
  });

  test('a rejection after synchronous answers rejects, without calling what came before again', async () => {
    const tier = jest.fn(() => 'free');
    const limiter = createLimiter({
      scopes: [
        { name: 'ip', key: 'ip', tier, tiers: { free: { limits } } },
        { name: 'user', key: () => Promise.reject(new Error('lookup failed')), limits },
      ],
    });
    await expect(decideNow(limiter, requestFrom())).rejects.toThrow('lookup failed');
    expect(tier).toHaveBeenCalledTimes(1);
  });

  test('a store that rejects after a key that answered with a promise gets the insurance limit', async () => {
    const lost = () => Promise.reject(new Error('connection lost'));
    const consume = jest.fn(lost);
    const store: Store = { consume, peek: lost, refund: lost, charge: lost, reset: lost };
    const key = jest.fn(async () => 'u1');
    const limiter = createLimiter({
      store,
      scopes: [{ name: 'user', key, limits }],
      onStoreError: { insurance: { divisor: 2 } },
    });
    expect(await decideNow(limiter, requestFrom())).toMatchObject({ allowed: true, limit: 1, remaining: 0 });
    expect(await decideNow(limiter, requestFrom())).toMatchObject({ allowed: false, status: 429 });
    expect(key).toHaveBeenCalledTimes(2);
    expect(consume).toHaveBeenCalledTimes(2);
  });

  test('a rejected key promise rejects, after the same tick', async () => {
    const limiter = createLimiter({
      scopes: [{ name: 'user', key: () => Promise.reject(new Error('lookup failed')), limits }],
    });
    await expect(decideNow(limiter, requestFrom())).rejects.toThrow('lookup failed');
  });
});
