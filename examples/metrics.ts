/**
 * Metrics: tollgate's Prometheus metrics on the application's own `/metrics` route, with a
 * short traffic generator so that the numbers move within a minute. A per-IP limit on every
 * route; on `POST /generate`, per API key, 30 a minute, 2 in flight at once, and 100 credits a
 * request from 1,000 a day and 20,000 a month. Point Prometheus (or curl) at `/metrics`, and
 * Grafana at docs/grafana-dashboard.json.
 *
 *   npm run example -- metrics          # METRICS_TRAFFIC=0 to start without the traffic
 *   curl -s localhost:3000/metrics | grep '^tollgate_'
 */
import type { Server } from 'node:http';
import express, { type Express } from 'express';
import { Registry } from 'prom-client';
import { rateLimit } from '../lib/express/index.js';
import { type HeaderDialect, scope } from '../lib/index.js';
import { prometheusMetrics } from '../lib/metrics/index.js';
import { closeOnSignals, type ExampleEnv, type ExampleOptions, serve, startedAs } from './support.js';

export interface MetricsExampleOptions extends ExampleOptions {
  /** The registry `/metrics` serves. Defaults to a new one. */
  registry?: Registry;
  /** How long `POST /generate` works, ms. Defaults to 50–250 ms at random. */
  workMs?: () => number;
}

export function createApp(options: MetricsExampleOptions = {}): Express {
  const registry = options.registry ?? new Registry();
  const metrics = prometheusMetrics({ registry });
  const { store, now } = options;
  const common = {
    metrics,
    headers: ['ietf', 'x-ratelimit'] as HeaderDialect[],
    ...(store ? { store } : {}),
    ...(now ? { now } : {}),
  };
  const workMs = options.workMs ?? (() => 50 + Math.random() * 200);

  const app = express();
  app.set('trust proxy', 1);
  app.disable('x-powered-by');
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  app.use(rateLimit({ ...common, scopes: [scope.ip({ limits: [{ max: 120, window: '1m' }] })] }));
  app.get('/items', (_req, res) => {
    res.json({ items: [] });
  });
  app.post(
    '/generate',
    rateLimit({
      ...common,
      scopes: [scope.apiKey({ name: 'generate', limits: [{ max: 30, window: '1m' }], concurrency: 2 })],
      spendCap: {
        key: 'apiKey',
        cost: 100,
        budgets: [
          { period: 'day', budget: 1000 },
          { period: 'month', budget: 20_000 },
        ],
      },
    }),
    (_req, res) => {
      setTimeout(() => res.json({ output: 'Once upon a time…' }), workMs());
    },
  );
  return app;
}

/** What `generateTraffic` sent, by status. */
export type StatusCounts = Record<number, number>;

/**
 * Sends `requests` requests to `origin` in waves of ten, `everyMs` apart: five clients (each an
 * address behind the proxy and an API key), mostly reading items, some generating.
 */
export async function generateTraffic(
  origin: string,
  { requests = 600, everyMs = 100 }: { requests?: number; everyMs?: number } = {},
): Promise<StatusCounts> {
  const counts: StatusCounts = {};
  for (let sent = 0; sent < requests; sent += 10) {
    const wave = Array.from({ length: Math.min(10, requests - sent) }, (_, i) => {
      const client = (sent + i) % 5;
      const generate = (sent + i) % 3 === 0;
      return fetch(`${origin}${generate ? '/generate' : '/items'}`, {
        method: generate ? 'POST' : 'GET',
        headers: {
          'x-forwarded-for': `198.51.100.${client + 1}`,
          authorization: `Bearer demo_key_${client}`,
        },
      }).then((res) => {
        counts[res.status] = (counts[res.status] ?? 0) + 1;
        return res.arrayBuffer();
      });
    });
    await Promise.all(wave);
    if (everyMs > 0) await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return counts;
}

/** Starts the server and, unless `METRICS_TRAFFIC=0`, a minute of traffic against it. */
export async function main(env: ExampleEnv = process.env): Promise<Server> {
  const server = await serve('metrics', createApp, env);
  const address = server.address();
  const origin = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 3000}`;
  if (env.METRICS_TRAFFIC !== '0') {
    console.log(`sending a minute of traffic; watch ${origin}/metrics`);
    void generateTraffic(origin).then((counts) =>
      console.log('traffic done, statuses:', JSON.stringify(counts)),
    );
  }
  return server;
}

if (startedAs('metrics')) void main().then(closeOnSignals);
