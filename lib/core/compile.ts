import { TollgateConfigError } from '../errors/errors.js';
import type { CostOption, LimitOptions, ScopeOptions, TierOptions } from '../options/options.js';
import { checkedCostOf } from '../spend/cap.js';
import { nameDuration, parseDuration } from './duration.js';
import { compileKeySource } from './keys.js';
import type { MaybePromise } from './maybe-promise.js';
import type { RequestInfo } from './request.js';

/**
 * Scopes and tiers, compiled once per limiter into the limits the pipeline counts against.
 * Nothing here runs per request.
 */

/** The largest window a timer can hold (2^31 − 1 ms, about 24.8 days). */
export const MAX_WINDOW_MS = 2_147_483_647;

export interface CompiledLimit {
  readonly id: string;
  /** The scope the limit belongs to, and the tier it was compiled for. */
  readonly scope: string;
  readonly tier: string | undefined;
  /** What it counts: requests (or their weight), or a spending cap's credits. */
  readonly unit: 'requests' | 'credits';
  readonly name: string;
  readonly kind: 'window' | 'bucket';
  readonly max: number;
  readonly windowMs: number;
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
  readonly keyOf: (req: RequestInfo<Raw>) => MaybePromise<string | undefined>;
  readonly only: CompiledTier | undefined;
  readonly tiers: ReadonlyMap<string, CompiledTier> | undefined;
  readonly tierOf: ((req: RequestInfo<Raw>) => MaybePromise<string>) | undefined;
  /** The cost of a request: a number, or the application's function checked as a cost. */
  readonly cost: number | ((req: RequestInfo<Raw>) => MaybePromise<number | undefined>);
  readonly onMissing: 'skip' | 'refuse';
  readonly missingStatus: number;
}

export function compileScopes<Raw>(
  options: readonly ScopeOptions<Raw>[],
  defaults: { prefix: string; cost: CostOption<Raw> | undefined },
): CompiledScope<Raw>[] {
  const { prefix } = defaults;
  const names = new Set<string>();
  const ids = new Map<string, string>();
  return options.map((scope, index) => {
    const path = `scopes[${index}]`;
    if (names.has(scope.name))
      conflict(`${path}.name`, `${path}.name "${scope.name}" is used by another scope`);
    names.add(scope.name);
    if (scope.tiers !== undefined) {
      if (scope.limits !== undefined || scope.burst !== undefined || scope.headerLimit !== undefined)
        conflict(
          `${path}.tiers`,
          `${path}.tiers: a scope with tiers keeps its limits, burst and headerLimit inside each tier`,
        );
      if (scope.tier === undefined)
        conflict(`${path}.tier`, `${path}.tier is required with tiers: a function naming the tier`);
    } else {
      if (scope.limits === undefined)
        conflict(`${path}.limits`, `${path}.limits is required (or tiers with a tier resolver)`);
      if (scope.tier !== undefined) conflict(`${path}.tier`, `${path}.tier needs tiers to choose from`);
    }
    if (scope.ipv6Subnet !== undefined && scope.key !== 'ip')
      conflict(`${path}.ipv6Subnet`, `${path}.ipv6Subnet applies only to key 'ip'`);
    if (scope.apiKeyHeader !== undefined && scope.key !== 'apiKey')
      conflict(`${path}.apiKeyHeader`, `${path}.apiKeyHeader applies only to key 'apiKey'`);

    const tiers =
      scope.tiers === undefined
        ? undefined
        : new Map(
            Object.entries(scope.tiers).map(([name, tier]) => [
              name,
              tier === 'unlimited'
                ? {
                    name,
                    unlimited: true,
                    limits: [],
                    maxCost: Number.POSITIVE_INFINITY,
                  }
                : compileTier(scope.name, name, tier, `${path}.tiers.${name}`),
            ]),
          );
    const only =
      tiers === undefined ? compileTier(scope.name, undefined, scope as TierOptions, path) : undefined;
    // Policy ids name limits in X-RateLimit-Reason and RateLimit-Policy: `a_b` + `c` and `a` +
    // `b_c` would both be `a_b_c`.
    for (const tier of only === undefined ? tiers!.values() : [only]) {
      for (const limit of tier.limits) {
        const owner = ids.get(limit.id);
        if (owner !== undefined && owner !== scope.name)
          conflict(
            `${path}.name`,
            `${path}.name "${scope.name}" gives the policy id "${limit.id}" that scope "${owner}" gives too`,
          );
        ids.set(limit.id, scope.name);
      }
    }
    return {
      name: scope.name,
      code: scope.code,
      message: scope.message,
      keyPrefix: `${prefix}:${scope.name}:`,
      keyOf: compileKeySource(scope.key, {
        ipv6Subnet: scope.ipv6Subnet ?? 56,
        apiKeyHeader: scope.apiKeyHeader ?? 'x-api-key',
      }),
      only,
      tiers,
      tierOf: scope.tier,
      cost: compileCost(scope.cost ?? defaults.cost ?? 1),
      onMissing: scope.onMissing ?? (scope.key === 'apiKey' ? 'refuse' : 'skip'),
      missingStatus: scope.missingStatus ?? 401,
    };
  });
}

