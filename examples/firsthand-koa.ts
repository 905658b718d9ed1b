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
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa, { type Middleware } from 'koa';
import { MemoryStore, scope, serializers, type TierOptions } from '../lib/index.js';
import { errorHandler, HttpError, rateLimit } from '../lib/koa.js';
import {
  bearerToken,
  closeOnSignals,
  type ExampleEnv,
  type ExampleOptions,
  startedAs,
  storeFromEnv,
} from './support.js';

export interface FirsthandKoaOptions extends ExampleOptions {
  /** Enterprise keys and their custom limits. */
  enterprise?: { keys: readonly string[]; perMinute: number; perHour: number };
}

/** Plans by key. `headerLimit: 'minute'`: the headers report the per-minute window, even when the hour binds. */
const PLANS = {
  free: {
    limits: [
      { max: 60, window: '1m' },
      { max: 600, window: '1h' },
    ],
    headerLimit: 'minute',
  },
  standard: {
    limits: [
      { max: 100, window: '1m' },
      { max: 1000, window: '1h' },
    ],
    headerLimit: 'minute',
  },
} satisfies Record<string, TierOptions>;

interface Job {
  id: string;
  status: 'queued';
  url: string;
  created_at: string;
}

export function createApp(options: FirsthandKoaOptions = {}): Koa {
  const now = options.now ?? Date.now;
  const store = options.store ?? new MemoryStore({ now });
  const enterprise = options.enterprise;
  const enterpriseKeys = new Set(enterprise?.keys);
  const jobs = new Map<string, Job>();

  // One proxy in front: the address it appends to X-Forwarded-For is the client's. tollgate
  // refuses `proxy: true` without `maxIpsCount`, which would trust whatever the client wrote.
  const app = new Koa({ proxy: true, maxIpsCount: 1 });

  const limit = rateLimit({
    scopes: [
      // Per key, not per organisation: two keys of one organisation count separately.
      scope.apiKey({
        code: 'rate_limit_error',
        tiers: {
          ...PLANS,
          ...(enterprise === undefined
            ? {}
            : {
                enterprise: {
                  limits: [
                    { max: enterprise.perMinute, window: '1m' },
                    { max: enterprise.perHour, window: '1h' },
                  ],
                  headerLimit: 'minute',
                },
              }),
        },
        tier: (req) => {
          const key = bearerToken(req.headers) ?? '';
          if (enterpriseKeys.has(key)) return 'enterprise';
          return key.includes('_std_') ? 'standard' : 'free';
        },
      }),
    ],
    headers: 'x-ratelimit',
    resetFormat: 'unix',
    serializer: serializers.firsthand,
    store,
    now,
  });

  // First, so that every error below, and tollgate's refusals, share FirstHand's body.
  app.use(errorHandler({ serializer: serializers.firsthand }));
  // Authentication comes before the limit: a request without a valid key has no counter to report.
  app.use((ctx, next) => (/^\/v1(\/|$)/.test(ctx.path) ? authenticate(ctx, () => limit(ctx, next)) : next()));

  const router = new Router({ prefix: '/v1' });
  router.post('/jobs', bodyParser(), (ctx) => {
    const url = validUrl(ctx.request.body);
    const job: Job = {
      id: `job_${randomUUID()}`,
      status: 'queued',
      url,
      created_at: new Date(now()).toISOString(),
    };
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

function validUrl(body: unknown): string {
  const url = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).url : undefined;
  if (typeof url !== 'string' || !URL.canParse(url) || !/^https?:/.test(url))
    throw new HttpError(400, '"url" must be an http or https URL');
  return url;
}

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
