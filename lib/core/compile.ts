import { conflict } from '../errors/errors.js';
import type { CostOption, ScopeOptions, TierOptions } from '../options/options.js';
import type { CalendarPeriod } from '../stores/store.js';
import { checkedCostOf } from './cost.js';
import { compileKeyNormaliser, compileKeySource, type KeyValue } from './keys.js';
import type { MaybePromise } from './maybe-promise.js';
import type { RequestInfo } from './request.js';
import { compileTier } from './tiers.js';
import { missingKeyCheck, type Validator } from './validations.js';

/**
 * Scopes and tiers, compiled once per limiter into the limits the pipeline counts against.
 * Nothing here runs per request.
 */

export interface CompiledLimit {
  readonly id: string;
  /** The scope the limit belongs to, and the tier it was compiled for. */
  readonly scope: string;
  readonly tier: string | undefined;
  /** What it counts: requests (or their weight), a spending cap's credits, or requests in flight. */
  readonly unit: 'requests' | 'credits' | 'concurrent-requests';
  readonly name: string;
  readonly kind: 'window' | 'bucket' | 'lease';
  readonly max: number;
  /** Windows: the window's length (a calendar period's longest). Leases: how long one lasts. */
  readonly windowMs: number;
  /** Windows counted in calendar periods: the ISO week or the calendar month (see stores/periods.ts). */
  readonly period?: CalendarPeriod | undefined;
  /** Leases: the `Retry-After` a refusal advertises, since no one knows when a slot frees. */
  readonly retryHintMs?: number;
  /** Buckets: ms to regain one unit. */
  readonly intervalMs: number;
  /** `PolicyState.windowMs`: the window's length, or the time a bucket takes to refill from empty. */
  readonly spanMs: number;
  readonly keySuffix: string;
  /** The limit as a `RateLimit-Policy` item, built once. */
  readonly policy: string;
  readonly pinned: boolean;
}

export interface CompiledTier {
  readonly name: string | undefined;
  readonly unlimited: boolean;
  readonly limits: readonly CompiledLimit[];
  /** The largest cost any request can ever be admitted at: the smallest window max or burst. */
  readonly maxCost: number;
}

export interface CompiledScope<Raw> {
  readonly name: string;
  readonly code: string | number | undefined;
  readonly message: string | undefined;
  readonly keyPrefix: string;
  readonly keyOf: (req: RequestInfo<Raw>) => MaybePromise<KeyValue>;
  /** A key as the application knows it, as the store keeps it: for `reset` and `state`. */
  readonly normalise: (key: string | number) => string;
  /** Reports, once, a request that could not have had the key where the limiter is mounted. */
  readonly explainMissing: ((req: RequestInfo<Raw>) => void) | undefined;
  readonly only: CompiledTier | undefined;
  readonly tiers: ReadonlyMap<string, CompiledTier> | undefined;
  readonly tierOf: ((req: RequestInfo<Raw>) => MaybePromise<string>) | undefined;
  /** The cost of a request: a number, or the application's function checked as a cost. */
  readonly cost: number | ((req: RequestInfo<Raw>) => MaybePromise<number | undefined>);
  readonly onMissing: 'share' | 'skip' | 'refuse';
  readonly missingStatus: number;
}

