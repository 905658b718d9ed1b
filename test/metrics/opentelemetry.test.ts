import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { openTelemetryMetrics } from '../../lib/metrics/index.js';
import { manualClock } from '../helpers/clock.js';
import { limitedApp } from '../helpers/limited-app.js';

/**
 * The OpenTelemetry flavour end to end: a known traffic pattern through Express and Koa, then
 * what an in-memory exporter received from the SDK's meter.
 */

describe.each(['express', 'koa'] as const)('openTelemetryMetrics through %s', (framework) => {
  let exporter: InMemoryMetricExporter;
  let reader: PeriodicExportingMetricReader;
  let provider: MeterProvider;

  beforeEach(() => {
    exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    // Exports when the test flushes it, not on a timer.
    reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    provider = new MeterProvider({ readers: [reader] });
  });
  afterEach(() => provider.shutdown());

  /** Every data point of the instrument `name`, as last exported. */
  async function exported(name: string): Promise<DataPoint<number | Histogram>[]> {
    await reader.forceFlush();
    const batches = exporter.getMetrics();
    const last = batches[batches.length - 1];
    return (
      last?.scopeMetrics
        .flatMap((scope) => scope.metrics)
        .filter((metric) => metric.descriptor.name === name)
        .flatMap((metric) => metric.dataPoints as DataPoint<number | Histogram>[]) ?? []
    );
  }

  test('decisions, near-limit admissions and store durations: exact counts, in base units', async () => {
    const clock = manualClock();
    const client = limitedApp(framework, {
      now: clock.now,
      metrics: openTelemetryMetrics({ meter: provider.getMeter('test'), nearLimitShare: 0.5 }),
      scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 4, window: '1m' }] }],
    });
    for (let i = 0; i < 6; i++) await client.get('/items');
    const decisions = await exported('tollgate.decisions');
    expect(decisions.map(({ attributes, value }) => ({ attributes, value }))).toEqual(
      expect.arrayContaining([
        { attributes: { scope: 'ip', limit: 'ip_minute', outcome: 'allowed' }, value: 4 },
        { attributes: { scope: 'ip', limit: 'ip_minute', outcome: 'limited', status: '429' }, value: 2 },
      ]),
    );
    expect(decisions).toHaveLength(2);
    // 4 a minute, half of it: the admissions leaving 1 and 0 are near the limit.
    expect(
      (await exported('tollgate.near_limit')).map(({ attributes, value }) => ({ attributes, value })),
    ).toEqual([{ attributes: { scope: 'ip', limit: 'ip_minute' }, value: 2 }]);
    const [duration] = await exported('tollgate.store.duration');
    expect(duration!.attributes).toEqual({ operation: 'consume' });
    expect((duration!.value as Histogram).count).toBe(6);
    await reader.forceFlush();
    const descriptor = exporter
      .getMetrics()
      .at(-1)!
      .scopeMetrics.flatMap((scope) => scope.metrics)
      .find((metric) => metric.descriptor.name === 'tollgate.store.duration')!.descriptor;
    expect(descriptor.unit).toBe('s');
  });

  test('concurrency slots in flight go up and back down', async () => {
    const client = limitedApp(framework, {
      metrics: openTelemetryMetrics({ meter: provider.getMeter('test') }),
      scopes: [{ name: 'gen', key: 'ip', concurrency: 2 }],
    });
    await client.get('/a');
    await client.get('/b');
    // The slot goes back when the response finishes, after supertest has it.
    await new Promise((resolve) => setImmediate(resolve));
    expect(
      (await exported('tollgate.leases.in_flight')).map(({ attributes, value }) => ({ attributes, value })),
    ).toEqual([{ attributes: { scope: 'gen' }, value: 0 }]);
  });
});
