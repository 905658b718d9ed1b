import { conflict } from '../errors/errors.js';
import type { ConcurrencyOptions } from '../options/options.js';
import type { CompiledLimit } from './compile.js';
import { parseDuration } from './duration.js';
import type { TierSite } from './tiers.js';

/**
 * Concurrency limits: requests in flight per scope value, the IETF draft's `concurrent-requests`
 * quota unit. A slot is a lease in the store, taken in the request's one store call and given
 * back once when its response ends (core/charges.ts, core/release.ts).
 */

/**
 * How long a lease lasts when it is never given back (a process that died mid-request). It must
 * outlast the slowest request the scope admits, or a slow request's slot frees early and one more
 * request gets in.
 */
export const DEFAULT_LEASE_MS = 60_000;
/** A short, fixed `Retry-After`: no store knows when a request in flight will end. */
export const DEFAULT_CONCURRENCY_RETRY_S = 1;

export function concurrencyLimit(
  site: TierSite,
  option: number | ConcurrencyOptions,
  path: string,
): CompiledLimit {
  const { max, lease, retryAfter } = typeof option === 'number' ? { max: option } : option;
  const leaseMs = lease === undefined ? DEFAULT_LEASE_MS : parseDuration(lease);
  if (!(leaseMs >= 1000))
    conflict(`${path}.lease`, `${path}.lease must be at least 1 second: a lease must outlast its request`);
  const id = `${site.scope}_concurrency`;
  return {
    id,
    scope: site.scope,
    tier: site.tier,
    unit: 'concurrent-requests',
    name: 'concurrency',
    kind: 'lease',
    max,
    windowMs: leaseMs,
    intervalMs: 0,
    spanMs: 0,
    keySuffix: ':concurrency',
    // draft-ietf-httpapi-ratelimit-headers-11 §4: a quota unit, and no window to state.
    policy: `"${id}";q=${max};qu="concurrent-requests"`,
    pinned: false,
    retryHintMs: (retryAfter ?? DEFAULT_CONCURRENCY_RETRY_S) * 1000,
  };
}
