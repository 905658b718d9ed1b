import { conflict } from '../errors/errors.js';
import type { LimitOptions, TierOptions } from '../options/options.js';
import type { CompiledLimit, CompiledTier } from './compile.js';
import { concurrencyLimit } from './concurrency.js';
import { nameDuration, parseDuration } from './duration.js';

/** A tier's options compiled into its limits: each window, and the burst bucket. */

/** The largest window a timer can hold (2^31 − 1 ms, about 24.8 days). */
export const MAX_WINDOW_MS = 2_147_483_647;

/** Where a tier is compiled: its scope, its name (none for a scope without tiers), its option path. */
export interface TierSite {
  readonly scope: string;
  readonly tier: string | undefined;
  readonly path: string;
}

interface ParsedWindow {
  readonly name: string;
  readonly windowMs: number;
  readonly max: number;
  /** The option path, for errors. */
  readonly at: string;
}

export function compileTier(
  scopeName: string,
  tierName: string | undefined,
  tier: TierOptions,
  path: string,
): CompiledTier {
  const site: TierSite = { scope: scopeName, tier: tierName, path };
  const windows = (tier.limits ?? []).map((limit, index) => parseWindow(limit, `${path}.limits[${index}]`));
  checkWindows(windows, tier, path);
  const limits = windows.map((window) =>
    limitOf(site, { ...window, kind: 'window', intervalMs: 0, pinned: tier.headerLimit === window.name }),
  );
  if (tier.burst !== undefined) limits.push(burstLimit(site, windows, tier.burst, tier.headerLimit));
  // A request's weight is for its windows and burst: it takes one slot in flight whatever it weighs.
  const maxCost = Math.min(...limits.map((limit) => limit.max));
  if (tier.concurrency !== undefined)
    limits.push(concurrencyLimit(site, tier.concurrency, `${path}.concurrency`));
  return { name: tierName, unlimited: false, limits, maxCost };
}

function parseWindow(limit: LimitOptions, at: string): ParsedWindow {
  const windowMs = parseDuration(limit.window);
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
}

/** Windows of one tier: distinct lengths, a longer one never admitting less, distinct names. */
function checkWindows(windows: readonly ParsedWindow[], tier: TierOptions, path: string): void {
  const byLength = [...windows].sort((a, b) => a.windowMs - b.windowMs);
  byLength.forEach((longer, i) => {
    const shorter = byLength[i - 1];
    if (shorter === undefined) return;
    if (longer.windowMs === shorter.windowMs)
      conflict(`${longer.at}.window`, `${longer.at}.window repeats the window of ${shorter.at}`);
    if (longer.max < shorter.max)
      conflict(
        `${longer.at}.max`,
        `${longer.at}.max (${longer.max}) may not be lower than the shorter window's max at ${shorter.at}.max (${shorter.max})`,
      );
  });
  const names = new Set<string>();
  for (const window of windows) {
    if (names.has(window.name) || window.name === 'burst' || window.name === 'concurrency')
      conflict(`${window.at}.name`, `${window.at}.name "${window.name}" is not unique within the scope`);
    names.add(window.name);
  }
  const { headerLimit } = tier;
  if (headerLimit !== undefined && !names.has(headerLimit) && !(headerLimit === 'burst' && tier.burst))
    conflict(`${path}.headerLimit`, `${path}.headerLimit "${headerLimit}" names none of the scope's limits`);
}

/** The burst bucket, refilled at the per-minute rate, or the shortest window's without a minute limit. */
function burstLimit(
  site: TierSite,
  windows: readonly ParsedWindow[],
  burst: number,
  headerLimit: string | undefined,
): CompiledLimit {
  if (windows.length === 0)
    conflict(`${site.path}.burst`, `${site.path}.burst needs limits: their rate refills it`);
  const rate =
    windows.find((w) => w.windowMs === 60_000) ??
    windows.reduce((shortest, w) => (w.windowMs < shortest.windowMs ? w : shortest));
  if (burst > rate.max)
    conflict(
      `${site.path}.burst`,
      `${site.path}.burst (${burst}) may not exceed ${rate.at}.max (${rate.max}), which refills it`,
    );
  return limitOf(site, {
    name: 'burst',
    kind: 'bucket',
    max: burst,
    windowMs: 0,
    intervalMs: rate.windowMs / rate.max,
    pinned: headerLimit === 'burst',
  });
}

function limitOf(
  site: TierSite,
  limit: Pick<CompiledLimit, 'name' | 'kind' | 'max' | 'windowMs' | 'intervalMs' | 'pinned'>,
): CompiledLimit {
  const id = `${site.scope}_${limit.name}`;
  const bucket = limit.kind === 'bucket';
  // A bucket's span is the time it takes to refill from empty.
  const spanMs = bucket ? limit.max * limit.intervalMs : limit.windowMs;
  return {
    id,
    scope: site.scope,
    tier: site.tier,
    unit: 'requests',
    name: limit.name,
    kind: limit.kind,
    max: limit.max,
    windowMs: limit.windowMs,
    intervalMs: limit.intervalMs,
    spanMs: Math.ceil(spanMs),
    keySuffix: bucket ? ':burst' : `:${limit.windowMs}`,
    policy: policyItem(id, limit.max, spanMs),
    pinned: limit.pinned,
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
