import { createApp as pioneer } from '../../examples/pioneer.js';
import { ClientError, createClient } from '../../lib/client/index.js';
import { T0 } from '../helpers/clock.js';
import { expectNeverEarly, type Listening, listen, mostAttempts, recordingFetch } from './helpers/e2e.js';
import { testClock } from './helpers/fakes.js';
import { type BurstProfile, PROFILES } from './helpers/profiles.js';

// End to end against the example servers, over real HTTP. The server's clock and the client's
// sleep are one test clock: a wait of a minute moves both by a minute, in no real time.

const BURST = 150;

async function burst(profile: BurstProfile, throttle: boolean) {
  const clock = testClock();
  const server = await listen(profile.app(clock.now));
  try {
    const { fetch, log, sleep } = recordingFetch(clock, [server.url]);
    const api = createClient({
      baseUrl: 'http://api.test',
      fetch,
      now: clock.now,
      sleep,
      ...profile.client,
      ...(throttle ? {} : { throttle: false, requestsPerMinute: undefined }),
    });
    const retries: Array<{ waitMs: number; retryAfterMs: number | undefined }> = [];
    api.on('retry', (e) => retries.push(e));
    const headers = (i: number) => ({
      ...(profile.init.headers as Record<string, string>),
      'X-Test-Call': String(i),
    });
    const results = await Promise.allSettled(
      Array.from({ length: BURST }, (_, i) =>
        api.fetch(profile.path, { ...profile.init, headers: headers(i) }),
      ),
    );
    return { results, log, retries, clock, metrics: api.metrics() };
  } finally {
    await server.close();
  }
}

describe.each(PROFILES)('$name example: a burst of 150', (profile) => {
  test(`against ${profile.perMinute} a minute: every call 2xx in the end, no retry before Retry-After`, async () => {
    const { results, log, retries, clock, metrics } = await burst(profile, false);
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed.map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
    for (const r of results) expect((r as PromiseFulfilledResult<Response>).value.status).toBeLessThan(300);
    const refused = log.filter((a) => a.status === 429);
    // The server refused some: the burst is over the limit.
    expect(refused.length).toBeGreaterThan(0);
    expect(expectNeverEarly(log)).toBe(refused.length);
    for (const r of retries) expect(r.waitMs).toBeGreaterThanOrEqual(r.retryAfterMs ?? 0);
    for (const ms of clock.waits) expect(ms).toBeLessThanOrEqual(60_000);
    expect(metrics.total_requests).toBe(log.length);
    expect(metrics.rate_limited).toBe(refused.length);
    expect(mostAttempts(log)).toBeLessThanOrEqual(6);
  });

  test('with proactive throttling on, (almost) no 429', async () => {
    const { results, log } = await burst(profile, true);
    expect(results.every((r) => r.status === 'fulfilled' && r.value.status < 300)).toBe(true);
    const refused = log.filter((a) => a.status === 429);
    expectNeverEarly(log);
    // Spread over the window ahead of the limit, the burst meets no refusal here; two are allowed for
    // the requests already in flight when utilisation crosses the target.
    expect(refused.length).toBeLessThanOrEqual(2);
  });
});

describe('pioneer example: the daily spending cap', () => {
  let server: Listening;
  const clock = testClock();
  beforeAll(async () => {
    server = await listen(pioneer({ now: clock.now, dailyCredits: 300 }));
  });
  afterAll(() => server.close());

  test('a spending cap refusal stops at once, saying when it clears', async () => {
    const { fetch, log } = recordingFetch(clock, [server.url]);
    const api = createClient({
      baseUrl: 'http://api.test',
      fetch,
      now: clock.now,
      sleep: clock.sleep,
      idempotencyKey: true,
    });
    const generate = () =>
      api.fetch('/generate/tiny', {
        method: 'POST',
        body: '{}',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer pk_capped' },
      });
    for (let i = 0; i < 3; i++) expect((await generate()).status).toBe(200);
    const error = await generate().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClientError);
    expect(error).toMatchObject({
      code: 'SPEND_CAP_EXCEEDED',
      reason: 'daily_spend_cap_exceeded',
      attempts: 1,
    });
    expect((error as ClientError).clearsAt?.toISOString()).toBe('2025-10-28T00:00:00.000Z');
    expect(log).toHaveLength(4);
    expect(clock.waits).toEqual([]);
    expect(clock.now()).toBe(T0);
  });
});
