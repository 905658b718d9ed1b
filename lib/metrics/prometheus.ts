import type { TollgateObserver } from '../core/observer.js';
import { requirePeer } from './peer.js';
import { type CounterInstrument, createRecorder, DEFAULT_NEAR_LIMIT_SHARE, type Labels } from './recorder.js';

export interface PrometheusMetricsOptions {
  /** A prom-client `Registry`. Defaults to prom-client's default registry (`register`). */
  registry?: object;
  /** The prom-client module. Defaults to the `prom-client` installed beside tollgate. */
  client?: object;
  /** Admissions with less than this share of a limit left count as near the limit. Defaults to `0.2`. */
  nearLimitShare?: number;
  /** Buckets of `tollgate_store_duration_seconds`, in seconds. */
  buckets?: number[];
}

/** Store calls take from tens of microseconds (memory) to the Redis store's timeout. */
export const DEFAULT_STORE_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
];

/** What tollgate uses of prom-client: checked loosely, so that any 13–15 version fits. */
interface PromClient {
  Counter: new (config: PromConfig) => PromMetric;
  Gauge: new (config: PromConfig) => PromMetric;
  Histogram: new (config: PromConfig) => PromMetric;
  register: PromRegistry;
}

interface PromRegistry {
  getSingleMetric(name: string): unknown;
}

interface PromConfig {
  name: string;
  help: string;
  labelNames: string[];
  registers: PromRegistry[];
  buckets?: number[];
}

interface PromMetric {
  inc?(labels: Labels, value?: number): void;
  observe?(labels: Labels, value: number): void;
}

/**
 * Metrics for Prometheus through prom-client, on `registry` (prom-client's default one unless
 * given), scraped from the application's own `/metrics` route: pass the result as the
 * limiter's `metrics` option. Names and labels are in docs/metrics.md.
 * @example
 * import client from 'prom-client';
 * import { prometheusMetrics } from 'tollgate/metrics';
 * const metrics = prometheusMetrics({ registry: client.register });
 * app.use(rateLimit({ metrics, scopes: [scope.ip({ limits: [{ max: 100, window: '1m' }] })] }));
 * app.get('/metrics', async (_req, res) => { res.type(client.register.contentType).send(await client.register.metrics()); });
 */
export function prometheusMetrics(options: PrometheusMetricsOptions = {}): TollgateObserver {
  const client = (options.client ?? requirePeer('prom-client', 'prometheusMetrics()')) as PromClient;
  const registry = (options.registry ?? client.register) as PromRegistry;
  const make = (
    kind: 'Counter' | 'Gauge' | 'Histogram',
    name: string,
    help: string,
    labelNames: string[],
  ) => {
    // A second limiter built with the same registry shares the first one's metrics.
    const existing = registry.getSingleMetric(name) as PromMetric | undefined;
    if (existing !== undefined) return existing;
    const config: PromConfig = { name, help, labelNames, registers: [registry] };
    if (kind === 'Histogram') config.buckets = options.buckets ?? DEFAULT_STORE_BUCKETS;
    return new client[kind](config);
  };
  const counter = (name: string, help: string, labelNames: string[]): CounterInstrument => {
    const metric = make('Counter', name, help, labelNames);
    return { add: (value, labels) => metric.inc!(labels, value) };
  };
  const inFlight = make(
    'Gauge',
    'tollgate_leases_in_flight',
    'Concurrency slots this process holds, by scope',
    ['scope'],
  );
  const duration = make(
    'Histogram',
    'tollgate_store_duration_seconds',
    'Duration of calls to the rate-limit store, by operation',
    ['operation'],
  );
  return createRecorder(
    {
      decisions: counter('tollgate_decisions_total', 'Rate-limit decisions, by scope, limit and outcome', [
        'scope',
        'limit',
        'outcome',
        'status',
      ]),
      nearLimit: counter(
        'tollgate_near_limit_total',
        'Admissions that left a limit with less than the near-limit share of it, by scope and limit',
        ['scope', 'limit'],
      ),
      storeDuration: { record: (value, labels) => duration.observe!(labels, value) },
      storeErrors: counter('tollgate_store_errors_total', 'Failed store calls, by operation and error code', [
        'operation',
        'code',
      ]),
      failureAdmissions: counter(
        'tollgate_failure_admissions_total',
        'Requests admitted by the store failure policy while the store could not answer',
        ['policy'],
      ),
      spendReserved: counter('tollgate_spend_reserved_credits_total', 'Credits reserved by spending caps', [
        'cap',
      ]),
      spendRefunded: counter('tollgate_spend_refunded_credits_total', 'Reserved credits given back', ['cap']),
      spendSettled: counter('tollgate_spend_settled_credits_total', 'Credits charged for good once settled', [
        'cap',
      ]),
      refunds: counter('tollgate_refunds_total', 'Charges given back, by cause', ['cause']),
      leasesInFlight: { add: (value, labels) => inFlight.inc!(labels, value) },
    },
    options.nearLimitShare ?? DEFAULT_NEAR_LIMIT_SHARE,
  );
}
