import type { IncomingHttpHeaders } from 'node:http';

/**
 * What the core knows of a request. Adapters fill it in; the core never sees a framework's
 * own objects except as `raw`, which it hands untouched to key, tier and cost functions.
 */
export interface RequestInfo<Raw = unknown> {
  /** The client address as the framework resolved it behind trusted proxies. */
  readonly ip: string | undefined;
  readonly method: string;
  /** The path without the query string. */
  readonly path: string;
  /** Header names in lower case, as Node parses them. */
  readonly headers: IncomingHttpHeaders;
  readonly params?: Readonly<Record<string, string | string[] | undefined>>;
  readonly query?: unknown;
  /** The parsed body, when a body parser ran before the middleware. */
  readonly body?: unknown;
  /** The framework's request (Express `req`) or context (Koa `ctx`). */
  readonly raw: Raw;
}
