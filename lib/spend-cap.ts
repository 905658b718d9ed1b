import type { ServerResponse } from 'node:http';
import type { Decision } from './decision.js';
import { TollgateError } from './errors.js';
import { compileKeySource, storeValue } from './keys.js';
import { isPromiseLike, type MaybePromise } from './maybe-promise.js';
import type { SpendCapOptions } from './options.js';
import type { RequestInfo } from './request.js';
import type { RefundSpec, Store, WindowCounterSpec } from './store.js';

/** A UTC day. Store windows are aligned to the Unix epoch, which has no leap seconds, so a day window is the UTC calendar day. */
export const DAY_MS = 86_400_000;

/** Idempotency keys as clients send them (RFC draft-ietf-httpapi-idempotency-key-header: a String); printable and bounded. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const DECIMAL_COST = /^(0|[1-9][0-9]{0,15})$/;

export interface CompiledSpendCap<Raw> {
  readonly name: string;
  readonly id: string;
  readonly code: string | number | undefined;
  readonly message: string | undefined;
  readonly keyPrefix: string;
  readonly keyOf: (req: RequestInfo<Raw>) => MaybePromise<string | undefined>;
  readonly budgetOf: (req: RequestInfo<Raw>) => MaybePromise<number>;
  readonly costOf: (req: RequestInfo<Raw>) => MaybePromise<number | undefined>;
  readonly idempotencyHeader: string | undefined;
  readonly refundWhen: (status: number, req: RequestInfo<Raw>) => boolean;
  readonly onMissing: 'skip' | 'refuse';
  /** Whether key values are always hashed (API keys), for `getUsage(key)` to find the same counter. */
  readonly hashKeys: boolean;
  /** The budget when it is a constant. */
  readonly fixedBudget: number | undefined;
}

