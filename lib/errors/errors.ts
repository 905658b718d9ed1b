/**
 * Stable codes for every error tollgate throws or reports. Each has an entry in docs/errors.md;
 * match on `code`, never on the message.
 */
export type TollgateErrorCode =
  /** An option is missing, of the wrong type, out of range or unknown. */
  | 'ERR_TOLLGATE_INVALID_OPTION'
  /** Options that are valid one by one contradict each other (e.g. an hour limit below a minute limit). */
  | 'ERR_TOLLGATE_CONFLICTING_OPTIONS'
  /**
   * The framework is set to take the client IP from the left-most `X-Forwarded-For` entry,
   * which any client can forge (Express `trust proxy` trusting every address, Koa with
   * `proxy: true` and `maxIpsCount: 0`). Raised per request, since a middleware cannot see the
   * app when it is built, and reported once.
   */
  | 'ERR_TOLLGATE_UNSAFE_PROXY'
  /** Reported: a `{ param }` scope runs where the request has no such route parameter. */
  | 'ERR_TOLLGATE_NO_ROUTE_PARAM'
  /** Reported: a `{ body }` scope saw a request with a body that no body parser had parsed. */
  | 'ERR_TOLLGATE_BODY_NOT_PARSED'
  /** Reported: the store's clock and the limiter's `now` disagree. */
  | 'ERR_TOLLGATE_CLOCK_MISMATCH'
  /** `reset` or `state` named a scope (or spending cap) the limiter does not have. */
  | 'ERR_TOLLGATE_UNKNOWN_SCOPE'
  /** A tier resolver returned a name the scope does not define. */
  | 'ERR_TOLLGATE_UNKNOWN_TIER'
  /** A key function or cost function threw, or returned something unusable. */
  | 'ERR_TOLLGATE_RESOLVER_FAILED';

export class TollgateError extends Error {
  readonly code: TollgateErrorCode;

  constructor(code: TollgateErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TollgateError';
    this.code = code;
  }
}

/**
 * Thrown when the configuration cannot work: at construction, except for the framework's own
 * settings that a middleware only sees per request (`ERR_TOLLGATE_UNSAFE_PROXY`).
 */
export class TollgateConfigError extends TollgateError {
  /** The option's path, e.g. `scopes[1].limits[0].max`. */
  readonly path: string;

  constructor(code: TollgateErrorCode, path: string, message: string) {
    super(code, message);
    this.name = 'TollgateConfigError';
    this.path = path;
  }
}

/** Throws for options that are valid one by one but contradict each other. */
export function conflict(path: string, message: string): never {
  throw new TollgateConfigError('ERR_TOLLGATE_CONFLICTING_OPTIONS', path, message);
}
