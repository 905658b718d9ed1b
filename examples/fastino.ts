/**
 * "Fastino", a personalization API: 60 requests a minute per API key (enterprise keys up to
 * 2,000), `X-RateLimit-*` headers with an ISO-8601 reset on every response, and one error body
 * for every error: `{"error":{"code":"…","message":"…","details":{…,"request_id":"…"}}}`.
 *
 *   npm run example -- fastino
 *   curl -i localhost:3000/v1/users/alice/summary -H 'Authorization: Bearer fk_demo'
 */
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { errorHandler, HttpError, rateLimit } from '../lib/express/index.js';
import { MemoryStore, scope, serializers } from '../lib/index.js';
import {
  bearerToken,
  closeOnSignals,
  type ExampleEnv,
  type ExampleOptions,
  serve,
  startedAs,
} from './support.js';

export interface FastinoOptions extends ExampleOptions {
  /** Keys on the enterprise/partner plan and its per-minute limit: Fastino allows up to 2,000. */
  enterprise?: { keys: readonly string[]; perMinute: number };
  /** The engine behind `POST /v1/query`. Defaults to a canned answer; tests swap it to fail or stall. */
  query?: (request: QueryRequest) => Promise<unknown>;
  /** How long `POST /v1/query` waits for the engine before answering 504 `TIMEOUT`. Defaults to 10 s. */
  queryTimeoutMs?: number;
}

export interface QueryRequest {
  user_id: string;
  query: string;
}

/** The production limit: 60 requests a minute per key. */
export const PRODUCTION_PER_MINUTE = 60;
export const ENTERPRISE_MAX_PER_MINUTE = 2000;

const USERS: Readonly<Record<string, { name: string; summary: string }>> = {
  alice: {
    name: 'Alice',
    summary: 'Reads long-form science writing in the evening; prefers concise answers.',
  },
  bob: { name: 'Bob', summary: 'Follows football and cooking; asks for step-by-step instructions.' },
};

/** Keys with this prefix may read but not query: they stand for a key without the `query` scope. */
const READ_ONLY_PREFIX = 'fk_readonly_';

export function createApp(options: FastinoOptions = {}): Express {
  const now = options.now ?? Date.now;
  const store = options.store ?? new MemoryStore({ now });
  const enterprise = options.enterprise;
  if (
    enterprise !== undefined &&
    !(enterprise.perMinute >= 1 && enterprise.perMinute <= ENTERPRISE_MAX_PER_MINUTE)
  )
    throw new RangeError(`enterprise.perMinute must be 1 to ${ENTERPRISE_MAX_PER_MINUTE}`);
  const enterpriseKeys = new Set(enterprise?.keys);
  const query = options.query ?? cannedQuery;
  const queryTimeoutMs = options.queryTimeoutMs ?? 10_000;

  const app = express();
  app.set('trust proxy', 1);
  app.disable('x-powered-by');

  const limit = rateLimit({
    scopes: [
      scope.apiKey({
        code: 'RATE_LIMIT_EXCEEDED',
        tiers: {
          production: { limits: [{ max: PRODUCTION_PER_MINUTE, window: '1m' }] },
          ...(enterprise === undefined
            ? {}
            : { enterprise: { limits: [{ max: enterprise.perMinute, window: '1m' }] } }),
        },
        tier: (req) => (enterpriseKeys.has(bearerToken(req.headers) ?? '') ? 'enterprise' : 'production'),
      }),
    ],
    headers: 'x-ratelimit',
    resetFormat: 'iso',
    serializer: serializers.fastino,
    store,
    now,
  });

  // Authentication comes first: a request without a valid key has no counter to report.
  app.use('/v1', authenticate, limit);

  app.get('/v1/users/:id/summary', (req, res) => {
    const id = req.params.id as string;
    const user = USERS[id];
    if (user === undefined) throw userNotFound(id);
    res.json({ user_id: id, name: user.name, summary: user.summary });
  });

  app.post('/v1/query', requireScope('query'), express.json(), async (req, res) => {
    const body = validQuery(req.body);
    if (USERS[body.user_id] === undefined) throw userNotFound(body.user_id);
    const result = await withTimeout(query(body), queryTimeoutMs);
    res.json({ user_id: body.user_id, result });
  });

  app.use((_req, _res, next) => next(new HttpError(404, 'No such route', { code: 'NOT_FOUND' })));
  app.use(errorHandler({ serializer: serializers.fastino }));
  return app;
}

function authenticate(req: Request, _res: Response, next: NextFunction): void {
  const token = bearerToken(req.headers);
  if (token === undefined || !token.startsWith('fk_')) {
    next(
      new HttpError(401, 'Missing or invalid API key: send Authorization: Bearer fk_…', {
        code: 'UNAUTHORIZED',
        headers: { 'WWW-Authenticate': 'Bearer realm="fastino"' },
      }),
    );
    return;
  }
  next();
}

function requireScope(name: string) {
  return function requireScope(req: Request, _res: Response, next: NextFunction): void {
    if (bearerToken(req.headers)?.startsWith(READ_ONLY_PREFIX)) {
      next(new HttpError(403, `This API key lacks the "${name}" scope`, { code: 'FORBIDDEN' }));
      return;
    }
    next();
  };
}

function userNotFound(id: string): HttpError {
  return new HttpError(404, `User "${id}" not found`, { code: 'USER_NOT_FOUND', details: { user_id: id } });
}

function validQuery(body: unknown): QueryRequest {
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  for (const field of ['user_id', 'query'] as const) {
    if (typeof fields[field] !== 'string' || fields[field] === '')
      throw new HttpError(400, `"${field}" must be a non-empty string`, {
        code: 'INVALID_REQUEST',
        details: { field },
      });
  }
  return { user_id: fields.user_id as string, query: fields.query as string };
}

async function cannedQuery(request: QueryRequest): Promise<unknown> {
  return { answer: `Personalized results for "${request.query}"`, items: [] };
}

/** Fastino answers a query that runs too long with 504 `TIMEOUT`: retry once with a smaller payload. */
async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new HttpError(504, 'The query did not finish in time; retry once with a smaller payload', {
            code: 'TIMEOUT',
          }),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function main(env: ExampleEnv = process.env) {
  return serve('fastino', createApp, env);
}

if (startedAs('fastino')) void main().then(closeOnSignals);
