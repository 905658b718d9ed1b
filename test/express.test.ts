import type { Request } from 'express';
import express5 from 'express';
import express4 from 'express4';
import fc from 'fast-check';
import request from 'supertest';
import { createLimiter } from '../lib/core/limiter.js';
import { rateLimit } from '../lib/express/index.js';
import { MemoryStore } from '../lib/stores/memory/index.js';
import { manualClock } from './helpers/clock.js';

const versions = [
  ['express 5', express5],
  ['express 4', express4 as unknown as typeof express5],
] as const;

describe.each(versions)('%s', (_name, express) => {
  const perIp = (max: number) => ({ name: 'ip', key: 'ip' as const, limits: [{ max, window: '1m' }] });

  test('app.use() limits every route and exposes the decision on req.rateLimit', async () => {
    const clock = manualClock();
    const app = express();
    app.use(rateLimit({ now: clock.now, scopes: [perIp(2)] }));
    app.get('/a', (req, res) =>
      res.json({ remaining: req.rateLimit?.remaining, scope: req.rateLimit?.scope }),
    );
    app.get('/b', (_req, res) => res.send('b'));
    expect((await request(app).get('/a')).body).toEqual({ remaining: 1, scope: 'ip' });
    expect((await request(app).get('/b')).status).toBe(200);
    const refused = await request(app).get('/a');
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(refused.headers['x-request-id']).toMatch(/^req_[0-9A-Z]{26}$/);
    expect(refused.body).toMatchObject({
      status: 429,
      reason: 'ip_minute',
      'violated-policies': ['ip_minute'],
    });
  });

  test('a router limit covers only its routes', async () => {
    const app = express();
    const router = express.Router();
    router.use(rateLimit({ scopes: [perIp(1)] }));
    router.get('/x', (_req, res) => res.send('x'));
    app.use('/v1', router);
    app.get('/free', (_req, res) => res.send('free'));
    expect((await request(app).get('/v1/x')).status).toBe(200);
    expect((await request(app).get('/v1/x')).status).toBe(429);
    expect((await request(app).get('/free')).status).toBe(200);
  });

  test('a single route limit reads route parameters', async () => {
    const app = express();
    app.get(
      '/banks/:bankId/tx',
      rateLimit({
        scopes: [{ name: 'bank', key: { param: 'bankId' }, code: 1455, limits: [{ max: 1, window: '1m' }] }],
      }),
      (_req, res) => res.send('tx'),
    );
    expect((await request(app).get('/banks/b1/tx')).status).toBe(200);
    expect((await request(app).get('/banks/b1/tx')).status).toBe(429);
    expect((await request(app).get('/banks/b2/tx')).status).toBe(200);
  });

  test('router and route limits stack; a refusal by the route gives back the router charge', async () => {
    const clock = manualClock();
    const store = new MemoryStore({ now: clock.now });
    const app = express();
    const router = express.Router();
    router.use(
      rateLimit({
        store,
        now: clock.now,
        headers: 'ietf',
        scopes: [{ name: 'global', key: 'ip', limits: [{ max: 10, window: '1m' }] }],
      }),
    );
    router.post(
      '/generate',
      rateLimit({
        store,
        now: clock.now,
        headers: 'ietf',
        scopes: [{ name: 'generate', key: 'ip', limits: [{ max: 2, window: '1m' }] }],
      }),
      (req, res) => res.json({ policies: req.rateLimit?.policies.map((p) => `${p.id}=${p.remaining}`) }),
    );
    router.get('/other', (req, res) => res.json({ remaining: req.rateLimit?.remaining }));
    app.use(router);

    const first = await request(app).post('/generate');
    expect(first.body.policies).toEqual(['global_minute=9', 'generate_minute=1']);
    // Both policies are advertised; the one closest to refusing is reported.
    expect(first.headers['ratelimit-policy']).toBe('"global_minute";q=10;w=60, "generate_minute";q=2;w=60');
    expect(first.headers.ratelimit).toBe('"generate_minute";r=1;t=60');
    await request(app).post('/generate');
    for (let i = 0; i < 5; i++) {
      const refused = await request(app).post('/generate');
      expect(refused.status).toBe(429);
      expect(refused.headers['x-ratelimit-reason']).toBe('generate_minute');
    }
    // The five refusals took nothing from the global limit: 10 - 2 admitted - this one.
    expect((await request(app).get('/other')).body).toEqual({ remaining: 7 });
  });

  test('with trust proxy set to a hop count, a spoofed X-Forwarded-For lands in one bucket', async () => {
    const app = express();
    app.set('trust proxy', 1);
    app.use(rateLimit({ scopes: [perIp(3)] }));
    app.get('/', (req, res) => res.json({ ip: req.ip }));
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      // The client forges the left entries; the proxy appends the address it saw (198.51.100.9).
      const res = await request(app)
        .get('/')
        .set('X-Forwarded-For', `10.0.0.${i}, 172.16.${i}.1, 198.51.100.9`);
      statuses.push(res.status);
      if (res.status === 200) expect(res.body.ip).toBe('198.51.100.9');
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
  });

  test('the address counted is req.ip under every trust proxy setting, whatever X-Forwarded-For says', async () => {
    const settings: unknown[] = [
      false,
      0,
      1,
      2,
      3,
      'loopback',
      '127.0.0.1, ::1, ::ffff:127.0.0.1',
      ['loopback', '10.0.0.0/8'],
      'uniquelocal',
      (address: string, hop: number) => hop < 2 && address !== '10.0.0.66',
    ];
    const apps = settings.map((setting) => {
      const app = express();
      app.set('trust proxy', setting);
      let counted: string | undefined;
      app.use(
        rateLimit({
          scopes: [perIp(1_000_000)],
          onDecision: (_decision, req) => {
            counted = req.ip;
          },
        }),
      );
      app.get('/', (req, res) => res.json({ ip: req.ip ?? null, counted: counted ?? null }));
      return app;
    });
    const entry = fc.oneof(
      fc.ipV4(),
      fc.ipV6(),
      fc.constantFrom('10.0.0.66', '127.0.0.1', '::1', 'unknown', '', ' ', 'a b'),
    );
    const header = fc
      .array(fc.tuple(entry, fc.constantFrom('', ' ', '  ')), { minLength: 1, maxLength: 5 })
      .map((entries) => entries.map(([address, pad]) => `${pad}${address}${pad}`).join(','));
    await fc.assert(
      fc.asyncProperty(fc.nat(settings.length - 1), header, async (i, forwardedFor) => {
        const res = await request(apps[i]!).get('/').set('X-Forwarded-For', forwardedFor);
        expect(res.status).toBe(200);
        expect(res.body.counted).toBe(res.body.ip);
      }),
      { numRuns: 120 },
    );
  });

  test("an app's own req.ip is the address counted: on app.request, or set on one request", async () => {
    const app = express();
    app.set('trust proxy', 1);
    Object.defineProperty(app.request, 'ip', {
      configurable: true,
      get(this: Request) {
        return this.get('CF-Connecting-IP');
      },
    });
    app.use((req, _res, next) => {
      if (req.get('X-Test-Own') !== undefined)
        Object.defineProperty(req, 'ip', { value: req.get('X-Test-Own'), configurable: true });
      next();
    });
    app.use(rateLimit({ scopes: [perIp(1)] }));
    app.get('/', (req, res) => res.json({ ip: req.ip }));
    const first = await request(app)
      .get('/')
      .set('CF-Connecting-IP', '203.0.113.1')
      .set('X-Forwarded-For', '198.51.100.1');
    expect(first.status).toBe(200);
    expect(first.body.ip).toBe('203.0.113.1');
    // Same X-Forwarded-For, another connecting address: another bucket.
    expect(
      (
        await request(app)
          .get('/')
          .set('CF-Connecting-IP', '203.0.113.2')
          .set('X-Forwarded-For', '198.51.100.1')
      ).status,
    ).toBe(200);
    expect((await request(app).get('/').set('CF-Connecting-IP', '203.0.113.1')).status).toBe(429);
    expect(
      (await request(app).get('/').set('X-Test-Own', '203.0.113.3').set('CF-Connecting-IP', '203.0.113.1'))
        .status,
    ).toBe(200);
    expect((await request(app).get('/').set('X-Test-Own', '203.0.113.3')).status).toBe(429);
  });

  test('req.rateLimit set in a mounted sub-app is still there for the parent app, and stacks with it', async () => {
    const parent = express();
    const child = express();
    parent.use(rateLimit({ scopes: [{ name: 'outer', key: 'ip', limits: [{ max: 5, window: '1m' }] }] }));
    child.use(rateLimit({ scopes: [{ name: 'inner', key: 'ip', limits: [{ max: 1, window: '1m' }] }] }));
    child.get('/x', (_req, _res, next) => next());
    parent.use('/child', child);
    parent.use((req, res) =>
      res.json({ policies: req.rateLimit?.policies.map((p) => `${p.id}=${p.remaining}`) }),
    );
    expect((await request(parent).get('/child/x')).body).toEqual({
      policies: ['outer_minute=4', 'inner_minute=0'],
    });
    // The inner refusal gives back the outer charge: 5 - 1 admitted.
    expect((await request(parent).get('/child/x')).status).toBe(429);
    expect((await request(parent).get('/other')).body.policies).toEqual(['outer_minute=3']);
  });

  test('req.rateLimit is a plain property: assigning it changes neither stacking nor other apps', async () => {
    const app = express();
    const other = express();
    app.use(rateLimit({ scopes: [perIp(5)] }));
    app.use((req, _res, next) => {
      if (req.get('X-Drop') !== undefined) req.rateLimit = undefined;
      next();
    });
    app.use(rateLimit({ scopes: [{ name: 'second', key: 'ip', limits: [{ max: 5, window: '1m' }] }] }));
    app.get('/', (req, res) => res.json({ policies: req.rateLimit?.policies.map((p) => p.id) }));
    other.get('/', (req, res) =>
      res.json({ decision: req.rateLimit ?? null, own: Object.hasOwn(req, 'rateLimit') }),
    );
    expect((await request(app).get('/')).body.policies).toEqual(['ip_minute', 'second_minute']);
    expect((await request(app).get('/').set('X-Drop', '1')).body.policies).toEqual([
      'ip_minute',
      'second_minute',
    ]);
    expect((await request(other).get('/')).body).toEqual({ decision: null, own: false });
  });

  test('odd requests never crash: a huge key, odd headers, a forged body', async () => {
    const app = express();
    app.use(express.json());
    app.use(
      rateLimit({
        scopes: [
          { name: 'key', key: 'apiKey', onMissing: 'skip', limits: [{ max: 2, window: '1m' }] },
          {
            name: 'payment',
            key: { body: 'source_account' },
            onMissing: 'skip',
            limits: [{ max: 2, window: '1m' }],
          },
        ],
      }),
    );
    app.post('/', (_req, res) => res.send('ok'));
    // Node answers 431 itself past 16 KB of headers, before any middleware; 12 KB gets through.
    const huge = `Bearer ${'k'.repeat(12 * 1024)}`;
    expect((await request(app).post('/').set('Authorization', huge)).status).toBe(200);
    expect((await request(app).post('/').set('Authorization', huge)).status).toBe(200);
    expect((await request(app).post('/').set('Authorization', huge)).status).toBe(429);
    expect(
      (
        await request(app)
          .post('/')
          .send({ source_account: { $gt: '' } })
      ).status,
    ).toBe(200);
    expect(
      (
        await request(app)
          .post('/')
          .set('Authorization', 'Bearer a:b{c}')
          .send({ source_account: 'x'.repeat(5000) })
      ).status,
    ).toBe(200);
    expect((await request(app).post('/').set('Authorization', 'Bearer \u00ff\u00fe')).status).toBe(200);
  });

  test('an unknown tier is answered in the limiter schema and told to onError instead of hanging', async () => {
    const app = express();
    const errors: Array<{ code?: string }> = [];
    app.use(
      rateLimit({
        onError: (error) => errors.push(error as { code?: string }),
        scopes: [
          {
            name: 'k',
            key: 'ip',
            tiers: { free: { limits: [{ max: 1, window: '1m' }] } },
            tier: () => 'gold',
          },
        ],
      }),
    );
    app.get('/', (_req, res) => res.send('ok'));
    const res = await request(app).get('/');
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(errors.map((e) => e.code)).toEqual(['ERR_TOLLGATE_UNKNOWN_TIER']);
  });

  test('a prebuilt limiter can be shared by two mounts, which then share counters', async () => {
    const limiter = createLimiter<Request>({ scopes: [perIp(1)] });
    const app = express();
    app.get('/a', rateLimit(limiter), (_req, res) => res.send('a'));
    app.get('/b', rateLimit(limiter), (_req, res) => res.send('b'));
    expect((await request(app).get('/a')).status).toBe(200);
    expect((await request(app).get('/b')).status).toBe(429);
  });

  test('with the memory store the route runs in the same tick; an async key function still counts', async () => {
    const app = express();
    // The route answers whether it runs while the middleware call is still on the stack.
    let inMiddleware = false;
    const watched = (middleware: ReturnType<typeof rateLimit>) =>
      function watch(req: Request, res: express5.Response, next: express5.NextFunction) {
        inMiddleware = true;
        middleware(req, res, next);
        inMiddleware = false;
      };
    const answer = (_req: Request, res: express5.Response) => res.json({ sameTick: inMiddleware });
    app.get('/sync', watched(rateLimit({ scopes: [perIp(1)] })), answer);
    const userOf = async (req: { headers: Record<string, unknown> }) => req.headers['x-user'] as string;
    const perUser = { name: 'user', key: userOf, limits: [{ max: 1, window: '1m' }] };
    app.get('/async', watched(rateLimit({ scopes: [perUser] })), answer);
    expect((await request(app).get('/sync')).body).toEqual({ sameTick: true });
    expect((await request(app).get('/sync')).status).toBe(429);
    expect((await request(app).get('/async').set('x-user', 'u1')).body).toEqual({ sameTick: false });
    expect((await request(app).get('/async').set('x-user', 'u1')).status).toBe(429);
  });

  test('a limiter written against the Limiter interface is asked through check', async () => {
    const limiter = createLimiter<Request>({ scopes: [perIp(1)] });
    const handWritten: typeof limiter = { ...limiter };
    const app = express();
    app.get('/', rateLimit(handWritten), (_req, res) => res.send('ok'));
    expect((await request(app).get('/')).status).toBe(200);
    expect((await request(app).get('/')).status).toBe(429);
  });

  test('shadow mode lets every request through with the decision on req', async () => {
    const app = express();
    app.use(rateLimit({ shadow: true, scopes: [perIp(1)] }));
    app.get('/', (req, res) => res.json({ allowed: req.rateLimit?.allowed }));
    await request(app).get('/');
    const res = await request(app).get('/');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ allowed: false });
    expect(res.headers['retry-after']).toBeUndefined();
  });
});

