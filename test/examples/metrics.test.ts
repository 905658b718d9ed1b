import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { createApp, generateTraffic } from '../../examples/metrics.js';
import { runExample } from '../../examples/run.js';
import { Scrape } from '../helpers/prometheus.js';

/** `npm run example -- metrics`: the server, its `/metrics` route and its traffic generator. */

async function listening(server: Server): Promise<string> {
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closed(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

test('the traffic generator moves the numbers /metrics shows, exactly', async () => {
  const registry = new Registry();
  const server = createApp({ registry, workMs: () => 0 }).listen(0, '127.0.0.1');
  try {
    const origin = await listening(server);
    const counts = await generateTraffic(origin, { requests: 60, everyMs: 0 });
    expect(counts).toEqual({ 200: 60 });
    const scrape = new Scrape(await (await fetch(`${origin}/metrics`)).text());
    // Every request is decided by the per-IP limit; the 20 generations by the API key's too.
    expect(
      scrape.value('tollgate_decisions_total', { scope: 'ip', limit: 'ip_minute', outcome: 'allowed' }),
    ).toBe(60);
    expect(
      scrape.value('tollgate_decisions_total', {
        scope: 'generate',
        limit: 'generate_minute',
        outcome: 'allowed',
      }),
    ).toBe(20);
    expect(scrape.value('tollgate_spend_reserved_credits_total', { cap: 'spend' })).toBe(2000);
    expect(scrape.value('tollgate_leases_in_flight', { scope: 'generate' })).toBe(0);
  } finally {
    await closed(server);
  }
});

test('npm run example -- metrics starts on PORT and serves /metrics', async () => {
  const log = jest.spyOn(console, 'log').mockImplementation(() => {});
  const server = (await runExample('metrics', { PORT: '0', METRICS_TRAFFIC: '0' }))!;
  try {
    const origin = await listening(server);
    await fetch(`${origin}/items`);
    const scrape = new Scrape(await (await fetch(`${origin}/metrics`)).text());
    expect(
      scrape.value('tollgate_decisions_total', { scope: 'ip', limit: 'ip_minute', outcome: 'allowed' }),
    ).toBe(1);
  } finally {
    log.mockRestore();
    await closed(server);
  }
});
