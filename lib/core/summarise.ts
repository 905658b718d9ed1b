import { formatHeaders, type HeaderFormat, isoSeconds } from '../http/headers.js';
import { periodNamed } from '../spend/periods.js';
import type { Decision, PolicyState } from './decision.js';
import { describeDuration } from './duration.js';

/** What a limiter's decisions say besides the policy states: the same for every request. */
export interface SummaryContext {
  readonly shadow: boolean;
  readonly format: HeaderFormat;
  /** The scopes (and the spending cap) whose codes and messages refusals carry. */
  readonly scopes: ReadonlyArray<{
    readonly name: string;
    readonly code: string | number | undefined;
    readonly message: string | undefined;
  }>;
}

/** One request's counted state, to be summarised into its decision. */
export interface Tally {
  readonly policies: readonly PolicyState[];
  /** The store's clock at the decision. */
  readonly at: number;
  readonly cost: number;
  readonly storeError: unknown;
  /** The `RateLimit-Policy` value, when the plan knows it: see `formatHeaders`. */
  readonly policyField?: string | undefined;
}

export type Summariser = (tally: Tally) => Decision;

/**
 * Builds the function that turns one request's policy states into its decision: which limit
 * binds, the refusal's reason, code and message, and the response headers.
 */
export function createSummariser({ shadow, format, scopes }: SummaryContext): Summariser {
  const scopeByName = new Map(scopes.map((scope) => [scope.name, scope]));

  return function summarise({ policies, at, cost, storeError, policyField }) {
    let binding: PolicyState | undefined;
    let allowed = true;
    for (const policy of policies) {
      if (!policy.allowed) {
        if (allowed || binding === undefined || policy.retryAt > binding.retryAt) binding = policy;
        allowed = false;
        // Credits and requests are not comparable: a cap binds the headers only when it refuses,
        // or when it is all there is.
      } else if (allowed && policy.unit === 'requests' && (binding === undefined || closer(policy, binding)))
        binding = policy;
    }
    if (allowed && binding === undefined)
      for (const policy of policies) if (binding === undefined || closer(policy, binding)) binding = policy;
    const reported = binding === undefined ? undefined : pinnedOf(policies, binding);
    const retryAfter =
      allowed || binding === undefined ? undefined : Math.max(1, Math.ceil((binding.retryAt - at) / 1000));
    const reason = allowed
      ? undefined
      : binding?.unit === 'credits'
        ? periodNamed(binding.name).reason
        : binding?.id;
    const scope = binding === undefined ? undefined : scopeByName.get(binding.scope);
    return {
      allowed,
      shadow,
      status: allowed ? 200 : 429,
      reason,
      scope: binding?.scope,
      code: scope?.code,
      message: allowed || reported === undefined ? undefined : rateMessage(scope?.message, reported),
      limit: reported?.limit ?? Number.POSITIVE_INFINITY,
      remaining: reported?.remaining ?? Number.POSITIVE_INFINITY,
      resetAt: reported?.resetAt ?? at,
      windowMs: reported?.windowMs ?? 0,
      cost,
      retryAfter,
      now: at,
      policies,
      storeError,
      headers: formatHeaders(format, {
        reported,
        policies,
        now: at,
        refusal:
          retryAfter === undefined || reason === undefined || shadow ? undefined : { retryAfter, reason },
        policyField,
      }),
    };
  };
}

/** A shadow limiter's state as it counts towards another's decision: never refusing. */
export function asAdmitted(policy: PolicyState): PolicyState {
  return policy.allowed ? policy : { ...policy, allowed: true, retryAt: policy.resetAt };
}

export function pickRefusalFields(decision: Decision): Partial<Decision> {
  const { allowed, status, reason, scope, code, message, retryAfter } = decision;
  return { allowed, status, reason, scope, code, message, retryAfter };
}

/** The binding scope's `headerLimit`, which the single-value headers report when it has one. */
function pinnedOf(policies: readonly PolicyState[], binding: PolicyState): PolicyState {
  return policies.find((policy) => policy.pinned && policy.scope === binding.scope) ?? binding;
}

/** Closer to refusing: fewer units left; on a tie, the one that takes longer to come back. */
function closer(a: PolicyState, b: PolicyState): boolean {
  return a.remaining < b.remaining || (a.remaining === b.remaining && a.resetAt > b.resetAt);
}

/** `Rate limit exceeded for ip: 100 requests per 1 minute.` The default refusal text. */
function rateMessage(message: string | undefined, reported: PolicyState): string {
  if (message !== undefined) return message;
  if (reported.unit === 'credits') {
    const period = periodNamed(reported.name);
    const when =
      period.calendar === undefined && period.name !== 'day'
        ? `at ${isoSeconds(reported.resetAt)}`
        : period.clears;
    return `${period.adjective} spending cap of ${reported.limit} credits exceeded; it resets ${when}`;
  }
  if (reported.unit === 'concurrent-requests')
    return `Too many requests in flight for ${reported.scope}: at most ${reported.limit} at once`;
  const per = reported.kind === 'window' ? describeDuration(reported.windowMs) : 'burst';
  return `Rate limit exceeded for ${reported.scope}: ${reported.limit} requests per ${per}`;
}
