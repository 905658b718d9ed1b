import type Koa from 'koa';
import type { Context, Middleware, Next } from 'koa';
import { holdsLeases } from '../core/charges.js';
import type { Decision } from '../core/decision.js';
import { createLimiter, decideNow, type Limiter, validatorOf } from '../core/limiter.js';
import { isPromiseLike, type MaybePromise } from '../core/maybe-promise.js';
import { releaseWhenDone } from '../core/release.js';
import type { RequestInfo } from '../core/request.js';
import type { Validator } from '../core/validations.js';
import { TollgateConfigError } from '../errors/errors.js';
import { renderError } from '../errors/http-errors.js';
import { decisionFor, stackDecision } from '../http/decisions.js';
import { requestIdOf } from '../http/request-id.js';
import type { TollgateOptions } from '../options/options.js';
import { usageRefusal } from '../spend/cap.js';
import { hasSettlement, reportActualCost, settleWhenDone } from '../spend/settlement.js';
import { send } from './errors.js';
import { describeRequest, KoaRequestInfo } from './request-info.js';

export { HttpError, type HttpErrorOptions } from '../errors/http-errors.js';
export { errorHandler, type KoaErrorHandlerOptions } from './errors.js';
export { describeRequest } from './request-info.js';
export {
  createTollgate,
  type KoaLimitOptions,
  type KoaSharedOptions,
  type KoaTollgate,
} from './tollgate.js';

declare module 'koa' {
  interface DefaultState {
    /** tollgate's decision for this request, combined across stacked tollgate middleware. */
    rateLimit?: Decision;
  }
}

export type KoaOptions = TollgateOptions<Context>;

/**
 * Koa middleware enforcing every scope of `options` in one store call per request; the decision
 * is on `ctx.state.rateLimit` (see `requestPropertyName`). Mount it with `app.use()`, on a
 * `@koa/router` router, or on one route; stacked instances combine, and a refusal refunds what
 * earlier instances charged.
 *
 * Client addresses are Koa's `ctx.ip`. With `app.proxy` on and `app.maxIpsCount` left at 0, Koa
 * takes the left-most `X-Forwarded-For` entry, which the client writes: every request could
 * pick a fresh bucket. The middleware cannot see `app` when it is built, so it checks the app on
 * every request and refuses to serve such an app: the request is answered with a 500 in the
 * limiter's schema and a `TollgateConfigError` (`ERR_TOLLGATE_UNSAFE_PROXY`, path
 * `app.maxIpsCount`) is emitted on `app` until `maxIpsCount` is set to the number of proxies in
 * front of the app.
 * @example
 * const app = new Koa({ proxy: true, maxIpsCount: 1 });
 * app.use(rateLimit({
 *   scopes: [{ name: 'ip', key: 'ip', code: 1453, limits: [{ max: 100, window: '1m' }], burst: 20 }],
 *   headers: ['ratelimit'],
 * }));
 */
export function rateLimit(options: KoaOptions | Limiter<Context>): Middleware {
  const limiter = 'check' in options ? options : createLimiter(options);
  const property = limiter.requestPropertyName;
  const validator = validatorOf(limiter);

  /**
   * A key, tier or cost function that threw, an unsafe proxy setting: answered here, a 500 in
   * the limiter's schema, and emitted on `app` as Koa does with the errors it answers.
   */
  function failed(ctx: Context, error: unknown): void {
    if (ctx.headerSent || !ctx.writable) throw error;
    ctx.app.emit('error', error, ctx);
    const answer = renderError(error, {
      serializer: limiter.serializer,
      requestId: requestIdOf(ctx.headers),
    });
    send(ctx, answer);
  }

  function decided(
    ctx: Context,
    next: Next,
    info: KoaRequestInfo,
    decision: Decision | undefined,
  ): Promise<void> {
    if (decision === undefined) return next();
    const { combined, earlier, refused } = stackDecision(limiter, ctx.req, decision);
    ctx.state[property] = combined;
    if (!refused) {
      setHeaders(ctx, combined.headers);
      if (hasSettlement(combined)) {
        info.pin();
        settleWhenDone(ctx.res, combined, info, limiter.reportError);
      }
      // Concurrency slots go back when the response ends, however it ends.
      if (holdsLeases(combined))
        releaseWhenDone(ctx.res, combined, (error) => limiter.reportError(error, info));
      return next();
    }
    // A refusal here must not leave the charges of tollgate middleware mounted earlier.
    if (earlier === undefined) {
      sendRefusal(ctx, limiter, combined, info);
      return ANSWERED;
    }
    return limiter.refund(earlier).then(
      () => sendRefusal(ctx, limiter, combined, info),
      (error: unknown) => failed(ctx, error),
    );
  }

  // Not `async`: the check's own promise, when it has one, carries the rest; a decision the
  // limiter answers synchronously (the memory store) goes on to `next` in the same tick.
  return function tollgate(ctx: Context, next: Next): Promise<void> {
    let outcome: MaybePromise<Decision | undefined>;
    let info: KoaRequestInfo;
    try {
      assertTrustworthyIp(ctx.app, validator);
      info = new KoaRequestInfo(ctx);
      outcome = decideNow(limiter, info);
    } catch (error) {
      return answered(() => failed(ctx, error));
    }
    if (!isPromiseLike(outcome)) return decided(ctx, next, info, outcome);
    return Promise.resolve(outcome).then(
      (decision) => decided(ctx, next, info, decision),
      (error: unknown) => failed(ctx, error),
    );
  };
}

