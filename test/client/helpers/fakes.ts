import { type ClientOptions, createClient } from '../../../lib/client/index.js';
import { T0 } from '../../helpers/clock.js';

/**
 * One clock for everything a test drives: `sleep` records the wait it was asked for and moves
 * the clock by exactly that much, so "waiting a minute" takes no real time.
 */
export interface TestClock {
  readonly now: () => number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Every wait requested, in order. */
  readonly waits: number[];
  advance(ms: number): void;
}

export function testClock(start = T0): TestClock {
  let current = start;
  const waits: number[] = [];
  return {
    now: () => current,
    sleep: async (ms) => {
      waits.push(ms);
      current += ms;
    },
    waits,
    advance(ms) {
      current += ms;
    },
  };
}

/**
 * A sleep that waits until the test releases it, or its signal aborts: for tests of what happens
 * *while* the client waits.
 */
export function heldSleep(clock: { advance(ms: number): void }) {
  const pending: Array<{ ms: number; resolve: () => void }> = [];
  return {
    pending,
    sleep(ms: number, signal?: AbortSignal): Promise<void> {
      return new Promise<void>((resolve) => {
        const entry = { ms, resolve };
        pending.push(entry);
        signal?.addEventListener('abort', () => resolve(), { once: true });
      });
    },
    /** Releases the oldest held sleep, moving the clock by its length. */
    release(): void {
      const entry = pending.shift();
      if (entry === undefined) throw new Error('no sleep is held');
      clock.advance(entry.ms);
      entry.resolve();
    },
  };
}

export interface Sent {
  url: string;
  method: string;
  headers: Headers;
  at: number;
}

type Reply = Response | ((sent: Sent) => Response | Promise<Response>);

/** A fetch that answers from a script, one reply per request (the last one repeats), recording each request. */
export function scriptedFetch(now: () => number, replies: Reply[]) {
  const sent: Sent[] = [];
  let i = 0;
  const fetch = async (input: string, init?: RequestInit): Promise<Response> => {
    const request: Sent = {
      url: input,
      method: init?.method ?? 'GET',
      headers: new Headers(init?.headers),
      at: now(),
    };
    sent.push(request);
    const reply = replies[Math.min(i++, replies.length - 1)]!;
    return typeof reply === 'function' ? reply(request) : reply.clone();
  };
  return { fetch, sent };
}

export function reply(status: number, headers: Record<string, string> = {}, body?: unknown): Response {
  const text = body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body);
  return new Response(status === 204 ? null : text, {
    status,
    headers:
      body === undefined || typeof body === 'string'
        ? headers
        : { 'content-type': 'application/json', ...headers },
  });
}

/** Lets pending promise callbacks run (several rounds: the client awaits in a few places). */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * A client on a test clock (sleep advances it), whose fetch answers from `replies`, with no
 * jitter; `options` (throttle, concurrency, ...) as each suite needs.
 */
export function scriptedClient(baseUrl: string, replies: Reply[], options: Partial<ClientOptions> = {}) {
  const clock = testClock();
  const { fetch, sent } = scriptedFetch(clock.now, replies);
  const api = createClient({
    baseUrl,
    fetch,
    now: clock.now,
    sleep: clock.sleep,
    random: () => 0,
    ...options,
  });
  return { api, clock, sent };
}
