/**
 * The demo behind `npm start`: one Express server on the memory store with two scopes, every
 * header dialect, and the RFC 9457 problem body on refusals. Try it with the curl lines it prints.
 */
import express from 'express';
import { rateLimit } from '../lib/express/index.js';
import { scope } from '../lib/index.js';

export function createDemoApp() {
  const app = express();
  app.set('trust proxy', 1);
  app.use(
    rateLimit({
      headers: ['x-ratelimit', 'ratelimit', 'ietf'],
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
        scope.apiKey({
          code: 'key_rate_limited',
          onMissing: 'skip',
          tiers: {
            free: { limits: [{ max: 3, window: '1m' }] },
            pro: { limits: [{ max: 30, window: '1m' }] },
          },
          tier: (req) => (String(req.headers.authorization).includes('_pro_') ? 'pro' : 'free'),
        }),
      ],
    }),
  );
  app.get('/', (req, res) => {
    res.json({
      hello: 'tollgate',
      rateLimit: {
        scope: req.rateLimit?.scope,
        limit: req.rateLimit?.limit,
        remaining: req.rateLimit?.remaining,
      },
    });
  });
  return app;
}

export function main(): void {
  const port = Number(process.env.PORT ?? 3000);
  createDemoApp().listen(port, () => {
    const url = `http://localhost:${port}/`;
    console.log(`tollgate demo on ${url} (memory store)

Try:
  curl -i ${url}                                        # per-IP: 10/min, 100/h, burst 5
  for i in $(seq 1 7); do curl -s -o /dev/null -w '%{http_code}\\n' ${url}; done   # the burst runs out: 429
  curl -i -H 'Authorization: Bearer demo_free_key' ${url}   # adds the API-key scope, free tier 3/min
  curl -i -H 'Authorization: Bearer demo_pro_key' ${url}    # pro tier 30/min
`);
  });
}

const invoked = process.argv[1] ?? '';
if (invoked.endsWith('demo.ts') || invoked.endsWith('demo.js')) main();
