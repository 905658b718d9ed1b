import type { Server } from 'node:http';
import type { Express } from 'express';
import type { FetchLike } from '../../../lib/client/index.js';
import type { TestClock } from './fakes.js';

/** Every HTTP request the client sent, as the wire saw it, on the shared test clock. */
export interface Attempt {
  /** The test's own id of the call (`X-Test-Call`), the same on each of its attempts. */
  call: string;
  sentAt: number;
  answeredAt: number;
  status: number;
  retryAfter: string | null;
  reason: string | null;
  /** Which server instance answered. */
  instance: number;
}

export interface Listening {
  url: string;
  close(): Promise<void>;
}

/** Listens on an ephemeral port of 127.0.0.1. */
export async function listen(app: Express): Promise<Listening> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('not listening');
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

export interface Wire {
  fetch: FetchLike;
  log: Attempt[];
  /**
   * The client's `sleep` for end-to-end tests: once no request is on the wire (and the client has
   * handled every answer), it moves the shared clock to the end of the wait. Time passes only
   * while nothing is in flight, as it would with real waits of seconds and replies in
   * milliseconds; otherwise answers to requests sent together would be read a whole wait apart.
   */
  sleep(ms: number): Promise<void>;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The real `fetch`, sending each request to the next of `origins` in turn (a round-robin load
 * balancer in front of several instances) and logging it with the shared clock's times. Bodies
 * are read in full before the client sees them, so its handling of an answer takes no I/O.
 */
export function recordingFetch(clock: TestClock, origins: readonly string[]): Wire {
  const log: Attempt[] = [];
  let next = 0;
  let onWire = 0;
  let idle: Array<() => void> = [];
  const fetch: FetchLike = async (input, init) => {
    const instance = next++ % origins.length;
    const url = new URL(input);
    const target = `${origins[instance]}${url.pathname}${url.search}`;
    const sentAt = clock.now();
    onWire++;
    let response: Response;
    try {
      const raw = await globalThis.fetch(target, init);
      response = new Response(raw.status === 204 ? null : await raw.arrayBuffer(), {
        status: raw.status,
        headers: raw.headers,
      });
    } finally {
      onWire--;
      if (onWire === 0) {
        const waiting = idle;
        idle = [];
        for (const resolve of waiting) resolve();
      }
    }
    log.push({
      call: new Headers(init?.headers).get('x-test-call') ?? '',
      sentAt,
      answeredAt: clock.now(),
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      reason: response.headers.get('x-ratelimit-reason'),
      instance,
    });
    return response;
  };
  const sleep = async (ms: number) => {
    const until = clock.now() + ms;
    clock.waits.push(ms);
    // Let the client handle answers that have arrived, until nothing is on the wire.
    for (let quiet = 0; quiet < 5; ) {
      if (onWire > 0) {
        await new Promise<void>((resolve) => idle.push(resolve));
        quiet = 0;
      } else {
        await turn();
        quiet++;
      }
    }
    clock.advance(Math.max(0, until - clock.now()));
  };
  return { fetch, log, sleep };
}

/**
 * For every call, each attempt after a 429 left no sooner than the `Retry-After` that 429 carried,
 * counted from when its answer arrived. Returns how many such retries were checked.
 */
export function expectNeverEarly(log: readonly Attempt[]): number {
  const byCall = new Map<string, Attempt[]>();
  for (const attempt of log) byCall.set(attempt.call, [...(byCall.get(attempt.call) ?? []), attempt]);
  let checked = 0;
  for (const [call, attempts] of byCall) {
    attempts.sort((a, b) => a.sentAt - b.sentAt);
    for (let i = 1; i < attempts.length; i++) {
      const before = attempts[i - 1]!;
      if (before.status !== 429) continue;
      const asked = Number(before.retryAfter) * 1000;
      const waited = attempts[i]!.sentAt - before.answeredAt;
      if (!(waited >= asked))
        throw new Error(`call ${call}: retried ${waited} ms after a 429 that asked for ${asked} ms`);
      checked++;
    }
  }
  return checked;
}

/** How many attempts the busiest call needed. */
export function mostAttempts(log: readonly Attempt[]): number {
  const counts = new Map<string, number>();
  for (const attempt of log) counts.set(attempt.call, (counts.get(attempt.call) ?? 0) + 1);
  return Math.max(0, ...counts.values());
}
