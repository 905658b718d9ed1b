import { conflict } from '../errors/errors.js';
import { headerFormat } from '../http/headers.js';
import type { TollgateOptions } from '../options/options.js';
import { tollgateOptionsSchema } from '../options/options.js';
import { validateOptions } from '../options/validation.js';
import { problem, type Serializer } from '../serializers/index.js';
import { type CompiledSpendCap, compileSpendCap, DAY_MS } from '../spend/cap.js';
import { MemoryStore } from '../stores/memory/index.js';
import type { Store } from '../stores/store.js';
import { type CompiledScope, compileScopes } from './compile.js';
import type { Decision } from './decision.js';
import { type CompiledFailure, compileFailurePolicy } from './failure.js';
import { compileAllowListOption } from './ip.js';
import { compileKeyNormaliser } from './keys.js';
import type { MaybePromise } from './maybe-promise.js';
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
  readonly store: Store;
  readonly now: () => number;
  readonly failure: CompiledFailure;
  readonly summarise: Summariser;
  /** The `RateLimit-Policy` value when every scope counts a request in its only tier. */
  readonly fixedPolicy: FixedPolicy | undefined;
  readonly serializer: Serializer;
  readonly hooks: Hooks<Raw>;
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
  return Object.freeze({
    scopes,
    spendCap,
    skip: options.skip,
    allowListed: compileAllowListOption(options.allowList),
    store: options.store ?? new MemoryStore({ now }),
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
  if (typeof cap.cost === 'number' && typeof cap.budget === 'number' && cap.cost > cap.budget)
    conflict(
      'spendCap.cost',
      `spendCap.cost (${cap.cost}) is above spendCap.budget (${cap.budget}): no request could ever be admitted`,
    );
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
  const capItem = cap?.fixedBudget === undefined ? undefined : policyItem(cap.id, cap.fixedBudget, DAY_MS);
  const withCap = capItem === undefined ? undefined : limits.length === 0 ? capItem : `${field}, ${capItem}`;
  return { count: limits.length, field, withCap };
}
