import express, { type Express } from 'express';
import request from 'supertest';
import type { TollgateError } from '../../lib/errors/errors.js';
import { createTollgate, errorHandler, notFound, rateLimit } from '../../lib/express/index.js';
import { scope } from '../../lib/options/presets.js';
import { serializers } from '../../lib/serializers/index.js';
import { createTestClock } from '../../lib/testing/index.js';
import { expectMatchesSchema } from '../helpers/examples.js';

const perMinute = (max: number) => [{ max, window: '1m' }];

function collector() {
  const warnings: TollgateError[] = [];
  return { warnings, onWarning: (warning: TollgateError) => warnings.push(warning) };
}

/** `[[[…]]]`, `depth` levels deep, as JSON text. */
const nestedJson = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('limits that used to apply silently never', () => {
  test('a bank scope at app.use level, where no route param exists: counted, and reported once', async () => {
    const { warnings, onWarning } = collector();
    const app = express();
    app.use(rateLimit({ onWarning, scopes: [scope.bank({ limits: perMinute(2) })] }));
    app.get('/v1/banks/:bankId/transactions', (_req, res) => res.json({ ok: true }));
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await request(app).get(`/v1/banks/b${i}/transactions`)).status);
    expect(statuses).toEqual([200, 200, 429]);
    expect(warnings.map((w) => w.code)).toEqual(['ERR_TOLLGATE_NO_ROUTE_PARAM']);
  });

  test('the same bank scope on the route counts each bank and reports nothing', async () => {
    const { warnings, onWarning } = collector();
    const app = express();
    app.get(
      '/v1/banks/:bankId/transactions',
      rateLimit({ onWarning, scopes: [scope.bank({ limits: perMinute(1) })] }),
      (_req, res) => res.json({ ok: true }),
    );
    expect((await request(app).get('/v1/banks/b1/transactions')).status).toBe(200);
    expect((await request(app).get('/v1/banks/b2/transactions')).status).toBe(200);
    expect((await request(app).get('/v1/banks/b1/transactions')).status).toBe(429);
    expect(warnings).toEqual([]);
  });

  test('a payment scope mounted before express.json(): counted, and ERR_TOLLGATE_BODY_NOT_PARSED reported', async () => {
    const { warnings, onWarning } = collector();
    const app = express();
    app.post(
      '/v1/payments',
      rateLimit({ onWarning, scopes: [scope.payment({ limits: perMinute(1) })] }),
      express.json(),
      (_req, res) => res.status(201).json({}),
    );
    const pay = (account: string) => request(app).post('/v1/payments').send({ source_account: account });
    expect((await pay('acc_1')).status).toBe(201);
    expect((await pay('acc_2')).status).toBe(429);
    expect(warnings.map((w) => w.code)).toEqual(['ERR_TOLLGATE_BODY_NOT_PARSED']);
  });

  test('a partner scope on POST /v1/payments: leaving out X-Partner-Id buys the keyless allowance, not unlimited', async () => {
    const app = express();
    app.post(
      '/v1/payments',
      express.json(),
      rateLimit({ scopes: [scope.partner({ limits: perMinute(2) })] }),
      (_req, res) => res.status(201).json({}),
    );
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await request(app).post('/v1/payments').send({})).status);
    expect(statuses).toEqual([201, 201, 429]);
    expect((await request(app).post('/v1/payments').set('X-Partner-Id', 'acme').send({})).status).toBe(201);
  });

  test('an array nested thousands deep within express.json limits is a 400 in the limiter schema', async () => {
    const app = express();
    app.post(
      '/v1/payments',
      express.json(),
      rateLimit({
        serializer: serializers.fluid,
        scopes: [scope.payment({ code: 1456, limits: perMinute(5), onMissing: 'refuse' })],
      }),
      (_req, res) => res.status(201).json({}),
    );
    const body = `{"source_account":${nestedJson(5000)}}`;
    expect(body.length).toBeLessThan(100 * 1024);
    const res = await request(app).post('/v1/payments').set('Content-Type', 'application/json').send(body);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe(serializers.fluid.contentType);
    expect(res.body.error).toMatchObject({ code: 400, message: expect.stringMatching(/nested too deeply/) });
    expectMatchesSchema(serializers.fluid, res.body);
  });
});

