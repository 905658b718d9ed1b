import { createLimiter } from '../../lib/core/limiter.js';
import { createTestClock } from '../../lib/testing/index.js';
import { requestFrom } from '../helpers/requests.js';

const limits = [{ max: 2, window: '1m' }];

/** An array nested `depth` levels deep, as `express.json` parses `[[[…]]]`. */
function nested(depth: number): unknown {
  let value: unknown = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

describe('a request without a key for a scope is never silently uncounted', () => {
  test('by default keyless requests share one counter per scope: leaving the header out buys its allowance, not unlimited', async () => {
    const clock = createTestClock();
    const limiter = createLimiter({
      now: clock.now,
      scopes: [{ name: 'partner', key: { header: 'x-partner-id' }, limits }],
    });
    const keyless = () => limiter.check(requestFrom({ ip: `198.51.100.${Math.floor(Math.random() * 200)}` }));
    const answers = [await keyless(), await keyless(), await keyless()];
    expect(answers.map((d) => d?.status)).toEqual([200, 200, 429]);
    expect(answers[2]).toMatchObject({ scope: 'partner', reason: 'partner_minute' });
    // A client with the header has its own counter.
    const keyed = await limiter.check(requestFrom({ headers: { 'x-partner-id': 'acme' } }));
    expect(keyed).toMatchObject({ allowed: true, remaining: 1 });
  });

  test("onMissing: 'skip' leaves the scope out when asked for; 'refuse' answers <scope>_missing", async () => {
    const skip = createLimiter({
      scopes: [{ name: 'partner', key: { header: 'x-partner-id' }, onMissing: 'skip', limits }],
    });
    for (let i = 0; i < 3; i++) expect((await skip.check(requestFrom()))?.policies).toEqual([]);
    const refuse = createLimiter({
      scopes: [{ name: 'partner', key: { header: 'x-partner-id' }, onMissing: 'refuse', limits }],
    });
    expect(await refuse.check(requestFrom())).toMatchObject({ status: 401, reason: 'partner_missing' });
  });

  test('apiKey scopes still refuse a request without a key by default', async () => {
    const limiter = createLimiter({ scopes: [{ name: 'apiKey', key: 'apiKey', limits }] });
    expect(await limiter.check(requestFrom())).toMatchObject({ status: 401, reason: 'apiKey_missing' });
  });

  test('a keyless counter cannot be reached by a client sending a look-alike value', async () => {
    const limiter = createLimiter({ scopes: [{ name: 'partner', key: { header: 'x-partner-id' }, limits }] });
    await limiter.check(requestFrom());
    await limiter.check(requestFrom());
    const lookalike = await limiter.check(requestFrom({ headers: { 'x-partner-id': '~keyless' } }));
    expect(lookalike).toMatchObject({ allowed: true, remaining: 1 });
  });
});

describe('key values of any shape or depth are counted under a bounded key or refused with a 400', () => {
  const bodyScope = () =>
    createLimiter({ scopes: [{ name: 'payment', key: { body: 'source_account' }, limits }] });

  test('an array nested thousands of levels deep (within express.json limits) is a 400 invalid_key, not a dropped scope', async () => {
    const limiter = bodyScope();
    const decision = await limiter.check(requestFrom({ body: { source_account: nested(5000) } }));
    expect(decision).toMatchObject({ allowed: false, status: 400, reason: 'invalid_key', scope: 'payment' });
  });

  test("with onMissing: 'refuse' such a value is still invalid_key, never <scope>_missing", async () => {
    const limiter = createLimiter({
      scopes: [{ name: 'payment', key: { body: 'source_account' }, onMissing: 'refuse', limits }],
    });
    const decision = await limiter.check(requestFrom({ body: { source_account: nested(5000) } }));
    expect(decision?.reason).toBe('invalid_key');
  });

  test('a cyclic or huge value from a key function is refused too', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const huge = Array.from({ length: 10_000 }, (_, i) => i);
    for (const value of [cyclic, huge]) {
      const limiter = createLimiter({
        scopes: [{ name: 'user', key: () => value as unknown as string, limits }],
      });
      expect((await limiter.check(requestFrom()))?.reason).toBe('invalid_key');
    }
  });

  test('objects, arrays, booleans and non-finite numbers within bounds are counted under their own bounded key', async () => {
    const limiter = bodyScope();
    for (const value of [{ $ne: 1 }, ['a', 'a'], true, Number.NaN, nested(20), 12n]) {
      const body = { source_account: value };
      const first = await limiter.check(requestFrom({ body }));
      const second = await limiter.check(requestFrom({ body }));
      const third = await limiter.check(requestFrom({ body }));
      expect([first, second, third].map((d) => d?.status)).toEqual([200, 200, 429]);
    }
  });

  test('a spending cap keyed on such a value refuses with a 400 too', async () => {
    const limiter = createLimiter({ spendCap: { key: { body: 'user' }, budget: 10 } });
    const decision = await limiter.check(requestFrom({ body: { user: nested(5000) } }));
    expect(decision).toMatchObject({ status: 400, reason: 'invalid_key' });
  });
});
