import type { TollgateObserver } from '../core/observer.js';
import { requirePeer } from './peer.js';
import { createRecorder, DEFAULT_NEAR_LIMIT_SHARE, type Labels } from './recorder.js';

/** What tollgate uses of an OpenTelemetry `Meter` (`@opentelemetry/api`). */
export interface MeterLike {
  createCounter(name: string, options?: InstrumentOptions): { add(value: number, attributes?: Labels): void };
  createUpDownCounter(
    name: string,
    options?: InstrumentOptions,
  ): { add(value: number, attributes?: Labels): void };
  createHistogram(
    name: string,
    options?: InstrumentOptions,
  ): { record(value: number, attributes?: Labels): void };
}

interface InstrumentOptions {
  description?: string;
  unit?: string;
}

export interface OpenTelemetryMetricsOptions {
  /** The `Meter` to make instruments on. Defaults to `metrics.getMeter('tollgate')` of `@opentelemetry/api`. */
  meter?: MeterLike;
  /** Admissions with less than this share of a limit left count as near the limit. Defaults to `0.2`. */
  nearLimitShare?: number;
}

interface OpenTelemetryApi {
  metrics: { getMeter(name: string): MeterLike };
}

/**
 * Metrics for OpenTelemetry, as instruments on `meter` (the global meter provider's unless
 * given): pass the result as the limiter's `metrics` option. Names follow OpenTelemetry's
 * conventions (`tollgate.decisions`, `tollgate.store.duration` in seconds): docs/metrics.md.
 * @example
 * import { metrics } from '@opentelemetry/api';
 * import { openTelemetryMetrics } from 'tollgate/metrics';
 * app.use(rateLimit({ metrics: openTelemetryMetrics({ meter: metrics.getMeter('api') }), scopes }));
 */
export function openTelemetryMetrics(options: OpenTelemetryMetricsOptions = {}): TollgateObserver {
  const meter =
    options.meter ??
    (requirePeer('@opentelemetry/api', 'openTelemetryMetrics()') as OpenTelemetryApi).metrics.getMeter(
      'tollgate',
    );
  const counter = (name: string, description: string, unit: string) => {
    const instrument = meter.createCounter(name, { description, unit });
    return { add: (value: number, labels: Labels) => instrument.add(value, labels) };
  };
  const duration = meter.createHistogram('tollgate.store.duration', {
    description: 'Duration of calls to the rate-limit store, by operation',
    unit: 's',
  });
  const inFlight = meter.createUpDownCounter('tollgate.leases.in_flight', {
    description: 'Concurrency slots this process holds, by scope',
    unit: '{lease}',
  });
  return createRecorder(
    {
      decisions: counter(
        'tollgate.decisions',
        'Rate-limit decisions, by scope, limit and outcome',
        '{decision}',
      ),
      nearLimit: counter(
        'tollgate.near_limit',
        'Admissions that left a limit with less than the near-limit share of it',
        '{decision}',
      ),
      storeDuration: { record: (value, labels) => duration.record(value, labels) },
      storeErrors: counter(
        'tollgate.store.errors',
        'Failed store calls, by operation and error code',
        '{error}',
      ),
      failureAdmissions: counter(
        'tollgate.failure_admissions',
        'Requests admitted by the store failure policy while the store could not answer',
        '{decision}',
      ),
      spendReserved: counter('tollgate.spend.reserved', 'Credits reserved by spending caps', '{credit}'),
      spendRefunded: counter('tollgate.spend.refunded', 'Reserved credits given back', '{credit}'),
      spendSettled: counter('tollgate.spend.settled', 'Credits charged for good once settled', '{credit}'),
      refunds: counter('tollgate.refunds', 'Charges given back, by cause', '{refund}'),
      leasesInFlight: { add: (value, labels) => inFlight.add(value, labels) },
    },
    options.nearLimitShare ?? DEFAULT_NEAR_LIMIT_SHARE,
  );
}
