import { createApp } from '../../examples/fluid.js';
import { serializers } from '../../lib/serializers/index.js';
import { MemoryStore } from '../../lib/stores/memory/index.js';
import { createTestClock, type TestClock } from '../../lib/testing/index.js';
import { T0 } from '../helpers/clock.js';
import { type ExampleClient, flood, repeat, startExample } from '../helpers/examples.js';

const RESET = String(T0 / 1000 + 60);

let clock: TestClock;
let api: ExampleClient;

beforeEach(async () => {
  clock = createTestClock(T0);
  api = await startExample(
    createApp({ now: clock.now, store: new MemoryStore({ now: clock.now }) }),
    serializers.fluid,
  );
});

afterEach(async () => {
  await api.close();
});

const from = (ip: string) => ({ 'X-Forwarded-For': ip });
const payment = (partner: string, account: string, headers: Record<string, string> = {}) =>
  api.post(
    '/v1/payments',
    { source_account: account, amount: 25, currency: 'EUR' },
    { 'X-Partner-Id': partner, ...headers },
  );

/** Checks the documented 429: numeric code, message, category, severity, and details matching Retry-After. */
function expectRefusal(
  res: Awaited<ReturnType<ExampleClient['get']>>,
  code: number,
  message: string,
  limit: number,
): void {
  expect(res.status).toBe(429);
  const retryAfter = Number(res.headers['retry-after']);
  expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
  expect(res.body).toEqual({
    error: {
      code,
      message,
      category: 'security',
      severity: 'medium',
      details: { limit, window: '1 minute', retry_after: retryAfter },
    },
  });
  expect(res.headers['ratelimit-limit']).toBe(String(limit));
}

describe('fluid: GET /v1/status, the General tier per client IP (code 1453)', () => {
  test('RateLimit-* headers report the minute window, reset in Unix seconds', async () => {
    const res = await api.get('/v1/status', from('198.51.100.1'));
    expect(res.status).toBe(200);
    expect(res.headers['ratelimit-limit']).toBe('100');
    expect(res.headers['ratelimit-remaining']).toBe('99');
    expect(res.headers['ratelimit-reset']).toBe(RESET);
    expect(res.headers['retry-after']).toBeUndefined();
    expect(res.headers['x-ratelimit-limit']).toBeUndefined();
  });

  test('a burst of 20 at once, then 429 code 1453 with retry_after equal to Retry-After', async () => {
    const burst = await repeat(20, () => api.get('/v1/status', from('198.51.100.1')));
    expect(burst.every((r) => r.status === 200)).toBe(true);
    const refused = await api.get('/v1/status', from('198.51.100.1'));
    expectRefusal(refused, 1453, 'Rate limit exceeded for IP address', 100);
    // The burst refills at the minute's rate: one request every 600 ms.
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.headers['ratelimit-remaining']).toBe('80');
    clock.advance(600);
    expect((await api.get('/v1/status', from('198.51.100.1'))).status).toBe(200);
  });

  test('100 a minute: paced under the burst, the 101st waits for the next minute', async () => {
    for (let i = 0; i < 100; i++) {
      const res = await api.get('/v1/status', from('198.51.100.1'));
      expect(res.status).toBe(200);
      if (i >= 19) clock.advance(600);
    }
    const refused = await api.get('/v1/status', from('198.51.100.1'));
    expectRefusal(refused, 1453, 'Rate limit exceeded for IP address', 100);
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    // 81 × 600 ms = 48.6 s into the minute: 11.4 s to go, rounded up.
    expect(refused.headers['retry-after']).toBe('12');
    expect(refused.body.error.details.retry_after).toBe(12);
    clock.advance(12_000);
    expect((await api.get('/v1/status', from('198.51.100.1'))).status).toBe(200);
  });

  test('X-Forwarded-For (one trusted hop) separates clients', async () => {
    await repeat(21, () => api.get('/v1/status', from('198.51.100.1')));
    const other = await api.get('/v1/status', from('198.51.100.2'));
    expect(other.status).toBe(200);
    expect(other.headers['ratelimit-remaining']).toBe('99');
  });
});

