import type { MaybePromise } from '../core/maybe-promise.js';
import type { RequestInfo } from '../core/request.js';
import type { SpendPeriod } from '../spend/periods.js';
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

export type { SpendPeriod };

/** A budget in credits (integer minor units), or a function of the request, e.g. by plan. */
export type BudgetOption<Raw = unknown> = number | ((req: RequestInfo<Raw>) => MaybePromise<number>);

/** One period of a cap with several: e.g. `{ period: 'month', budget: 20_000 }`. */
export interface SpendBudget<Raw = unknown> {
  period: SpendPeriod;
  budget: BudgetOption<Raw>;
}

/**
 * A budget of credits per key and period, charged by cost: by default per UTC day, cleared at
 * 00:00 UTC; with `budgets`, several periods at once, checked and charged together.
 */
export interface SpendCapOptions<Raw = unknown> {
  /** Names the cap in store keys and in `RateLimit-Policy` (`<name>_day`, `<name>_month`). Defaults to `'spend'`. */
  name?: string;
  /** Whose budget: e.g. the user or the API key. */
  key: KeySource<Raw>;
  /** Credits per `period` (integer minor units), or a function of the request, e.g. by plan. Required unless `budgets` is given. */
  budget?: BudgetOption<Raw>;
  /**
   * Several periods at once, e.g. 1,000 credits a day and 20,000 a month: every period is
   * checked and charged in the same store call, all or nothing, and the refusal names the
   * period that refused. Instead of `budget` and `period`.
   */
  budgets?: SpendBudget<Raw>[];
  /**
   * Credits the request costs: a number, a function (sync or async), or a request header
   * holding a decimal integer. Checked before anything is reserved: a request that costs more
   * than what remains is refused and reserves nothing. Defaults to `1`.
   */
  cost?: number | ((req: RequestInfo<Raw>) => MaybePromise<number>) | { header: string };
  /**
   * The budget's period: `'day'` (the UTC day), `'week'` (the ISO week, from Monday 00:00 UTC),
   * `'month'` (the calendar month in UTC) or `{ days: n }` (n days aligned to the Unix epoch).
   * Defaults to `'day'`.
   */
  period?: SpendPeriod;
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

const budgetSchema = {
  anyOf: [{ type: 'integer', minimum: 1, maximum: MAX_QUOTA }, { typeofFunction: true }],
  expected: 'a positive integer of credits (at most 15 digits) or a function of the request',
};

const periodSchema = {
  anyOf: [
    { enum: ['day', 'week', 'month'] },
    {
      type: 'object',
      additionalProperties: false,
      required: ['days'],
      properties: { days: { type: 'integer', minimum: 1, maximum: 366 } },
    },
  ],
  expected: "'day', 'week', 'month' or { days } (1 to 366)",
};

export const spendCapOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['key'],
  properties: {
    name: { type: 'string', pattern: NAME_PATTERN, expected: NAME_WORDS },
    key: keySchema,
    budget: budgetSchema,
    budgets: {
      type: 'array',
      minItems: 1,
      maxItems: 8,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['period', 'budget'],
        properties: { period: periodSchema, budget: budgetSchema },
      },
      expected: 'a list of 1 to 8 { period, budget }',
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
    period: periodSchema,
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
