import type { Server } from 'node:http';
import type { Express } from 'express';
import { createApp as createExpressApp, main as expressMain } from '../../examples/firsthand.js';
import { createApp as createKoaApp, main as koaMain } from '../../examples/firsthand-koa.js';
import { serializers } from '../../lib/serializers/index.js';
import { MemoryStore } from '../../lib/stores/memory/index.js';
import { createTestClock, type TestClock } from '../../lib/testing/index.js';
import { T0 } from '../helpers/clock.js';
import { bearer, type ExampleClient, GENERATED_ID, repeat, startExample } from '../helpers/examples.js';

type Options = NonNullable<Parameters<typeof createKoaApp>[0]>;

// The same table walked on both examples: the Koa one must answer exactly as the Express one.
const examples = [
  {
    name: 'firsthand (express)',
    start: (options: Options) => startExample(createExpressApp(options), serializers.firsthand),
    main: expressMain,
  },
  {
    name: 'firsthand-koa',
    // startExample only calls `listen(0, callback)`, which a Koa app has too.
    start: (options: Options) =>
      startExample(createKoaApp(options) as unknown as Express, serializers.firsthand),
    main: koaMain,
  },
];

const FREE = bearer('fh_live_free_one');
const STANDARD = bearer('fh_live_std_one');