describe('fluid: POST /v1/payments', () => {
  test('the Payment Provider tier per partner: 100 at once, then 1454 with the documented body', async () => {
    const admitted = await repeat(100, (i) => payment('acme', `acc_${i}`));
    expect(admitted.every((r) => r.status === 201)).toBe(true);
    expect(admitted[0]!.headers['ratelimit-limit']).toBe('1000');
    expect(admitted[0]!.headers['ratelimit-remaining']).toBe('999');
    expect(admitted[0]!.headers['ratelimit-reset']).toBe(RESET);
    const refused = await payment('acme', 'acc_x');
    expectRefusal(refused, 1454, 'Rate limit exceeded for payment partner', 1000);
    expect(refused.headers['retry-after']).toBe('1');
    // Another partner is untouched.
    expect((await payment('globex', 'acc_x')).status).toBe(201);
  });

  test('the IP scope does not apply: one client address sends far more than 20 or 100', async () => {
    const answers = await repeat(150, (i) => payment(`partner_${i % 3}`, `acc_${i}`, from('198.51.100.1')));
    expect(answers.every((r) => r.status === 201)).toBe(true);
    expect((await api.get('/v1/status', from('198.51.100.1'))).headers['ratelimit-remaining']).toBe('99');
  });

  test('payment processing per source_account: 1,000 at once (no burst allowance), then 1456', async () => {
    // Eleven partners, each within its burst of 100, all paying from one account.
    const admitted = await flood(1000, (i) => payment(`partner_${Math.floor(i / 91)}`, 'acc_shared'));
    expect(admitted.filter((r) => r.status === 201)).toHaveLength(1000);
    const refused = await payment('partner_fresh', 'acc_shared');
    expectRefusal(refused, 1456, 'Rate limit exceeded for payment processing', 1000);
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(refused.headers['retry-after']).toBe('60');
    // Other accounts of the same partner go on.
    expect((await payment('partner_fresh', 'acc_other')).status).toBe(201);
  });

  test('401 without X-Partner-Id; 400 for a malformed body or an invalid payment', async () => {
    const anonymous = await api.post('/v1/payments', { source_account: 'a', amount: 1, currency: 'EUR' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error).toEqual({
      code: 401,
      message: 'Missing X-Partner-Id header: payment endpoints need a partner account',
      category: 'security',
      severity: 'medium',
    });

    const malformed = await api.post('/v1/payments', '{"amount": 1', { 'X-Partner-Id': 'acme' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toMatchObject({ code: 400, category: 'validation', severity: 'low' });

    const invalid = await api.post(
      '/v1/payments',
      { source_account: 'a', amount: -5, currency: 'EUR' },
      { 'X-Partner-Id': 'acme' },
    );
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details).toEqual({ field: 'amount' });
  });
});

describe('fluid: GET /v1/banks/:bankId/transactions, the Bank tier per bank (code 1455)', () => {
  test('a burst of 50, then 1455; banks are independent; the IP scope does not apply', async () => {
    const admitted = await repeat(50, () => api.get('/v1/banks/bank_1/transactions', from('198.51.100.1')));
    expect(admitted.every((r) => r.status === 200)).toBe(true);
    expect(admitted[0]!.headers['ratelimit-limit']).toBe('200');
    expect(admitted[0]!.headers['ratelimit-remaining']).toBe('199');
    const refused = await api.get('/v1/banks/bank_1/transactions', from('198.51.100.1'));
    expectRefusal(refused, 1455, 'Rate limit exceeded for bank account', 200);
    // 200 a minute refills one every 300 ms.
    expect(refused.headers['retry-after']).toBe('1');
    expect((await api.get('/v1/banks/bank_2/transactions', from('198.51.100.1'))).status).toBe(200);
  });

  test('200 a minute', async () => {
    for (let i = 0; i < 200; i++) {
      expect((await api.get('/v1/banks/bank_1/transactions')).status).toBe(200);
      if (i >= 49) clock.advance(300);
    }
    const refused = await api.get('/v1/banks/bank_1/transactions');
    expectRefusal(refused, 1455, 'Rate limit exceeded for bank account', 200);
    expect(refused.headers['retry-after']).toBe(String(60 - 45));
  });
});

describe('fluid: POST /v1/webhooks/deliveries is unlimited', () => {
  test('200 deliveries at once from one address (past every tier): no refusal, no headers', async () => {
    const answers = await repeat(200, () =>
      api.post('/v1/webhooks/deliveries', { event: 'x' }, from('198.51.100.1')),
    );
    expect(answers.every((r) => r.status === 202)).toBe(true);
    expect(answers[199]!.headers['ratelimit-limit']).toBeUndefined();
  });
});

describe('fluid: other errors', () => {
  test('an unknown route is a 404 in the FLUID schema, with the request id in the header', async () => {
    const res = await api.get('/v1/nope', { 'X-Request-Id': 'trace-1' });
    expect(res.status).toBe(404);
    expect(res.headers['x-request-id']).toBe('trace-1');
    expect(res.body).toEqual({
      error: { code: 404, message: 'Not Found', category: 'validation', severity: 'low' },
    });
  });

  test('a refusal echoes the request id in the header', async () => {
    await repeat(20, () => api.get('/v1/status'));
    const refused = await api.get('/v1/status', { 'X-Request-Id': 'trace-2' });
    expect(refused.status).toBe(429);
    expect(refused.headers['x-request-id']).toBe('trace-2');
    expect(api.checked).toBe(1);
  });
});
