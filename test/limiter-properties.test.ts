import fc from 'fast-check';
import type { Decision } from '../lib/core/decision.js';
import { createLimiter } from '../lib/core/limiter.js';
import { manualClock } from './helpers/clock.js';
import { requestFrom } from './helpers/requests.js';

/**
 * The limiter against a model of what its documentation promises, over random traffic: two
 * scopes (a client address with a minute, an hour and a burst; a user, when the request names
 * one, with a minute), costs, refunds (twice, of which only the first gives back) and time.
 * Every decision must be the model's, and every window's `remaining` its exact count: no
 * over-admission, no charge lost or counted twice.
 */

const MINUTE = 60_000;
const HOUR = 3_600_000;
const BURST = 4;
/** The burst refills at the minute limit's rate. */
const BURST_INTERVAL_MS = MINUTE / 6;
const EPSILON_MS = 1e-3;

const WINDOWS = {
  ip: [
    { name: 'minute', ms: MINUTE, max: 6 },
    { name: 'hour', ms: HOUR, max: 15 },
  ],
  user: [{ name: 'minute', ms: MINUTE, max: 5 }],
} as const;

type ScopeName = keyof typeof WINDOWS;

const step = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('request' as const),
      ip: fc.integer({ min: 0, max: 1 }),
      // 2: the request names no user, and the user scope is skipped.
      user: fc.integer({ min: 0, max: 2 }),
      cost: fc.integer({ min: 0, max: BURST }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('refund' as const), twice: fc.boolean() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant('advance' as const),
      ms: fc.oneof(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 0, max: 1_500_000 })),
    }),
  },
);

interface Charged {
  readonly decision: Decision;
  readonly ip: string;
  readonly cost: number;
  /** The window counts the request added to, with the window each was in. */
  readonly windows: ReadonlyArray<{ readonly key: string; readonly ms: number; readonly number: number }>;
}

class Model {
  private readonly counts = new Map<string, number>();
  private readonly tats = new Map<string, number>();

  windowKey(scope: ScopeName, value: string, ms: number, number: number): string {
    return `${scope}:${value}:${ms}:${number}`;
  }

  used(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** The bucket's arrival time, never before now. */
  tat(ip: string, now: number): number {
    return Math.max(this.tats.get(ip) ?? now, now);
  }

  admits(values: ReadonlyArray<[ScopeName, string]>, cost: number, now: number): boolean {
    for (const [scope, value] of values)
      for (const window of WINDOWS[scope]) {
        const used = this.used(this.windowKey(scope, value, window.ms, Math.floor(now / window.ms)));
        if (used + cost > window.max) return false;
      }
    const ip = values[0]![1];
    return this.tat(ip, now) + (cost - BURST) * BURST_INTERVAL_MS <= now + EPSILON_MS;
  }

  charge(values: ReadonlyArray<[ScopeName, string]>, cost: number, now: number): Charged['windows'] {
    const windows: Array<{ key: string; ms: number; number: number }> = [];
    for (const [scope, value] of values)
      for (const window of WINDOWS[scope]) {
        const number = Math.floor(now / window.ms);
        const key = this.windowKey(scope, value, window.ms, number);
        this.counts.set(key, this.used(key) + cost);
        windows.push({ key, ms: window.ms, number });
      }
    const ip = values[0]![1];
    if (cost > 0) this.tats.set(ip, this.tat(ip, now) + cost * BURST_INTERVAL_MS);
    return windows;
  }

  /** What the stores document: a window that has ended keeps its count; a bucket refills. */
  refund(charged: Charged, now: number): void {
    for (const window of charged.windows)
      if (Math.floor(now / window.ms) === window.number)
        this.counts.set(window.key, Math.max(0, this.used(window.key) - charged.cost));
    if (charged.cost === 0) return;
    const back = (this.tats.get(charged.ip) ?? now) - charged.cost * BURST_INTERVAL_MS;
    this.tats.set(charged.ip, back > now + EPSILON_MS ? back : now);
  }
}

describe('the limiter against its model', () => {
  test('over random requests, costs, refunds and time, every decision and count is exact', async () => {
    await fc.assert(
      // `size: 'max'`: left to its default, fast-check keeps arrays to about ten steps.
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 150, size: 'max' }), async (steps) => {
        const clock = manualClock();
        const limiter = createLimiter<null>({
          now: clock.now,
          cost: (req) => Number(req.headers['x-cost']),
          scopes: [
            {
              name: 'ip',
              key: 'ip',
              limits: WINDOWS.ip.map(({ max, ms }) => ({ max, window: ms === MINUTE ? '1m' : '1h' })),
              burst: BURST,
            },
            {
              name: 'user',
              key: { header: 'x-user' },
              onMissing: 'skip',
              limits: [{ max: WINDOWS.user[0].max, window: '1m' }],
            },
          ],
        });
        const model = new Model();
        const admitted: Charged[] = [];
        for (const s of steps) {
          const now = clock.now();
          if (s.op === 'advance') {
            clock.advance(s.ms);
            continue;
          }
          if (s.op === 'refund') {
            const charged = admitted.pop();
            if (charged === undefined) continue;
            await limiter.refund(charged.decision);
            // A decision is refunded at most once.
            if (s.twice) await limiter.refund(charged.decision);
            model.refund(charged, now);
            continue;
          }
          const ip = `198.51.100.${s.ip + 1}`;
          const user = s.user === 2 ? undefined : `u${s.user}`;
          const values: Array<[ScopeName, string]> = [['ip', ip]];
          if (user !== undefined) values.push(['user', user]);
          const headers: Record<string, string> = { 'x-cost': String(s.cost) };
          if (user !== undefined) headers['x-user'] = user;

          const expected = model.admits(values, s.cost, now);
          const decision = (await limiter.check(requestFrom({ ip, headers })))!;
          expect(decision.allowed).toBe(expected);
          expect(decision.status).toBe(expected ? 200 : 429);
          if (expected)
            admitted.push({ decision, ip, cost: s.cost, windows: model.charge(values, s.cost, now) });
          // Each window reports its exact count: after the charge when admitted, untouched when not.
          for (const [scope, value] of values)
            for (const window of WINDOWS[scope]) {
              const key = model.windowKey(scope, value, window.ms, Math.floor(now / window.ms));
              const policy = decision.policies.find((p) => p.id === `${scope}_${window.name}`)!;
              expect(policy.remaining).toBe(Math.max(0, window.max - model.used(key)));
            }
          expect(decision.policies.map((p) => p.id)).toEqual(
            user === undefined
              ? ['ip_minute', 'ip_hour', 'ip_burst']
              : ['ip_minute', 'ip_hour', 'ip_burst', 'user_minute'],
          );
        }
      }),
      { numRuns: Number(process.env.TOLLGATE_FC_RUNS ?? 60) },
    );
  });
});
