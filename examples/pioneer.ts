/**
 * "Pioneer", an ML inference API: a global limit per client IP (1,000 a minute, 10,000 an
 * hour) on every route, per-user limits per endpoint stacked on top of it, a daily spending
 * cap of 1,000 credits per user (`POST /generate/:model` costs 100, every other route 1) that
 * clears at 00:00 UTC, the IETF `RateLimit` / `RateLimit-Policy` fields, and FastAPI's
 * `{"detail": …}` body. `GET /billing/usage/requests` shows the caller's usage.
 *
 *   npm run example -- pioneer
 *   curl -i -X POST localhost:3000/v1/chat/completions -H 'Authorization: Bearer pk_ada' \
 *     -H 'Content-Type: application/json' -d '{"messages":[]}'
 */
import express, {
  type Express,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { errorHandler, HttpError, rateLimit, usageHandler } from '../lib/express/index.js';
import {
  createLimiter,
  MemoryStore,
  type RequestInfo,
  type SpendCapOptions,
  scope,
  serializers,
} from '../lib/index.js';
import {
  bearerToken,
  closeOnSignals,
  type ExampleEnv,
  type ExampleOptions,
  serve,
  startedAs,
} from './support.js';

/**
 * Per-user limits by endpoint group: one counter per user and group, so the four chat
 * endpoints share theirs, and every `/gliner-2/:task` (or `/generate/:model`) shares one.
 */
export const ENDPOINTS = [
  { group: 'inference', perMinute: 1200, credits: 1, paths: ['/inference'] },
  {
    group: 'chat',
    perMinute: 200,
    credits: 1,
    paths: ['/v1/chat/completions', '/v1/completions', '/v1/responses', '/v1/messages'],
  },
  { group: 'gliner', perMinute: 15_000, credits: 1, paths: ['/gliner-2/:task'] },
  { group: 'generate', perMinute: 120, credits: 100, paths: ['/generate/:model'] },
  { group: 'training', perMinute: 20, credits: 1, paths: ['/felix/training-jobs'] },
] as const;

/** Credits each user may spend per UTC day. */
export const DAILY_CREDITS = 1000;

export interface PioneerOptions extends ExampleOptions {
  /** Credits per user per UTC day. Defaults to `DAILY_CREDITS`. */
  dailyCredits?: number;
}

export type EndpointGroup = (typeof ENDPOINTS)[number]['group'];

/** `Authorization: Bearer pk_<user>` → `<user>`. */
export function userOf(req: Pick<RequestInfo, 'headers'>): string | undefined {
  const token = bearerToken(req.headers);
  return token?.startsWith('pk_') && token.length > 3 ? token.slice(3) : undefined;
}

export function createApp(options: PioneerOptions = {}): Express {
  const now = options.now ?? Date.now;
  // The cap every endpoint charges: one counter per user, whichever endpoint spends.
  const spendCap = (credits: number): SpendCapOptions<Request> => ({
    key: userOf,
    budget: options.dailyCredits ?? DAILY_CREDITS,
    cost: credits,
    code: 'daily_spend_cap_exceeded',
  });
  const store = options.store ?? new MemoryStore({ now });
  const common = { headers: 'ietf', serializer: serializers.fastapi, store, now } as const;

  const app = express();
  app.set('trust proxy', 1);
  app.disable('x-powered-by');

  // The global default, per client IP, on every route (unknown ones and failed logins too).
  app.use(
    rateLimit({
      ...common,
      scopes: [
        scope.ip({
          limits: [
            { max: 1000, window: '1m' },
            { max: 10_000, window: '1h' },
          ],
        }),
      ],
    }),
  );

  // The usage endpoint reads the same spend counter the endpoints charge.
  app.get(
    '/billing/usage/requests',
    authenticate,
    usageHandler(createLimiter({ ...common, spendCap: spendCap(0) })),
  );

  for (const endpoint of ENDPOINTS) {
    // One middleware per group, mounted on each of its paths: the paths share its counters.
    // The per-user limit and the day's credits are decided together, in one store call.
    const perUser = rateLimit({
      ...common,
      scopes: [
        scope.user({
          name: endpoint.group,
          key: userOf,
          limits: [{ max: endpoint.perMinute, window: '1m' }],
        }),
      ],
      spendCap: spendCap(endpoint.credits),
    });
    const guards = protect(perUser);
    for (const path of endpoint.paths)
      app.post(path, ...guards, express.json(), handlerFor(endpoint.group, now));
  }

  app.use((_req, _res, next) => next(new HttpError(404)));
  app.use(errorHandler({ serializer: serializers.fastapi }));
  return app;
}

/** What stands before every authenticated endpoint, in order: who, then how much. */
function protect(perUser: RequestHandler): RequestHandler[] {
  return [authenticate, perUser];
}

/** FastAPI's `HTTPBearer` answers. */
function authenticate(req: Request, _res: Response, next: NextFunction): void {
  const headers = { 'WWW-Authenticate': 'Bearer' };
  if (req.headers.authorization === undefined) {
    next(new HttpError(401, 'Not authenticated', { headers }));
    return;
  }
  if (userOf(req) === undefined) {
    next(new HttpError(401, 'Invalid authentication credentials', { headers }));
    return;
  }
  next();
}

function handlerFor(group: EndpointGroup, now: () => number): RequestHandler {
  return function respond(req, res) {
    const user = userOf(req);
    const created = Math.floor(now() / 1000);
    switch (group) {
      case 'training':
        res.status(202).json({ id: `ftjob_${created}`, status: 'queued', user });
        return;
      case 'generate':
        res.json({ model: req.params.model, output: 'Once upon a time…', created });
        return;
      case 'gliner':
        res.json({ task: req.params.task, entities: [], created });
        return;
      default:
        res.json({ object: group === 'chat' ? 'chat.completion' : 'inference', output: 'Hello.', created });
    }
  };
}

export async function main(env: ExampleEnv = process.env) {
  return serve('pioneer', createApp, env);
}

if (startedAs('pioneer')) void main().then(closeOnSignals);
