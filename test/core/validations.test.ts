import { createLimiter } from '../../lib/core/limiter.js';
import type { TollgateError } from '../../lib/errors/errors.js';
import { MemoryStore } from '../../lib/stores/memory/index.js';
import { createTestClock } from '../../lib/testing/index.js';
import { requestFrom } from '../helpers/requests.js';

const limits = [{ max: 100, window: '1m' }];

function collector() {
  const warnings: TollgateError[] = [];
  return { warnings, onWarning: (warning: TollgateError) => warnings.push(warning) };
}

describe('run-time checks, reported once per limiter with a stable code', () => {
  test('a route-parameter scope where the request has no such parameter: ERR_TOLLGATE_NO_ROUTE_PARAM, once', async () => {
    const { warnings, onWarning } = collector();
    const limiter = createLimiter({
      onWarning,
      scopes: [{ name: 'bank', key: { param: 'bankId' }, limits }],
    });
    for (let i = 0; i < 3; i++) await limiter.check(requestFrom({ params: {} }));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ code: 'ERR_TOLLGATE_NO_ROUTE_PARAM' });
    expect(warnings[0]!.message).toMatch(/"bankId".*docs\/errors\.md#err_tollgate_no_route_param$/s);
  });

  test('a route that has the parameter reports nothing', async () => {
    const { warnings, onWarning } = collector();
    const limiter = createLimiter({
      onWarning,
      scopes: [{ name: 'bank', key: { param: 'bankId' }, limits }],
    });
    await limiter.check(requestFrom({ params: { bankId: 'b1' } }));
    expect(warnings).toEqual([]);
  });

  test('a body scope that sees a request body no parser parsed: ERR_TOLLGATE_BODY_NOT_PARSED', async () => {
    const { warnings, onWarning } = collector();
    const limiter = createLimiter({
      onWarning,
      scopes: [{ name: 'payment', key: { body: 'source_account' }, limits }],
    });
    // A GET without a body is no sign of a missing parser.
    await limiter.check(requestFrom());
    expect(warnings).toEqual([]);
    await limiter.check(requestFrom({ method: 'POST', headers: { 'content-length': '24' } }));
    await limiter.check(requestFrom({ method: 'POST', headers: { 'transfer-encoding': 'chunked' } }));
    expect(warnings.map((w) => w.code)).toEqual(['ERR_TOLLGATE_BODY_NOT_PARSED']);
  });

  test("a limiter's now that its store does not share: ERR_TOLLGATE_CLOCK_MISMATCH", async () => {
    const { warnings, onWarning } = collector();
    const clock = createTestClock();
    const limiter = createLimiter({
      onWarning,
      now: clock.now,
      store: new MemoryStore(),
      scopes: [{ name: 'ip', key: 'ip', limits }],
    });
    await limiter.check(requestFrom());
    await limiter.check(requestFrom());
    expect(warnings.map((w) => w.code)).toEqual(['ERR_TOLLGATE_CLOCK_MISMATCH']);
  });

  test('one clock for both reports nothing, and neither does the default store, which takes the limiter clock', async () => {
    const { warnings, onWarning } = collector();
    const clock = createTestClock();
    const shared = createLimiter({
      onWarning,
      now: clock.now,
      store: new MemoryStore({ now: clock.now }),
      scopes: [{ name: 'ip', key: 'ip', limits }],
    });
    const defaulted = createLimiter({
      onWarning,
      now: clock.now,
      scopes: [{ name: 'ip', key: 'ip', limits }],
    });
    await shared.check(requestFrom());
    await defaulted.check(requestFrom());
    expect(warnings).toEqual([]);
  });

  test('validate: false turns every report off; { routeParam: false } one', async () => {
    const { warnings, onWarning } = collector();
    const scopes = [{ name: 'bank', key: { param: 'bankId' } as const, limits }];
    const clock = createTestClock();
    const store = new MemoryStore();
    await createLimiter({ onWarning, validate: false, now: clock.now, store, scopes }).check(requestFrom());
    await createLimiter({ onWarning, validate: { routeParam: false }, scopes }).check(requestFrom());
    expect(warnings).toEqual([]);
    await createLimiter({ onWarning, validate: { routeParam: false }, now: clock.now, store, scopes }).check(
      requestFrom(),
    );
    expect(warnings.map((w) => w.code)).toEqual(['ERR_TOLLGATE_CLOCK_MISMATCH']);
  });

  test('without onWarning the report goes to console.warn, once', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const limiter = createLimiter({ scopes: [{ name: 'bank', key: { param: 'bankId' }, limits }] });
      await limiter.check(requestFrom());
      await limiter.check(requestFrom());
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]![0]).toMatch(/^ERR_TOLLGATE_NO_ROUTE_PARAM: tollgate: /);
    } finally {
      warn.mockRestore();
    }
  });

  test('validate is checked as an option', () => {
    expect(() =>
      createLimiter({ validate: { nope: true } as never, scopes: [{ name: 'ip', key: 'ip', limits }] }),
    ).toThrow(/validate/);
  });
});