export function compileScopes<Raw>(
  options: readonly ScopeOptions<Raw>[],
  defaults: { prefix: string; cost: CostOption<Raw> | undefined; validator: Validator },
): CompiledScope<Raw>[] {
  const names = new Set<string>();
  const ids = new Map<string, string>();
  return options.map((scope, index) => {
    const path = `scopes[${index}]`;
    if (names.has(scope.name))
      conflict(`${path}.name`, `${path}.name "${scope.name}" is used by another scope`);
    names.add(scope.name);
    checkScope(scope, path);
    const tiers = scope.tiers === undefined ? undefined : compileTiers(scope.name, scope.tiers, path);
    const only =
      tiers === undefined ? compileTier(scope.name, undefined, scope as TierOptions, path) : undefined;
    claimPolicyIds(ids, scope.name, only === undefined ? [...tiers!.values()] : [only], path);
    const keyOptions = {
      ipv6Subnet: scope.ipv6Subnet ?? 56,
      apiKeyHeader: scope.apiKeyHeader ?? 'x-api-key',
    };
    return {
      name: scope.name,
      code: scope.code,
      message: scope.message,
      keyPrefix: `${defaults.prefix}:${scope.name}:`,
      keyOf: compileKeySource(scope.key, keyOptions),
      normalise: compileKeyNormaliser(scope.key, keyOptions),
      explainMissing: missingKeyCheck(scope.key, scope.name, defaults.validator),
      only,
      tiers,
      tierOf: scope.tier,
      cost: compileCost(scope.cost ?? defaults.cost ?? 1),
      // A request without a key is never left uncounted unless asked: see `ScopeOptions.onMissing`.
      onMissing: scope.onMissing ?? (scope.key === 'apiKey' ? 'refuse' : 'share'),
      missingStatus: scope.missingStatus ?? 401,
    };
  });
}

/** Options that are valid one by one but contradict each other within a scope. */
function checkScope<Raw>(scope: ScopeOptions<Raw>, path: string): void {
  if (scope.tiers !== undefined) {
    if (
      scope.limits !== undefined ||
      scope.burst !== undefined ||
      scope.headerLimit !== undefined ||
      scope.concurrency !== undefined
    )
      conflict(
        `${path}.tiers`,
        `${path}.tiers: a scope with tiers keeps its limits, burst, headerLimit and concurrency inside each tier`,
      );
    if (scope.tier === undefined)
      conflict(`${path}.tier`, `${path}.tier is required with tiers: a function naming the tier`);
  } else {
    if (scope.limits === undefined && scope.concurrency === undefined)
      conflict(
        `${path}.limits`,
        `${path}.limits is required (or concurrency, or tiers with a tier resolver)`,
      );
    if (scope.tier !== undefined) conflict(`${path}.tier`, `${path}.tier needs tiers to choose from`);
  }
  if (scope.ipv6Subnet !== undefined && scope.key !== 'ip')
    conflict(`${path}.ipv6Subnet`, `${path}.ipv6Subnet applies only to key 'ip'`);
  if (scope.apiKeyHeader !== undefined && scope.key !== 'apiKey')
    conflict(`${path}.apiKeyHeader`, `${path}.apiKeyHeader applies only to key 'apiKey'`);
}

function compileTiers(
  scopeName: string,
  tiers: Readonly<Record<string, TierOptions | 'unlimited'>>,
  path: string,
): Map<string, CompiledTier> {
  return new Map(
    Object.entries(tiers).map(([name, tier]): [string, CompiledTier] => [
      name,
      tier === 'unlimited'
        ? { name, unlimited: true, limits: [], maxCost: Number.POSITIVE_INFINITY }
        : compileTier(scopeName, name, tier, `${path}.tiers.${name}`),
    ]),
  );
}

/**
 * Policy ids name limits in X-RateLimit-Reason and RateLimit-Policy: `a_b` + `c` and `a` +
 * `b_c` would both be `a_b_c`.
 */
function claimPolicyIds(
  ids: Map<string, string>,
  scopeName: string,
  tiers: readonly CompiledTier[],
  path: string,
): void {
  for (const tier of tiers)
    for (const limit of tier.limits) {
      const owner = ids.get(limit.id);
      if (owner !== undefined && owner !== scopeName)
        conflict(
          `${path}.name`,
          `${path}.name "${scopeName}" gives the policy id "${limit.id}" that scope "${owner}" gives too`,
        );
      ids.set(limit.id, scopeName);
    }
}

/** A cost option as the pipeline reads it; the schema has already checked a numeric one. */
function compileCost<Raw>(
  cost: CostOption<Raw>,
): number | ((req: RequestInfo<Raw>) => MaybePromise<number | undefined>) {
  return typeof cost === 'number' ? cost : (req) => checkedCostOf(cost(req));
}
