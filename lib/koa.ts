import type Koa from 'koa';
import type { Context, Middleware, Next } from 'koa';
import { decisionOf } from './adapter.js';
import type { Decision } from './decision.js';
import { TollgateConfigError } from './errors.js';
import { type ErrorAnswer, HttpError, renderError } from './http-errors.js';
import { createLimiter, type Limiter } from './limiter.js';
import { isPromiseLike, type MaybePromise } from './maybe-promise.js';
import type { TollgateOptions } from './options.js';
import type { RequestInfo } from './request.js';
import { requestIdOf } from './request-id.js';
import { type Serializer, serializers } from './serializers/index.js';
import { hasSettlement, reportActualCost, settleWhenDone, usageRefusal } from './spend-cap.js';

declare module 'koa' {
  interface DefaultState {
    /** tollgate's decision for this request, combined across stacked tollgate middleware. */
    rateLimit?: Decision;
  }
}

export type KoaOptions = TollgateOptions<Context>;

/** The core's view of a Koa context; `ctx.ip` honours `app.proxy` and `app.maxIpsCount`. */
export function describeRequest(ctx: Context): RequestInfo<Context> {
  return new KoaRequestInfo(ctx);
}

/**
 * A class with prototype getters, not literal accessors: see `ExpressRequestInfo` in express.ts.
 * Only the address and the headers are read up front; path, params, body and query when a key,
 * tier or cost function asks.
 */
class KoaRequestInfo implements RequestInfo<Context> {
  readonly ip: string | undefined;
  readonly headers: Context['headers'];
  private pathRead: string | undefined = undefined;
  private paramsRead: Record<string, string> | undefined = undefined;
  private paramsSeen = false;

  constructor(readonly raw: Context) {
    // Koa answers '' when the socket is already gone: that is no address.
    this.ip = raw.ip || undefined;
    this.headers = raw.headers;
  }

  get method(): string {
    return this.raw.method;
  }

  get path(): string {
    this.pathRead ??= this.raw.path;
    return this.pathRead;
  }

  /** Set by @koa/router when it matched a route before the middleware. */
  get params(): Record<string, string> | undefined {
    if (!this.paramsSeen) {
      this.paramsRead = (this.raw as { params?: Record<string, string> }).params;
      this.paramsSeen = true;
    }
    return this.paramsRead;
  }

  /** Set by @koa/bodyparser when it ran before the middleware. */
  get body(): unknown {
    return (this.raw.request as { body?: unknown }).body;
  }

  get query(): unknown {
    return this.raw.query;
  }

  /**
   * Reads path and params now, for what reads them after the middleware has passed the
   * request on (a spending cap's refund predicate, after the response): a later route's match
   * replaces `ctx.params`.
   */
  pin(): void {
    void this.path;
    void this.params;
  }
}

/**
 * Koa middleware enforcing every scope of `options` in one store call per request; the decision
 * is on `ctx.state.rateLimit`. Mount it with `app.use()`, on a `@koa/router` router, or on one
 * route; stacked instances combine, and a refusal refunds what earlier instances charged.
 *
 * Client addresses are Koa's `ctx.ip`. With `app.proxy` on and `app.maxIpsCount` left at 0, Koa
 * takes the left-most `X-Forwarded-For` entry, which the client writes: every request could
 * pick a fresh bucket. The middleware cannot see `app` when it is built, so it checks the app on
 * every request (two property reads) and refuses to serve such an app: the request fails with a
 * `TollgateConfigError` (`ERR_TOLLGATE_CONFLICTING_OPTIONS`, path `app.maxIpsCount`), a 500, until
 * `maxIpsCount` is set to the number of proxies in front of the app.
 * @example
 * const app = new Koa({ proxy: true, maxIpsCount: 1 });
 * app.use(rateLimit({
 *   scopes: [{ name: 'ip', key: 'ip', code: 1453, limits: [{ max: 100, window: '1m' }], burst: 20 }],
 *   headers: ['ratelimit'],
 * }));
 */
export function rateLimit(options: KoaOptions | Limiter<Context>): Middleware {
  const limiter = 'check' in options ? options : createLimiter(options);
  const decide = decisionOf(limiter);

  function decided(
    ctx: Context,
    next: Next,
    info: KoaRequestInfo,
    decision: Decision | undefined,
  ): Promise<void> | undefined {
    if (decision === undefined) return next();
    const state = ctx.state;
    const earlier = state.rateLimit;
    const combined = earlier === undefined ? decision : limiter.combine(earlier, decision);
    state.rateLimit = combined;

    if (combined.allowed || combined.shadow) {
      setHeaders(ctx, combined.headers);
      if (hasSettlement(combined)) {
        info.pin();
        settleWhenDone(ctx.res, combined, info, limiter.reportError);
      }
      return next();
    }
    // A refusal here must not leave the charges of tollgate middleware mounted earlier.
    if (earlier === undefined) {
      sendRefusal(ctx, limiter, combined, info);
      return undefined;
    }
    return limiter.refund(earlier).then(() => sendRefusal(ctx, limiter, combined, info));
  }

  // Not `async`: the check's own promise, when it has one, carries the rest; a decision the
  // limiter answers synchronously (the memory store) goes on to `next` in the same tick.
  return function tollgate(ctx: Context, next: Next): Promise<void> {
    let outcome: MaybePromise<Decision | undefined>;
    let info: KoaRequestInfo;
    try {
      assertTrustworthyIp(ctx.app);
      info = new KoaRequestInfo(ctx);
      outcome = decide(info);
      if (!isPromiseLike(outcome)) return decided(ctx, next, info, outcome) ?? ANSWERED;
    } catch (error) {
      return Promise.reject(error);
    }
    return Promise.resolve(outcome).then((decision) => decided(ctx, next, info, decision));
  };
}

