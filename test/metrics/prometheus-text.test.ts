import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Counter, Histogram, Registry } from 'prom-client';
import { parseLabels, parsePrometheusText } from '../helpers/prometheus.js';

/** The suites' Prometheus text parser, on prom-client's own output and the format's corners. */

test('counters and gauges read as parse-prometheus-text-format reads them', async () => {
  const registry = new Registry();
  const counter = new Counter({
    name: 'c_total',
    help: 'a "help"',
    labelNames: ['a', 'b'],
    registers: [registry],
  });
  counter.inc({ a: 'x', b: 'quote " backslash \\ newline \n' }, 3);
  counter.inc({ a: 'y' }, 1.5);
  const text = await registry.metrics();
  const ours = parsePrometheusText(text).get('c_total')!;
  const theirs = parsePrometheusTextFormat(text).find((family) => family.name === 'c_total')!;
  expect(ours.type).toBe('counter');
  expect(theirs.type).toBe('COUNTER');
  expect(ours.series).toEqual(
    theirs.metrics.map((sample) => ({ labels: sample.labels ?? {}, value: Number(sample.value) })),
  );
  expect(ours.series[0]).toEqual({ labels: { a: 'x', b: 'quote " backslash \\ newline \n' }, value: 3 });
});

test('histograms keep each labelled series with its buckets, sum and count', async () => {
  const registry = new Registry();
  const histogram = new Histogram({
    name: 'h_seconds',
    help: 'h',
    labelNames: ['op'],
    buckets: [0.1, 1],
    registers: [registry],
  });
  histogram.observe({ op: 'a' }, 0.05);
  histogram.observe({ op: 'a' }, 0.5);
  histogram.observe({ op: 'b' }, 5);
  const family = parsePrometheusText(await registry.metrics()).get('h_seconds')!;
  expect(family.type).toBe('histogram');
  expect(family.series).toEqual([
    { labels: { op: 'a' }, value: 2, count: 2, sum: 0.55, buckets: { '0.1': 1, '1': 2, '+Inf': 2 } },
    { labels: { op: 'b' }, value: 1, count: 1, sum: 5, buckets: { '0.1': 0, '1': 0, '+Inf': 1 } },
  ]);
});

test('label corners: empty sets, trailing commas, escapes; bad lines throw', () => {
  expect(parseLabels('')).toEqual({});
  expect(parseLabels('a="1",')).toEqual({ a: '1' });
  expect(parseLabels('a="x\\"y",b="\\\\"')).toEqual({ a: 'x"y', b: '\\' });
  expect(parsePrometheusText('m 1 1700000000000\nm{a="b"} +Inf\n').get('m')!.series).toEqual([
    { labels: {}, value: 1 },
    { labels: { a: 'b' }, value: Number.POSITIVE_INFINITY },
  ]);
  expect(() => parsePrometheusText('m{a=b} 1')).toThrow(/bad labels/);
  expect(() => parsePrometheusText('not a sample')).toThrow(/bad line/);
});
