import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type NextFunction, type Request, type Response } from 'express';
import { type Browser, chromium } from 'playwright-core';
import { rateLimit } from '../../lib/express/index.js';
import { scope } from '../../lib/index.js';
import { manualClock, T0 } from '../helpers/clock.js';
import { CHROMIUM_ARGS, chromiumPath, describeWithChromium } from './helpers/chromium.js';
import { type Listening, listen } from './helpers/e2e.js';

// The client's ESM build from dist/, loaded by a page in headless Chromium, against a tollgate
// server on another origin (so CORS is in play). The page's sleep advances the server's clock
// over HTTP: one test clock, no real waits.

const root = join(__dirname, '..', '..');

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>tollgate/client smoke</title>
<script type="module">
  import { createClient } from '/dist/client.js';
  window.smoke = async (api, start) => {
    let now = start;
    const waits = [];
    const retries = [];
    const client = createClient({
      baseUrl: api,
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms);
        now += ms;
        await fetch(api + '/__clock/advance?ms=' + ms, { method: 'POST' });
      },
      throttle: false,
      concurrency: 1,
      headers: { Authorization: 'Bearer browser' },
    });
    client.on('retry', (e) => retries.push(e));
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const res = await client.fetch('/data');
      statuses.push(res.status, (await res.json()).ok);
    }
    const m = client.metrics();
    return { statuses, waits, retries, total: m.total_requests, limited: m.rate_limited, policies: m.policies };
  };
  window.ready = true;
</script>`;

/** Lets the page's origin call the API, and read the rate-limit headers (CORS hides others). */
function cors(origin: () => string) {
  return function cors(req: Request, res: Response, next: NextFunction) {
    res.set('Access-Control-Allow-Origin', origin());
    res.set(
      'Access-Control-Expose-Headers',
      'Retry-After, RateLimit, RateLimit-Policy, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, X-RateLimit-Reason',
    );
    if (req.method === 'OPTIONS') {
      res.set('Access-Control-Allow-Headers', 'Authorization, Content-Type, Idempotency-Key');
      res.set('Access-Control-Allow-Methods', 'GET, POST, PUT, DELETE');
      res.status(204).end();
      return;
    }
    next();
  };
}

describeWithChromium()('tollgate/client in headless Chromium', () => {
  const clock = manualClock(T0);
  const seen: Array<{ status: number; at: number }> = [];
  let api: Listening;
  let page: Listening;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist', 'client.js')))
      throw new Error('dist/ is missing: run `npm run build` first');
    const app = express();
    // No ETag: the browser would turn repeats into conditional requests answered 304.
    app.set('etag', false);
    app.use(cors(() => page.url));
    app.post('/__clock/advance', (req, res) => {
      clock.advance(Number(req.query.ms));
      res.status(204).end();
    });
    app.use((_req, res, next) => {
      res.on('finish', () => seen.push({ status: res.statusCode, at: clock.now() }));
      next();
    });
    app.use(
      rateLimit({
        scopes: [scope.apiKey({ limits: [{ max: 2, window: '1m' }] })],
        headers: ['x-ratelimit', 'ietf'],
        now: clock.now,
      }),
    );
    app.get('/data', (_req, res) => {
      res.json({ ok: true });
    });
    api = await listen(app);

    const site = express();
    site.get('/', (_req, res) => {
      res.type('html').send(PAGE);
    });
    site.use('/dist', express.static(join(root, 'dist')));
    page = await listen(site);

    browser = await chromium.launch({ executablePath: chromiumPath()!, args: CHROMIUM_ARGS });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await page?.close();
  });

  test('a 429 is honoured: the client waits Retry-After, then the retry succeeds', async () => {
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (error) => errors.push(error.message));
    await tab.goto(page.url);
    await tab.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true);
    const result = await tab.evaluate(
      ([apiUrl, start]) =>
        (globalThis as unknown as { smoke: (a: string, s: number) => Promise<unknown> }).smoke(apiUrl, start),
      [api.url, T0] as const,
    );
    expect(errors).toEqual([]);
    expect(result).toMatchObject({
      statuses: [200, true, 200, true, 200, true],
      // Retry-After: 60 read through CORS; without it the client would have backed off 2 s + jitter.
      waits: [60_000],
      retries: [{ status: 429, attempt: 1, waitMs: 60_000, retryAfterMs: 60_000 }],
      total: 4,
      limited: 1,
      policies: { apiKey_minute: { limit: 2, remaining: 1, window_ms: 60_000 } },
    });
    expect(seen.map((s) => [s.status, s.at - T0])).toEqual([
      [200, 0],
      [200, 0],
      [429, 0],
      [200, 60_000],
    ]);
  });
});