describe('errors raised per request are answered in the limiter schema', () => {
  test.each([
    ['a subnet list of every IPv4 address', '0.0.0.0/1, 128.0.0.0/1'],
    ['a function trusting every address', () => true],
    ['true', true],
  ] as const)(
    'trust proxy %s: a 500 in the schema, ERR_TOLLGATE_UNSAFE_PROXY reported once',
    async (_what, setting) => {
      const { warnings, onWarning } = collector();
      const app = express();
      app.set('trust proxy', setting);
      app.use(
        rateLimit({
          onWarning,
          serializer: serializers.fastino,
          scopes: [scope.ip({ limits: perMinute(5) })],
        }),
      );
      app.get('/', (_req, res) => res.send('ok'));
      for (let i = 0; i < 2; i++) {
        const res = await request(app).get('/').set('X-Forwarded-For', `192.0.2.${i}`);
        expect(res.status).toBe(500);
        expect(res.headers['content-type']).toBe(serializers.fastino.contentType);
        expect(res.body.error.code).toBe('SERVER_ERROR');
        expect(res.text).not.toContain('<');
        expectMatchesSchema(serializers.fastino, res.body);
      }
      expect(warnings.map((w) => w.code)).toEqual(['ERR_TOLLGATE_UNSAFE_PROXY']);
    },
  );

  test.each([
    ['a hop count', 1],
    ['loopback', 'loopback'],
    ['a private subnet list', '10.0.0.0/8, 172.16.0.0/12'],
    ['a function trusting one address', (address: string) => address === '127.0.0.1'],
  ] as const)('trust proxy as %s is served', async (_what, setting) => {
    const app = express();
    app.set('trust proxy', setting);
    app.use(rateLimit({ scopes: [scope.ip({ limits: perMinute(5) })] }));
    app.get('/', (_req, res) => res.send('ok'));
    expect((await request(app).get('/')).status).toBe(200);
  });

  test('validate: { proxy: false } serves an app whose proxy is known to overwrite X-Forwarded-For', async () => {
    const app = express();
    app.set('trust proxy', true);
    app.use(rateLimit({ validate: { proxy: false }, scopes: [scope.ip({ limits: perMinute(5) })] }));
    app.get('/', (_req, res) => res.send('ok'));
    expect((await request(app).get('/')).status).toBe(200);
  });

  test('the usage endpoint under an unsafe proxy setting answers in the schema too', async () => {
    const app = express();
    app.set('trust proxy', true);
    const tollgate = createTollgate({ serializer: serializers.fastapi, onWarning: () => {} });
    const limiter = tollgate.limiter({ spendCap: { key: { header: 'x-user' }, budget: 10 } });
    app.get('/usage', tollgate.usageHandler(limiter));
    const res = await request(app).get('/usage').set('x-user', 'u1');
    expect(res.status).toBe(500);
    expectMatchesSchema(serializers.fastapi, res.body);
  });

  test('a key function that throws is a 500 in the schema, told to onError, never an HTML page', async () => {
    const errors: unknown[] = [];
    const app = express();
    app.use(
      rateLimit({
        serializer: serializers.firsthand,
        onError: (error) => errors.push(error),
        scopes: [
          {
            name: 'user',
            key: () => {
              throw new Error('session store down');
            },
            limits: perMinute(5),
          },
        ],
      }),
    );
    app.get('/', (_req, res) => res.send('ok'));
    const res = await request(app).get('/');
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toMatch(/json/);
    expect(res.text).not.toContain('session store down');
    expectMatchesSchema(serializers.firsthand, res.body);
    expect(errors).toEqual([expect.objectContaining({ message: 'session store down' })]);
  });

  test('an unknown tier, decided after a promise, is answered the same way', async () => {
    const errors: unknown[] = [];
    const app = express();
    app.use(
      rateLimit({
        onError: (error) => errors.push(error),
        scopes: [
          { name: 'ip', key: 'ip', tiers: { free: { limits: perMinute(5) } }, tier: async () => 'gold' },
        ],
      }),
    );
    app.get('/', (_req, res) => res.send('ok'));
    const res = await request(app).get('/');
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(errors).toEqual([expect.objectContaining({ code: 'ERR_TOLLGATE_UNKNOWN_TIER' })]);
  });
});