export function compileSpendCap<Raw>(options: SpendCapOptions<Raw>, prefix: string): CompiledSpendCap<Raw> {
  const name = options.name ?? 'spend';
  const { budget, cost = 1, refundWhen = 'server-error', idempotencyHeader = 'idempotency-key' } = options;
  return {
    name,
    id: `${name}_day`,
    code: options.code,
    message: options.message,
    keyPrefix: `${prefix}:${name}:`,
    keyOf: compileKeySource(options.key, { ipv6Subnet: 56, apiKeyHeader: 'x-api-key' }),
    budgetOf: typeof budget === 'number' ? () => budget : budget,
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
    fixedBudget: typeof budget === 'number' ? budget : undefined,
  };
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

function checkedCost(value: number): number | undefined {
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** A cost function's answer checked as `checkedCost` does, once it has one: the scopes' costs and the cap's. */
export function checkedCostOf(value: MaybePromise<number>): MaybePromise<number | undefined> {
  return isPromiseLike(value) ? Promise.resolve(value).then(checkedCost) : checkedCost(value);
}

/** The request's budget; synchronous when the budget is a number or a synchronous function. */
export function resolveBudget<Raw>(cap: CompiledSpendCap<Raw>, req: RequestInfo<Raw>): MaybePromise<number> {
  const budget = cap.budgetOf(req);
  return isPromiseLike(budget)
    ? Promise.resolve(budget).then((value) => checkedBudget(cap, value))
    : checkedBudget(cap, budget);
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

export function spendCounter<Raw>(
  cap: CompiledSpendCap<Raw>,
  key: string,
  budget: number,
  cost: number,
  idempotencyKey: string | undefined,
): WindowCounterSpec {
  return {
    kind: 'window',
    key: `${cap.keyPrefix}${key}:day`,
    windowMs: DAY_MS,
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

// ---------------------------------------------------------------------------------------------
// Settlement: what happens to a reserved charge once the response is known.

interface Settlement {
  readonly store: Store;
  readonly reserved: RefundSpec & { kind: 'window' };
  readonly refundWhen: (status: number, req: never) => boolean;
  actualCost: number | undefined;
  settled: boolean;
}

/**
 * A decision's settlement rides on it under a symbol: see `CHARGES` in charges.ts for why not a
 * WeakMap, and why registered and versioned with the shape of `Settlement`.
 */
const SETTLEMENT = Symbol.for('tollgate.settlement/1');
type Settled = Decision & { [SETTLEMENT]?: Settlement };

const settlements = {
  get: (decision: Decision): Settlement | undefined => (decision as Settled)[SETTLEMENT],
  set: (decision: Decision, settlement: Settlement): void => {
    (decision as Settled)[SETTLEMENT] = settlement;
  },
  has: (decision: Decision): boolean => (decision as Settled)[SETTLEMENT] !== undefined,
};

export function recordSettlement<Raw>(
  decision: Decision,
  store: Store,
  reserved: RefundSpec & { kind: 'window' },
  refundWhen: (status: number, req: RequestInfo<Raw>) => boolean,
): void {
  settlements.set(decision, {
    store,
    reserved,
    refundWhen: refundWhen as Settlement['refundWhen'],
    actualCost: undefined,
    settled: false,
  });
}

export function carrySettlement(from: Decision, to: Decision): void {
  const settlement = settlements.get(from);
  if (settlement !== undefined) settlements.set(to, settlement);
}

/** Marks a decision's spend charge as settled: it was refunded whole by `limiter.refund`. */
export function cancelSettlement(decision: Decision): void {
  const settlement = settlements.get(decision);
  if (settlement !== undefined) settlement.settled = true;
}

export function hasSettlement(decision: Decision): boolean {
  return settlements.has(decision);
}

/**
 * Settles a decision's spend charge when its Node response is done, for every adapter: on
 * `finish` with the final status; on a `close` without finish (the client hung up) with the
 * work reported so far, but never a refund, since there is no final status to judge by.
 */
export function settleWhenDone<Raw>(
  res: ServerResponse,
  decision: Decision,
  req: RequestInfo<Raw>,
  onError: (error: unknown, req: RequestInfo<Raw>) => void,
): void {
  if (!hasSettlement(decision)) return;
  const report = (error: unknown) => onError(error, req);
  res.once('finish', () => {
    settle(decision, res.statusCode, req).catch(report);
  });
  res.once('close', () => {
    if (!res.writableFinished) settle(decision, res.statusCode, req, false).catch(report);
  });
}

/**
 * Records what the request really cost (e.g. LLM tokens), to be settled when the response
 * finishes: the difference from the reserved estimate is refunded or charged then.
 */
export function reportActualCost(decision: Decision, credits: number): void {
  if (!Number.isSafeInteger(credits) || credits < 0)
    throw new TypeError(`The actual cost must be a non-negative safe integer, got ${String(credits)}`);
  // No reservation (the cap skipped the request, replayed it, or the store was down and failed
  // open): there is nothing to adjust, and the handler's work must not fail for it.
  const settlement = settlements.get(decision);
  if (settlement !== undefined) settlement.actualCost = credits;
}

/**
 * Settles a reserved charge once the response status is known, exactly once per decision:
 * a failed response (by `refundWhen`) gets the whole reservation back; otherwise a reported
 * actual cost refunds or charges the difference from the estimate.
 */
export async function settle<Raw>(
  decision: Decision,
  status: number,
  req: RequestInfo<Raw>,
  finished = true,
): Promise<void> {
  const settlement = settlements.get(decision);
  if (settlement === undefined || settlement.settled) return;
  settlement.settled = true;
  const { store, reserved } = settlement;
  // A response cut short by the client has no final status to judge a refund by; the work
  // reported so far is still settled.
  if (
    finished &&
    (settlement.refundWhen as (status: number, req: RequestInfo<Raw>) => boolean)(status, req)
  ) {
    await store.refund([reserved]);
    return;
  }
  const actual = settlement.actualCost;
  if (actual === undefined || actual === reserved.cost) return;
  // The idempotency mark stays with the charge; only the amount moves.
  const { idempotencyKey: _mark, ...counter } = reserved;
  if (actual < reserved.cost) await store.refund([{ ...counter, cost: reserved.cost - actual }]);
  else await store.charge([{ ...counter, cost: actual - reserved.cost }]);
}
