/**
 * `tollgate/metrics`: a limiter's decisions, store calls, spend and concurrency as Prometheus
 * (prom-client) or OpenTelemetry metrics. Neither library is loaded until its flavour is built
 * without one passed in, so either may be installed alone.
 */
export type {
  DecidedEvent,
  LeaseEvent,
  RefundEvent,
  SpendEvent,
  StoreCallEvent,
  StoreOperation,
  TollgateObserver,
} from '../core/observer.js';
export { type MeterLike, type OpenTelemetryMetricsOptions, openTelemetryMetrics } from './opentelemetry.js';
export { DEFAULT_STORE_BUCKETS, type PrometheusMetricsOptions, prometheusMetrics } from './prometheus.js';
export { DEFAULT_NEAR_LIMIT_SHARE } from './recorder.js';
