import type { MaybePromise } from '../core/maybe-promise.js';
import type { RequestInfo } from '../core/request.js';
import {
  codeSchema,
  costSchema,
  durationSchema,
  HEADER_PATTERN,
  keySchema,
  messageSchema,
  NAME_PATTERN,
  NAME_WORDS,
  positiveInteger,
} from './schema-parts.js';
import type { JsonSchema } from './validation.js';

/** Where a scope's key comes from. */
export type KeySource<Raw = unknown> =
  /** The client address as the framework resolves it (Express `trust proxy`, Koa `app.proxy`). */
  | 'ip'
  /** `Authorization: Bearer <key>`, else the header named by `apiKeyHeader`. Always hashed. */
  | 'apiKey'
  | { header: string }
  /** A route parameter, e.g. `{ param: 'bankId' }` for `/v1/banks/:bankId/transactions`. */
  | { param: string }
  /** A top-level field of the parsed JSON body, e.g. `{ body: 'source_account' }`. */
  | { body: string }
  | { query: string }
  | KeyFunction<Raw>;

/** Returns the scope's key for a request, or `undefined` when the request has none. */
export type KeyFunction<Raw = unknown> = (
  req: RequestInfo<Raw>,
) => MaybePromise<string | number | undefined | null>;

/** The units a request takes: a non-negative safe integer. */
export type CostOption<Raw = unknown> = number | ((req: RequestInfo<Raw>) => MaybePromise<number>);

export interface LimitOptions {
  /** Units admitted per window: a positive integer. */
  max: number;
  /** The window: ms, or `'1s'`, `'1m'`, `'1h'`, `'1d'`, `'15m'`. Windows are aligned to the clock (UTC). */
  window: number | string;
  /**
   * Names the limit in `X-RateLimit-Reason` (`<scope>_<name>`) and in `RateLimit-Policy`.
   * Defaults to the window's name: `second`, `minute`, `hour`, `day`, else e.g. `5m`.
   */
  name?: string;
}

/** A concurrency limit's options, when more than its `max` is set. */
export interface ConcurrencyOptions {
  /** Requests in flight at once per scope value. */
  max: number;
  /**
   * How long a slot is held at most when it is never given back (the process died mid-request):
   * ms or `'90s'`, `'5m'`. Set it above the longest a request may run (your handler's or
   * proxy's timeout): a slot that ends before its request lets one more request in. Defaults
   * to `'60s'`.
   */
  lease?: number | string;
  /** Seconds in the `Retry-After` of a refusal. Defaults to `1`. */
  retryAfter?: number;
}

export interface TierOptions {
  /** The windows of this tier, all enforced together. Required unless `concurrency` is set. */
  limits?: LimitOptions[];
  /**
   * A burst allowance: a token bucket of this capacity, refilled at the per-minute limit's
   * rate (or the shortest window's rate when there is no minute limit). At most `burst` units
   * arrive at once; the windows still cap the totals. Reported as the `burst` limit.
   */
  burst?: number;
  /**
   * The limit, by name, whose figures the single-value headers (`RateLimit-Limit`, …) report
   * when this scope binds, e.g. `'minute'` to advertise 1000/min although the burst is 100.
   * Defaults to the limit closest to refusing.
   */
  headerLimit?: string;
  /**
   * Requests in flight at once per scope value (the IETF draft's `concurrent-requests`): a
   * slot is taken when the request is admitted, in the same all-or-nothing store call as the
   * other limits, and given back once when its response finishes, fails or is cut off.
   * Refusals say `<scope>_concurrency`.
   */
  concurrency?: number | ConcurrencyOptions;
}

