import { createApp } from '../../examples/fastino.js';
import { HttpError } from '../../lib/errors/http-errors.js';
import { serializers } from '../../lib/serializers/index.js';
import { MemoryStore } from '../../lib/stores/memory/index.js';
import { createTestClock, type TestClock } from '../../lib/testing/index.js';
import { T0 } from '../helpers/clock.js';
import { bearer, type ExampleClient, GENERATED_ID, repeat, startExample } from '../helpers/examples.js';

const KEY = bearer('fk_live_one');
const SUMMARY = '/v1/users/alice/summary';

let clock: TestClock;
let api: ExampleClient;

async function start(options: Parameters<typeof createApp>[0] = {}): Promise<ExampleClient> {
  clock = createTestClock(T0 + 15_000);
  api = await startExample(
    createApp({ now: clock.now, store: new MemoryStore({ now: clock.now }), ...options }),
    serializers.fastino,
  );
  return api;
}

afterEach(async () => {
  await api?.close();
});

describe('fastino: headers on every response', () => {
  test('X-RateLimit-Limit, -Remaining, and -Reset as ISO-8601 UTC', async () => {
    await start();
    const res = await api.get(SUMMARY, KEY);
    expect(res.status).toBe(200);
    expect(res.headers['x-ratelimit-limit']).toBe('60');
    expect(res.headers['x-ratelimit-remaining']).toBe('59');
    expect(res.headers['x-ratelimit-reset']).toBe('2025-10-27T12:01:00Z');
    expect(res.headers['retry-after']).toBeUndefined();
  });

  test('errors of a limited route carry them too: 404, 400', async () => {
    await start();
    const missing = await api.get('/v1/users/carol/summary', KEY);
    expect(missing.status).toBe(404);
    expect(missing.headers['x-ratelimit-remaining']).toBe('59');
    const malformed = await api.post('/v1/query', '{"user_id": "alice",', KEY);
    expect(malformed.status).toBe(400);
    expect(malformed.headers['x-ratelimit-remaining']).toBe('58');
    expect(malformed.headers['x-ratelimit-reset']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });
});

describe('fastino: 60 requests a minute per API key', () => {
  test('the 61st is a 429 RATE_LIMIT_EXCEEDED with Retry-After, templated from the decision', async () => {
    await start();
    const admitted = await repeat(60, () => api.get(SUMMARY, KEY));
    expect(admitted.map((r) => r.status)).toEqual(Array(60).fill(200));
    expect(admitted[59]!.headers['x-ratelimit-remaining']).toBe('0');

    const refused = await api.get(SUMMARY, { ...KEY, 'X-Request-Id': 'trace-61' });
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('45');
    expect(refused.headers['x-ratelimit-remaining']).toBe('0');
    expect(refused.headers['x-ratelimit-reset']).toBe('2025-10-27T12:01:00Z');
    expect(refused.headers['x-request-id']).toBe('trace-61');
    expect(refused.body).toEqual({
      error: {
        code: 'RATE_LIMIT_EXCEEDED',
        message: 'Rate limit exceeded: 60 requests per 1 minute. Retry after 45 seconds.',
        details: { limit: 60, window: '1 minute', retry_after: 45, request_id: 'trace-61' },
      },
    });
  });

  test('the key is whole again when the minute turns', async () => {
    await start();
    await repeat(61, () => api.get(SUMMARY, KEY));
    clock.advance(45_000);
    const res = await api.get(SUMMARY, KEY);
    expect(res.status).toBe(200);
    expect(res.headers['x-ratelimit-remaining']).toBe('59');
    expect(res.headers['x-ratelimit-reset']).toBe('2025-10-27T12:02:00Z');
  });

  test('keys are independent', async () => {
    await start();
    await repeat(61, () => api.get(SUMMARY, KEY));
    const other = await api.get(SUMMARY, bearer('fk_live_two'));
    expect(other.status).toBe(200);
    expect(other.headers['x-ratelimit-remaining']).toBe('59');
  });

  test('enterprise keys get their configured limit, up to 2,000 a minute', async () => {
    await start({ enterprise: { keys: ['fk_ent_big'], perMinute: 2000 } });
    const first = await api.get(SUMMARY, bearer('fk_ent_big'));
    expect(first.headers['x-ratelimit-limit']).toBe('2000');
    expect(first.headers['x-ratelimit-remaining']).toBe('1999');
    expect((await api.get(SUMMARY, KEY)).headers['x-ratelimit-limit']).toBe('60');
    expect(() => createApp({ enterprise: { keys: [], perMinute: 2001 } })).toThrow(RangeError);
  });
});

describe('fastino: the error table', () => {
  test.each([
    ['no Authorization header', {}],
    ['a token that is not fk_…', bearer('sk_live_one')],
    ['another scheme', { Authorization: 'Basic Zms6Zms=' }],
  ])('401 UNAUTHORIZED for %s', async (_name, headers) => {
    await start();
    const res = await api.get(SUMMARY, headers);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.body.error.code).toBe('UNAUTHORIZED');
    expect(res.body.error.details.request_id).toMatch(GENERATED_ID);
    expect(res.body.error.details.request_id).toBe(res.headers['x-request-id']);
  });

  test('404 USER_NOT_FOUND for any user but alice and bob', async () => {
    await start();
    expect((await api.get('/v1/users/bob/summary', KEY)).status).toBe(200);
    const res = await api.get('/v1/users/carol/summary', { ...KEY, 'X-Request-Id': 'req-404' });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      error: {
        code: 'USER_NOT_FOUND',
        message: 'User "carol" not found',
        details: { user_id: 'carol', request_id: 'req-404' },
      },
    });
  });

  test('400 INVALID_REQUEST for malformed JSON, without echoing the parser', async () => {
    await start();
    const res = await api.post('/v1/query', '{"query": "shoes"', KEY);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_REQUEST');
    expect(res.body.error.message).toBe('The request body is not valid JSON');
  });

  test('400 INVALID_REQUEST for a body without a query', async () => {
    await start();
    const res = await api.post('/v1/query', { user_id: 'alice' }, KEY);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'INVALID_REQUEST', details: { field: 'query' } });
  });

  test('POST /v1/query answers a valid query; an unknown user is USER_NOT_FOUND', async () => {
    await start();
    expect((await api.post('/v1/query', { user_id: 'alice', query: 'shoes' }, KEY)).status).toBe(200);
    expect((await api.post('/v1/query', { user_id: 'zed', query: 'shoes' }, KEY)).body.error.code).toBe(
      'USER_NOT_FOUND',
    );
  });

  test('403 FORBIDDEN for a valid key without the query scope', async () => {
    await start();
    const key = bearer('fk_readonly_one');
    expect((await api.get(SUMMARY, key)).status).toBe(200);
    const res = await api.post('/v1/query', { user_id: 'alice', query: 'shoes' }, key);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('FORBIDDEN');
  });

  test('500 SERVER_ERROR shows nothing of the failure', async () => {
    await start({
      query: async () => {
        throw new Error('connection to db-7.internal:5432 refused');
      },
    });
    const res = await api.post('/v1/query', { user_id: 'alice', query: 'shoes' }, KEY);
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe('SERVER_ERROR');
    expect(res.text).not.toContain('db-7');
    expect(res.text).not.toContain('5432');
  });

  test('504 TIMEOUT when the query engine does not answer in time', async () => {
    await start({ query: () => new Promise(() => {}), queryTimeoutMs: 5 });
    const res = await api.post('/v1/query', { user_id: 'alice', query: 'everything' }, KEY);
    expect(res.status).toBe(504);
    expect(res.body.error.code).toBe('TIMEOUT');
  });

  test('an HttpError from the engine keeps its code', async () => {
    await start({
      query: async () => {
        throw new HttpError(504, 'Upstream ranking timed out', { code: 'TIMEOUT' });
      },
    });
    const res = await api.post('/v1/query', { user_id: 'alice', query: 'shoes' }, KEY);
    expect(res.body.error).toMatchObject({ code: 'TIMEOUT', message: 'Upstream ranking timed out' });
  });

  test('an unknown route under /v1 is NOT_FOUND, and still counted', async () => {
    await start();
    const res = await api.get('/v1/nope', KEY);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
    expect(res.headers['x-ratelimit-remaining']).toBe('59');
  });
});

describe('fastino: request ids', () => {
  test('an incoming X-Request-Id is echoed in the header and in details.request_id', async () => {
    await start();
    const res = await api.get('/v1/users/carol/summary', { ...KEY, 'X-Request-Id': '0f9c7e1e-3a51-4c1b' });
    expect(res.headers['x-request-id']).toBe('0f9c7e1e-3a51-4c1b');
    expect(res.body.error.details.request_id).toBe('0f9c7e1e-3a51-4c1b');
  });

  test('an unsafe or oversized one is replaced by a generated id', async () => {
    await start();
    for (const id of ['a b<script>', 'x'.repeat(129)]) {
      const res = await api.get('/v1/users/carol/summary', { ...KEY, 'X-Request-Id': id });
      expect(res.body.error.details.request_id).toMatch(GENERATED_ID);
      expect(res.headers['x-request-id']).toBe(res.body.error.details.request_id);
    }
  });

  test('the suite checked every error body against the schema', async () => {
    await start();
    await api.get(SUMMARY);
    expect(api.checked).toBe(1);
  });
});
