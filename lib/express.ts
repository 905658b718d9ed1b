import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { decisionOf } from './adapter.js';
import type { Decision } from './decision.js';
import { TollgateConfigError } from './errors.js';
import { decisionOn, putDecision } from './express-decision.js';
import { renderError } from './http-errors.js';
import { createLimiter, type Limiter } from './limiter.js';
import { isPromiseLike, type MaybePromise } from './maybe-promise.js';
import type { TollgateOptions } from './options.js';
import type { RequestInfo } from './request.js';
import { requestIdOf } from './request-id.js';
import { type Serializer, serializers } from './serializers/index.js';
import { hasSettlement, reportActualCost, settleWhenDone, usageRefusal } from './spend-cap.js';

declare global {
  namespace Express {
    interface Request {
      /**
       * tollgate's decision for this request, combined across stacked tollgate middleware. An
       * accessor on Express's request prototype that reads it from `res.locals` (see
       * express-decision.ts), so it is not among the request's own keys.
       */
      rateLimit?: Decision;
    }
  }
}

export type ExpressOptions = TollgateOptions<Request>;

/** The core's view of an Express request; `req.ip` already honours `trust proxy`. */
export function describeRequest(req: Request): RequestInfo<Request> {
  return new ExpressRequestInfo(req);
}

/**
 * A class rather than an object literal: method, query and body are read through
 * prototype getters, only when a key, tier or cost function asks. An object literal with an
 * accessor is built through V8's slow path, and every property read on an Express request is
 * costly: its shape changes as routing adds properties, so reads miss V8's inline caches and
 * walk the prototype chain (several µs for a missing property, in the benchmark's profiles).
 */
class ExpressRequestInfo implements RequestInfo<Request> {
  readonly ip: string | undefined;
  readonly headers: Request['headers'];
  private pathRead: string | undefined = undefined;
  private paramsRead: Request['params'] | undefined = undefined;

  constructor(readonly raw: Request) {
    this.ip = raw.ip;
    this.headers = raw.headers;
  }

  get method(): string {
    return this.raw.method;
  }

  /** The whole path, as Koa gives it: a router's middleware otherwise sees only its own part. */
  get path(): string {
    this.pathRead ??= this.raw.baseUrl + this.raw.path;
    return this.pathRead;
  }

  get params(): Request['params'] {
    this.paramsRead ??= this.raw.params;
    return this.paramsRead;
  }

  /** Express 5 parses the query string on access. */
  get query(): unknown {
    return this.raw.query;
  }

  get body(): unknown {
    return this.raw.body;
  }

  /**
   * Reads path and params now, for what reads them after the middleware has called `next()`
   * (a spending cap's refund predicate, after the response): Express rewrites both as routing
   * moves on.
   */
  pin(): void {
    void this.path;
    void this.params;
  }
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
  const decide = decisionOf(limiter);

  function decided(
    req: Request,
    res: Response,
    next: NextFunction,
    info: ExpressRequestInfo,
    decision: Decision | undefined,
  ): void {
    if (decision === undefined) {
      next();
      return;
    }
    try {
      const earlier = decisionOn(req, res);
      const combined = earlier === undefined ? decision : limiter.combine(earlier, decision);
      putDecision(req, res, combined);
      if (!(combined.allowed || combined.shadow)) {
        // A refusal here must not leave the charges of tollgate middleware mounted earlier.
        if (earlier === undefined) sendRefusal(res, limiter, combined, info);
        else limiter.refund(earlier).then(() => refuse(res, next, combined, info), next);
        return;
      }
      setHeaders(res, combined.headers);
      if (hasSettlement(combined)) {
        info.pin();
        settleWhenDone(res, combined, info, limiter.reportError);
      }
    } catch (error) {
      next(error);
      return;
    }
    next();
  }

  function refuse(res: Response, next: NextFunction, decision: Decision, info: RequestInfo<Request>): void {
    try {
      sendRefusal(res, limiter, decision, info);
    } catch (error) {
      next(error);
    }
  }

  // Not `async`: an async middleware costs a promise of its own, and Express 5 chains another
  // onto it to catch its rejection; every failure here goes to `next` already. A decision the
  // limiter answers synchronously (the memory store) goes on in the same tick.
  return function tollgate(req: Request, res: Response, next: NextFunction): void {
    let info: ExpressRequestInfo;
    let outcome: MaybePromise<Decision | undefined>;
    try {
      assertTrustworthyIp(req);
      info = new ExpressRequestInfo(req);
      outcome = decide(info);
    } catch (error) {
      next(error);
      return;
    }
    if (isPromiseLike(outcome)) outcome.then((decision) => decided(req, res, next, info, decision), next);
    else decided(req, res, next, info, outcome);
  };
}

function setHeaders(res: Response, headers: ReadonlyArray<readonly [string, string]>): void {
  // Indexed: `for (const [name, value] of …)` builds an iterator and destructures each pair.
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i]!;
    res.setHeader(header[0], header[1]);
  }
}

