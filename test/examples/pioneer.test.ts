import { type Item, type List, parseItem, parseList } from 'structured-headers';
import { createApp } from '../../examples/pioneer.js';
import { serializers } from '../../lib/serializers/index.js';
import { MemoryStore } from '../../lib/stores/memory/index.js';
import { createTestClock, type TestClock } from '../../lib/testing/index.js';
import { T0 } from '../helpers/clock.js';
import { bearer, type ExampleClient, flood, repeat, startExample } from '../helpers/examples.js';

let clock: TestClock;
let api: ExampleClient;

beforeEach(async () => {
  clock = createTestClock(T0 + 57_000);
  api = await startExample(
    createApp({ now: clock.now, store: new MemoryStore({ now: clock.now }) }),
    serializers.fastapi,
  );
});

afterEach(async () => {
  await api.close();
});

const ADA = bearer('pk_ada');
const GRACE = bearer('pk_grace');
const as = (user: Record<string, string>, ip = '198.51.100.1') => ({ ...user, 'X-Forwarded-For': ip });

/** `RateLimit-Policy` as { id: { q, w } }, parsed as the RFC 9651 List it is. */
function policies(header: string | undefined): Record<string, { q: unknown; w: unknown }> {
  expect(header).toBeDefined();
  const list: List = parseList(header!);
  const out: Record<string, { q: unknown; w: unknown }> = {};
  for (const [id, params] of list as Item[]) out[String(id)] = { q: params.get('q'), w: params.get('w') };
  return out;
}

/** `RateLimit` as { id, r, t }. */
function rateLimit(header: string | undefined): { id: string; r: unknown; t: unknown } {
  expect(header).toBeDefined();
  const [id, params] = parseItem(header!);
  expect(parseList(header!)).toHaveLength(1);
  return { id: String(id), r: params.get('r'), t: params.get('t') };
}

describe('pioneer: IETF RateLimit fields', () => {
  test('RateLimit-Policy lists the IP and the endpoint policies; RateLimit the closest one', async () => {
    const res = await api.post('/inference', { input: 'hi' }, as(ADA));
    expect(res.status).toBe(200);
    expect(policies(res.headers['ratelimit-policy'])).toEqual({
      ip_minute: { q: 1000, w: 60 },
      ip_hour: { q: 10_000, w: 3600 },
      inference_minute: { q: 1200, w: 60 },
      spend_day: { q: 1000, w: 86_400 },
    });
    expect(rateLimit(res.headers.ratelimit)).toEqual({ id: 'ip_minute', r: 999, t: 3 });
    expect(res.headers['retry-after']).toBeUndefined();
    expect(res.headers['x-ratelimit-limit']).toBeUndefined();
  });

  test('a 401 still carries the IP policies: the global limit applies on every route', async () => {
    const res = await api.post('/inference', { input: 'hi' });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ detail: 'Not authenticated' });
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(Object.keys(policies(res.headers['ratelimit-policy']))).toEqual(['ip_minute', 'ip_hour']);
  });
});

describe('pioneer: authentication', () => {
  test('a token that is not pk_<user> is refused as FastAPI does', async () => {
    const res = await api.post('/v1/messages', {}, bearer('sk_ada'));
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ detail: 'Invalid authentication credentials' });
  });
});

