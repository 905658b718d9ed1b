import type { Decision } from '../../lib/core/decision.js';
import { createLimiter } from '../../lib/core/limiter.js';
import type { ScopeOptions } from '../../lib/options/options.js';
import {
  defineSerializer,
  type ErrorDescription,
  fastinoSerializer,
  fluidSerializer,
  type Serializer,
  serializers,
} from '../../lib/serializers/index.js';
import { MemoryStore } from '../../lib/stores/memory/index.js';
import type { Store } from '../../lib/stores/store.js';
import { manualClock, T0 } from '../helpers/clock.js';
import { expectMatchesSchema } from '../helpers/examples.js';
import { requestFrom } from '../helpers/requests.js';

const PRESETS = [
  serializers.fastino,
  serializers.fluid,
  serializers.fastapi,
  serializers.firsthand,
  serializers.problem,
];

/** A real refusal: `max` requests in a `window`, one more at `offsetMs` into it, rendered by `serializer`. */
async function refusal(
  serializer: Serializer,
  scope: Partial<ScopeOptions> = {},
  options: { offsetMs?: number; requestId?: string } = {},
): Promise<{ body: unknown; text: string; decision: Decision; retryAfter: string | undefined }> {
  const clock = manualClock(T0 + (options.offsetMs ?? 15_000));
  const limiter = createLimiter({
    now: clock.now,
    serializer,
    scopes: [{ name: 'partner', key: 'ip', limits: [{ max: 5, window: '1m' }], ...scope } as ScopeOptions],
  });
  const req = requestFrom({ headers: { 'x-request-id': options.requestId ?? 'req_test' } });
  let decision: Decision | undefined;
  for (let i = 0; i < 100_000; i++) {
    decision = await limiter.check(req);
    if (!decision?.allowed) break;
  }
  const answer = limiter.refusal(decision!, req);
  expect(answer.contentType).toBe(serializer.contentType);
  const retryAfter = decision!.headers.find(([name]) => name === 'Retry-After')?.[1];
  return { body: JSON.parse(answer.body), text: answer.body, decision: decision!, retryAfter };
}

/** The application's own error, as the error handler describes it. */
function appError(status: number, overrides: Partial<ErrorDescription> = {}): ErrorDescription {
  return {
    status,
    code: undefined,
    message: `Something about ${status}`,
    reason: undefined,
    retryAfter: undefined,
    requestId: 'req_app',
    decision: undefined,
    ...overrides,
  };
}

