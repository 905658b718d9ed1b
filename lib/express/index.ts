import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { holdsLeases } from '../core/charges.js';
import type { Decision } from '../core/decision.js';
import { createLimiter, decideNow, type Limiter, validatorOf } from '../core/limiter.js';
import { isPromiseLike, type MaybePromise } from '../core/maybe-promise.js';
import { releaseWhenDone } from '../core/release.js';
import type { RequestInfo } from '../core/request.js';
import { TollgateError } from '../errors/errors.js';
import { renderError } from '../errors/http-errors.js';
import { decisionFor, stackDecision } from '../http/decisions.js';
import { requestIdOf } from '../http/request-id.js';
import type { TollgateOptions } from '../options/options.js';
import { usageRefusal } from '../spend/cap.js';
import { hasSettlement, reportActualCost, settleWhenDone } from '../spend/settlement.js';
import { sendAnswer } from './errors.js';
import { assertTrustworthyIp } from './proxy.js';
import { ExpressRequestInfo } from './request-info.js';

export { HttpError, type HttpErrorOptions } from '../errors/http-errors.js';
export { type ErrorHandlerOptions, errorHandler, type NotFoundOptions, notFound } from './errors.js';
export { describeRequest } from './request-info.js';
export {
  createTollgate,
  type ExpressLimitOptions,
  type ExpressSharedOptions,
  type ExpressTollgate,
} from './tollgate.js';

declare global {
  namespace Express {
    interface Request {
      /**
       * tollgate's decision for this request, combined across stacked tollgate middleware (under
       * another name when `requestPropertyName` says so). Also on `res.locals.rateLimit`.
       */
      rateLimit?: Decision;
    }
  }
}

export type ExpressOptions = TollgateOptions<Request>;

/** One request on its way through the middleware. */
interface Exchange {
  readonly req: Request;
  readonly res: Response;
  readonly next: NextFunction;
  readonly info: ExpressRequestInfo;
}

/**
 * Express middleware enforcing every scope of `options` in one store call per request.
 * Mount it with `app.use()`, on a router, or on a single route; stacked instances combine.
 * The decision is on `req.rateLimit` and `res.locals.rateLimit` (see `requestPropertyName`).
 * @example
 * app.use(rateLimit({
 *   scopes: [{ name: 'ip', key: 'ip', code: 1453, limits: [{ max: 100, window: '1m' }, { max: 6000, window: '1h' }], burst: 20 }],
 *   headers: ['ratelimit'],
 * }));
 */
export function rateLimit(options: ExpressOptions | Limiter<Request>): RequestHandler {
  const limiter = 'check' in options ? options : createLimiter(options);
  const property = limiter.requestPropertyName;
  const validator = validatorOf(limiter);

  function decided(exchange: Exchange, decision: Decision | undefined): void {
    const { req, res, next, info } = exchange;
    if (decision === undefined) {
      next();
      return;
    }
    try {
      const { combined, earlier, refused } = stackDecision(limiter, req, decision);
      (req as unknown as Record<string, unknown>)[property] = combined;
      // `res.locals` is Express's, but an application may have replaced or removed it.
      if (typeof res.locals === 'object' && res.locals !== null) res.locals[property] = combined;
      if (refused) {
        // A refusal here must not leave the charges of tollgate middleware mounted earlier.
        if (earlier === undefined) sendRefusal(res, limiter, combined, info);
        else
          limiter
            .refund(earlier)
            .then(() => sendRefusal(res, limiter, combined, info))
            .catch((error: unknown) => failed(exchange, error));
        return;
      }
      setHeaders(res, combined.headers);
      if (hasSettlement(combined)) {
        info.pin();
        settleWhenDone(res, combined, info, limiter.reportError);
      }
      // Concurrency slots go back when the response ends, however it ends.
      if (holdsLeases(combined)) releaseWhenDone(res, combined, (error) => limiter.reportError(error, info));
    } catch (error) {
      failed(exchange, error);
      return;
    }
    next();
  }

  function failed(exchange: Exchange, error: unknown): void {
    answerFailure(exchange, limiter, error);
  }

  // Not `async`: every failure is answered already, and a decision the limiter answers
  // synchronously (the memory store) goes on in the same tick.
  return function tollgate(req: Request, res: Response, next: NextFunction): void {
    const exchange: Exchange = { req, res, next, info: new ExpressRequestInfo(req) };
    let outcome: MaybePromise<Decision | undefined>;
    try {
      assertTrustworthyIp(req.app, validator);
      outcome = decideNow(limiter, exchange.info);
    } catch (error) {
      failed(exchange, error);
      return;
    }
    if (isPromiseLike(outcome))
      outcome.then(
        (decision) => decided(exchange, decision),
        (error: unknown) => failed(exchange, error),
      );
    else decided(exchange, outcome);
  };
}

/** tollgate's decision for a request, combined across stacked middleware; `undefined` if none decided it. */
export function rateLimitOf(req: Request): Decision | undefined {
  return decisionFor(req);
}

function setHeaders(res: Response, headers: ReadonlyArray<readonly [string, string]>): void {
  for (const [name, value] of headers) res.setHeader(name, value);
}

/**
 * Reports what the request really cost, for a spending cap that reserved an estimate: the
 * difference is refunded or charged when the response finishes (e.g. LLM tokens).
 * @example
 * app.post('/generate', async (req, res) => { const out = await run(req.body); reportCost(req, out.tokens); res.json(out); });
 */
export function reportCost(req: Request, credits: number): void {
  const decision = decisionFor(req);
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
    const info = new ExpressRequestInfo(req);
    try {
      assertTrustworthyIp(req.app, validatorOf(limiter));
      const usage = await limiter.usageOf(info);
      if (usage === undefined) {
        sendRefusal(res, limiter, usageRefusal(Date.now()), info);
        return;
      }
      res.setHeader('Cache-Control', 'no-store');
      res.json(usage);
    } catch (error) {
      answerFailure({ req, res, next, info }, limiter, error);
    }
  };
}

/**
 * A key, tier or cost function that threw, an unsafe proxy setting: answered here, a 500 in
 * the limiter's schema that shows nothing of the error, rather than by Express's HTML page.
 */
function answerFailure(exchange: Exchange, limiter: Limiter<Request>, error: unknown): void {
  const { req, res, next, info } = exchange;
  if (res.headersSent) {
    next(error);
    return;
  }
  // An unsafe proxy fails every request: it is reported once, by the proxy check.
  if (!(error instanceof TollgateError && error.code === 'ERR_TOLLGATE_UNSAFE_PROXY'))
    limiter.reportError(error, info);
  const requestId = requestIdOf(req.headers);
  sendAnswer(res, renderError(error, { serializer: limiter.serializer, requestId }));
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