export function compileTier(
  scopeName: string,
  tierName: string | undefined,
  tier: TierOptions,
  path: string,
): CompiledTier {
  const windows = tier.limits.map((limit: LimitOptions, index) => {
    const windowMs = parseDuration(limit.window);
    const at = `${path}.limits[${index}]`;
    if (windowMs > MAX_WINDOW_MS)
      conflict(
        `${at}.window`,
        `${at}.window must fit in a timer: at most ${MAX_WINDOW_MS} ms (about 24.8 days)`,
      );
    if (windowMs % 1000 !== 0 && windowMs > 1000)
      conflict(
        `${at}.window`,
        `${at}.window must be whole seconds when longer than 1s, so that headers can state it exactly`,
      );
    return { name: limit.name ?? nameDuration(windowMs), windowMs, max: limit.max, at };
  });
  const byLength = [...windows].sort((a, b) => a.windowMs - b.windowMs);
  for (let i = 1; i < byLength.length; i++) {
    const shorter = byLength[i - 1]!;
    const longer = byLength[i]!;
    if (longer.windowMs === shorter.windowMs)
      conflict(`${longer.at}.window`, `${longer.at}.window repeats the window of ${shorter.at}`);
    if (longer.max < shorter.max)
      conflict(
        `${longer.at}.max`,
        `${longer.at}.max (${longer.max}) may not be lower than the shorter window's max at ${shorter.at}.max (${shorter.max})`,
      );
  }
  const names = new Set<string>();
  for (const window of windows) {
    if (names.has(window.name) || window.name === 'burst')
      conflict(`${window.at}.name`, `${window.at}.name "${window.name}" is not unique within the scope`);
    names.add(window.name);
  }
  if (
    tier.headerLimit !== undefined &&
    !names.has(tier.headerLimit) &&
    !(tier.headerLimit === 'burst' && tier.burst)
  )
    conflict(
      `${path}.headerLimit`,
      `${path}.headerLimit "${tier.headerLimit}" names none of the scope's limits`,
    );

  const limits: CompiledLimit[] = windows.map((window) => {
    const id = `${scopeName}_${window.name}`;
    return {
      id,
      scope: scopeName,
      tier: tierName,
      unit: 'requests',
      name: window.name,
      kind: 'window',
      max: window.max,
      windowMs: window.windowMs,
      intervalMs: 0,
      spanMs: window.windowMs,
      keySuffix: `:${window.windowMs}`,
      policy: policyItem(id, window.max, window.windowMs),
      pinned: tier.headerLimit === window.name,
    };
  });
  if (tier.burst !== undefined) {
    // Refilled at the per-minute rate, or the shortest window's rate when there is no minute limit.
    const rate = windows.find((w) => w.windowMs === 60_000) ?? byLength[0]!;
    if (tier.burst > rate.max)
      conflict(
        `${path}.burst`,
        `${path}.burst (${tier.burst}) may not exceed ${rate.at}.max (${rate.max}), which refills it`,
      );
    const id = `${scopeName}_burst`;
    const intervalMs = rate.windowMs / rate.max;
    limits.push({
      id,
      scope: scopeName,
      tier: tierName,
      unit: 'requests',
      name: 'burst',
      kind: 'bucket',
      max: tier.burst,
      windowMs: 0,
      intervalMs,
      spanMs: Math.ceil(tier.burst * intervalMs),
      keySuffix: ':burst',
      policy: policyItem(id, tier.burst, tier.burst * intervalMs),
      pinned: tier.headerLimit === 'burst',
    });
  }
  return {
    name: tierName,
    unlimited: false,
    limits,
    maxCost: Math.min(...limits.map((limit) => limit.max)),
  };
}

/**
 * `"ip_minute";q=100;w=60`: an RFC 9651 String item with Integer parameters, as
 * draft-ietf-httpapi-ratelimit-headers-11 §4 defines. `w` is whole seconds, at least 1;
 * a bucket's `w` is the time it takes to refill from empty.
 */
export function policyItem(id: string, quota: number, windowMs: number): string {
  return `"${id}";q=${quota};w=${Math.max(1, Math.ceil(windowMs / 1000))}`;
}

export function conflict(path: string, message: string): never {
  throw new TollgateConfigError('ERR_TOLLGATE_CONFLICTING_OPTIONS', path, message);
}

/** A cost option as the pipeline reads it; the schema has already checked a numeric one. */
function compileCost<Raw>(
  cost: CostOption<Raw>,
): number | ((req: RequestInfo<Raw>) => MaybePromise<number | undefined>) {
  return typeof cost === 'number' ? cost : (req) => checkedCostOf(cost(req));
}