describe.each(examples)('$name', (example) => {
  let clock: TestClock;
  let api: ExampleClient | undefined;

  async function start(at = T0 + 15_000, options: Options = {}): Promise<ExampleClient> {
    clock = createTestClock(at);
    const started = await example.start({
      now: clock.now,
      store: new MemoryStore({ now: clock.now }),
      ...options,
    });
    api = started;
    return started;
  }

  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  test('jobs: POST queues one (202, Location), GET reads it; the per-minute headers on each', async () => {
    const api = await start();
    const created = await api.post('/v1/jobs', { url: 'https://example.com' }, FREE);
    expect(created.status).toBe(202);
    expect(created.headers.location).toBe(`/v1/jobs/${created.body.id}`);
    expect(created.body).toMatchObject({ status: 'queued', url: 'https://example.com' });
    const read = await api.get(created.headers.location!, FREE);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
    expect([
      read.headers['x-ratelimit-limit'],
      read.headers['x-ratelimit-remaining'],
      read.headers['x-ratelimit-reset'],
      read.headers['retry-after'],
    ]).toEqual(['60', '58', '1761566460', undefined]);
  });

  test('errors of the limited routes carry the headers too: 404, 400, malformed JSON', async () => {
    const api = await start();
    const missing = await api.get('/v1/jobs/job_nope', FREE);
    expect([missing.status, missing.body.error.type, missing.body.error.message]).toEqual([
      404,
      'not_found_error',
      'No job with id "job_nope"',
    ]);
    expect(missing.headers['x-ratelimit-remaining']).toBe('59');
    const invalid = await api.post('/v1/jobs', { url: 'ftp://example.com' }, FREE);
    expect([invalid.status, invalid.body.error.type]).toEqual([400, 'invalid_request_error']);
    const malformed = await api.post('/v1/jobs', '{"url": ', FREE);
    expect([malformed.status, malformed.body.error.message]).toEqual([
      400,
      'The request body is not valid JSON',
    ]);
    expect(malformed.headers['x-ratelimit-remaining']).toBe('57');
    expect(malformed.headers['retry-after']).toBeUndefined();
    const nowhere = await api.get('/v1/nothing-here', FREE);
    expect([nowhere.status, nowhere.body.error.message]).toEqual([404, 'No such route']);
  });

  test('Free: the 61st request a minute is a 429 with Retry-After and the templated body', async () => {
    const api = await start();
    const admitted = await repeat(60, () => api.get('/v1/jobs/j', FREE));
    expect(admitted[59]!.headers['x-ratelimit-remaining']).toBe('0');
    const refused = await api.get('/v1/jobs/j', FREE);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('45');
    expect(refused.headers['x-ratelimit-limit']).toBe('60');
    expect(refused.headers['x-ratelimit-reset']).toBe('1761566460');
    expect(refused.headers['x-request-id']).toMatch(GENERATED_ID);
    expect(refused.body).toEqual({
      error: {
        type: 'rate_limit_error',
        message: 'Too many requests. Please retry after 45 seconds.',
        request_id: refused.headers['x-request-id'],
      },
    });
    clock.advance(45_000);
    expect((await api.get('/v1/jobs/j', FREE)).headers['x-ratelimit-remaining']).toBe('59');
  });

  test('Standard (a key containing _std_): 100 a minute; keys count independently', async () => {
    const api = await start();
    await repeat(100, () => api.get('/v1/jobs/j', STANDARD));
    const refused = await api.get('/v1/jobs/j', { ...STANDARD, 'X-Request-Id': 'req_std' });
    expect([refused.status, refused.headers['x-ratelimit-limit'], refused.body.error.request_id]).toEqual([
      429,
      '100',
      'req_std',
    ]);
    const other = await api.get('/v1/jobs/j', bearer('fh_live_std_two'));
    expect([other.status, other.headers['x-ratelimit-remaining']]).toEqual([404, '99']);
    expect((await api.get('/v1/jobs/j', FREE)).headers['x-ratelimit-remaining']).toBe('59');
  });

  test('Free: 600 an hour; the headers still report the minute while the hour refuses', async () => {
    const api = await start(T0);
    for (let minute = 0; minute < 10; minute++) {
      const answers = await Promise.all(Array.from({ length: 60 }, () => api.get('/v1/jobs/j', FREE)));
      expect(answers.every((res) => res.status === 404)).toBe(true);
      clock.advance(60_000);
    }
    const refused = await api.get('/v1/jobs/j', FREE);
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('3000');
    expect(refused.headers['x-ratelimit-limit']).toBe('60');
    expect(refused.headers['x-ratelimit-remaining']).toBe('60');
    expect(refused.body.error.message).toBe('Too many requests. Please retry after 3000 seconds.');
  });

  test('a missing or foreign key is a 401 authentication_error, uncounted and without headers', async () => {
    const api = await start();
    const missing = await api.get('/v1/jobs/j', { 'X-Request-Id': 'req_anon' });
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({
      error: {
        type: 'authentication_error',
        message: 'Missing API key: send Authorization: Bearer fh_live_…',
        request_id: 'req_anon',
      },
    });
    expect(missing.headers['x-ratelimit-limit']).toBeUndefined();
    expect(missing.headers['retry-after']).toBeUndefined();
    const foreign = await api.post('/v1/jobs', { url: 'https://example.com' }, bearer('sk_test_x'));
    expect([foreign.status, foreign.body.error.message]).toEqual([401, 'Invalid API key']);
    expect(api.checked).toBe(2);
  });

  test('Enterprise keys get their custom limits', async () => {
    const api = await start(T0 + 15_000, {
      enterprise: { keys: ['fh_live_acme'], perMinute: 2, perHour: 10 },
    });
    await repeat(2, () => api.get('/v1/jobs/j', bearer('fh_live_acme')));
    const refused = await api.get('/v1/jobs/j', bearer('fh_live_acme'));
    expect([refused.status, refused.headers['x-ratelimit-limit']]).toEqual([429, '2']);
  });

  test('main() listens on PORT and answers', async () => {
    const log = jest.spyOn(console, 'log').mockImplementation(() => {});
    const server: Server = await example.main({ PORT: '0' });
    try {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const res = await fetch(`http://127.0.0.1:${port}/v1/jobs/j`, { headers: FREE });
      expect([res.status, res.headers.get('x-ratelimit-limit')]).toEqual([404, '60']);
      expect(log).toHaveBeenCalledWith(expect.stringContaining('listening on http://localhost:'));
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      log.mockRestore();
    }
  });
});
