import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Koa from 'koa';
import { createLimiter, type Limiter } from '../../lib/core/limiter.js';
import { rateLimit as expressRateLimit } from '../../lib/express/index.js';
import { rateLimit as koaRateLimit } from '../../lib/koa/index.js';
import type { TollgateOptions } from '../../lib/options/options.js';
import type { Store } from '../../lib/stores/store.js';
import { manualClock } from '../helpers/clock.js';
import { type QuotaStores, quotaStores } from '../helpers/quota-stores.js';
import { waitFor } from '../helpers/redis-server.js';

/**
 * Concurrency limits end to end: a slow handler held open by the test (no sleeps), requests
 * sent at once over real sockets, through Express and Koa, on the memory store and Redis.
 */

const stores: QuotaStores = quotaStores();
beforeAll(() => stores.start(), 30_000);
afterAll(() => stores.close());

/** A handler that waits until the test lets it answer, counting who came in and who left. */
class Gate {
  entered = 0;
  closed = 0;
  private opened = false;
  private readonly waiting: Array<() => void> = [];

  wait(): Promise<void> {
    this.entered++;
    if (this.opened) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  open(): void {
    this.opened = true;
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

type Framework = 'express' | 'koa';

function serve(framework: Framework, limiter: Limiter<never>, gate: Gate): Promise<Server> {
  let handler: Parameters<typeof createServer>[1];
  if (framework === 'express') {
    const app = express();
    app.use(expressRateLimit(limiter as unknown as Limiter<express.Request>));
    app.get('/generate', async (_req, res) => {
      res.once('close', () => gate.closed++);
      await gate.wait();
      res.json({ ok: true });
    });
    app.get('/fail', () => {
      throw new Error('the handler failed');
    });
    handler = app;
  } else {
    const app = new Koa();
    app.silent = true;
    app.use(koaRateLimit(limiter as unknown as Limiter<Koa.Context>));
    app.use(async (ctx) => {
      if (ctx.path === '/fail') throw new Error('the handler failed');
      ctx.res.once('close', () => gate.closed++);
      await gate.wait();
      ctx.body = { ok: true };
    });
    handler = app.callback();
  }
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const urlOf = (server: Server, path = '/generate') =>
  `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;

describe.each(stores.subjects)('%s', (_storeName, makeStore) => {
  describe.each(['express', 'koa'] as const)('%s', (framework) => {
    let server: Server | undefined;
    let gate: Gate;
    afterEach(async () => {
      gate?.open();
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
      server = undefined;
    });

    async function start(extra: Partial<TollgateOptions> = {}, max = 5) {
      const clock = manualClock(Date.parse('2025-06-15T12:00:00Z'));
      const store: Store = makeStore(clock);
      const limiter = createLimiter({
        now: clock.now,
        store,
        headers: ['ietf', 'x-ratelimit'],
        scopes: [{ name: 'generate', key: { header: 'x-api-key' }, concurrency: max }],
        ...extra,
      });
      gate = new Gate();
      server = await serve(framework, limiter, gate);
      const send = (key = 'k1', init: RequestInit = {}) =>
        fetch(urlOf(server!), { ...init, headers: { 'x-api-key': key } });
      return { limiter, send, clock };
    }

    test('N + k requests at once against a slow handler: exactly N admitted, k refused at once', async () => {
      const { send } = await start();
      let answered = 0;
      const responses = Array.from({ length: 8 }, () =>
        send().then((res) => {
          answered++;
          return res;
        }),
      );
      // The three refusals come back while the five admitted are still in the handler.
      await waitFor(() => gate.entered === 5 && answered === 3, 'five in the handler, three answered');
      gate.open();
      const all = await Promise.all(responses);
      const statuses = all.map((res) => res.status).sort();
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
      expect(gate.entered).toBe(5);
      const refused = all.find((res) => res.status === 429)!;
      expect(refused.headers.get('x-ratelimit-reason')).toBe('generate_concurrency');
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(refused.headers.get('ratelimit-policy')).toBe(
        '"generate_concurrency";q=5;qu="concurrent-requests"',
      );
      expect(refused.headers.get('x-ratelimit-limit')).toBe('5');
      expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
      // Every slot came back with its response: five more fit.
      const again = await Promise.all(Array.from({ length: 5 }, () => send()));
      expect(again.map((res) => res.status)).toEqual([200, 200, 200, 200, 200]);
    });

    test('keys are counted apart', async () => {
      const { send } = await start({}, 1);
      const first = send('a');
      await waitFor(() => gate.entered === 1, 'a in the handler');
      const other = send('b');
      await waitFor(() => gate.entered === 2, 'b in the handler');
      expect((await send('a')).status).toBe(429);
      gate.open();
      expect((await first).status).toBe(200);
      expect((await other).status).toBe(200);
    });

    test('an aborted request frees its slot', async () => {
      const { send } = await start({}, 2);
      const aborts = [new AbortController(), new AbortController()];
      const pending = aborts.map((abort) => send('k1', { signal: abort.signal }).catch(() => 'aborted'));
      await waitFor(() => gate.entered === 2, 'two requests in the handler');
      expect((await send()).status).toBe(429);
      for (const abort of aborts) abort.abort();
      expect(await Promise.all(pending)).toEqual(['aborted', 'aborted']);
      await waitFor(() => gate.closed === 2, 'the server to see both hang up');
      const next = [send(), send()];
      await waitFor(() => gate.entered === 4, 'two new requests in the handler');
      gate.open();
      expect((await Promise.all(next)).map((res) => res.status)).toEqual([200, 200]);
    });

    test('a handler that fails gives its slot back with the error response', async () => {
      const { send } = await start({}, 1);
      const failing = await fetch(urlOf(server!, '/fail'), { headers: { 'x-api-key': 'k1' } });
      expect(failing.status).toBe(500);
      const next = send();
      await waitFor(() => gate.entered === 1, 'the next request in the handler');
      gate.open();
      expect((await next).status).toBe(200);
    });

    test('composes all or nothing: a refusal by the minute takes no slot, a refusal in flight charges no minute', async () => {
      const { send } = await start(
        {
          scopes: [
            {
              name: 'generate',
              key: { header: 'x-api-key' },
              concurrency: 1,
              limits: [{ max: 2, window: '1m' }],
            },
          ],
        },
        1,
      );
      const first = send();
      await waitFor(() => gate.entered === 1, 'the first request in the handler');
      const refusedInFlight = await send();
      expect(refusedInFlight.headers.get('x-ratelimit-reason')).toBe('generate_concurrency');
      gate.open();
      expect((await first).status).toBe(200);
      // The refusal in flight took none of the minute's 2: one is left.
      const second = await send();
      expect(second.status).toBe(200);
      expect(second.headers.get('x-ratelimit-remaining')).toBe('0');
      const third = await send();
      expect(third.headers.get('x-ratelimit-reason')).toBe('generate_minute');
    });
  });
});
