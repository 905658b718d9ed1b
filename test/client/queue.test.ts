import fc from 'fast-check';
import { type ClientOptions, createClient } from '../../lib/client/index.js';
import { T0 } from '../helpers/clock.js';
import { reply, type Sent, scriptedClient, type scriptedFetch, settle, testClock } from './helpers/fakes.js';

const BASE = 'https://api.example.test';

function setup(replies: Parameters<typeof scriptedFetch>[1], options: Partial<ClientOptions> = {}) {
  return scriptedClient(BASE, replies, options);
}

const ids = (sent: Sent[]) => sent.map((s) => new URL(s.url).pathname.slice(1));

describe('the queue', () => {
  test('is first in, first out', async () => {
    const { api, sent } = setup([reply(200)], { concurrency: 1 });
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((id) => api.fetch(id)));
    expect(ids(sent)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  test('never has more requests in flight than the concurrency bound', async () => {
    const clock = testClock();
    const held: Array<() => void> = [];
    let inFlight = 0;
    let most = 0;
    const fetch = () =>
      new Promise<Response>((resolve) => {
        most = Math.max(most, ++inFlight);
        held.push(() => {
          inFlight--;
          resolve(reply(200));
        });
      });
    const api = createClient({ baseUrl: BASE, fetch, now: clock.now, sleep: clock.sleep, concurrency: 3 });
    const calls = Array.from({ length: 10 }, (_, i) => api.fetch(`/${i}`));
    await settle();
    expect(held).toHaveLength(3);
    expect(api.metrics()).toMatchObject({ queued: 7, in_flight: 3 });
    while (held.length > 0) {
      held.shift()!();
      await settle();
    }
    await Promise.all(calls);
    expect(most).toBe(3);
  });

  test('requestsPerMinute spaces requests 60000 / rpm ms apart', async () => {
    const { api, sent, clock } = setup([reply(200)], { requestsPerMinute: 100, concurrency: 1 });
    await Promise.all(Array.from({ length: 4 }, (_, i) => api.fetch(`/${i}`)));
    expect(sent.map((s) => s.at - T0)).toEqual([0, 600, 1200, 1800]);
    expect(clock.waits).toEqual([600, 600, 600]);
  });

  test('a 429 puts its request back at the front and pauses the whole queue for Retry-After', async () => {
    const { api, sent, clock } = setup([reply(429, { 'Retry-After': '10' }), reply(200)], {
      concurrency: 1,
      throttle: false,
    });
    await Promise.all(['a', 'b', 'c'].map((id) => api.fetch(id)));
    expect(ids(sent)).toEqual(['a', 'a', 'b', 'c']);
    expect(sent.map((s) => s.at - T0)).toEqual([0, 10_000, 10_000, 10_000]);
    expect(clock.waits).toEqual([10_000]);
  });

  test('requests already queued wait out the pause too, and keep their order behind the retried ones', async () => {
    const { api, sent } = setup(
      [reply(429, { 'Retry-After': '5' }), reply(429, { 'Retry-After': '5' }), reply(200)],
      { concurrency: 2, throttle: false },
    );
    await Promise.all(['a', 'b', 'c', 'd'].map((id) => api.fetch(id)));
    expect(ids(sent)).toEqual(['a', 'b', 'a', 'b', 'c', 'd']);
    expect(sent.slice(2).every((s) => s.at - T0 >= 5000)).toBe(true);
  });

  test('after a pause the queue reopens one request at a time, doubling with each answer', async () => {
    const clock = testClock();
    const held: Array<(r: Response) => void> = [];
    const fetch = () => new Promise<Response>((resolve) => held.push(resolve));
    const api = createClient({
      baseUrl: BASE,
      fetch,
      now: clock.now,
      sleep: clock.sleep,
      concurrency: 4,
      throttle: false,
    });
    const calls = Array.from({ length: 12 }, (_, i) => api.fetch(`/${i}`));
    await settle();
    expect(held).toHaveLength(4);
    held.shift()!(reply(429, { 'Retry-After': '1' }));
    await settle();
    // Paused: the three still in flight finish, and nothing new leaves until the pause is over.
    for (const answer of held.splice(0, 3)) answer(reply(200));
    await settle();
    const widths: number[] = [];
    while (held.length > 0) {
      widths.push(held.length);
      for (const answer of held.splice(0)) answer(reply(200));
      await settle();
    }
    await Promise.all(calls);
    expect(clock.waits).toEqual([1000]);
    // 1 (the retried call), then 2, 4, and the last 2 (9 calls were left).
    expect(widths).toEqual([1, 2, 4, 2]);
  });

  test('a queued call whose turn would come after its deadline fails fast', async () => {
    const { api, clock } = setup([reply(429, { 'Retry-After': '20' }), reply(200)], {
      concurrency: 1,
      throttle: false,
    });
    const first = api.fetch('/a');
    const second = api.fetch('/b', { deadline: T0 + 5000 });
    await expect(second).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect((await first).status).toBe(200);
    expect(clock.waits).toEqual([20_000]);
  });

  test('an aborted call leaves the queue', async () => {
    const { api, sent } = setup([reply(429, { 'Retry-After': '1' }), reply(200)], {
      concurrency: 1,
      throttle: false,
    });
    const controller = new AbortController();
    const calls = [api.fetch('/a'), api.fetch('/b', { signal: controller.signal }), api.fetch('/c')];
    controller.abort();
    const results = await Promise.allSettled(calls);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(ids(sent)).toEqual(['a', 'a', 'c']);
  });
});

/** Headers saying `remaining` of `limit` are left until `resetIn` ms from the answer. */
function usage(limit: number, remaining: (sent: Sent) => number, resetAt: number) {
  return (sent: Sent) =>
    reply(200, {
      'X-RateLimit-Limit': String(limit),
      'X-RateLimit-Remaining': String(remaining(sent)),
      'X-RateLimit-Reset': String(resetAt / 1000),
    });
}

describe('proactive throttling', () => {
  test('above 80 % utilisation, the remaining requests are spread evenly until the reset', async () => {
    let left = 10;
    const { api, clock } = setup([usage(100, () => left--, T0 + 60_000)], { concurrency: 1 });
    for (let i = 0; i < 4; i++) await api.fetch('/x');
    // 10 left of 100 after the first: 60 s / 10, then 54 s / 9, 48 s / 8.
    expect(clock.waits).toEqual([6000, 6000, 6000]);
  });

  test('at or below the target there is no spacing at all', async () => {
    let left = 20;
    const { api, clock } = setup([usage(100, () => left--, T0 + 60_000)]);
    await api.fetch('/x');
    await api.fetch('/x');
    expect(clock.waits).toEqual([]);
  });

  test('spacing is at least minSpacingMs', async () => {
    const { api, clock } = setup([usage(10_000, () => 1000, T0 + 1000)], { concurrency: 1 });
    await api.fetch('/x');
    await api.fetch('/x');
    expect(clock.waits).toEqual([100]);
  });

  test('an exhausted policy holds requests until its reset; a reset beyond maxWaitMs is left to the server', async () => {
    const soon = setup([usage(100, () => 0, T0 + 20_000)]);
    await soon.api.fetch('/x');
    await soon.api.fetch('/x');
    expect(soon.clock.waits).toEqual([20_000]);
    const hourly = setup([usage(100, () => 0, T0 + 3_600_000)]);
    await hourly.api.fetch('/x');
    await hourly.api.fetch('/x');
    expect(hourly.clock.waits).toEqual([]);
  });

  test('a hostile reset years away cannot hold a request longer than maxWaitMs', async () => {
    const { api, clock } = setup([usage(100, () => 1, T0 + 5 * 365 * 86_400_000)], { maxWaitMs: 30_000 });
    await api.fetch('/x');
    await api.fetch('/x');
    expect(clock.waits).toEqual([30_000]);
  });

  test('the most constrained of several IETF policies sets the pace', async () => {
    const { api, clock } = setup([
      reply(200, {
        'RateLimit-Policy': '"minute";q=100;w=60, "hour";q=1000;w=3600',
        RateLimit: '"minute";r=50;t=60, "hour";r=10;t=600',
      }),
    ]);
    await api.fetch('/x');
    await api.fetch('/x');
    // The hour is 99 % used: 600 s / 10, capped by maxWaitMs (60 s).
    expect(clock.waits).toEqual([60_000]);
    expect(api.metrics().utilisation).toEqual({ minute: 0.5, hour: 0.99 });
  });

  test('throttle: false turns it off; a throttle event reports each hold', async () => {
    const off = setup([usage(100, () => 1, T0 + 60_000)], { throttle: false });
    await off.api.fetch('/x');
    await off.api.fetch('/x');
    expect(off.clock.waits).toEqual([]);
    const on = setup([usage(100, () => 5, T0 + 60_000)]);
    const events: unknown[] = [];
    on.api.on('throttle', (e) => events.push(e));
    await on.api.fetch('/x');
    await on.api.fetch('/x');
    expect(events).toEqual([{ bucket: 'default', waitMs: 12_000 }]);
  });

  test('buckets track limits apart', async () => {
    const { api, clock } = setup(
      [
        (s) =>
          s.url.includes('/hot') ? usage(100, () => 1, T0 + 10_000)(s) : usage(100, () => 90, T0 + 10_000)(s),
      ],
      { bucket: (url) => (url.includes('/hot') ? 'hot' : 'cold') },
    );
    await api.fetch('/hot');
    await api.fetch('/cold');
    await api.fetch('/cold');
    expect(clock.waits).toEqual([]);
    await api.fetch('/hot');
    expect(clock.waits).toEqual([10_000]);
  });
});

describe('hostile answers', () => {
  const field = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom(
      '-1',
      'NaN',
      '1e309',
      '99999999999999',
      '0',
      'Fri, 01 Jan 2100 00:00:00 GMT',
      '"a";r=0;t=99999999',
    ),
    fc.integer().map(String),
    fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  );
  const headers = fc.record(
    {
      'retry-after': field,
      'x-ratelimit-remaining': field,
      'x-ratelimit-limit': field,
      'x-ratelimit-reset': field,
      ratelimit: field,
      'ratelimit-policy': field,
      'x-ratelimit-reason': field,
    },
    { requiredKeys: [] },
  );

  test('no header values make the client wait negative, NaN or beyond maxWaitMs, or throw', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(200, 429, 500, 503, 504), headers), { minLength: 1, maxLength: 6 }),
        async (script) => {
          const { api, clock } = setup(
            script.map(([status, h]) => reply(status, h as Record<string, string>)),
            { maxWaitMs: 60_000 },
          );
          const settled = await Promise.allSettled([api.fetch('/a'), api.fetch('/b'), api.fetch('/c')]);
          for (const result of settled)
            if (result.status === 'rejected') expect(result.reason).toHaveProperty('code');
          for (const ms of clock.waits) expect(ms >= 0 && ms <= 60_000).toBe(true);
          const m = api.metrics();
          for (const u of Object.values(m.utilisation)) expect(u >= 0 && u <= 1).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
