import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { prometheusMetrics } from '../../lib/metrics/index.js';

/** docs/grafana-dashboard.json queries only metrics and labels that prometheusMetrics() makes. */

interface Panel {
  title: string;
  targets: Array<{ expr: string }>;
}

const dashboard = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'docs', 'grafana-dashboard.json'), 'utf8'),
) as {
  panels: Panel[];
};

test('every metric a panel queries is one tollgate exports', async () => {
  const registry = new Registry();
  prometheusMetrics({ registry });
  const exported = new Set((await registry.getMetricsAsJSON()).map((metric) => metric.name));
  const names = new Set<string>();
  for (const panel of dashboard.panels)
    for (const target of panel.targets)
      for (const [name] of target.expr.matchAll(/tollgate_[a-z_]+/g)) names.add(name.replace(/_bucket$/, ''));
  expect([...names].filter((name) => !exported.has(name))).toEqual([]);
  // The four views.
  expect(dashboard.panels.map((panel) => panel.title)).toEqual(
    expect.arrayContaining([
      'Refusal rate by scope',
      'Top limits near refusal',
      'Store latency',
      'Store failures',
      'Credits reserved per day',
    ]),
  );
});
