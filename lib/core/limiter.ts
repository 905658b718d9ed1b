import { isoSeconds } from '../http/headers.js';
import { requestIdOf } from '../http/request-id.js';
import type { TollgateOptions } from '../options/options.js';
import type { ErrorDescription, Serializer } from '../serializers/index.js';
import { type CompiledSpendCap, resolveBudgets, spendCounter } from '../spend/cap.js';
import { cancelSettlement, carrySettlement } from '../spend/settlement.js';
import type { Store } from '../stores/store.js';
import { carryCharges, refundCharges, releaseLeases } from './charges.js';
import type { Decision, PolicyState } from './decision.js';
import { type CounterTarget, readState, resetCounters, type StateTarget } from './inspect.js';
import { storeValue } from './keys.js';
import type { MaybePromise } from './maybe-promise.js';
import { decide } from './pipeline.js';
import { compilePlan, type Plan } from './plan.js';
import type { RequestInfo } from './request.js';
import { asAdmitted, pickRefusalFields } from './summarise.js';
import type { Validator } from './validations.js';

/** The answer to send for a refused decision. */
export interface Refusal {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly contentType: string;
  readonly body: string;
  readonly requestId: string;
}

/** A spending cap's state in one period for one key. */
export interface PeriodUsage {
  readonly used: number;
  readonly remaining: number;
  readonly cap: number;
  /** When the period clears (the next 00:00 UTC for a day), ISO-8601. */
  readonly resets_at: string;
}

/**
 * A spending cap's state for one key, as `GET /billing/usage/requests` shows it. The top-level
 * fields are the period with the fewest credits left, what the caller can spend now (with a
 * daily cap alone, the day: the shape clients of a daily cap know); `periods` has every period
 * by name (`day`, `week`, `month`, `<n>d`) when the cap has another than the day.
 */
export interface Usage extends PeriodUsage {
  readonly periods?: Readonly<Record<string, PeriodUsage>>;
}

export interface Limiter<Raw = unknown> {
  /**
   * Decides one request: resolves every scope's key, tier and cost, then checks and charges all
   * counters in one store call. Resolves to `undefined` when the request is skipped or allow-listed.
   * Rejects only when a `skip`, key, tier, cost or budget function throws (or rejects), a tier
   * resolver names no tier, or a budget function returns no positive integer.
   */
  check(req: RequestInfo<Raw>): Promise<Decision | undefined>;
  /**
   * Gives back what a decision charged, e.g. when a later limiter refused the same request.
   * Works for any limiter's decision; a decision is refunded at most once.
   */
  refund(decision: Decision): Promise<void>;
  /**
   * Gives back the concurrency slots a decision holds, once (the adapters do it when the response
   * ends). For applications that call `check` themselves.
   */
  release(decision: Decision): Promise<void>;
  /** A decision covering an earlier limiter's admitted decision and this one's: stacked middleware. */
  combine(earlier: Decision, later: Decision): Decision;
  /**
   * The spending cap's usage for a key as the cap's key source yields it (a user id, an API
   * key): `{ used, remaining, cap, resets_at }` (and `periods`). `budget` is needed when a
   * budget is a function: a number, or one per period in the order of `spendCap.budgets`.
   */
  getUsage(key: string, budget?: number | readonly number[]): Promise<Usage>;
  /** The spending cap's usage for the caller of a request; `undefined` when the request has no key. */
  usageOf(req: RequestInfo<Raw>): Promise<Usage | undefined>;
  /**
   * Forgets every counter of one key: `{ scope, key }` for a scope, by its name (all windows,
   * the burst bucket, every tier), `{ spendCap: true, key }` for the spending cap's current
   * day. The key is given as the application knows it (an address, a raw API key, a partner
   * id): it is normalised and hashed as requests' keys are.
   * @example
   * await limiter.reset({ scope: 'partner', key: 'acme' });
   */
  reset(target: CounterTarget): Promise<void>;
  /**
   * The current state of each of one key's limits, as a decision's `policies` show them,
   * without charging anything: `allowed` and `retryAt` say whether one more unit would be
   * admitted. A scope with tiers needs `tier`; a spending cap whose budget is a function needs
   * `budget`.
   * @example
   * const [minute] = await limiter.state({ scope: 'ip', key: '203.0.113.7' });
   */
  state(target: StateTarget): Promise<PolicyState[]>;
  /** Reports an error that happened after the response (a failed settlement) to `onError`. */
  reportError(error: unknown, req: RequestInfo<Raw>): void;
  /** The status, headers and body that answer a refused decision. */
  refusal(decision: Decision, req: RequestInfo<Raw>): Refusal;
  readonly store: Store;
  readonly serializer: Serializer;
  /** Where adapters put the decision: `req[name]`, `res.locals[name]`, `ctx.state[name]`. */
  readonly requestPropertyName: string;
}

/** The plans of the limiters `createLimiter` built, for the adapters' synchronous entry. */
const plans = new WeakMap<Limiter<never>, Plan<never>>();

/**
 * Builds the framework-free core of a middleware. Options are validated and compiled here,
 * once; nothing is checked again per request.
 * @example
 * const limiter = createLimiter({
 *   scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 100, window: '1m' }, { max: 6000, window: '1h' }], burst: 20 }],
 * });
 * const decision = await limiter.check({ ip: '203.0.113.7', method: 'GET', path: '/', headers: {}, raw: null });
 */
