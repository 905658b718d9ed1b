import { ClientError, type ClientOptions, createClient } from '../../lib/client/index.js';
import { T0 } from '../helpers/clock.js';
import { heldSleep, reply, scriptedClient, scriptedFetch, settle, testClock } from './helpers/fakes.js';

const BASE = 'https://api.example.test/v1';

/** A client on a test clock whose fetch answers from `replies`; throttling off unless asked. */
function setup(replies: Parameters<typeof scriptedFetch>[1], options: Partial<ClientOptions> = {}) {
  return scriptedClient(BASE, replies, { throttle: false, ...options });
}

async function rejection(promise: Promise<unknown>): Promise<ClientError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ClientError);
    return error as ClientError;
  }
  throw new Error('expected a rejection');
}

describe('429', () => {
  test.each([
    ['Retry-After seconds', { 'Retry-After': '45' }, 45_000],
    ['Retry-After HTTP-date', { 'Retry-After': new Date(T0 + 30_000).toUTCString() }, 30_000],
    ['Retry-After 0', { 'Retry-After': '0' }, 0],
  ])('waits exactly what %s says, then retries', async (_name, headers, wait) => {
    const { api, clock, sent } = setup([reply(429, headers), reply(200)]);
    const res = await api.fetch('/things');
    expect(res.status).toBe(200);
    // A wait of 0 needs no sleep at all.
    expect(clock.waits).toEqual(wait === 0 ? [] : [wait]);
    expect(sent.map((s) => s.at - T0)).toEqual([0, wait]);
    expect(sent[0]!.url).toBe(`${BASE}/things`);
  });

  test('without Retry-After: 2^n s plus 0–1 s of jitter, capped at 60 s, 5 attempts in all', async () => {
    for (const [random, expected] of [
      [0, [2000, 4000, 8000, 16_000]],
      [0.999, [2999, 4999, 8999, 16_999]],
    ] as const) {
      const { api, clock, sent } = setup([reply(429)], { random: () => random });
      const error = await rejection(api.fetch('/x'));
      expect(error.code).toBe('RATE_LIMITED');
      expect(error.attempts).toBe(5);
      expect(error.status).toBe(429);
      expect(sent).toHaveLength(5);
      expect(clock.waits).toEqual(expected);
    }
  });

  test('the backoff is capped, and a hostile random source cannot push it out of bounds', async () => {
    const { api, clock } = setup([reply(429)], {
      random: () => Number.NaN,
      retry: { rateLimited: { retries: 8, capMs: 60_000 } },
    });
    await rejection(api.fetch('/x'));
    expect(clock.waits).toEqual([2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  test('Retry-After longer than maxWaitMs rejects at once with RATE_LIMITED, saying when it would clear', async () => {
    const { api, clock, sent } = setup([reply(429, { 'Retry-After': '3600' })]);
    const error = await rejection(api.fetch('/x'));
    expect(error.code).toBe('RATE_LIMITED');
    expect(error.retryAfterMs).toBe(3_600_000);
    expect(error.message).toMatch(/asks to wait 3600 s, more than maxWaitMs/);
    expect(sent).toHaveLength(1);
    expect(clock.waits).toEqual([]);
  });

  test('retryAfterJitterMs adds to Retry-After, never takes away', async () => {
    const { api, clock } = setup([reply(429, { 'Retry-After': '30' }), reply(200)], {
      random: () => 0.5,
      retry: { retryAfterJitterMs: 1000 },
    });
    await api.fetch('/x');
    expect(clock.waits).toEqual([30_500]);
  });
});

describe('refusals waiting cannot fix', () => {
  test('a daily spending cap rejects at once with SPEND_CAP_EXCEEDED and when it clears', async () => {
    const midnight = Date.UTC(2025, 9, 28);
    const { api, clock, sent } = setup([
      reply(
        429,
        { 'X-RateLimit-Reason': 'daily_spend_cap_exceeded', 'Retry-After': String((midnight - T0) / 1000) },
        { detail: 'Rate limit exceeded: daily spending cap' },
      ),
    ]);
    const error = await rejection(
      api.fetch('/generate/m', { method: 'POST', headers: { 'Idempotency-Key': 'k' } }),
    );
    expect(error.code).toBe('SPEND_CAP_EXCEEDED');
    expect(error.clearsAt?.toISOString()).toBe('2025-10-28T00:00:00.000Z');
    expect(error.reason).toBe('daily_spend_cap_exceeded');
    expect(error.message).toMatch(/clears at 2025-10-28T00:00:00.000Z/);
    expect(await error.response?.json()).toEqual({ detail: 'Rate limit exceeded: daily spending cap' });
    expect(sent).toHaveLength(1);
    expect(clock.waits).toEqual([]);
  });

  test.each([
    ['another period in the reason header', { 'X-RateLimit-Reason': 'monthly_spend_cap_exceeded' }, {}],
    [
      'a problem type',
      {},
      { type: 'https://api.example.test/problems/spending-cap', status: 429, title: 't' },
    ],
    ['an error code in the body', {}, { error: { code: 'BUDGET_EXCEEDED', message: 'm' } }],
  ])('a cap named by %s is final too', async (_name, headers, body) => {
    const { api, sent } = setup([reply(429, headers, body)]);
    expect((await rejection(api.fetch('/x'))).code).toBe('SPEND_CAP_EXCEEDED');
    expect(sent).toHaveLength(1);
  });

  test('without Retry-After, a cap named for its period clears at the period end', async () => {
    const { api } = setup([reply(429, { 'X-RateLimit-Reason': 'monthly_spend_cap_exceeded' })]);
    expect((await rejection(api.fetch('/x'))).clearsAt?.toISOString()).toBe('2025-11-01T00:00:00.000Z');
  });

  test('isFinal decides what else is final', async () => {
    const { api } = setup([reply(429, {}, { error: { code: 'QUOTA_GONE' } })], {
      isFinal: (refusal) => refusal.code === 'QUOTA_GONE',
    });
    expect((await rejection(api.fetch('/x'))).code).toBe('SPEND_CAP_EXCEEDED');
  });

  test.each([400, 401, 403, 404, 409, 422])('%i is handed back as it is, not retried', async (status) => {
    const { api, sent } = setup([reply(status, {}, { error: { code: 'USER_NOT_FOUND' } }), reply(200)]);
    const res = await api.fetch('/users/nobody');
    expect(res.status).toBe(status);
    expect(await res.json()).toEqual({ error: { code: 'USER_NOT_FOUND' } });
    expect(sent).toHaveLength(1);
    expect(api.metrics().by_error_code).toEqual({ USER_NOT_FOUND: 1 });
  });
});

describe('server errors', () => {
  test('5xx backs off 2 s, 4 s, 8 s, then rejects with SERVER_ERROR', async () => {
    const { api, clock, sent } = setup([
      reply(500, {}, { error: { code: 'SERVER_ERROR', message: 'boom' } }),
    ]);
    const error = await rejection(api.fetch('/x'));
    expect(error.code).toBe('SERVER_ERROR');
    expect(error.serverCode).toBe('SERVER_ERROR');
    expect(sent).toHaveLength(4);
    expect(clock.waits).toEqual([2000, 4000, 8000]);
  });

  test('a 5xx that recovers resolves with the good answer', async () => {
    const { api, clock } = setup([reply(503), reply(502), reply(200, {}, { ok: true })]);
    expect(await (await api.fetch('/x')).json()).toEqual({ ok: true });
    expect(clock.waits).toEqual([2000, 4000]);
  });

  test('504 is retried once, then rejects with TIMEOUT; Fastino waits 5 s', async () => {
    const { api, clock, sent } = setup([reply(504)], { retry: { timeout: { baseMs: 5000 } } });
    const error = await rejection(api.fetch('/x'));
    expect(error.code).toBe('TIMEOUT');
    expect(sent).toHaveLength(2);
    expect(clock.waits).toEqual([5000]);
  });

  test('a rejected fetch is retried like a server error, then rejects with NETWORK_ERROR', async () => {
    const { api, sent } = setup([
      () => {
        throw new TypeError('fetch failed');
      },
    ]);
    const error = await rejection(api.fetch('/x'));
    expect(error.code).toBe('NETWORK_ERROR');
    expect(error.cause).toBeInstanceOf(TypeError);
    expect(sent).toHaveLength(4);
  });
});

describe('idempotency', () => {
  test.each(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'])('%s is retried', async (method) => {
    const { api, sent } = setup([reply(503), reply(204)]);
    expect((await api.fetch('/x', { method })).status).toBe(204);
    expect(sent).toHaveLength(2);
  });

  test.each(['POST', 'PATCH'])('%s without an Idempotency-Key is not retried', async (method) => {
    for (const status of [429, 500]) {
      const { api, sent } = setup([reply(status, { 'Retry-After': '1' }), reply(200)]);
      const error = await rejection(api.fetch('/x', { method, body: '{}' }));
      expect(error.code).toBe(status === 429 ? 'RATE_LIMITED' : 'SERVER_ERROR');
      expect(error.message).toMatch(/not idempotent and carries no Idempotency-Key/);
      expect(sent).toHaveLength(1);
    }
  });

  test('a POST with an Idempotency-Key is retried with the same key', async () => {
    const { api, sent } = setup([reply(429, { 'Retry-After': '1' }), reply(201)]);
    await api.fetch('/x', { method: 'POST', body: '{}', headers: { 'Idempotency-Key': 'abc' } });
    expect(sent.map((s) => s.headers.get('idempotency-key'))).toEqual(['abc', 'abc']);
  });

  test('idempotencyKey: true adds one key per call, the same on each of its attempts', async () => {
    const { api, sent } = setup([reply(503), reply(201), reply(201)], { idempotencyKey: true });
    await api.fetch('/x', { method: 'POST', body: '{}' });
    await api.fetch('/x', { method: 'POST', body: '{}' });
    const keys = sent.map((s) => s.headers.get('idempotency-key'));
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);
    // GET needs none.
    await api.fetch('/y');
    expect(sent[3]!.headers.has('idempotency-key')).toBe(false);
  });

  test('retry: false and a streamed body are never retried', async () => {
    const { api, sent } = setup([reply(503)]);
    expect((await rejection(api.fetch('/x', { retry: false }))).code).toBe('SERVER_ERROR');
    const stream = new ReadableStream({
      start(c) {
        c.close();
      },
    });
    const put = api.fetch('/x', { method: 'PUT', body: stream, duplex: 'half' } as RequestInit);
    expect((await rejection(put)).code).toBe('SERVER_ERROR');
    expect(sent).toHaveLength(2);
  });
});

describe('deadlines and abort', () => {
  test('a retry that would wait past the deadline fails fast with DEADLINE_EXCEEDED', async () => {
    const { api, clock, sent } = setup([reply(429, { 'Retry-After': '30' }), reply(200)]);
    const error = await rejection(api.fetch('/x', { deadline: T0 + 10_000 }));
    expect(error.code).toBe('DEADLINE_EXCEEDED');
    expect(error.message).toMatch(/past the call's deadline/);
    expect(error.retryAfterMs).toBe(30_000);
    expect(clock.waits).toEqual([]);
    expect(sent).toHaveLength(1);
  });

  test('timeoutMs sets the deadline from now; a wait within it goes ahead', async () => {
    const { api, clock } = setup([reply(429, { 'Retry-After': '5' }), reply(200)], { timeoutMs: 10_000 });
    expect((await api.fetch('/x')).status).toBe(200);
    expect(clock.waits).toEqual([5000]);
    const late = setup([reply(503)], { timeoutMs: 3000 });
    expect((await rejection(late.api.fetch('/x'))).code).toBe('DEADLINE_EXCEEDED');
  });

  test('a signal already aborted rejects with ABORTED and sends nothing', async () => {
    const { api, sent } = setup([reply(200)]);
    const error = await rejection(api.fetch('/x', { signal: AbortSignal.abort() }));
    expect(error.code).toBe('ABORTED');
    expect(sent).toHaveLength(0);
  });

  test('aborting while the client waits rejects at once, without waiting the wait out', async () => {
    const clock = testClock();
    const held = heldSleep(clock);
    const { fetch, sent } = scriptedFetch(clock.now, [reply(429, { 'Retry-After': '30' }), reply(200)]);
    const api = createClient({ baseUrl: BASE, fetch, now: clock.now, sleep: held.sleep, throttle: false });
    const controller = new AbortController();
    const call = api.fetch('/x', { signal: controller.signal });
    await settle();
    expect(held.pending.map((p) => p.ms)).toEqual([30_000]);
    controller.abort(new Error('user left'));
    const error = await rejection(call);
    expect(error.code).toBe('ABORTED');
    expect(clock.now()).toBe(T0);
    await settle();
    expect(sent).toHaveLength(1);
  });

  test('aborting a 5xx backoff rejects at once too', async () => {
    const clock = testClock();
    const held = heldSleep(clock);
    const { fetch } = scriptedFetch(clock.now, [reply(500)]);
    const api = createClient({ baseUrl: BASE, fetch, now: clock.now, sleep: held.sleep, throttle: false });
    const controller = new AbortController();
    const call = api.fetch('/x', { signal: controller.signal });
    await settle();
    expect(held.pending.map((p) => p.ms)).toEqual([2000]);
    controller.abort();
    expect((await rejection(call)).code).toBe('ABORTED');
  });

  test('the signal reaches fetch, so aborting cancels a request in flight', async () => {
    const clock = testClock();
    const fetch = (_url: string, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      });
    const api = createClient({ baseUrl: BASE, fetch, now: clock.now, sleep: clock.sleep });
    const controller = new AbortController();
    const call = api.fetch('/x', { signal: controller.signal });
    await settle();
    controller.abort();
    expect((await rejection(call)).code).toBe('ABORTED');
    expect(api.metrics().in_flight).toBe(0);
  });
});

describe('options', () => {
  test('nonsense options throw INVALID_OPTIONS at construction', () => {
    for (const bad of [
      { baseUrl: 'not a url' },
      { baseUrl: BASE, concurrency: 0 },
      { baseUrl: BASE, maxWaitMs: -1 },
      { baseUrl: BASE, throttle: { target: 2 } },
      { baseUrl: BASE, requestsPerMinute: 0 },
      { baseUrl: BASE, retry: { rateLimited: { retries: Number.NaN } } },
    ])
      expect(() => createClient(bad as ClientOptions)).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS' }) as unknown as Error,
      );
  });

  test('default headers go with every call; a call’s own win; absolute URLs are kept', async () => {
    const { api, sent } = setup([reply(200)], { headers: { Authorization: 'Bearer fk_1', 'X-A': 'a' } });
    await api.fetch('users/alice', { headers: { 'X-A': 'b' } });
    await api.fetch('https://other.example.test/ping');
    expect(sent[0]!.url).toBe(`${BASE}/users/alice`);
    expect(sent[0]!.headers.get('authorization')).toBe('Bearer fk_1');
    expect(sent[0]!.headers.get('x-a')).toBe('b');
    expect(sent[1]!.url).toBe('https://other.example.test/ping');
  });
});
