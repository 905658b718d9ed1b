import { ClientError } from './errors.js';
import { isSpendCapRefusal, type Refusal } from './refusal.js';
import { abortableSleep } from './sleep.js';

/** `globalThis.fetch`'s shape; any fetch (undici, node-fetch, a test double) that returns a `Response`. */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** One kind of failure's retry schedule: retry `n` (from 1) waits `min(capMs, baseMs × factor^(n−1) + random() × jitterMs)`. */
export interface Backoff {
  /** Retries after the first attempt: attempts in all are `retries + 1`. */
  retries: number;
  baseMs: number;
  factor: number;
  jitterMs: number;
  capMs: number;
}

export interface RetryOptions {
  /** 429 without `Retry-After`. Default 4 retries (5 attempts), 2 s doubling, +0–1 s jitter, ≤ 60 s. */
  rateLimited: Backoff;
  /** 5xx other than 504. Default 3 retries: 2 s, 4 s, 8 s. */
  serverError: Backoff;
  /** 504. Default 1 retry after 2 s. */
  timeout: Backoff;
  /** `fetch` rejected (connection refused, reset). Default as `serverError`. */
  network: Backoff;
  /** Random extra ms added to a `Retry-After` wait, which is never shortened. Default 0. */
  retryAfterJitterMs: number;
  /** Methods retried without an `Idempotency-Key`. Default GET, HEAD, PUT, DELETE, OPTIONS. */
  idempotentMethods: readonly string[];
}

export interface ThrottleOptions {
  /** Utilisation (`1 − remaining / limit`) above which requests are spread out. Default 0.8. */
  target: number;
  /** The least spacing when spreading. Default 100 ms. */
  minSpacingMs: number;
}

export interface AlertOptions {
  /** Utilisation thresholds: `warning` (default 0.8) and `high` (default 0.9). */
  utilisation: { warning: number; high: number };
  /** The rate-limited share of the last minute's requests above which `critical` fires. Default 0.05. */
  rateLimitedShare: number;
  /** The share is judged once the last minute holds at least this many requests. Default 20. */
  minRequests: number;
  /** One error code seen more than this many times in a minute fires `critical`. Default 10. */
  errorCodePerMinute: number;
}

/** What `new Headers(…)` accepts (the DOM's `HeadersInit`, which Node's types do not name). */
export type HeadersInput = ConstructorParameters<typeof Headers>[0];

type DeepPartial<T> = { [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : Partial<T[K]> };

export interface ClientOptions {
  /** Prepended to every relative path: `https://api.example.com/v1`. */
  baseUrl: string;
  /** Defaults to `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Sent with every request (e.g. `Authorization`); a call's own headers win. */
  headers?: HeadersInput;
  retry?: DeepPartial<RetryOptions> | false;
  /** Proactive throttling from the rate-limit headers; `false` turns it off. */
  throttle?: Partial<ThrottleOptions> | false;
  /** Requests in flight at once. Default 10. */
  concurrency?: number;
  /** A steady rate: one request every `60000 / requestsPerMinute` ms. Default none. */
  requestsPerMinute?: number;
  /** No wait is ever longer; a server asking for more is answered with `RATE_LIMITED` at once. Default 60 000. */
  maxWaitMs?: number;
  /** Each call's time budget; its `deadline` is `now() + timeoutMs`. Default none. */
  timeoutMs?: number;
  /** Adds an `Idempotency-Key` to requests whose method is not idempotent, so they may be retried. Default false. */
  idempotencyKey?: boolean | (() => string);
  /** The header carrying the key. Default `Idempotency-Key`. */
  idempotencyHeader?: string;
  /** Groups requests whose limits are tracked together; default one group for the whole client. */
  bucket?: (url: string, method: string) => string;
  /** Which 429s waiting cannot fix. Default: spending caps (`*_spend_cap_exceeded` and the like). */
  isFinal?: (refusal: Refusal) => boolean;
  alerts?: Partial<AlertOptions>;
  /** The clock, ms since epoch. Default `Date.now`. */
  now?: () => number;
  /** Waits `ms`, or less if `signal` aborts. Default a `setTimeout` sleep. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Uniform in [0, 1). Default `Math.random`. */
  random?: () => number;
}

export interface ClientConfig {
  readonly baseUrl: string;
  readonly fetch: FetchLike;
  readonly headers: HeadersInput | undefined;
  readonly retry: RetryOptions;
  readonly retryEnabled: boolean;
  readonly throttle: ThrottleOptions | undefined;
  readonly concurrency: number;
  readonly spacingMs: number;
  readonly maxWaitMs: number;
  readonly timeoutMs: number | undefined;
  readonly idempotencyKey: (() => string) | undefined;
  readonly idempotencyHeader: string;
  readonly bucket: (url: string, method: string) => string;
  readonly isFinal: (refusal: Refusal) => boolean;
  readonly alerts: AlertOptions;
  readonly now: () => number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly random: () => number;
}

const SERVER_ERROR: Backoff = { retries: 3, baseMs: 2000, factor: 2, jitterMs: 0, capMs: 60_000 };

export const DEFAULT_RETRY: RetryOptions = {
  rateLimited: { retries: 4, baseMs: 2000, factor: 2, jitterMs: 1000, capMs: 60_000 },
  serverError: SERVER_ERROR,
  timeout: { ...SERVER_ERROR, retries: 1 },
  network: SERVER_ERROR,
  retryAfterJitterMs: 0,
  idempotentMethods: ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'],
};

function invalid(message: string): ClientError {
  return new ClientError('INVALID_OPTIONS', `createClient: ${message}`);
}

function number(value: number | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < min)
    throw invalid(`${name} must be a number ≥ ${min}, got ${String(value)}`);
  return value;
}

