import type { Decision } from './decision.js';

/**
 * What a limiter tells an observer as it works: the `metrics` option, which `tollgate/metrics`
 * builds for Prometheus or OpenTelemetry. A limiter without one pays nothing for it: the
 * store is not wrapped and every call site tests one field.
 *
 * Events carry configuration names only (scopes, limits, caps, error codes), never a key value,
 * so that whatever an observer labels by stays bounded.
 */
export interface TollgateObserver {
  /** A request was decided; `decision` is `undefined` when `skip` or the allow list passed it over. */
  decided(event: DecidedEvent): void;
  /** A call to the limiter's store finished (or failed). */
  storeCall(event: StoreCallEvent): void;
  /** A spending cap's credits were reserved, given back, or settled for good. */
  spend(event: SpendEvent): void;
  /** Charges were given back: by `limiter.refund` (a stacked refusal), or for a failed response. */
  refunded(event: RefundEvent): void;
  /** Concurrency slots taken (`change` 1) or given back (`change` -1) by this process. */
  leases(event: LeaseEvent): void;
}

export interface DecidedEvent {
  readonly decision: Decision | undefined;
  /** The limiter's `onStoreError` policy, which decided when `decision.storeError` is set. */
  readonly failurePolicy: 'open' | 'closed' | 'insurance';
}

export type StoreOperation = 'consume' | 'peek' | 'refund' | 'charge' | 'reset';

export interface StoreCallEvent {
  readonly operation: StoreOperation;
  readonly seconds: number;
  /** The store's error, when the call failed. */
  readonly error: unknown;
}

export interface SpendEvent {
  /** The spending cap's name. */
  readonly cap: string;
  /** `reserved` when a request is admitted; then `refunded` and `settled` add up to what it became. */
  readonly kind: 'reserved' | 'refunded' | 'settled';
  readonly credits: number;
}

export interface RefundEvent {
  /** `refund`: `limiter.refund` (a stacked refusal, the application); `failed_response`: `refundWhen`. */
  readonly cause: 'refund' | 'failed_response';
}

export interface LeaseEvent {
  readonly scope: string;
  readonly change: 1 | -1;
}
