import type { Decision } from '../core/decision.js';
import { DURATION_PATTERN } from '../core/duration.js';
import type { MaybePromise } from '../core/maybe-promise.js';
import type { RequestInfo } from '../core/request.js';
import type { Serializer } from '../serializers/index.js';
import type { Store } from '../stores/store.js';
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

export interface TierOptions {
  /** The windows of this tier, all enforced together. */
  limits: LimitOptions[];
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
   * What happens to a request that has no key for this scope (no API key, no partner header):
   * `'skip'` leaves the scope out; `'refuse'` answers `missingStatus`. Defaults to `'skip'`,
   * except for `apiKey` scopes, which default to `'refuse'`.
   */
  onMissing?: 'skip' | 'refuse';
  /** Status of an `onMissing: 'refuse'` answer. Defaults to `401`. */
  missingStatus?: number;
  /** `ip` scopes: IPv6 addresses share a counter per subnet of this many bits. Defaults to `56`. */
  ipv6Subnet?: number;
  /** `apiKey` scopes: the header read when there is no `Authorization: Bearer`. Defaults to `x-api-key`. */
  apiKeyHeader?: string;
}

/** A daily budget of credits per key, charged by cost, cleared at 00:00 UTC. */
export interface SpendCapOptions<Raw = unknown> {
  /** Names the cap in store keys and in `RateLimit-Policy` (`<name>_day`). Defaults to `'spend'`. */
  name?: string;
  /** Whose budget: e.g. the user or the API key. */
  key: KeySource<Raw>;
  /** Credits per UTC day (integer minor units), or a function of the request, e.g. by plan. */
  budget: number | ((req: RequestInfo<Raw>) => MaybePromise<number>);
  /**
   * Credits the request costs: a number, a function (sync or async), or a request header
   * holding a decimal integer. Checked before anything is reserved: a request that costs more
   * than what remains is refused and reserves nothing. Defaults to `1`.
   */
  cost?: number | ((req: RequestInfo<Raw>) => MaybePromise<number>) | { header: string };
  /** The budget's period. Only `'day'` (the UTC calendar day) for now. Defaults to `'day'`. */
  period?: 'day';
  /** The error code for bodies, e.g. `'DAILY_SPEND_CAP_EXCEEDED'`. */
  code?: string | number;
  /** Human text for refusals. */
  message?: string;
  /**
   * When a reserved charge is given back after the response: `'server-error'` (status ≥ 500),
   * `'never'`, or a predicate of the status. Defaults to `'server-error'`.
   */
  refundWhen?: 'server-error' | 'never' | ((status: number, req: RequestInfo<Raw>) => boolean);
  /** The header of an idempotency key: a retried request is charged once per key per day. `false` to ignore. Defaults to `'idempotency-key'`. */
  idempotencyHeader?: string | false;
  /** A request with no key: `'refuse'` (401) or `'skip'`. Defaults to `'refuse'`. */
  onMissing?: 'skip' | 'refuse';
}

export type HeaderDialect = 'x-ratelimit' | 'ratelimit' | 'ietf';

/** What happens when the store cannot answer (Redis down, timed out). */
export type StoreFailurePolicy =
  /** Admit the request; hooks see `reason: 'store_unavailable'`. */
  | 'open'
  /** Refuse with 503 and the schema's server-error body. */
  | 'closed'
  /** Enforce an in-process limit meanwhile: each limit divided by `divisor` (the number of instances). */
  | { insurance: { divisor: number } };

