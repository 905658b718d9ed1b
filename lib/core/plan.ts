import { conflict, TollgateConfigError } from '../errors/errors.js';
import { headerFormat } from '../http/headers.js';
import type { TollgateOptions } from '../options/options.js';
import { tollgateOptionsSchema } from '../options/options.js';
import { validateOptions } from '../options/validation.js';
import { problem, type Serializer } from '../serializers/index.js';
import { type CompiledSpendCap, compileSpendCap } from '../spend/cap.js';
import { MemoryStore } from '../stores/memory/index.js';
import type { Store } from '../stores/store.js';
import { type CompiledScope, compileScopes } from './compile.js';
import type { Decision } from './decision.js';
import { type CompiledFailure, compileFailurePolicy } from './failure.js';
import { compileAllowListOption } from './ip.js';
import { compileKeyNormaliser } from './keys.js';
import type { MaybePromise } from './maybe-promise.js';
import { observeStore } from './observed-store.js';
import type { TollgateObserver } from './observer.js';
import type { RequestInfo } from './request.js';
import { createSummariser, type Summariser } from './summarise.js';
import { policyItem } from './tiers.js';
import { clockCheck, compileValidator, type Validator } from './validations.js';

/**
 * Everything a limiter needs per request, compiled once from its options: validated, checked
 * for conflicts, with what can be precomputed already computed. Requests only read it.
 */
export interface Plan<Raw> {
  readonly scopes: readonly CompiledScope<Raw>[];
  readonly spendCap: CompiledSpendCap<Raw> | undefined;
  readonly skip: ((req: RequestInfo<Raw>) => MaybePromise<boolean>) | undefined;
  readonly allowListed: ((ip: string | undefined) => boolean) | undefined;
  /** The store the pipeline calls: the limiter's own, timed when there is an observer. */
  readonly store: Store;
  /** The limiter's own store, as `limiter.store` gives it. */
  readonly ownStore: Store;
  readonly now: () => number;
  readonly failure: CompiledFailure;
  readonly summarise: Summariser;
  /** The `RateLimit-Policy` value when every scope counts a request in its only tier. */
  readonly fixedPolicy: FixedPolicy | undefined;
  readonly serializer: Serializer;
  readonly hooks: Hooks<Raw>;
  /** The `metrics` option: told of decisions, store calls, spend and leases. */
  readonly observer: TollgateObserver | undefined;
  /** Where adapters put the decision: `req[name]`, `res.locals[name]`, `ctx.state[name]`. */
  readonly requestPropertyName: string;
  /** The run-time checks, reported once each. */
  readonly validator: Validator;
  /** Compares the store's clock at a decision with `now`, when the check is on. */
  readonly checkClock: ((storeNow: number) => void) | undefined;
  /** The spending cap's key as the application knows it, as the store keeps it. */
  readonly spendCapKey: ((key: string | number) => string) | undefined;
}

export interface FixedPolicy {
  /** How many counters a request has when every scope counts it. */
  readonly count: number;
  readonly field: string;
  /** The field with the spending cap's item, when the cap's budget is a number. */
  readonly withCap: string | undefined;
}

export interface Hooks<Raw> {
  readonly onDecision: ((decision: Decision, req: RequestInfo<Raw>) => void) | undefined;
  readonly onRefusal: ((decision: Decision, req: RequestInfo<Raw>) => void) | undefined;
  readonly onError: ((error: unknown, req: RequestInfo<Raw>) => void) | undefined;
}

