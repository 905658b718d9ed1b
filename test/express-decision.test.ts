import type { NextFunction, Request, Response } from 'express';
import express5 from 'express';
import express4 from 'express4';
import request from 'supertest';
import { rateLimit } from '../lib/express.js';

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
});