export interface TollgateOptions<Raw = unknown> {
  /** The scopes every request is counted against, checked together in one store call. */
  scopes?: ScopeOptions<Raw>[];
  /** A daily spending cap, decided in the same store call as the scopes. */
  spendCap?: SpendCapOptions<Raw>;
  /** Where counters live. Defaults to a new `MemoryStore` using `now`. */
  store?: Store;
  /** Prefix of every store key. Defaults to `'tg'`. */
  prefix?: string;
  /** Header dialects to send; several may be on at once; `false` for none. Defaults to `['ietf']`. */
  headers?: HeaderDialect | HeaderDialect[] | false;
  /** `X-RateLimit-Reset` as Unix seconds or ISO-8601 UTC. Defaults to `'unix'`. */
  resetFormat?: 'unix' | 'iso';
  /** Sends `X-RateLimit-Reason` on refusals. Defaults to `true`. */
  reasonHeader?: boolean;
  /** Units every request takes unless a scope says otherwise. Defaults to `1`. */
  cost?: CostOption<Raw>;
  /** Requests for which this returns true are not counted and get no headers. */
  skip?: (req: RequestInfo<Raw>) => MaybePromise<boolean>;
  /** Client addresses and CIDR ranges that are never counted, e.g. `['10.0.0.0/8', '::1']`. */
  allowList?: string[];
  /** Dry run: count and report as usual, but never refuse. */
  shadow?: boolean;
  /** Called with every decision (admitted or not). Exceptions it throws are ignored. */
  onDecision?: (decision: Decision, req: RequestInfo<Raw>) => void;
  /** Called when settling a spend charge after the response fails (the store was unreachable). */
  onError?: (error: unknown, req: RequestInfo<Raw>) => void;
  /** Called with every refusal. Exceptions it throws are ignored. */
  onRefusal?: (decision: Decision, req: RequestInfo<Raw>) => void;
  /** See `StoreFailurePolicy`. Defaults to `'open'`. */
  onStoreError?: StoreFailurePolicy;
  /** Renders refusal bodies. Defaults to the `problem` (RFC 9457) serializer. */
  serializer?: Serializer;
  /** The clock, ms since epoch. Defaults to `Date.now`. */
  now?: () => number;
  /**
   * Where the decision goes on each request: `req[name]` and `res.locals[name]` in Express,
   * `ctx.state[name]` in Koa. Defaults to `'rateLimit'`.
   */
  requestPropertyName?: string;
}

// ---------------------------------------------------------------------------------------------
// JSON Schemas, kept beside the types they check. `expected` finishes "<path> must be …".

const NAME_PATTERN = '^[A-Za-z][A-Za-z0-9_.-]{0,63}$';
const NAME_WORDS = 'a name of letters, digits, "_", "." and "-" starting with a letter (at most 64)';
const HEADER_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$";
const FIELD_PATTERN = '^[^\\u0000-\\u001f]{1,128}$';
const FIELD_WORDS = 'a field name of 1 to 128 printable characters';

/** RFC 9651 Integers have at most 15 digits: a larger quota could not be advertised in RateLimit-Policy. */
const MAX_QUOTA = 999_999_999_999_999;
const positiveInteger = {
  type: 'integer',
  minimum: 1,
  maximum: MAX_QUOTA,
  expected: 'a positive integer (at most 15 digits)',
};
const codeSchema = {
  anyOf: [
    { type: 'string', minLength: 1, maxLength: 128 },
    { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  ],
  expected: 'a string or a non-negative integer',
};
const messageSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 1024,
  expected: 'a string of 1 to 1024 characters',
};
const costSchema = {
  anyOf: [{ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER }, { typeofFunction: true }],
  expected: 'a non-negative integer or a function of the request',
};

const limitSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['max', 'window'],
  properties: {
    max: positiveInteger,
    window: {
      anyOf: [
        { type: 'integer', minimum: 1 },
        { type: 'string', pattern: DURATION_PATTERN },
      ],
      expected: "a duration: ms as a positive integer, or a string such as '1s', '1m', '1h', '1d'",
    },
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
};

const tierSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['limits'],
  properties: tierProperties,
};

const keySchema = {
  anyOf: [
    { enum: ['ip', 'apiKey'] },
    {
      type: 'object',
      additionalProperties: false,
      required: ['header'],
      properties: { header: { type: 'string', pattern: HEADER_PATTERN, expected: 'a header name' } },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['param'],
      properties: { param: { type: 'string', pattern: FIELD_PATTERN, expected: FIELD_WORDS } },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['body'],
      properties: { body: { type: 'string', pattern: FIELD_PATTERN, expected: FIELD_WORDS } },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['query'],
      properties: { query: { type: 'string', pattern: FIELD_PATTERN, expected: FIELD_WORDS } },
    },
    { typeofFunction: true },
  ],
  expected: "'ip', 'apiKey', { header }, { param }, { body }, { query } or a key function",
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
        expected: "'unlimited' or a tier ({ limits, burst?, headerLimit? })",
      },
      expected: 'an object of named tiers',
    },
    tier: { typeofFunction: true, expected: 'a function returning a tier name' },
    cost: costSchema,
    onMissing: { enum: ['skip', 'refuse'], expected: "'skip' or 'refuse'" },
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

