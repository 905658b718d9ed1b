import type { PolicyState } from './decision.js';
import type { HeaderDialect } from './options.js';

export interface HeaderFormat {
  readonly xRateLimit: boolean;
  readonly rateLimit: boolean;
  readonly ietf: boolean;
  readonly isoReset: boolean;
  readonly reasonHeader: boolean;
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
 * the reported policy's remaining quota `r` and seconds to reset `t`.
 */
export function formatHeaders(
  format: HeaderFormat,
  reported: PolicyState | undefined,
  policies: readonly PolicyState[],
  now: number,
  refusal: { retryAfter: number; reason: string } | undefined,
): Array<readonly [string, string]> {
  const headers: Array<readonly [string, string]> = [];
  if (reported !== undefined) {
    if (format.xRateLimit) {
      headers.push(['X-RateLimit-Limit', String(reported.limit)]);
      headers.push(['X-RateLimit-Remaining', String(reported.remaining)]);
      headers.push([
        'X-RateLimit-Reset',
        format.isoReset ? isoSeconds(reported.resetAt) : String(unixSeconds(reported.resetAt)),
      ]);
    }
    if (format.rateLimit) {
      headers.push(['RateLimit-Limit', String(reported.limit)]);
      headers.push(['RateLimit-Remaining', String(reported.remaining)]);
      headers.push(['RateLimit-Reset', String(unixSeconds(reported.resetAt))]);
    }
    if (format.ietf) {
      let policy = '';
      for (const state of policies) policy = policy === '' ? state.policy : `${policy}, ${state.policy}`;
      headers.push(['RateLimit-Policy', policy]);
      const seconds = Math.max(0, Math.ceil((reported.resetAt - now) / 1000));
      headers.push(['RateLimit', `"${reported.id}";r=${reported.remaining};t=${seconds}`]);
    }
  }
  if (refusal !== undefined) {
    headers.push(['Retry-After', String(refusal.retryAfter)]);
    if (format.reasonHeader) headers.push(['X-RateLimit-Reason', refusal.reason]);
  }
  return headers;
}