export function createLimiter<Raw = unknown>(options: TollgateOptions<Raw>): Limiter<Raw> {
  const plan = compilePlan(options);
  const limiter: Limiter<Raw> = {
    check: async (req) => decide(plan, req),
    refund: (decision) => refund(plan, decision),
    release: releaseLeases,
    combine: (earlier, later) => combine(plan, earlier, later),
    getUsage: (key, budget) => getUsage(plan, key, budget),
    usageOf: (req) => usageOf(plan, req),
    reset: (target) => resetCounters(plan, target),
    state: (target) => readState(plan, target),
    reportError: (error, req) => reportError(plan, error, req),
    refusal: (decision, req) => refusal(plan.serializer, decision, req),
    store: plan.ownStore,
    serializer: plan.serializer,
    requestPropertyName: plan.requestPropertyName,
  };
  plans.set(limiter, plan);
  return limiter;
}

/**
 * For adapters: `check`, answered without a promise when nothing it runs answers with one
 * (the memory store and plain key, tier and cost functions), so that the middleware can go on
 * in the same tick. Throws what `check` would reject with before the first promise.
 */
export function decideNow<Raw>(
  limiter: Limiter<Raw>,
  req: RequestInfo<Raw>,
): MaybePromise<Decision | undefined> {
  const plan = plans.get(limiter as Limiter<never>) as Plan<Raw> | undefined;
  return plan === undefined ? limiter.check(req) : decide(plan, req);
}

/** The run-time checks of a limiter `createLimiter` built; `undefined` for another `Limiter`. */
export function validatorOf(limiter: Limiter<never>): Validator | undefined {
  return plans.get(limiter)?.validator;
}

/** `onError`, else the console (except under `NODE_ENV=test`, as Express's final handler does). */
function reportError<Raw>(plan: Plan<Raw>, error: unknown, req: RequestInfo<Raw>): void {
  const { onError } = plan.hooks;
  try {
    if (onError !== undefined) onError(error, req);
    else if (process.env.NODE_ENV !== 'test') console.error(error);
  } catch {}
}

async function refund<Raw>(plan: Plan<Raw>, decision: Decision): Promise<void> {
  // The whole charge comes back here: a settlement after the response must not give it again.
  cancelSettlement(decision);
  if ((await refundCharges(decision)) && plan.observer !== undefined)
    try {
      plan.observer.refunded({ cause: 'refund' });
    } catch {}
}

function combine<Raw>(plan: Plan<Raw>, earlier: Decision, later: Decision): Decision {
  if (later.policies.length === 0 && later.allowed) return earlier;
  // A shadow limiter's refusals are for its hooks only: they must not refuse through another.
  const earlierPolicies = earlier.shadow ? earlier.policies.map(asAdmitted) : earlier.policies;
  const merged = plan.summarise({
    policies: [...earlierPolicies, ...later.policies],
    at: later.now,
    cost: later.cost,
    storeError: later.storeError,
  });
  const combined = later.allowed
    ? merged
    : { ...merged, ...pickRefusalFields(later), headers: merged.headers };
  carryCharges(earlier, later, combined);
  carrySettlement(earlier, combined);
  carrySettlement(later, combined);
  return combined;
}

function spendCapOf<Raw>(plan: Plan<Raw>): CompiledSpendCap<Raw> {
  if (plan.spendCap === undefined) throw new TypeError('This limiter has no spendCap');
  return plan.spendCap;
}

async function readUsage<Raw>(plan: Plan<Raw>, key: string, budgets: readonly number[]): Promise<Usage> {
  const cap = spendCapOf(plan);
  const counters = budgets.map((budget, i) =>
    spendCounter(cap, i, { key, budget, cost: 0, idempotencyKey: undefined }),
  );
  const result = await plan.store.peek(counters);
  const usages = result.counters.map(
    (state, i): PeriodUsage => ({
      used: budgets[i]! - state.remaining,
      remaining: state.remaining,
      cap: budgets[i]!,
      resets_at: isoSeconds(state.resetAt),
    }),
  );
  let tightest = usages[0]!;
  for (const usage of usages) if (usage.remaining < tightest.remaining) tightest = usage;
  if (cap.periods.length === 1 && cap.periods[0]!.name === 'day') return tightest;
  return {
    ...tightest,
    periods: Object.fromEntries(cap.periods.map((period, i) => [period.name, usages[i]!])),
  };
}

async function getUsage<Raw>(
  plan: Plan<Raw>,
  key: string,
  budget?: number | readonly number[],
): Promise<Usage> {
  const cap = spendCapOf(plan);
  const budgets = budget === undefined ? cap.fixedBudgets : typeof budget === 'number' ? [budget] : budget;
  if (budgets === undefined || budgets.length !== cap.periods.length)
    throw new TypeError(
      'getUsage needs a budget for each period of the spending cap when its budgets are functions',
    );
  return readUsage(plan, storeValue(key, cap.hashKeys), budgets);
}

async function usageOf<Raw>(plan: Plan<Raw>, req: RequestInfo<Raw>): Promise<Usage | undefined> {
  const cap = spendCapOf(plan);
  const key = await cap.keyOf(req);
  if (typeof key !== 'string') return undefined;
  return readUsage(plan, key, await resolveBudgets(cap, req));
}

function refusal<Raw>(serializer: Serializer, decision: Decision, req: RequestInfo<Raw>): Refusal {
  const requestId = requestIdOf(req.headers);
  const description: ErrorDescription = {
    status: decision.status,
    code: decision.code,
    message: decision.message ?? 'Too many requests',
    reason: decision.reason,
    retryAfter: decision.retryAfter,
    requestId,
    decision,
  };
  return {
    status: decision.status,
    headers: decision.headers,
    contentType: serializer.contentType,
    body: JSON.stringify(serializer.render(description)),
    requestId,
  };
}
