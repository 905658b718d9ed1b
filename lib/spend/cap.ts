import { checkedCost, checkedCostOf } from '../core/cost.js';
import type { Decision } from '../core/decision.js';
import { compileKeySource, type KeyValue, storeValue } from '../core/keys.js';
import { isPromiseLike, type MaybePromise } from '../core/maybe-promise.js';
import type { RequestInfo } from '../core/request.js';
import { TollgateError } from '../errors/errors.js';
import type { SpendBudget, SpendCapOptions } from '../options/options.js';
import type { WindowCounterSpec } from '../stores/store.js';
import { type CompiledPeriod, compilePeriod, DAY_MS } from './periods.js';

export { DAY_MS };

/** Idempotency keys as clients send them (RFC draft-ietf-httpapi-idempotency-key-header: a String); printable and bounded. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const DECIMAL_COST = /^(0|[1-9][0-9]{0,15})$/;

/** One period of a cap: its window, its budget. */
export interface CapPeriod<Raw> extends CompiledPeriod {
  /** `<cap>_<period>`, e.g. `spend_day`: the policy's id. */
  readonly id: string;
  readonly budgetOf: (req: RequestInfo<Raw>) => MaybePromise<number>;
  /** The budget when it is a constant. */
  readonly fixedBudget: number | undefined;
}

export interface CompiledSpendCap<Raw> {
  readonly name: string;
  /** Every period the cap counts, each charged the same credits in the same store call. */
  readonly periods: readonly CapPeriod<Raw>[];
  /** Every period's budget, when all of them are constants. */
  readonly fixedBudgets: readonly number[] | undefined;
  readonly code: string | number | undefined;
  readonly message: string | undefined;
  readonly keyPrefix: string;
  readonly keyOf: (req: RequestInfo<Raw>) => MaybePromise<KeyValue>;
  readonly costOf: (req: RequestInfo<Raw>) => MaybePromise<number | undefined>;
  readonly idempotencyHeader: string | undefined;
  readonly refundWhen: (status: number, req: RequestInfo<Raw>) => boolean;
  readonly onMissing: 'skip' | 'refuse';
  /** Whether key values are always hashed (API keys), for `getUsage(key)` to find the same counter. */
  readonly hashKeys: boolean;
}

export function compileSpendCap<Raw>(options: SpendCapOptions<Raw>, prefix: string): CompiledSpendCap<Raw> {
  const name = options.name ?? 'spend';
  const { cost = 1, refundWhen = 'server-error', idempotencyHeader = 'idempotency-key' } = options;
  const periods = budgetsOf(options).map(({ period, budget }): CapPeriod<Raw> => {
    const compiled = compilePeriod(period);
    return {
      ...compiled,
      id: `${name}_${compiled.name}`,
      budgetOf: typeof budget === 'number' ? () => budget : budget,
      fixedBudget: typeof budget === 'number' ? budget : undefined,
    };
  });
  const fixed = periods.map((period) => period.fixedBudget);
  return {
    name,
    periods,
    fixedBudgets: fixed.every((budget) => budget !== undefined) ? fixed : undefined,
    code: options.code,
    message: options.message,
    keyPrefix: `${prefix}:${name}:`,
    keyOf: compileKeySource(options.key, { ipv6Subnet: 56, apiKeyHeader: 'x-api-key' }),
    costOf: compileCost(cost),
    idempotencyHeader: idempotencyHeader === false ? undefined : idempotencyHeader.toLowerCase(),
    refundWhen:
      refundWhen === 'server-error'
        ? (status) => status >= 500
        : refundWhen === 'never'
          ? () => false
          : refundWhen,
    onMissing: options.onMissing ?? 'refuse',
    hashKeys: options.key === 'apiKey',
  };
}

/** The cap's periods and budgets: `budgets`, or `budget` for `period` (the day by default). */
function budgetsOf<Raw>(options: SpendCapOptions<Raw>): readonly SpendBudget<Raw>[] {
  if (options.budgets !== undefined) return options.budgets;
  return [{ period: options.period ?? 'day', budget: options.budget! }];
}

