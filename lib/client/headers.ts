import { type PolicyReading, tidy } from './reading.js';
import { parseRateLimitFields } from './structured.js';

export type { PolicyReading } from './reading.js';

/** Everything the client reads from a response's headers. */
export interface RateLimitReading {
  readonly policies: readonly PolicyReading[];
  /** `Retry-After` in ms from `now`, never negative; `undefined` when absent or malformed. */
  readonly retryAfterMs?: number;
  /** `X-RateLimit-Reason`, when it is a short token. */
  readonly reason?: string;
}

/** The part of `Headers` the parsers need, so that tests and other runtimes can pass a plain lookup. */
export interface HeaderLookup {
  get(name: string): string | null;
}

/** Fields longer than this are ignored: no honest rate-limit field comes close. */
export const MAX_FIELD_LENGTH = 4096;
/** The farthest ahead any parsed time may lie; anything beyond is clamped to it (400 days). */
export const MAX_HORIZON_MS = 400 * 86_400_000;
/** Largest count accepted, RFC 9651's Integer bound. */
const MAX_COUNT = 999_999_999_999_999;

const DECIMAL = /^\d{1,15}(?:\.\d{1,9})?$/;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;
const TOKEN = /^[A-Za-z0-9_.:-]{1,128}$/;

function field(headers: HeaderLookup, name: string): string | undefined {
  let value: string | null;
  try {
    value = headers.get(name);
  } catch {
    return undefined;
  }
  if (value === null || value.length > MAX_FIELD_LENGTH) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** The numbers of a field, which may be a list when a proxy joined repeated headers (`30, 30`). */
function numbers(value: string | undefined): number[] {
  if (value === undefined) return [];
  const out: number[] = [];
  for (const part of value.split(',')) {
    const text = part.trim();
    if (!DECIMAL.test(text)) return [];
    out.push(Number(text));
  }
  return out;
}

/** A count: a non-negative integer no larger than RFC 9651 allows, else `undefined`. */
export function parseCount(value: string | undefined): number | undefined {
  const list = numbers(value);
  if (list.length === 0) return undefined;
  const n = Math.floor(Math.min(...list));
  return n <= MAX_COUNT ? n : undefined;
}

/** An HTTP-date (RFC 9110 §5.6.7) as ms; a bare number is never a date (V8 reads "12" as 2001). */
function parseHttpDate(value: string): number | undefined {
  if (value.length > 64 || !/[A-Za-z]{3}/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

function clampAhead(ms: number): number {
  return Math.min(Math.max(0, ms), MAX_HORIZON_MS);
}

/**
 * `Retry-After` (RFC 9110 §10.2.3) as ms from `now`: delay-seconds or an HTTP-date. Repeated
 * values take the longest, so the client never retries early. Never negative, at most 400 days.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const list = numbers(value);
  if (list.length > 0) return clampAhead(Math.max(...list) * 1000);
  const date = parseHttpDate(value);
  return date === undefined ? undefined : clampAhead(date - now);
}

/**
 * A reset as an absolute time in ms: an ISO-8601 timestamp, an HTTP-date, or a number read as
 * Unix milliseconds (≥ 10^12), Unix seconds (≥ 10^9, i.e. after 2001) or seconds from now.
 */
export function parseReset(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  let at: number | undefined;
  if (ISO_8601.test(value)) {
    const ms = Date.parse(value);
    at = Number.isFinite(ms) ? ms : undefined;
  } else {
    const list = numbers(value);
    if (list.length > 0) {
      const n = Math.max(...list);
      at = n >= 1e12 ? n : n >= 1e9 ? n * 1000 : now + n * 1000;
    } else at = parseHttpDate(value);
  }
  return at === undefined ? undefined : now + clampAhead(at - now);
}

/** `X-RateLimit-*` or else `RateLimit-*`: one policy, the one the server chose to report. */
function singlePolicy(headers: HeaderLookup, now: number): PolicyReading | undefined {
  for (const prefix of ['x-ratelimit-', 'ratelimit-']) {
    const limit = parseCount(field(headers, `${prefix}limit`));
    const remaining = parseCount(field(headers, `${prefix}remaining`));
    const resetAt = parseReset(field(headers, `${prefix}reset`), now);
    if (limit === undefined && remaining === undefined && resetAt === undefined) continue;
    return tidy({ id: 'default', limit, remaining, resetAt });
  }
  return undefined;
}

/**
 * Reads every rate-limit dialect tollgate and the seed APIs send. The IETF fields name their
 * policies, so when present they are preferred over the single-policy headers, which repeat one
 * of them. Never throws, whatever the server sends.
 */
export function readRateLimit(headers: HeaderLookup, now: number): RateLimitReading {
  const ietf = parseRateLimitFields(field(headers, 'ratelimit'), field(headers, 'ratelimit-policy'), now);
  const single = ietf.length === 0 ? singlePolicy(headers, now) : undefined;
  const policies = single === undefined ? ietf : [single];
  const retryAfterMs = parseRetryAfter(field(headers, 'retry-after'), now);
  const reasonText = field(headers, 'x-ratelimit-reason');
  const reason = reasonText !== undefined && TOKEN.test(reasonText) ? reasonText : undefined;
  return {
    policies,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(reason === undefined ? {} : { reason }),
  };
}
