import fc from 'fast-check';
import { serializeList } from 'structured-headers';
import { parseErrorBody } from '../../lib/client/body.js';
import { MAX_HORIZON_MS, parseReset, parseRetryAfter, readRateLimit } from '../../lib/client/headers.js';
import { T0 } from '../helpers/clock.js';

const read = (headers: Record<string, string>, now = T0) => readRateLimit(new Headers(headers), now);

describe('Retry-After', () => {
  test('delay-seconds', () => {
    expect(parseRetryAfter('45', T0)).toBe(45_000);
    expect(parseRetryAfter(' 0 ', T0)).toBe(0);
    expect(parseRetryAfter('1.5', T0)).toBe(1500);
  });

  test('an HTTP-date, as the time left until it', () => {
    const at = new Date(T0 + 30_000).toUTCString(); // Mon, 27 Oct 2025 12:00:30 GMT
    expect(parseRetryAfter(at, T0)).toBe(30_000);
    // A date already past means "now", never a negative wait.
    expect(parseRetryAfter(new Date(T0 - 5000).toUTCString(), T0)).toBe(0);
  });

  test('repeated values (joined by a proxy) take the longest', () => {
    expect(parseRetryAfter('30, 45', T0)).toBe(45_000);
  });

  test('garbage reads as absent; far futures are clamped to the horizon', () => {
    for (const bad of ['-5', 'NaN', 'soon', '1e3', '0x10', '', '12abc', 'Infinity', '9'.repeat(40)])
      expect(parseRetryAfter(bad, T0)).toBeUndefined();
    expect(parseRetryAfter('999999999999', T0)).toBe(MAX_HORIZON_MS);
    expect(parseRetryAfter('Fri, 01 Jan 2100 00:00:00 GMT', T0)).toBe(MAX_HORIZON_MS);
  });
});

describe('reset values', () => {
  test('Unix seconds (FLUID, FirstHand), ISO-8601 (Fastino), seconds from now, Unix ms', () => {
    expect(parseReset('1761566460', T0)).toBe(1761566460_000);
    expect(parseReset('2025-10-27T12:01:00Z', T0)).toBe(T0 + 60_000);
    expect(parseReset('2025-10-27T13:01:00+01:00', T0)).toBe(T0 + 60_000);
    expect(parseReset('42', T0)).toBe(T0 + 42_000);
    expect(parseReset(String(T0 + 5000), T0)).toBe(T0 + 5000);
  });

  test('a reset in the past is now; one years away is clamped to the horizon', () => {
    expect(parseReset('1000000000', T0)).toBe(T0);
    expect(parseReset('2999-01-01T00:00:00Z', T0)).toBe(T0 + MAX_HORIZON_MS);
    expect(parseReset('yesterday', T0)).toBeUndefined();
    expect(parseReset('2025-13-45T99:99:99Z', T0)).toBeUndefined();
  });
});