/** What the middleware returns when it answered the request itself, without a promise to wait on. */
const ANSWERED: Promise<void> = Promise.resolve();

/**
 * `ctx.set(name, value)` for string values, as Koa 2 and 3 do it: nothing once the headers are
 * sent, else `res.setHeader`. Koa 3's `set` builds three arrays and two closures per header.
 */
function setHeaders(ctx: Context, headers: ReadonlyArray<readonly [string, string]>): void {
  const res = ctx.res;
  if (res.headersSent) return;
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i]!;
    res.setHeader(header[0], header[1]);
  }
}

function sendRefusal(
  ctx: Context,
  limiter: Limiter<Context>,
  decision: Decision,
  info: RequestInfo<Context>,
) {
  const refusal = limiter.refusal(decision, info);
  setHeaders(ctx, refusal.headers);
  send(ctx, refusal.status, refusal.requestId, refusal.contentType, refusal.body);
}

/**
 * Reports what the request really cost, for a spending cap that reserved an estimate: the
 * difference is refunded or charged when the response finishes (e.g. LLM tokens).
 * @example
 * router.post('/generate', async (ctx) => { const out = await run(ctx.request.body); reportCost(ctx, out.tokens); ctx.body = out; });
 */
export function reportCost(ctx: Context, credits: number): void {
  const decision = ctx.state.rateLimit;
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
    assertTrustworthyIp(ctx.app);
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

function assertTrustworthyIp(app: Koa): void {
  if (app.proxy && !(app.maxIpsCount > 0))
    throw new TollgateConfigError(
      'ERR_TOLLGATE_UNSAFE_PROXY',
      'app.maxIpsCount',
      `tollgate: app.proxy is on with app.maxIpsCount 0, so ctx.ip is the left-most entry of ${app.proxyIpHeader}, which any client can forge to dodge its limits. Set app.maxIpsCount to the number of proxies in front of the app, e.g. new Koa({ proxy: true, maxIpsCount: 1 }).`,
    );
}

// ---------------------------------------------------------------------------------------------
// The application's other errors, in the same schema as the refusals.

export { HttpError, type HttpErrorOptions } from './http-errors.js';

export interface KoaErrorHandlerOptions {
  /** Renders the body: give it the limiter's serializer so that a 404 looks like a 429. Defaults to `serializers.problem`. */
  serializer?: Serializer;
  /** Also answers a request nothing answered (Koa's bare `404 Not Found`) in the schema. Defaults to `true`. */
  notFound?: boolean;
}

/**
 * Koa middleware answering every error thrown downstream in one schema, as `errorHandler` in
 * `tollgate/express` does: `HttpError`s and http-errors (`ctx.throw(404, 'No such user', { code })`)
 * keep their status, code, message, details and headers; a malformed JSON body is a 400;
 * anything else is a 500 that shows nothing of the error. Mount it first. Following Koa's own
 * handler, every error is emitted on `app` (Koa's default listener logs the unexposed ones) and
 * the headers the failed handler had set are dropped, except the error's own and tollgate's
 * rate-limit headers.
 * @example
 * app.use(errorHandler({ serializer: serializers.firsthand }));
 */
export function errorHandler(options: KoaErrorHandlerOptions = {}): Middleware {
  const serializer = options.serializer ?? serializers.problem;
  const notFound = options.notFound !== false;

  return async function tollgateErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (error) {
      // Past the headers there is nothing left to answer: the error goes on to Koa's own handler.
      if (ctx.headerSent || !ctx.writable) throw error;
      ctx.app.emit('error', error, ctx);
      const requestId = ctx.response.get('X-Request-Id') || requestIdOf(ctx.headers);
      for (const name of ctx.res.getHeaderNames()) ctx.res.removeHeader(name);
      answer(ctx, renderError(error, { serializer, requestId }));
      return;
    }
    if (notFound && ctx.status === 404 && ctx.body == null) {
      const requestId = ctx.response.get('X-Request-Id') || requestIdOf(ctx.headers);
      answer(ctx, renderError(new HttpError(404), { serializer, requestId }));
    }
  };
}

function answer(ctx: Context, error: ErrorAnswer): void {
  for (const [name, value] of ctx.state.rateLimit?.headers ?? []) ctx.set(name, value);
  for (const [name, value] of error.headers) ctx.set(name, value);
  send(ctx, error.status, error.requestId, error.contentType, error.body);
}

/** Koa's way to answer: status, then type, then body, so that Koa infers neither. */
function send(ctx: Context, status: number, requestId: string, contentType: string, body: string): void {
  ctx.status = status;
  ctx.set('X-Request-Id', requestId);
  ctx.type = contentType;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = body;
}
