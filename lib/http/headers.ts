import type { PolicyState } from '../core/decision.js';
import type { HeaderDialect } from '../options/options.js';

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

/** What a decision's headers say. */
export interface HeaderSummary {
  /** The limit the single-value fields report. */
  readonly reported: PolicyState | undefined;
  /** Every limit that applied, for `RateLimit-Policy`. */
  readonly policies: readonly PolicyState[];
  readonly now: number;
  readonly refusal: { retryAfter: number; reason: string } | undefined;
  /** `RateLimit-Policy` already joined, when the plan knows it. */
  readonly policyField: string | undefined;
}

/**
 * The response headers of a decision.
 * `reported` feeds the single-value fields; `policies` feeds `RateLimit-Policy`, which lists
 * every policy that applied (draft-ietf-httpapi-ratelimit-headers-11 §4); `RateLimit` carries
 * the reported policy's remaining quota `r` and seconds to reset `t`.
 */
export function formatHeaders(
  format: HeaderFormat,
  summary: HeaderSummary,
): Array<readonly [string, string]> {
  const { reported, policies, now, refusal, policyField } = summary;
  const headers: Array<readonly [string, string]> = [];
  if (reported !== undefined) {
    if (format.xRateLimit) {
      const reset = format.isoReset ? isoSeconds(reported.resetAt) : String(unixSeconds(reported.resetAt));
      headers.push(
        ['X-RateLimit-Limit', String(reported.limit)],
        ['X-RateLimit-Remaining', String(reported.remaining)],
        ['X-RateLimit-Reset', reset],
      );
    }
    if (format.rateLimit)
      headers.push(
        ['RateLimit-Limit', String(reported.limit)],
        ['RateLimit-Remaining', String(reported.remaining)],
        ['RateLimit-Reset', String(unixSeconds(reported.resetAt))],
      );
    if (format.ietf) {
      const seconds = Math.max(0, Math.ceil((reported.resetAt - now) / 1000));
      headers.push(
        ['RateLimit-Policy', policyField ?? policies.map((policy) => policy.policy).join(', ')],
        ['RateLimit', `"${reported.id}";r=${reported.remaining};t=${seconds}`],
      );
    }
  }
  if (refusal !== undefined) {
    headers.push(['Retry-After', String(refusal.retryAfter)]);
    if (format.reasonHeader) headers.push(['X-RateLimit-Reason', refusal.reason]);
  }
  return headers;
}
