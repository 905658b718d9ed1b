import type { NextFunction, Request, Response } from 'express';
import express5 from 'express';
import { rateLimit as expressRateLimit } from 'express-rate-limit';
import express4 from 'express4';
import request from 'supertest';
import { rateLimit } from '../lib/express.js';
import { MemoryStore } from '../lib/stores/memory.js';

const versions = [
  ['express 5', express5],
  ['express 4', express4 as unknown as typeof express5],
] as const;

const perIp = (name: string, max = 5) => ({ name, key: 'ip' as const, limits: [{ max, window: '1m' }] });

describe.each(versions)('%s: where req.rateLimit keeps the decision', (_name, express) => {
  test('req.rateLimit reads the decision, and is not among the request’s own keys', async () => {
    const app = express();
    app.use(rateLimit({ scopes: [perIp('ip')] }));
    app.get('/', (req, res) =>
      res.json({
        remaining: req.rateLimit?.remaining,
        own: Object.hasOwn(req, 'rateLimit'),
        listed: Object.keys(req).includes('rateLimit'),
        present: 'rateLimit' in req,
      }),
    );
    expect((await request(app).get('/')).body).toEqual({
      remaining: 4,
      own: false,
      listed: false,
      present: true,
    });
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
    // Requests that never met the limiter have no decision.
    expect((await request(parent).get('/elsewhere')).body).toEqual({ remaining: null });
  });

  test('an assigned req.rateLimit is what the next limiter combines with', async () => {
    const app = express();
    app.use(rateLimit({ scopes: [perIp('first')] }));
    app.use((req: Request, _res: Response, next: NextFunction) => {
      const first = req.rateLimit!;
      req.rateLimit = undefined;
      if (req.get('X-Keep') !== undefined) req.rateLimit = first;
      next();
    });
    app.use(rateLimit({ scopes: [perIp('second')] }));
    app.get('/', (req, res) => res.json(req.rateLimit?.policies.map((p) => p.id)));
    expect((await request(app).get('/')).body).toEqual(['second_minute']);
    expect((await request(app).get('/').set('X-Keep', '1')).body).toEqual(['first_minute', 'second_minute']);
  });

  test('without res.locals the decision is an own property of the request, read the same', async () => {
    const app = express();
    app.use((_req: Request, res: Response, next: NextFunction) => {
      (res as { locals?: unknown }).locals = undefined;
      next();
    });
    app.use(rateLimit({ scopes: [perIp('first')] }));
    app.use(rateLimit({ scopes: [perIp('second')] }));
    app.get('/', (req, res) =>
      res.json({ own: Object.hasOwn(req, 'rateLimit'), policies: req.rateLimit?.policies.map((p) => p.id) }),
    );
    expect((await request(app).get('/')).body).toEqual({
      own: true,
      policies: ['first_minute', 'second_minute'],
    });
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

  test('a value assigned to req.rateLimit before the first decision of a fresh Express gives way to it', async () => {
    let fresh: typeof express | undefined;
    jest.isolateModules(() => {
      fresh = require(_name === 'express 5' ? 'express' : 'express4') as typeof express;
    });
    const app = fresh!();
    app.use((req: Request, _res: Response, next: NextFunction) => {
      req.rateLimit = { note: 'set by the app' } as unknown as Request['rateLimit'];
      next();
    });
    app.use(rateLimit({ scopes: [perIp('ip')] }));
    app.get('/', (req, res) =>
      res.json({ remaining: req.rateLimit?.remaining, own: Object.hasOwn(req, 'rateLimit') }),
    );
    expect((await request(app).get('/')).body).toEqual({ remaining: 4, own: false });
    expect((await request(app).get('/')).body).toEqual({ remaining: 3, own: false });
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

  test('two copies of tollgate in one process combine each other’s decisions', async () => {
    let other: typeof rateLimit | undefined;
    jest.isolateModules(() => {
      other = (require('../lib/express.js') as { rateLimit: typeof rateLimit }).rateLimit;
    });
    expect(other).not.toBe(rateLimit);
    const app = express();
    app.use(rateLimit({ scopes: [perIp('first')] }));
    app.use(other!({ scopes: [perIp('second')] }));
    app.get('/', (req, res) => res.json(req.rateLimit?.policies.map((p) => p.id)));
    expect((await request(app).get('/')).body).toEqual(['first_minute', 'second_minute']);
  });

  test('a refusal by one copy of tollgate gives back what the other copy charged', async () => {
    let other: typeof rateLimit | undefined;
    jest.isolateModules(() => {
      other = (require('../lib/express.js') as { rateLimit: typeof rateLimit }).rateLimit;
    });
    const store = new MemoryStore();
    const app = express();
    app.use(rateLimit({ store, scopes: [perIp('first', 5)] }));
    app.use(other!({ scopes: [perIp('second', 1)] }));
    app.get('/', (req, res) => res.json(req.rateLimit?.policies.map((p) => `${p.id}=${p.remaining}`)));
    // The same counters, seen through the first limiter alone.
    const probe = express();
    probe.use(rateLimit({ store, scopes: [perIp('first', 5)] }));
    probe.get('/', (req, res) => res.json(req.rateLimit?.remaining));
    expect((await request(app).get('/')).body).toEqual(['first_minute=4', 'second_minute=0']);
    expect((await request(app).get('/')).status).toBe(429);
    // 5 - 1 admitted - 1 probe: the refused request's charge on the first limiter came back.
    expect((await request(probe).get('/')).body).toBe(3);
  });
});
