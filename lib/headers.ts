import type { PolicyState } from './decision.js';
import type { HeaderDialect } from './options.js';

export interface HeaderFormat {
  readonly xRateLimit: boolean;
  readonly rateLimit: boolean;
  readonly ietf: boolean;
  readonly isoReset: boolean;
  readonly reasonHeader: boolean;
  /** The last `RateLimit-Policy` value and the items it joined: most requests repeat it. */
  readonly lastPolicy: { items: string[]; field: string };
}

export function headerFormat(
  dialects: HeaderDialect | HeaderDialect[] | false | undefined,
  resetFormat: 'unix' | 'iso' | undefined,
  reasonHeader: boolean | undefined,
): HeaderFormat {
  const list =
    dialects === undefined
      ? ['ietf']
      : dialects === false
        ? []
        : Array.isArray(dialects)
          ? dialects
          : [dialects];
  return {
    xRateLimit: list.includes('x-ratelimit'),
    rateLimit: list.includes('ratelimit'),
    ietf: list.includes('ietf'),
    isoReset: resetFormat === 'iso',
    reasonHeader: reasonHeader !== false,
    lastPolicy: { items: [], field: '' },
  };
}

/** Unix seconds, rounded up: a client waiting until then never retries early. */
export function unixSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

/** `2025-10-27T12:01:00Z`: ISO-8601 UTC to the second, rounded up like `unixSeconds`. */
export function isoSeconds(ms: number): string {
  return `${new Date(unixSeconds(ms) * 1000).toISOString().slice(0, 19)}Z`;
}

/**
 * The response headers of a decision.
 * `reported` feeds the single-value fields; `policies` feeds `RateLimit-Policy`, which lists
 * every policy that applied (draft-ietf-httpapi-ratelimit-headers-11 §4); `RateLimit` carries
 * the reported policy's remaining quota `r` and seconds to reset `t`. `policyField` is that
 * list already joined, when the caller knows it.
 */
export function formatHeaders(
  format: HeaderFormat,
  reported: PolicyState | undefined,
  policies: readonly PolicyState[],
  now: number,
  refusal: { retryAfter: number; reason: string } | undefined,
  policyField?: string,
): Array<readonly [string, string]> {
  // Counted first and written by index: pushing onto an empty array grows it on every request.
  const reporting = reported !== undefined;
  const length =
    (reporting ? (format.xRateLimit ? 3 : 0) + (format.rateLimit ? 3 : 0) + (format.ietf ? 2 : 0) : 0) +
    (refusal === undefined ? 0 : format.reasonHeader ? 2 : 1);
  const headers: Array<readonly [string, string]> = new Array(length);
  let at = 0;
  if (reported !== undefined) {
    if (format.xRateLimit) {
      headers[at++] = ['X-RateLimit-Limit', String(reported.limit)];
      headers[at++] = ['X-RateLimit-Remaining', String(reported.remaining)];
      headers[at++] = [
        'X-RateLimit-Reset',
        format.isoReset ? isoSeconds(reported.resetAt) : String(unixSeconds(reported.resetAt)),
      ];
    }
    if (format.rateLimit) {
      headers[at++] = ['RateLimit-Limit', String(reported.limit)];
      headers[at++] = ['RateLimit-Remaining', String(reported.remaining)];
      headers[at++] = ['RateLimit-Reset', String(unixSeconds(reported.resetAt))];
    }
    if (format.ietf) {
      headers[at++] = ['RateLimit-Policy', policyField ?? joinedPolicies(format.lastPolicy, policies)];
      const seconds = Math.max(0, Math.ceil((reported.resetAt - now) / 1000));
      headers[at++] = ['RateLimit', `"${reported.id}";r=${reported.remaining};t=${seconds}`];
    }
  }
  if (refusal !== undefined) {
    headers[at++] = ['Retry-After', String(refusal.retryAfter)];
    if (format.reasonHeader) headers[at++] = ['X-RateLimit-Reason', refusal.reason];
  }
  return headers;
}

/**
 * The `RateLimit-Policy` value: every policy's item, comma-separated. The items are strings
 * built at compile time, so comparing them by identity tells whether the last value still
 * holds, and the join (a new string for each request) is skipped.
 */
function joinedPolicies(last: { items: string[]; field: string }, policies: readonly PolicyState[]): string {
  const items = last.items;
  let same = items.length === policies.length;
  for (let i = 0; same && i < policies.length; i++) same = items[i] === policies[i]!.policy;
  if (same) return last.field;
  let field = '';
  for (let i = 0; i < policies.length; i++) {
    const item = policies[i]!.policy;
    field = i === 0 ? item : `${field}, ${item}`;
  }
  last.items = policies.map((policy) => policy.policy);
  last.field = field;
  return field;
}