describe('readRateLimit', () => {
  test('X-RateLimit-* with an ISO reset (Fastino)', () => {
    expect(
      read({
        'X-RateLimit-Limit': '600',
        'X-RateLimit-Remaining': '543',
        'X-RateLimit-Reset': '2025-10-27T12:01:00Z',
      }),
    ).toEqual({ policies: [{ id: 'default', limit: 600, remaining: 543, resetAt: T0 + 60_000 }] });
  });

  test('RateLimit-* with a Unix reset and Retry-After (FLUID)', () => {
    expect(
      read({
        'RateLimit-Limit': '1000',
        'RateLimit-Remaining': '0',
        'RateLimit-Reset': String((T0 + 45_000) / 1000),
        'Retry-After': '45',
      }),
    ).toEqual({
      policies: [{ id: 'default', limit: 1000, remaining: 0, resetAt: T0 + 45_000 }],
      retryAfterMs: 45_000,
    });
  });

  test('the IETF fields, several policies joined by name (Pioneer)', () => {
    const reading = read({
      'RateLimit-Policy': '"ip_minute";q=1000;w=60, "ip_hour";q=10000;w=3600, "chat_minute";q=200;w=60',
      RateLimit: '"chat_minute";r=199;t=42',
      'X-RateLimit-Reason': 'chat_minute',
    });
    expect(reading.policies).toEqual([
      { id: 'ip_minute', limit: 1000, windowMs: 60_000 },
      { id: 'ip_hour', limit: 10_000, windowMs: 3_600_000 },
      { id: 'chat_minute', limit: 200, remaining: 199, resetAt: T0 + 42_000, windowMs: 60_000 },
    ]);
    expect(reading.reason).toBe('chat_minute');
  });

  test('a RateLimit field with several items, and the draft-07 dictionary form', () => {
    expect(read({ RateLimit: '"a";r=1;t=2, b;r=3;t=4' }).policies).toEqual([
      { id: 'a', remaining: 1, resetAt: T0 + 2000 },
      { id: 'b', remaining: 3, resetAt: T0 + 4000 },
    ]);
    expect(read({ RateLimit: 'limit=100, remaining=50, reset=30' }).policies).toEqual([
      { id: 'default', limit: 100, remaining: 50, resetAt: T0 + 30_000 },
    ]);
  });

  test('the IETF fields win over the single-policy headers that repeat one of them', () => {
    const reading = read({
      'X-RateLimit-Limit': '10',
      'X-RateLimit-Remaining': '8',
      'X-RateLimit-Reset': String(T0 / 1000 + 60),
      'RateLimit-Policy': '"ip_minute";q=10;w=60',
      RateLimit: '"ip_minute";r=8;t=60',
    });
    expect(reading.policies).toEqual([
      { id: 'ip_minute', limit: 10, remaining: 8, resetAt: T0 + 60_000, windowMs: 60_000 },
    ]);
  });

  test('remaining above the limit is read as the limit; a malformed member leaves the others', () => {
    expect(read({ 'X-RateLimit-Limit': '5', 'X-RateLimit-Remaining': '50' }).policies).toEqual([
      { id: 'default', limit: 5, remaining: 5 },
    ]);
    expect(read({ RateLimit: '"ok";r=1;t=1, (bad);r=2, ;;;, "x";r=-3;t=NaN' }).policies).toEqual([
      { id: 'ok', remaining: 1, resetAt: T0 + 1000 },
      { id: 'x' },
    ]);
  });

  test('a reason that is not a short token is dropped', () => {
    expect(read({ 'X-RateLimit-Reason': 'daily_spend_cap_exceeded' }).reason).toBe(
      'daily_spend_cap_exceeded',
    );
    expect(read({ 'X-RateLimit-Reason': '<script>alert(1)</script>' }).reason).toBeUndefined();
  });

  test('agrees with a real Structured Fields serializer on any list of policies', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,15}$/);
    const item = fc.record({ name, r: fc.nat(1_000_000), t: fc.nat(100_000) });
    fc.assert(
      fc.property(fc.uniqueArray(item, { selector: (i) => i.name, maxLength: 8 }), (items) => {
        const field = serializeList(
          items.map((i) => [
            i.name,
            new Map<string, number>([
              ['r', i.r],
              ['t', i.t],
            ]),
          ]),
        );
        const policies = read({ RateLimit: field }).policies;
        expect(policies).toEqual(
          items.map((i) => ({
            id: i.name,
            remaining: i.r,
            resetAt: T0 + Math.min(i.t, 400 * 86_400) * 1000,
          })),
        );
      }),
    );
  });

  test('never throws, and every time it reads is finite and within [now, now + horizon]', () => {
    const hostile = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.constantFrom('-1', 'NaN', '1e309', '99999999999999999999999', '-0', '0x1F', 'Infinity', '\u0000'),
      fc.double().map(String),
      fc.bigInt().map(String),
      fc.date({ noInvalidDate: false }).map((d) => (Number.isNaN(d.getTime()) ? 'Invalid' : d.toUTCString())),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.array(fc.string(), { maxLength: 5 }).map((parts) => parts.join(';r=')),
    );
    const names = [
      'retry-after',
      'x-ratelimit-limit',
      'x-ratelimit-remaining',
      'x-ratelimit-reset',
      'ratelimit-limit',
      'ratelimit-remaining',
      'ratelimit-reset',
      'ratelimit',
      'ratelimit-policy',
      'x-ratelimit-reason',
    ];
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...names), hostile), (raw) => {
        const lookup = { get: (n: string) => raw[n] ?? null };
        const reading = readRateLimit(lookup, T0);
        const within = (ms: number) => Number.isFinite(ms) && ms >= T0 && ms <= T0 + MAX_HORIZON_MS;
        if (reading.retryAfterMs !== undefined)
          expect(reading.retryAfterMs >= 0 && reading.retryAfterMs <= MAX_HORIZON_MS).toBe(true);
        for (const p of reading.policies) {
          if (p.resetAt !== undefined) expect(within(p.resetAt)).toBe(true);
          for (const n of [p.limit, p.remaining, p.windowMs])
            if (n !== undefined) expect(Number.isFinite(n) && n >= 0).toBe(true);
          if (p.limit !== undefined && p.remaining !== undefined)
            expect(p.remaining).toBeLessThanOrEqual(p.limit);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('a Headers object that throws is read as empty', () => {
    const lookup = {
      get(): string | null {
        throw new Error('boom');
      },
    };
    expect(readRateLimit(lookup, T0)).toEqual({ policies: [] });
  });
});