describe('notFound: an unmatched route in the schema, as in Koa', () => {
  test('answers 404 in the serializer, with the rate-limit headers of the limits it passed', async () => {
    const app = express();
    app.use(rateLimit({ headers: 'ratelimit', scopes: [scope.ip({ limits: perMinute(5) })] }));
    app.get('/known', (_req, res) => res.send('ok'));
    app.use(notFound({ serializer: serializers.fastino }));
    app.use(errorHandler({ serializer: serializers.fastino }));
    const res = await request(app).get('/unknown').set('X-Request-Id', 'nf-1');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe(serializers.fastino.contentType);
    expect(res.headers['ratelimit-remaining']).toBe('4');
    expect(res.headers['x-request-id']).toBe('nf-1');
    expectMatchesSchema(serializers.fastino, res.body);
  });
});

describe('createTollgate: one instance, shared settings', () => {
  function paymentsApp(tollgate: ReturnType<typeof createTollgate>): Express {
    const app = express();
    app.use(tollgate.limit({ scopes: [scope.ip({ limits: perMinute(10) })] }));
    app.post(
      '/v1/payments',
      express.json(),
      tollgate.limit({
        scopes: [scope.partner({ limits: perMinute(2) }), scope.payment({ limits: perMinute(5) })],
      }),
      (_req, res) => res.status(201).json({}),
    );
    app.use(tollgate.notFound());
    app.use(tollgate.errorHandler());
    return app;
  }

  test('every limit speaks the instance dialect and schema; stacked limits combine', async () => {
    const clock = createTestClock();
    const tollgate = createTollgate({ now: clock.now, headers: 'ratelimit', serializer: serializers.fluid });
    const app = paymentsApp(tollgate);
    const pay = () =>
      request(app).post('/v1/payments').set('X-Partner-Id', 'acme').send({ source_account: 'a1' });
    const first = await pay();
    expect(first.status).toBe(201);
    expect(first.headers['ratelimit-limit']).toBe('2');
    expect(first.headers['ratelimit-policy']).toBeUndefined();
    await pay();
    const refused = await pay();
    expect(refused.status).toBe(429);
    expect(refused.body.error.details).toMatchObject({ limit: 2, window: '1 minute' });
    // The refusal gave back the IP charge of the app-level limit: 2 charged, not 3.
    expect((await tollgate.state({ scope: 'ip', key: '::ffff:127.0.0.1' }))[0]).toMatchObject({
      remaining: 8,
    });
    const missing = await request(app).get('/nowhere');
    expect(missing.status).toBe(404);
    expectMatchesSchema(serializers.fluid, missing.body);
  });

  test('reset through the instance unblocks a partner without rebuilding the app; the clock moves every window', async () => {
    const clock = createTestClock();
    const tollgate = createTollgate({ now: clock.now });
    const app = paymentsApp(tollgate);
    const pay = () =>
      request(app).post('/v1/payments').set('X-Partner-Id', 'acme').send({ source_account: 'a1' });
    await pay();
    await pay();
    expect((await pay()).status).toBe(429);
    await tollgate.reset({ scope: 'partner', key: 'acme' });
    expect((await pay()).status).toBe(201);
    expect((await pay()).status).toBe(201);
    expect((await pay()).status).toBe(429);
    clock.advance('1m');
    expect((await pay()).status).toBe(201);
  });

  test('a limit may not set a shared option, and one scope name may not mean two sets of limits', () => {
    const tollgate = createTollgate({ headers: 'ratelimit' });
    expect(() =>
      tollgate.limit({ headers: 'ietf', scopes: [scope.ip({ limits: perMinute(1) })] } as never),
    ).toThrow(expect.objectContaining({ code: 'ERR_TOLLGATE_CONFLICTING_OPTIONS', path: 'headers' }));
    tollgate.limit({ scopes: [scope.ip({ limits: perMinute(1) })] });
    tollgate.limit({ scopes: [scope.ip({ limits: perMinute(1) })] });
    expect(() => tollgate.limit({ scopes: [scope.ip({ limits: perMinute(2) })] })).toThrow(
      expect.objectContaining({ code: 'ERR_TOLLGATE_CONFLICTING_OPTIONS', path: 'scopes[0].name' }),
    );
    expect(() => createTollgate({ scopes: [] } as never)).toThrow(/createTollgate options/);
  });

  test('every limit shares the one store, even without one given', async () => {
    const tollgate = createTollgate();
    const a = tollgate.limiter({ scopes: [scope.ip({ limits: perMinute(1) })] });
    const b = tollgate.limiter({ scopes: [scope.partner({ limits: perMinute(1) })] });
    expect(a.store).toBe(tollgate.store);
    expect(b.store).toBe(tollgate.store);
  });
});