describe('every preset', () => {
  test.each(PRESETS.map((s) => [s.name, s] as const))(
    '%s: refusals and 400/401/403/404/500/503/504 satisfy its exported schema',
    async (_name, serializer) => {
      expect(serializer.schema).toBeDefined();
      expectMatchesSchema(serializer, (await refusal(serializer)).body);
      expectMatchesSchema(serializer, (await refusal(serializer, { burst: 2, headerLimit: 'minute' })).body);
      for (const status of [400, 401, 403, 404, 409, 413, 422, 500, 502, 503, 504]) {
        expectMatchesSchema(serializer, serializer.render(appError(status)));
        expectMatchesSchema(
          serializer,
          serializer.render(appError(status, { code: 'SOME_CODE', details: { field: 'x' }, retryAfter: 7 })),
        );
      }
      expectMatchesSchema(serializer, serializer.render(appError(429, { retryAfter: 3 })));
    },
  );

  test('serializers holds the five presets under their names', () => {
    expect(Object.keys(serializers).sort()).toEqual(['fastapi', 'fastino', 'firsthand', 'fluid', 'problem']);
    for (const [name, serializer] of Object.entries(serializers)) expect(serializer.name).toBe(name);
  });

  test('tollgate’s own non-429 answers render in the schema with the status’s code, not the scope’s', async () => {
    const limiter = (serializer: Serializer) =>
      createLimiter({
        serializer,
        scopes: [
          { name: 'key', key: 'apiKey', code: 'RATE_LIMIT_EXCEEDED', limits: [{ max: 5, window: '1m' }] },
        ],
      });
    const expected: Record<string, unknown> = {
      fastino: { error: expect.objectContaining({ code: 'UNAUTHORIZED' }) },
      fluid: { error: expect.objectContaining({ code: 401, category: 'security' }) },
      fastapi: { detail: expect.any(String) },
      firsthand: { error: expect.objectContaining({ type: 'authentication_error' }) },
      problem: expect.objectContaining({ status: 401 }),
    };
    for (const serializer of PRESETS) {
      const req = requestFrom();
      const decision = await limiter(serializer).check(req);
      expect(decision?.status).toBe(401);
      const body = JSON.parse(limiter(serializer).refusal(decision!, req).body);
      expectMatchesSchema(serializer, body);
      expect(body).toEqual(expected[serializer.name]);
    }
  });

  test('a store outage answered closed is a 503 in the schema', async () => {
    const broken: Store = {
      consume: async () => {
        throw new Error('ECONNREFUSED');
      },
      peek: async () => {
        throw new Error('ECONNREFUSED');
      },
      refund: async () => {},
      reset: async () => {},
    } as unknown as Store;
    for (const serializer of PRESETS) {
      const limiter = createLimiter({
        serializer,
        store: broken,
        onStoreError: 'closed',
        scopes: [{ name: 'ip', key: 'ip', code: 1453, limits: [{ max: 5, window: '1m' }] }],
      });
      const req = requestFrom();
      const decision = await limiter.check(req);
      expect(decision?.status).toBe(503);
      const body = JSON.parse(limiter.refusal(decision!, req).body);
      expectMatchesSchema(serializer, body);
      expect(JSON.stringify(body)).not.toContain('ECONNREFUSED');
    }
  });
});

describe('fastino', () => {
  test('the 429 body, templated from the decision', async () => {
    const { body, retryAfter } = await refusal(serializers.fastino, { code: 'RATE_LIMIT_EXCEEDED' });
    expect(retryAfter).toBe('45');
    expect(body).toEqual({
      error: {
        code: 'RATE_LIMIT_EXCEEDED',
        message: 'Rate limit exceeded: 5 requests per 1 minute. Retry after 45 seconds.',
        details: { limit: 5, window: '1 minute', retry_after: 45, request_id: 'req_test' },
      },
    });
  });

  test('other limits and windows change the text: nothing is hard-coded', async () => {
    const { body } = await refusal(
      serializers.fastino,
      { limits: [{ max: 3, window: '1h' }] },
      { offsetMs: 3_600_000 - 1000 },
    );
    expect((body as { error: { message: string } }).error.message).toBe(
      'Rate limit exceeded: 3 requests per 1 hour. Retry after 1 second.',
    );
  });

  test.each([
    [400, 'INVALID_REQUEST'],
    [401, 'UNAUTHORIZED'],
    [403, 'FORBIDDEN'],
    [404, 'NOT_FOUND'],
    [422, 'INVALID_REQUEST'],
    [429, 'RATE_LIMIT_EXCEEDED'],
    [500, 'SERVER_ERROR'],
    [502, 'SERVER_ERROR'],
    [503, 'SERVER_ERROR'],
    [504, 'TIMEOUT'],
  ])('status %i without a code of its own is %s', (status, code) => {
    expect(serializers.fastino.render(appError(status))).toMatchObject({ error: { code } });
  });

  test('the application’s machine code wins; details join request_id, which it cannot override', () => {
    const body = serializers.fastino.render(
      appError(404, { code: 'USER_NOT_FOUND', details: { user_id: 'carol', request_id: 'forged' } }),
    );
    expect(body).toEqual({
      error: {
        code: 'USER_NOT_FOUND',
        message: 'Something about 404',
        details: { user_id: 'carol', request_id: 'req_app' },
      },
    });
    // A code that is not a machine code (lower case, numeric) falls back to the status's.
    expect(serializers.fastino.render(appError(404, { code: 'user not found' }))).toMatchObject({
      error: { code: 'NOT_FOUND' },
    });
    expect(serializers.fastino.render(appError(404, { code: 1404 }))).toMatchObject({
      error: { code: 'NOT_FOUND' },
    });
  });

  test('rateLimitMessage rewords refusals', async () => {
    const serializer = fastinoSerializer({ rateLimitMessage: (e) => `Slow down for ${e.retryAfter}s` });
    const { body } = await refusal(serializer);
    expect(body).toMatchObject({ error: { message: 'Slow down for 45s' } });
  });
});