/** What the middleware returns when it answered the request itself. */
const ANSWERED: Promise<void> = Promise.resolve();

/** Runs `answer`, as a promise: a rejected one when even answering failed. */
function answered(answer: () => void): Promise<void> {
  try {
    answer();
    return ANSWERED;
  } catch (error) {
    return Promise.reject(error);
  }
}

/** tollgate's decision for a request, combined across stacked middleware; `undefined` if none decided it. */
export function rateLimitOf(ctx: Context): Decision | undefined {
  return decisionFor(ctx.req);
}

/** Sets headers as Koa's `ctx.set` does for strings: nothing once the headers are sent. */
function setHeaders(ctx: Context, headers: ReadonlyArray<readonly [string, string]>): void {
  const res = ctx.res;
  if (res.headersSent) return;
  for (const [name, value] of headers) res.setHeader(name, value);
}

function sendRefusal(
  ctx: Context,
  limiter: Limiter<Context>,
  decision: Decision,
  info: RequestInfo<Context>,
) {
  const refusal = limiter.refusal(decision, info);
  setHeaders(ctx, refusal.headers);
  send(ctx, refusal);
}

/**
 * Reports what the request really cost, for a spending cap that reserved an estimate: the
 * difference is refunded or charged when the response finishes (e.g. LLM tokens).
 * @example
 * router.post('/generate', async (ctx) => { const out = await run(ctx.request.body); reportCost(ctx, out.tokens); ctx.body = out; });
 */
export function reportCost(ctx: Context, credits: number): void {
  const decision = decisionFor(ctx.req);
  if (decision === undefined) throw new TypeError('reportCost: no tollgate decision on this request');
  reportActualCost(decision, credits);
}

/**
 * A middleware answering the caller's spending-cap usage as JSON:
 * `{"used": n, "remaining": n, "cap": n, "resets_at": "<ISO-8601 UTC>"}`; 401 without a key.
 * @example
 * router.get('/billing/usage/requests', usageHandler(limiter));
 */
export function usageHandler(limiter: Limiter<Context>): Middleware {
  return async function tollgateUsage(ctx: Context): Promise<void> {
    assertTrustworthyIp(ctx.app, validatorOf(limiter));
    const info = describeRequest(ctx);
    const usage = await limiter.usageOf(info);
    if (usage === undefined) {
      sendRefusal(ctx, limiter, usageRefusal(Date.now()), info);
      return;
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.body = usage;
  };
}

function assertTrustworthyIp(app: Koa, validator: Validator | undefined): void {
  if (!app.proxy || app.maxIpsCount > 0 || validator?.isOn('proxy') === false) return;
  const message = `app.proxy is on with app.maxIpsCount 0, so ctx.ip is the left-most entry of ${app.proxyIpHeader}, which any client can forge to dodge its limits. Set app.maxIpsCount to the number of proxies in front of the app, e.g. new Koa({ proxy: true, maxIpsCount: 1 }).`;
  validator?.report('ERR_TOLLGATE_UNSAFE_PROXY', message);
  throw new TollgateConfigError('ERR_TOLLGATE_UNSAFE_PROXY', 'app.maxIpsCount', `tollgate: ${message}`);
}