export const spendCapOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['key', 'budget'],
  properties: {
    name: { type: 'string', pattern: NAME_PATTERN, expected: NAME_WORDS },
    key: keySchema,
    budget: {
      anyOf: [{ type: 'integer', minimum: 1, maximum: MAX_QUOTA }, { typeofFunction: true }],
      expected: 'a positive integer of credits (at most 15 digits) or a function of the request',
    },
    cost: {
      anyOf: [
        { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
        { typeofFunction: true },
        {
          type: 'object',
          additionalProperties: false,
          required: ['header'],
          properties: { header: { type: 'string', pattern: HEADER_PATTERN, expected: 'a header name' } },
        },
      ],
      expected: 'a non-negative integer, a function of the request, or { header }',
    },
    period: { const: 'day', expected: "'day'" },
    code: codeSchema,
    message: messageSchema,
    refundWhen: {
      anyOf: [{ enum: ['server-error', 'never'] }, { typeofFunction: true }],
      expected: "'server-error', 'never' or a function of the status",
    },
    idempotencyHeader: {
      anyOf: [{ type: 'string', pattern: HEADER_PATTERN }, { const: false }],
      expected: 'a header name or false',
    },
    onMissing: { enum: ['skip', 'refuse'], expected: "'skip' or 'refuse'" },
  },
} satisfies JsonSchema;

const dialectSchema = {
  enum: ['x-ratelimit', 'ratelimit', 'ietf'],
  expected: "'x-ratelimit', 'ratelimit' or 'ietf'",
};

export const tollgateOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  anyOf: [{ required: ['scopes'] }, { required: ['spendCap'] }],
  expected: 'an object with scopes, a spendCap, or both',
  properties: {
    spendCap: spendCapOptionsSchema,
    scopes: {
      type: 'array',
      minItems: 1,
      maxItems: 32,
      items: scopeOptionsSchema,
      expected: 'a list of 1 to 32 scopes',
    },
    store: {
      methods: ['consume', 'peek', 'refund', 'reset'],
      expected: 'a Store (consume, peek, refund, reset)',
    },
    prefix: {
      type: 'string',
      pattern: '^[A-Za-z0-9_.:-]{1,64}$',
      expected: 'a key prefix of 1 to 64 characters',
    },
    headers: {
      anyOf: [dialectSchema, { type: 'array', items: dialectSchema, uniqueItems: true }, { const: false }],
      expected: "'x-ratelimit', 'ratelimit', 'ietf', a list of them, or false",
    },
    resetFormat: { enum: ['unix', 'iso'], expected: "'unix' or 'iso'" },
    reasonHeader: { type: 'boolean', expected: 'a boolean' },
    cost: costSchema,
    skip: { typeofFunction: true, expected: 'a function' },
    allowList: { type: 'array', items: { type: 'string' }, expected: 'a list of addresses and CIDR ranges' },
    shadow: { type: 'boolean', expected: 'a boolean' },
    onDecision: { typeofFunction: true, expected: 'a function' },
    onRefusal: { typeofFunction: true, expected: 'a function' },
    onError: { typeofFunction: true, expected: 'a function' },
    onStoreError: {
      anyOf: [
        { enum: ['open', 'closed'] },
        {
          type: 'object',
          additionalProperties: false,
          required: ['insurance'],
          properties: {
            insurance: {
              type: 'object',
              additionalProperties: false,
              required: ['divisor'],
              properties: { divisor: positiveInteger },
            },
          },
        },
      ],
      expected: "'open', 'closed' or { insurance: { divisor } }",
    },
    serializer: {
      methods: ['render'],
      expected: 'a serializer: a preset such as serializers.problem, or defineSerializer(fn)',
    },
    now: { typeofFunction: true, expected: 'a function returning ms since epoch' },
    requestPropertyName: {
      type: 'string',
      pattern: '^[A-Za-z_$][A-Za-z0-9_$]{0,63}$',
      not: { enum: ['__proto__', 'constructor', 'prototype'] },
      expected: 'a JavaScript identifier of at most 64 characters',
    },
  },
} satisfies JsonSchema;
