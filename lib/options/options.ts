import type { Decision } from '../core/decision.js';
import type { MaybePromise } from '../core/maybe-promise.js';
import type { TollgateObserver } from '../core/observer.js';
import type { RequestInfo } from '../core/request.js';
import type { ValidateOption } from '../core/validations.js';
import type { TollgateError } from '../errors/errors.js';
import type { Serializer } from '../serializers/index.js';
import type { Store } from '../stores/store.js';
import { costSchema, positiveInteger } from './schema-parts.js';
import { type CostOption, type ScopeOptions, scopeOptionsSchema } from './scope-options.js';
import { type SpendCapOptions, spendCapOptionsSchema } from './spend-cap-options.js';
import type { JsonSchema } from './validation.js';

export type {
  ConcurrencyOptions,
  CostOption,
  KeyFunction,
  KeySource,
  LimitOptions,
  ScopeOptions,
  TierOptions,
} from './scope-options.js';
export { scopeOptionsSchema } from './scope-options.js';
export type { BudgetOption, SpendBudget, SpendCapOptions, SpendPeriod } from './spend-cap-options.js';
export { spendCapOptionsSchema } from './spend-cap-options.js';

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
  /** A spending cap (per day, week, month, or several at once), decided in the same store call as the scopes. */
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
  /**
   * Called with the errors the middleware answered itself with a 500 in the limiter's schema (a
   * key, tier, cost or budget function that threw), with a spend settlement that failed after the
   * response, and when the store could not give back a charge it took for a refused request (a
   * Redis Cluster master that died between the two). Without it, the first two are logged with
   * `console.error` (except under `NODE_ENV=test`) and a lost refund is a process warning.
   */
  onError?: (error: unknown, req: RequestInfo<Raw>) => void;
  /**
   * Run-time checks, each reported once per limiter with a stable code: `routeParam`, `body`,
   * `clock`, `proxy` (see docs/errors.md). `false` turns all off, `{ body: false }` one.
   * Defaults to `true`.
   */
  validate?: ValidateOption;
  /** Receives each run-time check's report, a `TollgateError`. Defaults to `console.warn`. */
  onWarning?: (warning: TollgateError) => void;
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
  /**
   * Metrics: `prometheusMetrics()` or `openTelemetryMetrics()` from `tollgate/metrics`, or any
   * `TollgateObserver`. One may serve several limiters.
   */
  metrics?: TollgateObserver;
}

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
    onWarning: { typeofFunction: true, expected: 'a function' },
    validate: {
      anyOf: [
        { type: 'boolean' },
        {
          type: 'object',
          additionalProperties: false,
          properties: {
            routeParam: { type: 'boolean' },
            body: { type: 'boolean' },
            clock: { type: 'boolean' },
            proxy: { type: 'boolean' },
          },
        },
      ],
      expected: 'a boolean, or an object of routeParam, body, clock and proxy booleans',
    },
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
    metrics: {
      methods: ['decided', 'storeCall', 'spend', 'refunded', 'leases'],
      expected: "a TollgateObserver, e.g. prometheusMetrics() from 'tollgate/metrics'",
    },
    requestPropertyName: {
      type: 'string',
      pattern: '^[A-Za-z_$][A-Za-z0-9_$]{0,63}$',
      // Names that would replace the prototype, or a request member tollgate or the framework reads.
      not: {
        enum: [
          '__proto__',
          'constructor',
          'prototype',
          'app',
          'body',
          'headers',
          'ip',
          'method',
          'params',
          'path',
          'query',
          'res',
        ],
      },
      expected: 'a JavaScript identifier of at most 64 characters',
    },
  },
} satisfies JsonSchema;
