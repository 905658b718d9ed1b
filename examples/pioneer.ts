/**
 * "Pioneer", an ML inference API: a global limit per client IP (1,000 a minute, 10,000 an
 * hour) on every route, per-user limits per endpoint stacked on top of it, the IETF
 * `RateLimit` / `RateLimit-Policy` fields, and FastAPI's `{"detail": …}` body.
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
import { errorHandler, HttpError, rateLimit } from '../lib/express.js';
import { MemoryStore, type RequestInfo, scope, serializers } from '../lib/index.js';
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
  { group: 'inference', perMinute: 1200, paths: ['/inference'] },
  {
    group: 'chat',
    perMinute: 200,
    paths: ['/v1/chat/completions', '/v1/completions', '/v1/responses', '/v1/messages'],
  },
  { group: 'gliner', perMinute: 15_000, paths: ['/gliner-2/:task'] },
  { group: 'generate', perMinute: 120, paths: ['/generate/:model'] },
  { group: 'training', perMinute: 20, paths: ['/felix/training-jobs'] },
] as const;

export type EndpointGroup = (typeof ENDPOINTS)[number]['group'];

/** `Authorization: Bearer pk_<user>` → `<user>`. */
export function userOf(req: Pick<RequestInfo, 'headers'>): string | undefined {
  const token = bearerToken(req.headers);
  return token?.startsWith('pk_') && token.length > 3 ? token.slice(3) : undefined;
}

export function createApp(options: ExampleOptions = {}): Express {
  const now = options.now ?? Date.now;
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

  for (const endpoint of ENDPOINTS) {
    // One middleware per group, mounted on each of its paths: the paths share its counters.
    const perUser = rateLimit({
      ...common,
      scopes: [
        scope.user({
          name: endpoint.group,
          key: userOf,
          limits: [{ max: endpoint.perMinute, window: '1m' }],
        }),
      ],
    });
    const guards = protect(perUser);
    for (const path of endpoint.paths)
      app.post(path, ...guards, express.json(), handlerFor(endpoint.group, now));
  }

  app.use((_req, _res, next) => next(new HttpError(404)));
  app.use(errorHandler({ serializer: serializers.fastapi }));
  return app;
}

/**
 * What stands before every authenticated endpoint, in order. The daily spending cap joins this
 * list, after the per-user limit, with the spending-cap issue; `GET /billing/usage/requests`
 * then mounts beside the endpoints, behind `authenticate` alone.
 */
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