describe.each([
  ['express 4', express4 as unknown as typeof express5],
  ['express 5', express5],
])('unsafe proxy settings, %s', (_name, express) => {
  const warned: string[] = [];
  const limited = () =>
    rateLimit({
      onWarning: (warning) => warned.push(warning.code),
      scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 100, window: '1m' }] }],
    });
  const answering = (app: express5.Express) => {
    app.get('/', (_req, res) => res.send('ok'));
    return app;
  };
  /** What a GET / answered: `ok`, or the code reported for the 500 it was answered with. */
  const answerOf = async (app: express5.Express, path = '/') => {
    warned.length = 0;
    const res = await request(app).get(path);
    if (res.status === 200) return res.text;
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    return warned[0] ?? 'reported before';
  };

  test('trust proxy set to true after the app has served is refused from the next request on', async () => {
    const app = express();
    app.set('trust proxy', 1);
    app.use(limited());
    answering(app);
    expect(await answerOf(app)).toBe('ok');
    app.set('trust proxy', true);
    expect(await answerOf(app)).toBe('ERR_TOLLGATE_UNSAFE_PROXY');
  });

  test("a sub-app is judged by its own setting, which it inherits from its parent's", async () => {
    const parent = express();
    parent.set('trust proxy', true);
    const inherits = express();
    inherits.use(limited());
    answering(inherits);
    const own = express();
    own.set('trust proxy', 1);
    own.use(limited());
    answering(own);
    parent.use('/inherits', inherits);
    parent.use('/own', own);
    expect(await answerOf(parent, '/inherits/')).toBe('ERR_TOLLGATE_UNSAFE_PROXY');
    expect(await answerOf(parent, '/own/')).toBe('ok');
  });
});

describe('unsafe proxy settings', () => {
  test('trust proxy: true is answered with a 500 in the schema and reported with ERR_TOLLGATE_UNSAFE_PROXY', async () => {
    const app = express5();
    app.set('trust proxy', true);
    const warnings: Array<{ code: string; message: string }> = [];
    app.use(
      rateLimit({
        onWarning: (warning) => warnings.push(warning),
        scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 1, window: '1m' }] }],
      }),
    );
    app.get('/', (_req, res) => res.send('ok'));
    const res = await request(app).get('/').set('X-Forwarded-For', '1.2.3.4');
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ status: 500, title: 'Internal Server Error' });
    expect(warnings).toEqual([
      expect.objectContaining({
        code: 'ERR_TOLLGATE_UNSAFE_PROXY',
        message: expect.stringMatching(/trust proxy/),
      }),
    ]);
  });
});
