import type { Decision, PolicyState } from '../core/decision.js';
import type {
  DecidedEvent,
  LeaseEvent,
  RefundEvent,
  SpendEvent,
  StoreCallEvent,
  TollgateObserver,
} from '../core/observer.js';

/**
 * The observer behind both flavours of `tollgate/metrics`: it turns a limiter's events into
 * counts on instruments, which each flavour makes from its own library. Labels are names from
 * the configuration, outcomes, statuses and error codes, never a key value, so the number of
 * series stays bounded whatever clients send.
 */

export type Labels = Readonly<Record<string, string>>;

export interface CounterInstrument {
  add(value: number, labels: Labels): void;
}

export interface HistogramInstrument {
  record(value: number, labels: Labels): void;
}

/** The instruments, one per metric (see docs/metrics.md for their names in each ecosystem). */
export interface Instruments {
  readonly decisions: CounterInstrument;
  readonly nearLimit: CounterInstrument;
  readonly storeDuration: HistogramInstrument;
  readonly storeErrors: CounterInstrument;
  readonly failureAdmissions: CounterInstrument;
  readonly spendReserved: CounterInstrument;
  readonly spendRefunded: CounterInstrument;
  readonly spendSettled: CounterInstrument;
  readonly refunds: CounterInstrument;
  /** Goes up and down: the concurrency slots this process holds. */
  readonly leasesInFlight: CounterInstrument;
}

export type Outcome = 'allowed' | 'limited' | 'shadow_limited' | 'skipped' | 'store_unavailable';

/** Near-limit admissions: a limit with less than this share of it left. */
export const DEFAULT_NEAR_LIMIT_SHARE = 0.2;

/** Error codes as labels: a store's stable codes; anything else is `unknown`. */
const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

export function createRecorder(instruments: Instruments, nearLimitShare: number): TollgateObserver {
  if (!(nearLimitShare >= 0 && nearLimitShare <= 1))
    throw new RangeError(`nearLimitShare must be between 0 and 1, got ${String(nearLimitShare)}`);
  return {
    decided(event: DecidedEvent): void {
      const { decision } = event;
      if (decision === undefined) {
        instruments.decisions.add(1, { scope: '', limit: '', outcome: 'skipped' });
        return;
      }
      const outcome = outcomeOf(decision);
      const labels: Record<string, string> = {
        scope: decision.scope ?? '',
        limit: limitOf(decision),
        outcome,
      };
      if (!decision.allowed) labels.status = String(decision.status);
      instruments.decisions.add(1, labels);
      if (decision.storeError !== undefined && decision.allowed)
        instruments.failureAdmissions.add(1, { policy: event.failurePolicy });
      if (decision.allowed) countNearLimit(instruments, decision.policies, nearLimitShare);
    },
    storeCall(event: StoreCallEvent): void {
      const { operation, seconds, error } = event;
      instruments.storeDuration.record(seconds, { operation });
      if (error !== undefined) instruments.storeErrors.add(1, { operation, code: codeOf(error) });
    },
    spend(event: SpendEvent): void {
      const instrument =
        event.kind === 'reserved'
          ? instruments.spendReserved
          : event.kind === 'refunded'
            ? instruments.spendRefunded
            : instruments.spendSettled;
      instrument.add(event.credits, { cap: event.cap });
    },
    refunded(event: RefundEvent): void {
      instruments.refunds.add(1, { cause: event.cause });
    },
    leases(event: LeaseEvent): void {
      instruments.leasesInFlight.add(event.change, { scope: event.scope });
    },
  };
}

export function outcomeOf(decision: Decision): Outcome {
  if (decision.storeError !== undefined) return 'store_unavailable';
  if (decision.allowed) return 'allowed';
  return decision.shadow ? 'shadow_limited' : 'limited';
}

/**
 * The limit a decision is counted under: for a refusal, the limit that refused (the one a retry
 * waits longest for, as the decision's reason names it) or the reason itself when no limit was
 * reached (`ip_missing`, `invalid_cost`); for an admission, the limit its headers report.
 */
export function limitOf(decision: Decision): string {
  const { policies } = decision;
  if (!decision.allowed) {
    let refusing: PolicyState | undefined;
    for (const policy of policies)
      if (!policy.allowed && (refusing === undefined || policy.retryAt > refusing.retryAt)) refusing = policy;
    return refusing?.id ?? decision.reason ?? '';
  }
  for (const policy of policies)
    if (
      policy.scope === decision.scope &&
      policy.limit === decision.limit &&
      policy.remaining === decision.remaining &&
      policy.resetAt === decision.resetAt
    )
      return policy.id;
  return '';
}

function countNearLimit(instruments: Instruments, policies: readonly PolicyState[], share: number): void {
  for (const policy of policies)
    if (policy.remaining < share * policy.limit)
      instruments.nearLimit.add(1, { scope: policy.scope, limit: policy.id });
}

function codeOf(error: unknown): string {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && ERROR_CODE.test(code) ? code : 'unknown';
}
