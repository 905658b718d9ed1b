/**
 * "FirstHand" on Koa: the same API as `examples/firsthand.ts` (Express), built on `tollgate/koa`.
 * Limits per API key by plan (Free 60 a minute and 600 an hour, Standard 100 and 1,000,
 * Enterprise custom), `X-RateLimit-*` headers reporting the per-minute window with a
 * Unix-seconds reset, `Retry-After` on 429 only, and the body
 * `{"error":{"type":"…","message":"…","request_id":"req_…"}}` for every error.
 *
 *   npm run example -- firsthand-koa
 *   curl -i -X POST localhost:3000/v1/jobs -H 'Authorization: Bearer fh_live_demo' \
 *     -H 'Content-Type: application/json' -d '{"url":"https://example.com"}'
 */
import { createServer, type Server } from 'node:http';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa, { type Middleware } from 'koa';
import { serializers } from '../lib/index.js';
import { errorHandler, HttpError, rateLimit } from '../lib/koa/index.js';
import { type FirsthandOptions, firsthandPolicy, type Job, newJob } from './firsthand.js';
import { bearerToken, closeOnSignals, type ExampleEnv, startedAs, storeFromEnv } from './support.js';

export type FirsthandKoaOptions = FirsthandOptions;

export function createApp(options: FirsthandKoaOptions = {}): Koa {
  const now = options.now ?? Date.now;
  const jobs = new Map<string, Job>();

  // One proxy in front: the address it appends to X-Forwarded-For is the client's. tollgate
  // refuses `proxy: true` without `maxIpsCount`, which would trust whatever the client wrote.
  const app = new Koa({ proxy: true, maxIpsCount: 1 });

  const limit = rateLimit(firsthandPolicy<Koa.Context>(options));

  // First, so that every error below, and tollgate's refusals, share FirstHand's body.
  app.use(errorHandler({ serializer: serializers.firsthand }));
  // Authentication comes before the limit: a request without a valid key has no counter to report.
  app.use((ctx, next) => (/^\/v1(\/|$)/.test(ctx.path) ? authenticate(ctx, () => limit(ctx, next)) : next()));

  const router = new Router({ prefix: '/v1' });
  router.post('/jobs', bodyParser(), (ctx) => {
    const job = newJob(ctx.request.body, now);
    jobs.set(job.id, job);
    ctx.status = 202;
    ctx.set('Location', `/v1/jobs/${job.id}`);
    ctx.body = job;
  });
  router.get('/jobs/:id', (ctx) => {
    const job = jobs.get(ctx.params.id!);
    if (job === undefined) throw new HttpError(404, `No job with id "${ctx.params.id}"`);
    ctx.body = job;
  });
  app.use(router.routes());
  app.use(() => {
    throw new HttpError(404, 'No such route');
  });
  return app;
}

const authenticate: Middleware = (ctx, next) => {
  const key = bearerToken(ctx.headers);
  if (key === undefined) throw new HttpError(401, 'Missing API key: send Authorization: Bearer fh_live_…');
  if (!key.startsWith('fh_live_')) throw new HttpError(401, 'Invalid API key');
  return next();
};

/** Listens on `PORT` (default 3000), on Redis when `REDIS_URL` is set; resolves to the listening server. */
export async function main(env: ExampleEnv = process.env): Promise<Server> {
  const { store, close } = await storeFromEnv(env);
  const app = createApp(store === undefined ? {} : { store });
  const server = createServer(app.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(env.PORT ?? 3000), () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.once('close', () => void close());
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : env.PORT;
  console.log(
    `firsthand-koa example listening on http://localhost:${port} (store: ${store === undefined ? 'memory' : 'redis'})`,
  );
  return server;
}

if (startedAs('firsthand-koa')) void main().then(closeOnSignals);
