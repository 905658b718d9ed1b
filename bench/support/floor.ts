import { compileScopes } from '../../lib/core/compile.js';
import type { Decision, PolicyState, RequestInfo } from '../../lib/index.js';
import { BURST, fourByTwoScopes, HOUR_MAX, MINUTE_MAX } from './policies.js';

/**
 * The floor of a policy: the least any in-process limiter must do to enforce it, written as
 * plainly as it goes, to read tollgate's figures against in the same run. Per scope value one
 * record in a Map, found with one lookup; its minute and hour counted in place as fixed
 * windows; the partner's burst bucket as one arrival time. It leaves out everything else
 * tollgate does: no key validation or hashing of odd values (`safeFloorValuesOf` adds them, for
 * one of the micro benchmark's floors), no store interface (so no Redis and no custom stores),
 * no key cap or sweeping of ended records, no idempotency, costs, tiers, refunds or failure
 * policies. Nothing it counts is ever refused here (the limits are the benchmark's, far above
 * what a run reaches), so it never takes the refusal path.
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** The two windows of the benchmark's policies, as `TWO_WINDOWS` has them. */
const WINDOWS = [
  { name: 'minute', ms: MINUTE_MS, max: MINUTE_MAX },
  { name: 'hour', ms: HOUR_MS, max: HOUR_MAX },
] as const;

/** A window's item of the `RateLimit-Policy` field, as tollgate writes it. */
function windowItem(scope: string, window: (typeof WINDOWS)[number]): string {
  return `"${scope}_${window.name}";q=${window.max};w=${window.ms / 1000}`;
}

/** The burst bucket's item of the `RateLimit-Policy` field, as tollgate writes it. */
function burstItem(scope: string): string {
  return `"${scope}_burst";q=${BURST};w=60`;
}

/** The burst bucket refills at the per-minute rate, as in `fluidOptions`. */
const BURST_INTERVAL_MS = MINUTE_MS / MINUTE_MAX;

class FloorRecord {
  minute = 0;
  minuteUsed = 0;
  hour = 0;
  hourUsed = 0;
  /** The burst bucket's theoretical arrival time (GCRA), ms. */
  tat = 0;
}

/** What the floor decided: the figures tollgate's `RateLimit` field reports. */
export interface FloorResult {
  allowed: boolean;
  /** What the binding (closest to refusing) minute window has left. */
  remaining: number;
  /** That window's end, ms since epoch. */
  resetAt: number;
}

export interface Floor {
  /** Counts one request against the scope values given, one per scope, in the scopes' order. */
  count(values: ReadonlyArray<string | undefined>, now: number, into: FloorResult): FloorResult;
  /** The `RateLimit-Policy` field of the policy: every limit, joined once. */
  readonly policyField: string;
}

/**
 * A floor for `scopes` scopes with a minute and an hour window each (1 scope with only a minute
 * window when `oneRule`), and a burst bucket on the second scope when `burst` is set.
 */
export function createFloor(options: { scopes: string[]; oneRule?: boolean; burst?: boolean }): Floor {
  const oneRule = options.oneRule === true;
  const records = options.scopes.map(() => new Map<string, FloorRecord>());
  const found: FloorRecord[] = new Array(options.scopes.length);
  const policyField = options.scopes
    .flatMap((scope, s) => [
      ...(oneRule ? WINDOWS.slice(0, 1) : WINDOWS).map((window) => windowItem(scope, window)),
      ...(options.burst === true && s === 1 ? [burstItem(scope)] : []),
    ])
    .join(', ');
  const burstScope = options.burst === true ? 1 : -1;

  function count(values: ReadonlyArray<string | undefined>, now: number, into: FloorResult): FloorResult {
    const minute = Math.floor(now / MINUTE_MS);
    const hour = Math.floor(now / HOUR_MS);
    let allowed = true;
    let remaining = Number.POSITIVE_INFINITY;
    for (let s = 0; s < records.length; s++) {
      const value = values[s];
      if (value === undefined) continue;
      const byValue = records[s]!;
      let record = byValue.get(value);
      if (record === undefined) {
        record = new FloorRecord();
        byValue.set(value, record);
      }
      found[s] = record;
      const minuteUsed = record.minute === minute ? record.minuteUsed : 0;
      if (minuteUsed + 1 > MINUTE_MAX) allowed = false;
      if (!oneRule && (record.hour === hour ? record.hourUsed : 0) + 1 > HOUR_MAX) allowed = false;
      if (s === burstScope && Math.max(record.tat, now) + (1 - BURST) * BURST_INTERVAL_MS > now)
        allowed = false;
      if (MINUTE_MAX - minuteUsed - 1 < remaining) remaining = MINUTE_MAX - minuteUsed - 1;
    }
    if (allowed)
      for (let s = 0; s < records.length; s++) {
        if (values[s] === undefined) continue;
        const record = found[s]!;
        record.minuteUsed = record.minute === minute ? record.minuteUsed + 1 : 1;
        record.minute = minute;
        if (!oneRule) {
          record.hourUsed = record.hour === hour ? record.hourUsed + 1 : 1;
          record.hour = hour;
        }
        if (s === burstScope) record.tat = Math.max(record.tat, now) + BURST_INTERVAL_MS;
      }
    into.allowed = allowed;
    into.remaining = remaining;
    into.resetAt = (minute + 1) * MINUTE_MS;
    return into;
  }

  return { count, policyField };
}

