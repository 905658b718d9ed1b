import type { Request } from 'express';
import type { RequestInfo } from '../core/request.js';

/**
 * The core's view of an Express request; `req.ip` already honours `trust proxy`. Method, path,
 * params, query and body are read when a key, tier or cost function asks for them, not before.
 */
export class ExpressRequestInfo implements RequestInfo<Request> {
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

/** The core's view of an Express request. */
export function describeRequest(req: Request): RequestInfo<Request> {
  return new ExpressRequestInfo(req);
}