function backoff(given: Partial<Backoff> | undefined, fallback: Backoff, name: string): Backoff {
  const b = given ?? {};
  return {
    retries: Math.floor(number(b.retries, `${name}.retries`, fallback.retries)),
    baseMs: number(b.baseMs, `${name}.baseMs`, fallback.baseMs),
    factor: number(b.factor, `${name}.factor`, fallback.factor, 1),
    jitterMs: number(b.jitterMs, `${name}.jitterMs`, fallback.jitterMs),
    capMs: number(b.capMs, `${name}.capMs`, fallback.capMs),
  };
}

function retryOptions(given: DeepPartial<RetryOptions> | undefined): RetryOptions {
  const r = given ?? {};
  return {
    rateLimited: backoff(r.rateLimited, DEFAULT_RETRY.rateLimited, 'retry.rateLimited'),
    serverError: backoff(r.serverError, DEFAULT_RETRY.serverError, 'retry.serverError'),
    timeout: backoff(r.timeout, DEFAULT_RETRY.timeout, 'retry.timeout'),
    network: backoff(r.network, DEFAULT_RETRY.network, 'retry.network'),
    retryAfterJitterMs: number(r.retryAfterJitterMs, 'retry.retryAfterJitterMs', 0),
    idempotentMethods: (r.idempotentMethods ?? DEFAULT_RETRY.idempotentMethods).map((m) => m.toUpperCase()),
  };
}

function fraction(value: number | undefined, name: string, fallback: number): number {
  const n = number(value, name, fallback);
  if (n > 1) throw invalid(`${name} must be at most 1, got ${n}`);
  return n;
}

/** A random UUID from Web Crypto where there is one (browsers, Node 19+), else from `random`. */
function uuid(random: () => number): () => string {
  return () => {
    const crypto = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
    if (typeof crypto?.randomUUID === 'function') return crypto.randomUUID();
    const hex = (n: number) =>
      Math.floor(random() * 16 ** n)
        .toString(16)
        .padStart(n, '0');
    return `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
  };
}

function isAbsoluteUrl(text: string): boolean {
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}

export function resolveOptions(options: ClientOptions): ClientConfig {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  if (typeof options.baseUrl !== 'string' || !isAbsoluteUrl(options.baseUrl))
    throw invalid(`baseUrl must be an absolute URL, got ${String(options.baseUrl)}`);
  const random = options.random ?? Math.random;
  const rpm = options.requestsPerMinute;
  const throttle = options.throttle;
  const alerts = options.alerts ?? {};
  const concurrency = number(options.concurrency, 'concurrency', 10, 1);
  return {
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
    headers: options.headers,
    retry: retryOptions(options.retry === false ? undefined : options.retry),
    retryEnabled: options.retry !== false,
    throttle:
      throttle === false
        ? undefined
        : {
            target: fraction(throttle?.target, 'throttle.target', 0.8),
            minSpacingMs: number(throttle?.minSpacingMs, 'throttle.minSpacingMs', 100),
          },
    concurrency: Number.isFinite(concurrency) ? Math.floor(concurrency) : Number.POSITIVE_INFINITY,
    spacingMs: rpm === undefined ? 0 : 60_000 / number(rpm, 'requestsPerMinute', 0, Number.MIN_VALUE),
    maxWaitMs: number(options.maxWaitMs, 'maxWaitMs', 60_000),
    timeoutMs: options.timeoutMs === undefined ? undefined : number(options.timeoutMs, 'timeoutMs', 0),
    idempotencyKey:
      typeof options.idempotencyKey === 'function'
        ? options.idempotencyKey
        : options.idempotencyKey === true
          ? uuid(random)
          : undefined,
    idempotencyHeader: options.idempotencyHeader ?? 'Idempotency-Key',
    bucket: options.bucket ?? (() => 'default'),
    isFinal: options.isFinal ?? isSpendCapRefusal,
    alerts: {
      utilisation: {
        warning: fraction(alerts.utilisation?.warning, 'alerts.utilisation.warning', 0.8),
        high: fraction(alerts.utilisation?.high, 'alerts.utilisation.high', 0.9),
      },
      rateLimitedShare: fraction(alerts.rateLimitedShare, 'alerts.rateLimitedShare', 0.05),
      minRequests: number(alerts.minRequests, 'alerts.minRequests', 20),
      errorCodePerMinute: number(alerts.errorCodePerMinute, 'alerts.errorCodePerMinute', 10),
    },
    now: options.now ?? Date.now,
    sleep: options.sleep ?? abortableSleep,
    random,
  };
}
