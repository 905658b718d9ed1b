/**
 * The demo behind `npm start`: one Express server on the memory store. `/` is limited per
 * client IP with a burst allowance; `/api` per API key, in a free or a pro tier. Every header
 * dialect is on, and refusals carry the RFC 9457 problem body. It prints curl lines to run in
 * order; Ctrl-C (or SIGTERM) stops it.
 */
import type { Server } from 'node:http';
import express, { type Express } from 'express';
import { createTollgate } from '../lib/express/index.js';
import { scope } from '../lib/index.js';

export interface DemoOptions {
  /** The clock, ms since epoch (tests). Defaults to `Date.now`. */
  now?: () => number;
}

export function createDemoApp(options: DemoOptions = {}): Express {
  const tollgate = createTollgate({
    headers: ['x-ratelimit', 'ratelimit', 'ietf'],
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  const app = express();
  app.set('trust proxy', 1);
  app.disable('x-powered-by');

  const perIp = tollgate.limit({
    scopes: [
      scope.ip({
        code: 'ip_rate_limited',
        limits: [
          { max: 10, window: '1m' },
          { max: 100, window: '1h' },
        ],
        burst: 5,
        headerLimit: 'minute',
      }),
    ],
  });
  // No key is a 401 (an apiKey scope refuses keyless requests); the tier comes from the key.
  const perKey = tollgate.limit({
    scopes: [
      scope.apiKey({
        code: 'key_rate_limited',
        tiers: {
          free: { limits: [{ max: 3, window: '1m' }] },
          pro: { limits: [{ max: 30, window: '1m' }] },
        },
        tier: (req) => (String(req.headers.authorization).includes('_pro_') ? 'pro' : 'free'),
      }),
    ],
  });

  app.get('/', perIp, (req, res) => {
    res.json({ hello: 'tollgate', limit: req.rateLimit?.limit, remaining: req.rateLimit?.remaining });
  });
  app.get('/api', perKey, (req, res) => {
    const tier = req.rateLimit?.policies[0]?.tier;
    res.json({ tier, limit: req.rateLimit?.limit, remaining: req.rateLimit?.remaining });
  });
  app.use(tollgate.notFound());
  app.use(tollgate.errorHandler());
  return app;
}

/** What to try, in order, each line with what it shows. */
export function demoLines(url: string): string[] {
  const codes = `curl -s -o /dev/null -w '%{http_code} '`;
  return [
    `curl -i ${url}/                          # per IP: 10 a minute, 100 an hour, a burst of 5`,
    `for i in 1 2 3 4 5 6; do ${codes} ${url}/; done; echo   # 200s until the burst of 5 is spent, then 429`,
    `curl -i -H 'Authorization: Bearer demo_free_key' ${url}/api   # free tier: 3 a minute`,
    `for i in 1 2 3; do ${codes} -H 'Authorization: Bearer demo_free_key' ${url}/api; done; echo   # 200 200 429: with the line above, 3 a minute`,
    `curl -i -H 'Authorization: Bearer demo_pro_key' ${url}/api    # pro tier: 30 a minute, its own counter`,
    `curl -i ${url}/api                       # no API key: 401`,
  ];
}

/** Starts the demo on `PORT` (default 3000); SIGINT and SIGTERM close it and end the process. */
export function main(): Server {
  const port = Number(process.env.PORT ?? 3000);
  const server = createDemoApp().listen(port, () => {
    const address = server.address();
    const actual = typeof address === 'object' && address !== null ? address.port : port;
    const url = `http://localhost:${actual}`;
    console.log(`tollgate demo on ${url} (memory store). Try, in order:\n\n${demoLines(url).join('\n')}\n`);
  });
  const stop = () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return server;
}

const invoked = process.argv[1] ?? '';
if (invoked.endsWith('demo.ts') || invoked.endsWith('demo.js')) main();
