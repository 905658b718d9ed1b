import type { MaybePromise } from '../core/maybe-promise.js';
import type { RequestInfo } from '../core/request.js';
import {
  codeSchema,
  HEADER_PATTERN,
  keySchema,
  MAX_QUOTA,
  messageSchema,
  NAME_PATTERN,
  NAME_WORDS,
} from './schema-parts.js';
import type { KeySource } from './scope-options.js';
import type { JsonSchema } from './validation.js';

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