/** A cost, or `undefined` when it is not a non-negative safe integer (`1.5`, `-1`, `NaN`, `"1e3"`): the request is then a 400. */
function compileCost<Raw>(
  cost: NonNullable<SpendCapOptions<Raw>['cost']>,
): (req: RequestInfo<Raw>) => MaybePromise<number | undefined> {
  if (typeof cost === 'number') return () => cost;
  if (typeof cost === 'function') {
    return (req) => checkedCostOf(cost(req));
  }
  const header = cost.header.toLowerCase();
  return (req) => {
    const raw = req.headers[header];
    const text = Array.isArray(raw) ? raw[0] : raw;
    return text !== undefined && DECIMAL_COST.test(text) ? checkedCost(Number(text)) : undefined;
  };
}

/**
 * The request's budget in each period, in the order of `cap.periods`; synchronous when every
 * budget is a number or a synchronous function.
 */
export function resolveBudgets<Raw>(
  cap: CompiledSpendCap<Raw>,
  req: RequestInfo<Raw>,
): MaybePromise<readonly number[]> {
  if (cap.fixedBudgets !== undefined) return cap.fixedBudgets;
  const budgets = cap.periods.map((period) => period.budgetOf(req));
  if (!budgets.some(isPromiseLike)) return budgets.map((budget) => checkedBudget(cap, budget as number));
  return Promise.all(budgets).then((values) => values.map((budget) => checkedBudget(cap, budget)));
}

function checkedBudget<Raw>(cap: CompiledSpendCap<Raw>, budget: number): number {
  if (!Number.isSafeInteger(budget) || budget < 1) {
    throw new TollgateError(
      'ERR_TOLLGATE_RESOLVER_FAILED',
      `The budget function of spend cap "${cap.name}" returned ${String(budget)}; a budget is a positive integer of credits`,
    );
  }
  return budget;
}

/** The idempotency key as the store keeps it (hashed, bounded), `undefined` without one, `false` when malformed. */
export function idempotencyKeyOf<Raw>(
  cap: CompiledSpendCap<Raw>,
  req: RequestInfo<Raw>,
): string | undefined | false {
  if (cap.idempotencyHeader === undefined) return undefined;
  const raw = req.headers[cap.idempotencyHeader];
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined) return undefined;
  return IDEMPOTENCY_KEY.test(value) ? storeValue(value, true) : false;
}

/** One request's charge against the cap. */
export interface SpendCharge {
  /** The cap's key value, store-safe. */
  readonly key: string;
  readonly budget: number;
  readonly cost: number;
  readonly idempotencyKey: string | undefined;
}

/** The counter of one of the cap's periods (`cap.periods[index]`) for one request's charge. */
export function spendCounter<Raw>(
  cap: CompiledSpendCap<Raw>,
  index: number,
  charge: SpendCharge,
): WindowCounterSpec {
  const { key, budget, cost, idempotencyKey } = charge;
  const period = cap.periods[index]!;
  return {
    kind: 'window',
    key: `${cap.keyPrefix}${key}:${period.name}`,
    windowMs: period.windowMs,
    ...(period.calendar === undefined ? {} : { period: period.calendar }),
    limit: budget,
    cost,
    ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
  };
}

/** The 401 a usage endpoint answers to a request with no key: the same in every adapter. */
export function usageRefusal(now: number): Decision {
  return {
    allowed: false,
    shadow: false,
    status: 401,
    reason: 'spend_missing',
    scope: undefined,
    code: undefined,
    message: 'This request has no key to read the usage of',
    limit: Number.POSITIVE_INFINITY,
    remaining: Number.POSITIVE_INFINITY,
    resetAt: now,
    windowMs: 0,
    cost: 0,
    retryAfter: undefined,
    now,
    policies: [],
    headers: [],
  };
}
