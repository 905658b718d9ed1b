import type { Express } from 'express';
import { createApp as fastino } from '../../../examples/fastino.js';
import { createApp as firsthand } from '../../../examples/firsthand.js';
import { createApp as fluid } from '../../../examples/fluid.js';
import { createApp as pioneer } from '../../../examples/pioneer.js';
import type { ClientOptions } from '../../../lib/client/index.js';
import type { Store } from '../../../lib/index.js';

/** How a burst is sent to one profile's example: the route, and the limit it meets there. */
export interface BurstProfile {
  name: string;
  app(now: () => number, store?: Store): Express;
  path: string;
  init: RequestInit;
  /** The per-minute limit the burst meets. */
  perMinute: number;
  /** The provider's own client guidance, as options of this client. */
  client: Partial<ClientOptions>;
}

const json = { 'Content-Type': 'application/json' };

export const PROFILES: readonly BurstProfile[] = [
  {
    name: 'fastino',
    // An enterprise key at 100 a minute: the "100-a-minute limit".
    app: (now, store) =>
      fastino({ now, ...(store ? { store } : {}), enterprise: { keys: ['fk_burst'], perMinute: 100 } }),
    path: '/v1/users/alice/summary',
    init: { headers: { Authorization: 'Bearer fk_burst' } },
    perMinute: 100,
    client: { retry: { timeout: { retries: 1, baseMs: 5000 } } },
  },
  {
    name: 'fluid',
    // The General API tier per client IP: 100 a minute with a burst of 20.
    app: (now, store) => fluid({ now, ...(store ? { store } : {}) }),
    path: '/v1/status',
    init: {},
    perMinute: 100,
    // The headers report the minute, not the burst bucket: FLUID's steady queue paces by the rate.
    client: { retry: { rateLimited: { retries: 5 } }, requestsPerMinute: 100 },
  },
  {
    name: 'pioneer',
    // POST /generate/:model: 120 a minute per user; the daily credits raised so the cap stays out of it.
    app: (now, store) => pioneer({ now, ...(store ? { store } : {}), dailyCredits: 10_000_000 }),
    path: '/generate/tiny',
    init: { method: 'POST', body: '{}', headers: { ...json, Authorization: 'Bearer pk_burst' } },
    perMinute: 120,
    client: { retry: { rateLimited: { retries: 5 } }, idempotencyKey: true },
  },
  {
    name: 'firsthand',
    // A Standard key: 100 a minute and 1,000 an hour. Jobs are created by POST, so each carries a key.
    app: (now, store) => firsthand({ now, ...(store ? { store } : {}) }),
    path: '/v1/jobs',
    init: {
      method: 'POST',
      body: '{"url":"https://example.com"}',
      headers: { ...json, Authorization: 'Bearer fh_live_std_burst' },
    },
    perMinute: 100,
    client: { retry: { retryAfterJitterMs: 1000 }, idempotencyKey: true },
  },
];
