import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Decision } from './decision.js';
import { createLimiter, type Limiter } from './limiter.js';
import type { TollgateOptions } from './options.js';
import type { RequestInfo } from './request.js';

declare global {
  namespace Express {
    interface Request {
      /** tollgate's decision for this request, combined across stacked tollgate middleware. */
      rateLimit?: Decision;
    }
  }
}

export type ExpressOptions = TollgateOptions<Request>;

/** The core's view of an Express request; `req.ip` already honours `trust proxy`. */
export function describeRequest(req: Request): RequestInfo<Request> {
  return {
    ip: req.ip,
    method: req.method,
    path: req.path,
    headers: req.headers,
    params: req.params,
    // Express 5 parses the query string on access: only pay for it when a key needs it.
    get query() {
      return req.query;
    },
    body: req.body,
    raw: req,
  };
}

/**
 * Express middleware enforcing every scope of `options` in one store call per request.
 * Mount it with `app.use()`, on a router, or on a single route; stacked instances combine.
 * @example
 * app.use(rateLimit({
 *   scopes: [{ name: 'ip', key: 'ip', code: 1453, limits: [{ max: 100, window: '1m' }, { max: 6000, window: '1h' }], burst: 20 }],
 *   headers: ['ratelimit'],
 * }));
 */
export function rateLimit(options: ExpressOptions | Limiter<Request>): RequestHandler {
  const limiter = 'check' in options ? options : createLimiter(options);

  return async function tollgate(req: Request, res: Response, next: NextFunction): Promise<void> {
    let info: RequestInfo<Request> | undefined;
    let decision: Decision | undefined;
    try {
      info = describeRequest(req);
      decision = await limiter.check(info);
    } catch (error) {
      next(error);
      return;
    }
    if (decision === undefined) {
      next();
      return;
    }
    const earlier = req.rateLimit;
    const combined = earlier === undefined ? decision : limiter.combine(earlier, decision);
    req.rateLimit = combined;

    if (combined.allowed || combined.shadow) {
      for (const [name, value] of combined.headers) res.setHeader(name, value);
      next();
      return;
    }
    // A refusal here must not leave the charges of tollgate middleware mounted earlier.
    if (earlier !== undefined) {
      try {
        await limiter.refund(earlier);
      } catch (error) {
        next(error);
        return;
      }
    }
    sendRefusal(res, limiter, combined, info);
  };
}

function sendRefusal(
  res: Response,
  limiter: Limiter<Request>,
  decision: Decision,
  info: RequestInfo<Request>,
): void {
  const refusal = limiter.refusal(decision, info);
  res.statusCode = refusal.status;
  for (const [name, value] of refusal.headers) res.setHeader(name, value);
  res.setHeader('X-Request-Id', refusal.requestId);
  res.setHeader('Content-Type', refusal.contentType);
  res.setHeader('Cache-Control', 'no-store');
  res.end(refusal.body);
}