describe('pioneer: per-user limits stacked on the IP limit', () => {
  test('the four chat endpoints share 200 a minute per user', async () => {
    const paths = ['/v1/chat/completions', '/v1/completions', '/v1/responses', '/v1/messages'];
    const answers = await repeat(200, (i) => api.post(paths[i % 4]!, { messages: [] }, as(ADA)));
    expect(answers.every((r) => r.status === 200)).toBe(true);
    for (const path of paths) {
      const refused = await api.post(path, { messages: [] }, as(ADA));
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after']).toBe('3');
      expect(refused.body).toEqual({ detail: 'Rate limit exceeded: 200 per 1 minute' });
      expect(refused.headers['x-ratelimit-reason']).toBe('chat_minute');
      expect(rateLimit(refused.headers.ratelimit)).toEqual({ id: 'chat_minute', r: 0, t: 3 });
    }
    // Another user is untouched, and so are ada's other endpoints.
    expect((await api.post('/v1/messages', {}, as(GRACE))).status).toBe(200);
    expect((await api.post('/inference', {}, as(ADA))).status).toBe(200);
    clock.advance(3000);
    expect((await api.post('/v1/messages', {}, as(ADA))).status).toBe(200);
  });

  test.each([
    ['/generate/:model', 120, (i: number) => `/generate/model-${i % 3}`],
    ['/felix/training-jobs', 20, () => '/felix/training-jobs'],
  ])('POST %s: %i a minute per user', async (_route, limit, path) => {
    // 120 generations cost 12,000 credits: lift the daily cap to walk the rate limit alone.
    await api.close();
    api = await startExample(
      createApp({ now: clock.now, store: new MemoryStore({ now: clock.now }), dailyCredits: 1_000_000 }),
      serializers.fastapi,
    );
    const answers = await repeat(limit, (i) => api.post(path(i), {}, as(ADA)));
    expect(answers.every((r) => r.status < 300)).toBe(true);
    const refused = await api.post(path(0), {}, as(ADA));
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ detail: `Rate limit exceeded: ${limit} per 1 minute` });
    expect(refused.headers['retry-after']).toBe('3');
    expect((await api.post(path(0), {}, as(GRACE))).status).toBeLessThan(300);
  });

  test('a refused per-user request gives its IP unit back', async () => {
    const answers = await repeat(21, () => api.post('/felix/training-jobs', {}, as(ADA)));
    expect(answers.map((r) => r.status).filter((s) => s === 429)).toHaveLength(1);
    const res = await api.post('/gliner-2/ner', {}, as(GRACE));
    // 20 admitted + this one: the refused request left nothing on the IP counter.
    expect(rateLimit(res.headers.ratelimit)).toEqual({ id: 'ip_minute', r: 1000 - 21, t: 3 });
  });

  test('the global 1,000 a minute per IP binds before /gliner-2 (15,000) does', async () => {
    const users = [ADA, GRACE];
    const answers = await flood(1000, (i) => api.post(`/gliner-2/task-${i % 5}`, {}, as(users[i % 2]!)));
    expect(answers.every((r) => r.status === 200)).toBe(true);
    expect(policies(answers[0]!.headers['ratelimit-policy']).gliner_minute).toEqual({ q: 15_000, w: 60 });
    const refused = await api.post('/gliner-2/ner', {}, as(ADA, '198.51.100.1'));
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ detail: 'Rate limit exceeded: 1000 per 1 minute' });
    expect(refused.headers['x-ratelimit-reason']).toBe('ip_minute');
    // Unknown routes are counted against the IP too.
    expect((await api.get('/anything', as({}))).status).toBe(429);
    // Another client address is untouched.
    expect((await api.post('/gliner-2/ner', {}, as(ADA, '198.51.100.2'))).status).toBe(200);
  });
});

describe('pioneer: other errors in the FastAPI schema', () => {
  test('404 {"detail":"Not Found"} for an unknown route, with X-Request-Id echoed', async () => {
    const res = await api.get('/v2/unknown', { 'X-Request-Id': 'trace-9' });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ detail: 'Not Found' });
    expect(res.headers['x-request-id']).toBe('trace-9');
  });

  test('400 for malformed JSON', async () => {
    const res = await api.post('/inference', '{"input":', ADA);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ detail: 'The request body is not valid JSON' });
    expect(api.checked).toBe(1);
  });
});

describe('pioneer: the daily spending cap', () => {
  const MIDNIGHT = Date.UTC(2025, 9, 28);

  test('1,000 credits a day: /generate costs 100, then the cap refuses with its own reason until 00:00 UTC', async () => {
    const generations = await repeat(10, (i) => api.post(`/generate/model-${i}`, {}, as(ADA)));
    expect(generations.every((r) => r.status === 200)).toBe(true);
    const refused = await api.post('/generate/model-0', {}, as(ADA));
    expect(refused.status).toBe(429);
    expect(refused.headers['x-ratelimit-reason']).toBe('daily_spend_cap_exceeded');
    // From 12:00:57 UTC to the next midnight.
    expect(refused.headers['retry-after']).toBe(String((MIDNIGHT - clock.now()) / 1000));
    expect(refused.body.detail).toMatch(/^Rate limit exceeded: /);
    // Even a 1-credit request is over the cap now; another user has a budget of their own.
    expect((await api.post('/inference', {}, as(ADA))).headers['x-ratelimit-reason']).toBe(
      'daily_spend_cap_exceeded',
    );
    expect((await api.post('/inference', {}, as(GRACE))).status).toBe(200);
    clock.set(MIDNIGHT);
    expect((await api.post('/generate/model-0', {}, as(ADA))).status).toBe(200);
  });

  test('a refused cap request reserves nothing: 9 generations leave room for 100 one-credit calls', async () => {
    await repeat(9, (i) => api.post(`/generate/model-${i}`, {}, as(ADA)));
    const ones = await repeat(100, () => api.post('/inference', {}, as(ADA)));
    expect(ones.every((r) => r.status === 200)).toBe(true);
    expect((await api.post('/inference', {}, as(ADA))).status).toBe(429);
  });

  test('GET /billing/usage/requests shows used, remaining, cap and the reset', async () => {
    await api.post('/generate/model-0', {}, as(ADA));
    await api.post('/inference', {}, as(ADA));
    const usage = await api.get('/billing/usage/requests', as(ADA));
    expect(usage.status).toBe(200);
    expect(usage.body).toEqual({ used: 101, remaining: 899, cap: 1000, resets_at: '2025-10-28T00:00:00Z' });
    expect((await api.get('/billing/usage/requests', as(GRACE))).body).toMatchObject({
      used: 0,
      remaining: 1000,
    });
    expect((await api.get('/billing/usage/requests')).status).toBe(401);
  });
});
