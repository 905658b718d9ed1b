import type { IncomingMessage } from 'node:http';
import type { Response } from 'supertest';
import type { ScopeOptions } from '../../lib/options/options.js';
import { MemoryStore } from '../../lib/stores/memory/index.js';
import type { Store } from '../../lib/stores/store.js';

/** Header names tollgate writes for a decision, in the order they went out. */
const RATE_HEADER = /^(x-ratelimit-|ratelimit|retry-after$)/i;

/**
 * The rate-limit header lines of a response exactly as sent: names in their written case,
 * values byte for byte, in order. Two adapters agree only when these lists are equal.
 */
export function rateHeaderLines(res: Response): string[] {
  // superagent keeps Node's response, whose rawHeaders keep the names' case and order.
  const raw = (res as unknown as { res: IncomingMessage }).res.rawHeaders;
  const lines: string[] = [];
  for (let i = 0; i < raw.length; i += 2)
    if (RATE_HEADER.test(raw[i]!)) lines.push(`${raw[i]}: ${raw[i + 1]}`);
  return lines;
}

/** A per-IP scope, as most parity tests need one. */
export function perIp(max: number, extra: Partial<ScopeOptions> = {}): ScopeOptions {
  return { name: 'ip', key: 'ip', limits: [{ max, window: '1m' }], ...extra };
}

/** Seconds since epoch, as `X-RateLimit-Reset` states them. */
export function unix(ms: number): string {
  return String(Math.ceil(ms / 1000));
}

/** A store that answers a macrotask later, so that concurrent requests interleave in the adapter. */
export function delayedStore(inner: Store): Store {
  return new Proxy(inner, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        new Promise((resolve, reject) =>
          setImmediate(() =>
            Promise.resolve()
              .then(() => value.apply(target, args))
              .then(resolve, reject),
          ),
        );
    },
  });
}

/** A store whose every call rejects, as a Redis store does when the server is down. */
export function failingStore(): Store {
  return new Proxy(new MemoryStore(), {
    get(target, property) {
      const value: unknown = Reflect.get(target, property);
      if (typeof value !== 'function') return value;
      return () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    },
  });
}