export interface ScopeOptions<Raw = unknown> extends Partial<TierOptions> {
  /**
   * The scope's name, used in store keys, in `X-RateLimit-Reason` (`ip_minute`) and in
   * decisions. Letters, digits, `_`, `.` and `-`, starting with a letter.
   */
  name: string;
  key: KeySource<Raw>;
  /** The scope's error code (string or number) for bodies and hooks, e.g. `1454` or `'RATE_LIMIT_EXCEEDED'`. */
  code?: string | number;
  /** Human text for this scope's refusals, e.g. `'Rate limit exceeded for payment partner'`. */
  message?: string;
  /** Named limit sets; `tier` picks one per request. `'unlimited'` counts nothing. */
  tiers?: Record<string, TierOptions | 'unlimited'>;
  /** Picks the tier for a request (sync or async). Required with `tiers`. */
  tier?: (req: RequestInfo<Raw>) => MaybePromise<string>;
  /** Units the request takes from this scope. Defaults to the middleware's `cost`, else 1. */
  cost?: CostOption<Raw>;
  /**
   * What happens to a request that has no key for this scope (no partner header, no route
   * parameter, no body field): `'share'` counts it under one counter shared by every keyless
   * request of the scope, so leaving the key out buys the keyless allowance, never unlimited;
   * `'refuse'` answers `missingStatus` with reason `<name>_missing`; `'skip'` leaves the scope
   * out of the decision. Defaults to `'share'`, except for `apiKey` scopes, which default to
   * `'refuse'`.
   */
  onMissing?: 'share' | 'skip' | 'refuse';
  /** Status of an `onMissing: 'refuse'` answer. Defaults to `401`. */
  missingStatus?: number;
  /** `ip` scopes: IPv6 addresses share a counter per subnet of this many bits. Defaults to `56`. */
  ipv6Subnet?: number;
  /** `apiKey` scopes: the header read when there is no `Authorization: Bearer`. Defaults to `x-api-key`. */
  apiKeyHeader?: string;
}

// JSON Schemas, kept beside the types they check.

const limitSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['max', 'window'],
  properties: {
    max: positiveInteger,
    window: durationSchema(
      "a duration: ms as a positive integer, or a string such as '1s', '1m', '1h', '1d'",
    ),
    name: { type: 'string', pattern: NAME_PATTERN, expected: NAME_WORDS },
  },
};

const tierProperties = {
  limits: {
    type: 'array',
    minItems: 1,
    maxItems: 16,
    items: limitSchema,
    expected: 'a list of 1 to 16 limits',
  },
  burst: positiveInteger,
  headerLimit: { type: 'string', pattern: NAME_PATTERN, expected: 'the name of one of the limits' },
  concurrency: {
    anyOf: [
      positiveInteger,
      {
        type: 'object',
        additionalProperties: false,
        required: ['max'],
        properties: {
          max: positiveInteger,
          lease: durationSchema("a duration: ms, or a string such as '90s', '5m'"),
          retryAfter: { type: 'integer', minimum: 1, maximum: 3600, expected: 'whole seconds, 1 to 3600' },
        },
      },
    ],
    expected: 'a positive integer, or { max, lease?, retryAfter? }',
  },
};

const tierSchema = {
  type: 'object',
  additionalProperties: false,
  anyOf: [{ required: ['limits'] }, { required: ['concurrency'] }],
  expected: 'a tier with limits, concurrency, or both',
  properties: tierProperties,
};

export const scopeOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'key'],
  properties: {
    ...tierProperties,
    name: { type: 'string', pattern: NAME_PATTERN, expected: NAME_WORDS },
    key: keySchema,
    code: codeSchema,
    message: messageSchema,
    tiers: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: NAME_PATTERN },
      additionalProperties: {
        anyOf: [{ const: 'unlimited' }, tierSchema],
        expected: "'unlimited' or a tier ({ limits, burst?, headerLimit?, concurrency? })",
      },
      expected: 'an object of named tiers',
    },
    tier: { typeofFunction: true, expected: 'a function returning a tier name' },
    cost: costSchema,
    onMissing: { enum: ['share', 'skip', 'refuse'], expected: "'share', 'skip' or 'refuse'" },
    missingStatus: {
      type: 'integer',
      minimum: 400,
      maximum: 599,
      expected: 'an HTTP error status (400-599)',
    },
    ipv6Subnet: { type: 'integer', minimum: 1, maximum: 128, expected: 'a prefix length from 1 to 128' },
    apiKeyHeader: { type: 'string', pattern: HEADER_PATTERN, expected: 'a header name' },
  },
} satisfies JsonSchema;