/**
 * `trust proxy: true` makes `req.ip` the left-most `X-Forwarded-For` entry, which the client
 * writes: every request could pick its own bucket. Refused per request (the middleware cannot
 * see the app when it is built), as the Koa adapter refuses `proxy` without `maxIpsCount`.
 */
function assertTrustworthyIp(req: Request): void {
  // `settings` directly: app.get() goes through app.set()'s argument checks on every request.
  if (req.app.settings['trust proxy'] === true)
    throw new TollgateConfigError(
      'ERR_TOLLGATE_UNSAFE_PROXY',
      'app.trust proxy',
      "tollgate: 'trust proxy' is true, so req.ip is the left-most X-Forwarded-For entry, which any client can forge to dodge its limits. Set it to the number of proxies in front of the app (app.set('trust proxy', 1)) or their addresses.",
    );
}

/**
 * Reports what the request really cost, for a spending cap that reserved an estimate: the
 * difference is refunded or charged when the response finishes (e.g. LLM tokens).
 * @example
 * app.post('/generate', async (req, res) => { const out = await run(req.body); reportCost(req, out.tokens); res.json(out); });
 */
export function reportCost(req: Request, credits: number): void {
  const decision = decisionOn(req);
  if (decision === undefined) throw new TypeError('reportCost: no tollgate decision on this request');
  reportActualCost(decision, credits);
}

/**
 * A handler answering the caller's spending-cap usage as JSON:
 * `{"used": n, "remaining": n, "cap": n, "resets_at": "<ISO-8601 UTC>"}`; 401 without a key.
 * @example
 * const limiter = createLimiter({ spendCap: { key: userKey, budget: 1000, cost: 1 } });
 * app.get('/billing/usage/requests', usageHandler(limiter));
 */
export function usageHandler(limiter: Limiter<Request>): RequestHandler {
  return async function tollgateUsage(req: Request, res: Response, next: NextFunction): Promise<void> {
    try {
      const info = describeRequest(req);
      const usage = await limiter.usageOf(info);
      if (usage === undefined) {
        sendRefusal(res, limiter, usageRefusal(Date.now()), info);
        return;
      }
      res.setHeader('Cache-Control', 'no-store');
      res.json(usage);
    } catch (error) {
      next(error);
    }
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
  setHeaders(res, refusal.headers);
  res.setHeader('X-Request-Id', refusal.requestId);
  res.setHeader('Content-Type', refusal.contentType);
  res.setHeader('Cache-Control', 'no-store');
  res.end(refusal.body);
}

// ---------------------------------------------------------------------------------------------
// The application's other errors, in the same schema as the refusals.

export { HttpError, type HttpErrorOptions } from './http-errors.js';

export interface ErrorHandlerOptions {
  /** Renders the body: give it the limiter's serializer so that a 404 looks like a 429. Defaults to `serializers.problem`. */
  serializer?: Serializer;
  /**
   * Told of each error the handler hid behind a generic answer (anything that is not an
   * `HttpError`-like error meant for the client). Defaults to `console.error`, except when
   * `NODE_ENV` is `test`, as Express's own final handler does.
   */
  onError?: (error: unknown, req: Request) => void;
}

/**
 * Express error-handling middleware that answers every error in one schema: `HttpError`s (and
 * http-errors-like objects) keep their status, code, message and details; a malformed JSON body
 * is a 400; anything else is a 500 that shows nothing of the error. The request id (an incoming
 * `X-Request-Id`, sanitised, else a new one) is in the body where the schema has room for it and
 * in the `X-Request-Id` header. Mount it after every route.
 * @example
 * app.use(errorHandler({ serializer: serializers.fastino }));
 */
export function errorHandler(options: ErrorHandlerOptions = {}): ErrorRequestHandler {
  const serializer = options.serializer ?? serializers.problem;
  const onError = options.onError ?? (process.env.NODE_ENV === 'test' ? undefined : logError);

  return function tollgateErrors(err: unknown, req: Request, res: Response, next: NextFunction): void {
    // Too late to answer: Express's final handler closes the connection.
    if (res.headersSent) {
      next(err);
      return;
    }
    const answer = renderError(err, {
      serializer,
      requestId: responseRequestId(res) ?? requestIdOf(req.headers),
    });
    if (!answer.expected && onError !== undefined) {
      try {
        onError(err, req);
      } catch {}
    }
    res.statusCode = answer.status;
    for (const [name, value] of answer.headers) res.setHeader(name, value);
    res.setHeader('X-Request-Id', answer.requestId);
    res.setHeader('Content-Type', answer.contentType);
    res.setHeader('Content-Length', Buffer.byteLength(answer.body));
    res.setHeader('Cache-Control', 'no-store');
    res.end(answer.body);
  };
}

/** An id the application already set on the response (its own request-id middleware) wins. */
function responseRequestId(res: Response): string | undefined {
  const id = res.getHeader('X-Request-Id');
  return typeof id === 'string' && id !== '' ? id : undefined;
}

function logError(error: unknown): void {
  console.error(error);
}