describe('error bodies', () => {
  test('RFC 9457 problem details: its code, else the type', () => {
    expect(
      parseErrorBody(
        JSON.stringify({
          type: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
          title: 'Request cannot be satisfied as assigned quota has been exceeded',
          status: 429,
          detail: 'Rate limit exceeded for ip: 100 requests per 1 minute',
          reason: 'ip_minute',
        }),
      ),
    ).toEqual({
      code: 'quota-exceeded',
      problemType: 'https://iana.org/assignments/http-problem-types#quota-exceeded',
      reason: 'ip_minute',
      message: 'Rate limit exceeded for ip: 100 requests per 1 minute',
    });
    expect(parseErrorBody('{"type":"about:blank","status":404,"title":"Not Found","code":"NOPE"}').code).toBe(
      'NOPE',
    );
  });

  test('{"error":{"code"}} numeric (FLUID) and string (Fastino); {"error":{"type"}} (FirstHand)', () => {
    expect(
      parseErrorBody('{"error":{"code":1454,"message":"Rate limit exceeded for payment partner"}}'),
    ).toEqual({
      code: '1454',
      message: 'Rate limit exceeded for payment partner',
    });
    expect(parseErrorBody('{"error":{"code":"RATE_LIMIT_EXCEEDED","message":"m"}}').code).toBe(
      'RATE_LIMIT_EXCEEDED',
    );
    expect(parseErrorBody('{"error":{"type":"rate_limit_error","message":"Too many"}}').code).toBe(
      'rate_limit_error',
    );
  });

  test('FastAPI {"detail"}: prose is the message, a bare token the code', () => {
    expect(parseErrorBody('{"detail":"Rate limit exceeded: 200 per 1 minute"}')).toEqual({
      message: 'Rate limit exceeded: 200 per 1 minute',
    });
    expect(parseErrorBody('{"detail":"daily_spend_cap_exceeded"}').code).toBe('daily_spend_cap_exceeded');
    expect(parseErrorBody('{"detail":{"code":"X","message":"y"}}')).toEqual({ code: 'X', message: 'y' });
  });

  test('anything else reads as empty', () => {
    for (const raw of ['', 'not json', '[]', 'null', '42', '{"error":"flat"}', '{"__proto__":{"code":1}}'])
      expect(parseErrorBody(raw)).toEqual({});
  });
});
