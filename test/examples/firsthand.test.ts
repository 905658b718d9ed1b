import { createApp } from '../../examples/firsthand.js';
import { serializers } from '../../lib/serializers/index.js';
import { MemoryStore } from '../../lib/stores/memory/index.js';
import { createTestClock, type TestClock } from '../../lib/testing/index.js';
import { T0 } from '../helpers/clock.js';
import { bearer, type ExampleClient, GENERATED_ID, repeat, startExample } from '../helpers/examples.js';

const FREE = bearer('fh_live_free_1');
const STANDARD = bearer('fh_live_std_1');
const MINUTE = 60_000;

let clock: TestClock;
let api: ExampleClient;

async function start(options: Parameters<typeof createApp>[0] = {}): Promise<void> {
  clock = createTestClock(T0 + 30_000);
  api = await startExample(
    createApp({ now: clock.now, store: new MemoryStore({ now: clock.now }), ...options }),
    serializers.firsthand,
  );
}

afterEach(async () => {
  await api.close();
});

async function createJob(key: Record<string, string>) {
  return api.post('/v1/jobs', { url: 'https://example.com/page' }, key);
}

describe('firsthand: headers on every response', () => {
  test('X-RateLimit-* with a Unix-seconds reset; no Retry-After unless refused', async () => {
    await start();
    const res = await createJob(FREE);
    expect(res.status).toBe(202);
    expect(res.headers['x-ratelimit-limit']).toBe('60');
    expect(res.headers['x-ratelimit-remaining']).toBe('59');
    expect(res.headers['x-ratelimit-reset']).toBe(String(T0 / 1000 + 60));
    expect(res.headers['retry-after']).toBeUndefined();
    const job = await api.get(`/v1/jobs/${res.body.id}`, FREE);
    expect(job.status).toBe(200);
    expect(job.body).toMatchObject({ id: res.body.id, status: 'queued' });
    expect(job.headers['x-ratelimit-remaining']).toBe('58');
  });
});

describe('firsthand: plans per key', () => {
  test('Free: the 61st request in a minute is a 429 rate_limit_error', async () => {
    await start();
    const admitted = await repeat(60, (i) => (i % 2 ? api.get('/v1/jobs/job_x', FREE) : createJob(FREE)));
    expect(admitted.filter((r) => r.status === 429)).toHaveLength(0);
    const refused = await api.get('/v1/jobs/job_x', { ...FREE, 'X-Request-Id': 'req_01HVTRACE' });
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('30');
    expect(refused.headers['x-ratelimit-remaining']).toBe('0');
    expect(refused.body).toEqual({
      error: {
        type: 'rate_limit_error',
        message: 'Too many requests. Please retry after 30 seconds.',
        request_id: 'req_01HVTRACE',
      },
    });
    expect(refused.headers['x-request-id']).toBe('req_01HVTRACE');
  });

  test('Standard (a key containing _std_): 100 a minute', async () => {
    await start();
    const admitted = await repeat(100, () => createJob(STANDARD));
    expect(admitted.every((r) => r.status === 202)).toBe(true);
    expect(admitted[0]!.headers['x-ratelimit-limit']).toBe('100');
    const refused = await createJob(STANDARD);
    expect(refused.status).toBe(429);
    expect(refused.body.error.type).toBe('rate_limit_error');
  });

  test('keys of one organisation have independent limits', async () => {
    await start();
    await repeat(61, () => createJob(FREE));
    const sibling = await createJob(bearer('fh_live_free_2'));
    expect(sibling.status).toBe(202);
    expect(sibling.headers['x-ratelimit-remaining']).toBe('59');
  });

  test('Free: 600 an hour, while the headers keep reporting the minute', async () => {
    await start();
    clock.set(T0);
    for (let minute = 0; minute < 10; minute++) {
      const answers = await repeat(60, () => api.get('/v1/jobs/job_x', FREE));
      expect(answers.every((r) => r.status === 404)).toBe(true);
      clock.advance(MINUTE);
    }
    const refused = await api.get('/v1/jobs/job_x', FREE);
    expect(refused.status).toBe(429);
    expect(refused.headers['x-ratelimit-reason']).toBe('apiKey_hour');
    // The minute is fresh: the single-value headers report it, Retry-After the hour.
    expect(refused.headers['x-ratelimit-limit']).toBe('60');
    expect(refused.headers['x-ratelimit-remaining']).toBe('60');
    expect(refused.headers['retry-after']).toBe(String(50 * 60));
    expect(refused.body.error.message).toBe('Too many requests. Please retry after 3000 seconds.');
  });

  test('Enterprise keys get their custom limits', async () => {
    await start({ enterprise: { keys: ['fh_live_acme'], perMinute: 500, perHour: 20_000 } });
    const res = await createJob(bearer('fh_live_acme'));
    expect(res.headers['x-ratelimit-limit']).toBe('500');
  });
});

describe('firsthand: the error types', () => {
  test.each([
    ['a missing key', {}, 'Missing API key: send Authorization: Bearer fh_live_…'],
    ['a key that is not fh_live_…', bearer('fh_test_1'), 'Invalid API key'],
  ])('401 authentication_error for %s, without rate-limit headers', async (_name, headers, message) => {
    await start();
    const res = await createJob(headers);
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ type: 'authentication_error', message });
    expect(res.body.error.request_id).toMatch(GENERATED_ID);
    expect(res.body.error.request_id).toBe(res.headers['x-request-id']);
    expect(res.headers['x-ratelimit-limit']).toBeUndefined();
  });

  test('404 not_found_error for an unknown job', async () => {
    await start();
    const res = await api.get('/v1/jobs/job_nope', FREE);
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ type: 'not_found_error', message: 'No job with id "job_nope"' });
    expect(res.headers['x-ratelimit-remaining']).toBe('59');
  });

  test('400 invalid_request_error for malformed JSON or a missing url', async () => {
    await start();
    const malformed = await api.post('/v1/jobs', '{"url":', FREE);
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.type).toBe('invalid_request_error');
    const invalid = await api.post('/v1/jobs', { url: 'ftp://x' }, FREE);
    expect(invalid.status).toBe(400);
    expect(invalid.body.error).toMatchObject({
      type: 'invalid_request_error',
      message: '"url" must be an http or https URL',
    });
    expect(api.checked).toBe(2);
  });
});
