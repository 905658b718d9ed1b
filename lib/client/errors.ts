/**
 * Why `api.fetch` rejected. Each code is stable: programs switch on it.
 * - `SPEND_CAP_EXCEEDED`: a spending cap refused; waiting minutes cannot help. `clearsAt` says when it clears.
 * - `RATE_LIMITED`: 429 after the last allowed attempt, a 429 on a request that may not be retried,
 *   or a server asking for a longer wait than `maxWaitMs`.
 * - `SERVER_ERROR`: 5xx after the last allowed retry (or on a request that may not be retried).
 * - `TIMEOUT`: 504 after its retry.
 * - `NETWORK_ERROR`: `fetch` itself rejected (connection refused, DNS, CORS) after the allowed retries.
 * - `ABORTED`: the caller's `AbortSignal` fired, before sending, while waiting, or in flight.
 * - `DEADLINE_EXCEEDED`: the next attempt could not start before the call's `deadline`.
 * - `INVALID_OPTIONS`: `createClient` or `api.fetch` was given options it cannot use.
 */
export type ClientErrorCode =
  | 'SPEND_CAP_EXCEEDED'
  | 'RATE_LIMITED'
  | 'SERVER_ERROR'
  | 'TIMEOUT'
  | 'NETWORK_ERROR'
  | 'ABORTED'
  | 'DEADLINE_EXCEEDED'
  | 'INVALID_OPTIONS';

export interface ClientErrorDetails {
  /** The HTTP status of the last answer, when there was one. */
  status?: number;
  /** The last answer, its body unread, when there was one. */
  response?: Response;
  /** HTTP requests sent for this call. */
  attempts?: number;
  /** Milliseconds the server asked to wait (`Retry-After`), clamped to at most 400 days. */
  retryAfterMs?: number;
  /** When a spending cap clears, or when a wait the client refused would have ended. */
  clearsAt?: Date;
  /** `X-RateLimit-Reason`, e.g. `daily_spend_cap_exceeded`. */
  reason?: string;
  /** The error code the server's body named: `1454`, `RATE_LIMIT_EXCEEDED`, `rate_limit_error`. */
  serverCode?: string;
  cause?: unknown;
}

export class ClientError extends Error {
  override readonly name = 'ClientError';
  readonly code: ClientErrorCode;
  readonly status: number | undefined;
  readonly response: Response | undefined;
  readonly attempts: number;
  readonly retryAfterMs: number | undefined;
  readonly clearsAt: Date | undefined;
  readonly reason: string | undefined;
  readonly serverCode: string | undefined;

  constructor(code: ClientErrorCode, message: string, details: ClientErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.status = details.status;
    this.response = details.response;
    this.attempts = details.attempts ?? 0;
    this.retryAfterMs = details.retryAfterMs;
    this.clearsAt = details.clearsAt;
    this.reason = details.reason;
    this.serverCode = details.serverCode;
  }
}

export function isClientError(value: unknown): value is ClientError {
  return value instanceof ClientError;
}
