import type { Context } from 'koa';
import type { RequestInfo } from '../core/request.js';

/**
 * The core's view of a Koa context; `ctx.ip` honours `app.proxy` and `app.maxIpsCount`. Only
 * the address and the headers are read up front; path, params, body and query when a key, tier
 * or cost function asks.
 */
export class KoaRequestInfo implements RequestInfo<Context> {
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

/** The core's view of a Koa context. */
export function describeRequest(ctx: Context): RequestInfo<Context> {
  return new KoaRequestInfo(ctx);
}
