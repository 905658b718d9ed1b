/**
 * "FirstHand", a data-collection jobs API: limits per API key by plan (Free 60 a minute and
 * 600 an hour, Standard 100 and 1,000, Enterprise custom), `X-RateLimit-*` headers reporting the
 * per-minute window with a Unix-seconds reset, `Retry-After` on 429 only, and the body
 * `{"error":{"type":"…","message":"…","request_id":"req_…"}}`.
 *
 *   npm run example -- firsthand
 *   curl -i -X POST localhost:3000/v1/jobs -H 'Authorization: Bearer fh_live_demo' \
 *     -H 'Content-Type: application/json' -d '{"url":"https://example.com"}'
 */
import { randomUUID } from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { errorHandler, HttpError, rateLimit } from '../lib/express/index.js';
import { MemoryStore, scope, serializers, type TierOptions, type TollgateOptions } from '../lib/index.js';
import {
  bearerToken,
  closeOnSignals,
  type ExampleEnv,
  type ExampleOptions,
  serve,
  startedAs,
} from './support.js';

export interface FirsthandOptions extends ExampleOptions {
  /** Enterprise keys and their custom limits. */
  enterprise?: { keys: readonly string[]; perMinute: number; perHour: number };
}

/** Plans by key. `headerLimit: 'minute'`: the headers report the per-minute window, even when the hour binds. */
export const PLANS = {
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

/** A key containing `_std_` is on the Standard plan; any other key is Free, unless listed as Enterprise. */
export function planOf(key: string, enterpriseKeys: ReadonlySet<string>): 'free' | 'standard' | 'enterprise' {
  if (enterpriseKeys.has(key)) return 'enterprise';
  return key.includes('_std_') ? 'standard' : 'free';
}

export interface Job {
  id: string;
  status: 'queued';
  url: string;
  created_at: string;
}

/** FirstHand's limits, headers and body, for any framework: the Koa version mounts the same. */
export function firsthandPolicy<Raw>(options: FirsthandOptions = {}): TollgateOptions<Raw> {
  const now = options.now ?? Date.now;
  const store = options.store ?? new MemoryStore({ now });
  const enterprise = options.enterprise;
  const enterpriseKeys = new Set(enterprise?.keys);
  return {
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
        tier: (req) => planOf(bearerToken(req.headers) ?? '', enterpriseKeys),
      }),
    ],
    headers: 'x-ratelimit',
    resetFormat: 'unix',
    serializer: serializers.firsthand,
    store,
    now,
  };
}

/** A new job for a valid `{"url": …}` body; a 400 `HttpError` otherwise. */
export function newJob(body: unknown, now: () => number): Job {
  return {
    id: `job_${randomUUID()}`,
    status: 'queued',
    url: validUrl(body),
    created_at: new Date(now()).toISOString(),
  };
}

export function createApp(options: FirsthandOptions = {}): Express {
  const now = options.now ?? Date.now;
  const jobs = new Map<string, Job>();

  const app = express();
  app.set('trust proxy', 1);
  app.disable('x-powered-by');

  const limit = rateLimit(firsthandPolicy<Request>(options));

  // Authentication comes first: a request without a valid key has no counter to report.
  app.use('/v1', authenticate, limit);

  app.post('/v1/jobs', express.json(), (req, res) => {
    const job = newJob(req.body, now);
    jobs.set(job.id, job);
    res.status(202).location(`/v1/jobs/${job.id}`).json(job);
  });

  app.get('/v1/jobs/:id', (req, res) => {
    const job = jobs.get(req.params.id as string);
    if (job === undefined) throw new HttpError(404, `No job with id "${req.params.id}"`);
    res.json(job);
  });

  app.use((_req, _res, next) => next(new HttpError(404, 'No such route')));
  app.use(errorHandler({ serializer: serializers.firsthand }));
  return app;
}

function authenticate(req: Request, _res: Response, next: NextFunction): void {
  const key = bearerToken(req.headers);
  if (key === undefined) {
    next(new HttpError(401, 'Missing API key: send Authorization: Bearer fh_live_…'));
    return;
  }
  if (!key.startsWith('fh_live_')) {
    next(new HttpError(401, 'Invalid API key'));
    return;
  }
  next();
}

function validUrl(body: unknown): string {
  const url = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).url : undefined;
  if (typeof url !== 'string' || !URL.canParse(url) || !/^https?:/.test(url))
    throw new HttpError(400, '"url" must be an http or https URL');
  return url;
}

export async function main(env: ExampleEnv = process.env) {
  return serve('firsthand', createApp, env);
}

if (startedAs('firsthand')) void main().then(closeOnSignals);