/** Validates `options` (throwing `TollgateConfigError` with the option's path) and compiles them. */
export function compilePlan<Raw>(options: TollgateOptions<Raw>): Plan<Raw> {
  validateOptions(tollgateOptionsSchema, options, 'tollgate options');
  const prefix = options.prefix ?? 'tg';
  const validator = compileValidator(options.validate, options.onWarning);
  const scopes = compileScopes(options.scopes ?? [], { prefix, cost: options.cost, validator });
  const spendCap = options.spendCap === undefined ? undefined : compileSpendCap(options.spendCap, prefix);
  checkSpendCap(options, scopes);
  const now = options.now ?? Date.now;
  const ownStore = options.store ?? new MemoryStore({ now });
  const observer = options.metrics;
  return Object.freeze({
    scopes,
    spendCap,
    skip: options.skip,
    allowListed: compileAllowListOption(options.allowList),
    store: observer === undefined ? ownStore : observeStore(ownStore, observer),
    ownStore,
    now,
    failure: compileFailurePolicy(options.onStoreError ?? 'open', now),
    summarise: createSummariser({
      shadow: options.shadow === true,
      format: headerFormat(options.headers, options.resetFormat, options.reasonHeader),
      scopes: spendCap === undefined ? scopes : [...scopes, spendCap],
    }),
    fixedPolicy: fixedPolicyOf(scopes, spendCap),
    serializer: options.serializer ?? problem,
    hooks: { onDecision: options.onDecision, onRefusal: options.onRefusal, onError: options.onError },
    observer,
    requestPropertyName: options.requestPropertyName ?? 'rateLimit',
    validator,
    checkClock: clockCheck(now, validator),
    spendCapKey:
      options.spendCap === undefined
        ? undefined
        : compileKeyNormaliser(options.spendCap.key, { ipv6Subnet: 56, apiKeyHeader: 'x-api-key' }),
  });
}

function checkSpendCap<Raw>(options: TollgateOptions<Raw>, scopes: readonly CompiledScope<Raw>[]): void {
  const cap = options.spendCap;
  if (cap === undefined) return;
  if (cap.budgets === undefined && cap.budget === undefined)
    throw new TollgateConfigError(
      'ERR_TOLLGATE_INVALID_OPTION',
      'spendCap.budget',
      'tollgate options: spendCap.budget is required (or spendCap.budgets)',
    );
  if (cap.budgets !== undefined && (cap.budget !== undefined || cap.period !== undefined))
    conflict(
      'spendCap.budgets',
      'spendCap.budgets replaces spendCap.budget and spendCap.period: give one or the other',
    );
  const budgets = cap.budgets ?? [{ period: cap.period ?? 'day', budget: cap.budget! }];
  const periods = new Set<string>();
  budgets.forEach(({ period, budget }, index) => {
    const at = cap.budgets === undefined ? 'spendCap.budget' : `spendCap.budgets[${index}].budget`;
    if (typeof cap.cost === 'number' && typeof budget === 'number' && cap.cost > budget)
      conflict(
        'spendCap.cost',
        `spendCap.cost (${cap.cost}) is above ${at} (${budget}): no request could ever be admitted`,
      );
    const name = typeof period === 'string' ? period : period.days === 1 ? 'day' : `${period.days}d`;
    if (periods.has(name))
      conflict(
        `spendCap.budgets[${index}].period`,
        `spendCap.budgets[${index}].period repeats the period ${name}`,
      );
    periods.add(name);
  });
  const name = cap.name ?? 'spend';
  if (scopes.some((scope) => scope.name === name))
    conflict('spendCap.name', `spendCap.name "${name}" is used by a scope; give the cap its own name`);
}

/**
 * With one tier per scope, every request that each scope counts has the same
 * `RateLimit-Policy` (and so does the spending cap, with a fixed budget): joined once here.
 */
function fixedPolicyOf<Raw>(
  scopes: readonly CompiledScope<Raw>[],
  cap: CompiledSpendCap<Raw> | undefined,
): FixedPolicy | undefined {
  if (!scopes.every((scope) => scope.only !== undefined)) return undefined;
  const limits = scopes.flatMap((scope) => scope.only!.limits);
  const field = limits.map((limit) => limit.policy).join(', ');
  // A month's length changes from one month to the next: its item is made per decision.
  const capItem =
    cap?.fixedBudgets === undefined || cap.periods.some((period) => period.calendar === 'month')
      ? undefined
      : cap.periods
          .map((period, i) => policyItem(period.id, cap.fixedBudgets![i]!, period.windowMs))
          .join(', ');
  const withCap = capItem === undefined ? undefined : limits.length === 0 ? capItem : `${field}, ${capItem}`;
  return { count: limits.length, field, withCap };
}