/** The `RateLimit` field for a floor's result, as tollgate writes it. */
export function floorRateLimitField(scope: string, result: FloorResult, now: number): string {
  return `"${scope}_minute";r=${result.remaining};t=${Math.ceil((result.resetAt - now) / 1000)}`;
}

/**
 * A `Decision` of the documented shape for a floor's result: one `PolicyState` per limit and
 * the header fields tollgate writes (the two IETF fields, or with `ratelimit` the three
 * `RateLimit-*` fields). The limits' constant parts are built once, as tollgate compiles them;
 * each call builds what tollgate's decisions must hold per request. `burst` adds the second
 * scope's burst bucket, as `createFloor`'s option does.
 */
export function createFloorDecider(
  floor: Floor,
  scopes: string[],
  options: { burst?: boolean; headers?: 'ietf' | 'ratelimit' } = {},
): (values: ReadonlyArray<string | undefined>, now: number) => Decision {
  const limits = scopes.flatMap((scope, s) => [
    ...WINDOWS.map((window) => ({
      id: `${scope}_${window.name}`,
      scope,
      name: window.name,
      kind: 'window' as const,
      max: window.max,
      windowMs: window.ms,
      policy: windowItem(scope, window),
    })),
    ...(options.burst === true && s === 1
      ? [
          {
            id: `${scope}_burst`,
            scope,
            name: 'burst',
            kind: 'bucket' as const,
            max: BURST,
            windowMs: MINUTE_MS,
            policy: burstItem(scope),
          },
        ]
      : []),
  ]);
  const ratelimitFields = options.headers === 'ratelimit';
  const result: FloorResult = { allowed: true, remaining: 0, resetAt: 0 };
  return (values, now) => {
    floor.count(values, now, result);
    const policies: PolicyState[] = new Array(limits.length);
    for (let i = 0; i < limits.length; i++) {
      const limit = limits[i]!;
      const resetAt = limit.kind === 'window' ? (Math.floor(now / limit.windowMs) + 1) * limit.windowMs : now;
      policies[i] = {
        id: limit.id,
        scope: limit.scope,
        name: limit.name,
        kind: limit.kind,
        unit: 'requests',
        tier: undefined,
        limit: limit.max,
        // Each limit's own figure is what a PolicyState holds; the floor keeps only the binding
        // one, so the others report it too: the object is built all the same.
        remaining: result.remaining,
        resetAt,
        windowMs: limit.windowMs,
        allowed: true,
        retryAt: now,
        policy: limit.policy,
        pinned: false,
      };
    }
    return {
      allowed: result.allowed,
      shadow: false,
      status: 200,
      reason: undefined,
      scope: scopes[0],
      code: undefined,
      message: undefined,
      limit: MINUTE_MAX,
      remaining: result.remaining,
      resetAt: result.resetAt,
      windowMs: MINUTE_MS,
      cost: 1,
      retryAfter: undefined,
      now,
      policies,
      storeError: undefined,
      headers: ratelimitFields
        ? [
            ['RateLimit-Limit', String(MINUTE_MAX)],
            ['RateLimit-Remaining', String(result.remaining)],
            ['RateLimit-Reset', String(Math.ceil(result.resetAt / 1000))],
          ]
        : [
            ['RateLimit-Policy', floor.policyField],
            ['RateLimit', floorRateLimitField(scopes[0]!, result, now)],
          ],
    };
  };
}

/** The micro benchmark's floor rows (scenario 16), by the names targets.ts finds them under. */
export const FLOOR_COUNTED = 'floor: 4 × 2 counted in four Maps, a small result';
export const FLOOR_DECISION = 'floor: 4 × 2 counted, with a Decision of the documented shape';
export const FLOOR_SAFE_KEYS = 'floor: 4 × 2 counted from keys made safe, with a Decision';

/** The scopes of the 4 × 2 policy (`fourByTwoScopes`), in order. */
export const FLOOR_SCOPES = ['ip', 'partner', 'user', 'bank'];

/** A micro benchmark request's values for `FLOOR_SCOPES`, read as tollgate's key sources read them. */
export function floorValuesOf(req: RequestInfo<null>): Array<string | undefined> {
  return [
    req.ip,
    req.headers['x-partner-id'] as string | undefined,
    req.headers['x-user-id'] as string | undefined,
    req.params?.bankId as string | undefined,
  ];
}

/** The 4 × 2 policy's key sources, compiled as the limiter compiles them. */
const safeKeySources = compileScopes(fourByTwoScopes<null>(), 'tg').map((scope) => scope.keyOf);

/**
 * A micro benchmark request's values for `FLOOR_SCOPES`, made safe by tollgate's own key
 * sources before they reach a store: the client address checked (and an IPv6 one cut to its
 * /56), a header trimmed, a value that is not short and plain hashed. What any limiter must do
 * that lets no client choose, or grow without bound, the keys it is counted under.
 */
export function safeFloorValuesOf(req: RequestInfo<null>): Array<string | undefined> {
  // Built-in key sources answer without a promise.
  return safeKeySources.map((keyOf) => keyOf(req) as string | undefined);
}
