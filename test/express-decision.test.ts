import type { NextFunction, Request, Response } from 'express';
import express5 from 'express';
import { rateLimit as expressRateLimit } from 'express-rate-limit';
import express4 from 'express4';
import request from 'supertest';
import { createLimiter } from '../lib/core/limiter.js';
import { rateLimit, rateLimitOf } from '../lib/express/index.js';

const versions = [
  ['express 5', express5],
  ['express 4', express4 as unknown as typeof express5],
] as const;

const perIp = (name: string, max = 5) => ({ name, key: 'ip' as const, limits: [{ max, window: '1m' }] });

describe.each(versions)('%s: where the decision is kept', (_name, express) => {
  test('req.rateLimit is an own, enumerable property; res.locals.rateLimit and rateLimitOf(req) are the same decision', async () => {
    const app = express();
    app.use(rateLimit({ scopes: [perIp('ip')] }));
    app.get('/', (req, res) =>
      res.json({
        remaining: req.rateLimit?.remaining,
        own: Object.hasOwn(req, 'rateLimit'),
        listed: Object.keys(req).includes('rateLimit'),
        locals: res.locals.rateLimit === req.rateLimit,
        reader: rateLimitOf(req) === req.rateLimit,
      }),
    );
    expect((await request(app).get('/')).body).toEqual({
      remaining: 4,
      own: true,
      listed: true,
      locals: true,
      reader: true,
    });
  });

  test('no framework prototype is changed: an app that never mounts tollgate has no rateLimit on its requests', async () => {
    const withTollgate = express();
    withTollgate.use(rateLimit({ scopes: [perIp('ip')] }));
    withTollgate.get('/', (_req, res) => res.send('ok'));
    await request(withTollgate).get('/');
    const plain = express();
    plain.get('/', (req, res) => res.json({ present: 'rateLimit' in req, reader: rateLimitOf(req) ?? null }));
    expect((await request(plain).get('/')).body).toEqual({ present: false, reader: null });
    expect(Object.getOwnPropertyNames(express.request)).not.toContain('rateLimit');
    expect(Object.getOwnPropertyNames(withTollgate.request)).not.toContain('rateLimit');
  });

  test('requestPropertyName puts the decision under another name, on req and res.locals', async () => {
    const app = express();
    app.use(rateLimit({ scopes: [perIp('ip')], requestPropertyName: 'quota' }));
    app.get('/', (req, res) =>
      res.json({
        quota: (req as unknown as { quota?: { remaining: number } }).quota?.remaining,
        locals: (res.locals.quota as { remaining: number } | undefined)?.remaining,
        rateLimit: 'rateLimit' in req,
        reader: rateLimitOf(req)?.remaining,
      }),
    );
    expect((await request(app).get('/')).body).toEqual({ quota: 4, locals: 4, rateLimit: false, reader: 4 });
  });

  test('a decision made in a mounted sub-app reads the same in the parent app after it', async () => {
    const parent = express();
    const child = express();
    child.use(rateLimit({ scopes: [perIp('inner', 2)] }));
    parent.use('/child', child);
    parent.use((req, res) => res.json({ remaining: req.rateLimit?.remaining ?? null }));
    expect((await request(parent).get('/child/x')).body).toEqual({ remaining: 1 });
    expect((await request(parent).get('/child/x')).body).toEqual({ remaining: 0 });
    expect((await request(parent).get('/child/x')).status).toBe(429);
    expect((await request(parent).get('/elsewhere')).body).toEqual({ remaining: null });
  });

  test('what another middleware assigns to req.rateLimit does not change what stacked limiters combine', async () => {
    const app = express();
    app.use(rateLimit({ scopes: [perIp('first')] }));
    app.use((req: Request, _res: Response, next: NextFunction) => {
      req.rateLimit = undefined;
      next();
    });
    app.use(rateLimit({ scopes: [perIp('second')] }));
    app.get('/', (req, res) => res.json(req.rateLimit?.policies.map((p) => p.id)));
    expect((await request(app).get('/')).body).toEqual(['first_minute', 'second_minute']);
  });

  test('code that replaces res.locals wholesale does not lose the decision for stacked limiters', async () => {
    const app = express();
    app.use(rateLimit({ scopes: [perIp('first')] }));
    app.use((_req: Request, res: Response, next: NextFunction) => {
      res.locals = {};
      next();
    });
    app.use(rateLimit({ scopes: [perIp('second')] }));
    app.get('/', (req, res) => res.json(rateLimitOf(req)?.policies.map((p) => p.id)));
    expect((await request(app).get('/')).body).toEqual(['first_minute', 'second_minute']);
  });

  test('without res.locals the decision is still on req, and stacked limiters still combine', async () => {
    const app = express();
    app.use((_req: Request, res: Response, next: NextFunction) => {
      (res as { locals?: unknown }).locals = undefined;
      next();
    });
    app.use(rateLimit({ scopes: [perIp('first')] }));
    app.use(rateLimit({ scopes: [perIp('second')] }));
    app.get('/', (req, res) => res.json(req.rateLimit?.policies.map((p) => p.id)));
    const answer = await request(app).get('/');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(['first_minute', 'second_minute']);
  });

  test('an app mounted after it has served requests, or in two apps, shows its decision in each parent', async () => {
    const child = express();
    child.use(rateLimit({ scopes: [perIp('inner', 9)] }));
    child.get('/alone', (req, res) => res.json({ remaining: req.rateLimit?.remaining }));
    expect((await request(child).get('/alone')).body).toEqual({ remaining: 8 });
    const first = express();
    const second = express();
    for (const parent of [first, second]) {
      parent.use('/child', child);
      parent.use((req, res) => res.json({ remaining: req.rateLimit?.remaining ?? null }));
    }
    expect((await request(first).get('/child/x')).body).toEqual({ remaining: 7 });
    expect((await request(second).get('/child/x')).body).toEqual({ remaining: 6 });
  });

  test('a limiter wrapped by hand keeps its requestPropertyName', async () => {
    const limiter = createLimiter<Request>({ scopes: [perIp('ip')], requestPropertyName: 'quota' });
    const app = express();
    app.use(rateLimit({ ...limiter }));
    app.get('/', (req, res) => res.json({ quota: 'quota' in req, rateLimit: 'rateLimit' in req }));
    expect((await request(app).get('/')).body).toEqual({ quota: true, rateLimit: false });
  });

  test('express-rate-limit before tollgate, on its default req.rateLimit, is not taken for a decision', async () => {
    const app = express();
    app.use(expressRateLimit({ windowMs: 60_000, limit: 100, standardHeaders: false, legacyHeaders: false }));
    app.use(rateLimit({ scopes: [perIp('ip')] }));
    app.get('/', (req, res) => res.json(req.rateLimit?.policies.map((p) => p.id)));
    const answer = await request(app).get('/');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(['ip_minute']);
  });
});