describe('fluid', () => {
  const DOCUMENTED =
    '{"error":{"code":1454,"message":"Rate limit exceeded for payment partner","category":"security","severity":"medium","details":{"limit":1000,"window":"1 minute","retry_after":45}}}';

  test('reproduces the documented 429 body byte for byte', async () => {
    const { text, retryAfter } = await refusal(serializers.fluid, {
      code: 1454,
      message: 'Rate limit exceeded for payment partner',
      limits: [
        { max: 1000, window: '1m' },
        { max: 60_000, window: '1h' },
      ],
      headerLimit: 'minute',
    });
    expect(text).toBe(DOCUMENTED);
    expect(retryAfter).toBe('45');
  });

  test('details.retry_after equals Retry-After, and limit/window the pinned headers, when the burst binds', async () => {
    const { body, retryAfter, decision } = await refusal(serializers.fluid, {
      code: 1454,
      limits: [{ max: 1000, window: '1m' }],
      burst: 100,
      headerLimit: 'minute',
    });
    expect(decision.reason).toBe('partner_burst');
    expect(body).toMatchObject({ error: { details: { limit: 1000, window: '1 minute', retry_after: 1 } } });
    expect(retryAfter).toBe('1');
  });

  test('a scope without a numeric code refuses with 1429, FLUID’s general code', async () => {
    const { body } = await refusal(serializers.fluid, { code: 'not-a-number' });
    expect(body).toMatchObject({ error: { code: 1429 } });
    const custom = await refusal(fluidSerializer({ rateLimitCode: 1999 }));
    expect(custom.body).toMatchObject({ error: { code: 1999 } });
  });

  test.each([
    [400, 'validation', 'low'],
    [401, 'security', 'medium'],
    [403, 'security', 'medium'],
    [404, 'validation', 'low'],
    [429, 'security', 'medium'],
    [500, 'system', 'high'],
    [504, 'system', 'high'],
  ])(
    'status %i defaults to category %s, severity %s; the code is the status',
    (status, category, severity) => {
      expect(serializers.fluid.render(appError(status))).toEqual({
        error: {
          code: status === 429 ? 1429 : status,
          message: `Something about ${status}`,
          category,
          severity,
        },
      });
    },
  );

  test('category and severity are configurable, as values or functions', async () => {
    const fixed = fluidSerializer({ category: 'rate_limiting', severity: 'high' });
    expect((await refusal(fixed, { code: 1453 })).body).toMatchObject({
      error: { code: 1453, category: 'rate_limiting', severity: 'high' },
    });
    const computed = fluidSerializer({
      category: (e) => (e.status === 429 ? 'throttle' : 'other'),
      severity: (e) => (e.status >= 500 ? 'critical' : 'low'),
    });
    expect(computed.render(appError(503))).toMatchObject({
      error: { category: 'other', severity: 'critical' },
    });
    expectMatchesSchema(computed, computed.render(appError(503)));
    expect(() => fluidSerializer({ severity: 'urgent' as 'high' })).toThrow(RangeError);
    expect(() => fluidSerializer({ rateLimitCode: -1 })).toThrow(RangeError);
  });

  test('an application’s numeric code and details are kept', () => {
    expect(serializers.fluid.render(appError(409, { code: 2001, details: { payment_id: 'p1' } }))).toEqual({
      error: {
        code: 2001,
        message: 'Something about 409',
        category: 'validation',
        severity: 'low',
        details: { payment_id: 'p1' },
      },
    });
  });
});

describe('fastapi', () => {
  test('the 429 detail states the limit and its window', async () => {
    const { body, text } = await refusal(serializers.fastapi, { limits: [{ max: 200, window: '1m' }] });
    expect(body).toEqual({ detail: 'Rate limit exceeded: 200 per 1 minute' });
    expect(text).not.toContain('req_test');
    expect(serializers.fastapi.contentType).toBe('application/json');
  });

  test('other errors are {"detail": message}', () => {
    expect(serializers.fastapi.render(appError(404, { message: 'Not Found' }))).toEqual({
      detail: 'Not Found',
    });
    expect(serializers.fastapi.render(appError(429, { message: 'daily budget spent' }))).toEqual({
      detail: 'Rate limit exceeded: daily budget spent',
    });
  });

  test('a refusal by a limit counting credits (a spending cap) is not worded as requests per window', () => {
    const decision = {
      status: 429,
      reason: 'spend_day',
      limit: 1000,
      windowMs: 86_400_000,
      policies: [{ id: 'spend_day', unit: 'credits' }],
    } as unknown as Decision;
    const body = serializers.fastapi.render(
      appError(429, { decision, message: 'Daily spending cap exceeded', retryAfter: 3600 }),
    );
    expect(body).toEqual({ detail: 'Rate limit exceeded: Daily spending cap exceeded' });
  });
});

describe('firsthand', () => {
  test('the 429 body, with the retry seconds of Retry-After', async () => {
    const { body, retryAfter } = await refusal(
      serializers.firsthand,
      {},
      { offsetMs: 30_000, requestId: 'req_01HV' },
    );
    expect(retryAfter).toBe('30');
    expect(body).toEqual({
      error: {
        type: 'rate_limit_error',
        message: 'Too many requests. Please retry after 30 seconds.',
        request_id: 'req_01HV',
      },
    });
  });

  test('one second is singular', async () => {
    const { body } = await refusal(serializers.firsthand, {}, { offsetMs: 59_500 });
    expect(body).toMatchObject({ error: { message: 'Too many requests. Please retry after 1 second.' } });
  });

  test.each([
    [400, 'invalid_request_error'],
    [401, 'authentication_error'],
    [403, 'permission_error'],
    [404, 'not_found_error'],
    [413, 'invalid_request_error'],
    [429, 'rate_limit_error'],
    [500, 'api_error'],
    [503, 'api_error'],
  ])('status %i is %s', (status, type) => {
    expect(serializers.firsthand.render(appError(status))).toEqual({
      error: {
        type,
        message: status === 429 ? 'Too many requests.' : `Something about ${status}`,
        request_id: 'req_app',
      },
    });
  });

  test('an application code that is a FirstHand type is kept; any other is not', () => {
    expect(serializers.firsthand.render(appError(400, { code: 'permission_error' }))).toMatchObject({
      error: { type: 'permission_error' },
    });
    expect(serializers.firsthand.render(appError(400, { code: 'USER_NOT_FOUND' }))).toMatchObject({
      error: { type: 'invalid_request_error' },
    });
  });
});

describe('a custom serializer', () => {
  test('defineSerializer renders refusals with whatever the function returns', async () => {
    const custom = defineSerializer((e) => ({ oops: e.status, wait: e.retryAfter, id: e.requestId }), {
      name: 'mine',
      schema: {
        type: 'object',
        required: ['oops', 'id'],
        properties: { oops: { type: 'integer' }, wait: { type: 'integer' }, id: { type: 'string' } },
      },
    });
    const { body } = await refusal(custom);
    expect(body).toEqual({ oops: 429, wait: 45, id: 'req_test' });
    expectMatchesSchema(custom, body);
  });

  test('every preset renders a decision made by another limiter', async () => {
    const clock = manualClock();
    const store = new MemoryStore({ now: clock.now });
    const scopes = [{ name: 'ip', key: 'ip' as const, code: 1453, limits: [{ max: 1, window: '1m' }] }];
    const a = createLimiter({ now: clock.now, store, scopes, serializer: serializers.fluid });
    await a.check(requestFrom());
    const decision = (await a.check(requestFrom()))!;
    for (const serializer of PRESETS) {
      const limiter = createLimiter({ now: clock.now, store, scopes, serializer });
      expectMatchesSchema(serializer, JSON.parse(limiter.refusal(decision, requestFrom()).body));
    }
  });
});
