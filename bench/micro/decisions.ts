/**
 * Scenario 16: decisions per second of the core with the memory store, on one core (this
 * process), `createLimiter(options).decide(requestInfo)` in turn (awaited when it answers with a
 * promise, which the memory store never makes it do). The request
 * descriptions are built beforehand, so only the limiter is timed. Prints one JSON line.
 */

import { RateLimiterMemory } from 'rate-limiter-flexible';
import { type CounterSpec, createLimiter, MemoryStore, type RequestInfo } from '../../lib/index.js';
import {
  createFloor,
  createFloorDecider,
  FLOOR_COUNTED,
  FLOOR_DECISION,
  FLOOR_SAFE_KEYS,
  FLOOR_SCOPES,
  type FloorResult,
  floorValuesOf,
  safeFloorValuesOf,
} from '../support/floor.js';
import { requestsFor } from '../support/keys.js';
import {
  flexibleFluidLimiters,
  fluidOptions,
  fourByTwoOptions,
  MINUTE_MAX,
  oneRuleOptions,
  TWO_WINDOWS,
} from '../support/policies.js';
import { type Measured, measure, sequential } from './timing.js';

const KEYS = 10_000;
const FLEXIBLE_FLUID =
  'rate-limiter-flexible, 4 × 2 + burst: 8 RateLimiterMemory (one in a BurstyRateLimiter) awaited in turn';

const requests = requestsFor(KEYS);

function limiterRun(limiter: ReturnType<typeof createLimiter<null>>) {
  return (seconds: number) => sequential(seconds, (i) => limiter.decide(requests[i % KEYS]!));
}

const results: Measured[] = [];
results.push(await measure('1 rule', limiterRun(createLimiter(oneRuleOptions<null>()))));
results.push(await measure('4 × 2', limiterRun(createLimiter(fourByTwoOptions<null>()))));
results.push(await measure('4 × 2 + burst (FLUID-like)', limiterRun(createLimiter(fluidOptions<null>()))));

// The floor of the 4 × 2 policy (support/floor.ts), in the same run: the least any in-process
// limiter must do, first with a small result, then building a Decision of the documented shape,
// then that from keys made safe as tollgate's are (safeFloorValuesOf).
const floor = createFloor({ scopes: FLOOR_SCOPES });
const floorResult: FloorResult = { allowed: true, remaining: 0, resetAt: 0 };
results.push(
  await measure(FLOOR_COUNTED, (seconds) =>
    sequential(seconds, (i) => floor.count(floorValuesOf(requests[i % KEYS]!), Date.now(), floorResult)),
  ),
);
const decide = createFloorDecider(createFloor({ scopes: FLOOR_SCOPES }), FLOOR_SCOPES);
results.push(
  await measure(FLOOR_DECISION, (seconds) =>
    sequential(seconds, (i) => decide(floorValuesOf(requests[i % KEYS]!), Date.now())),
  ),
);
const decideSafe = createFloorDecider(createFloor({ scopes: FLOOR_SCOPES }), FLOOR_SCOPES);
results.push(
  await measure(FLOOR_SAFE_KEYS, (seconds) =>
    sequential(seconds, (i) => decideSafe(safeFloorValuesOf(requests[i % KEYS]!), Date.now())),
  ),
);

// The store alone, with the 8 counters of a 4 × 2 request built beforehand as the limiter
// builds them (one group per scope value, whose two windows the store finds with one lookup):
// what the core adds on top of it is the difference.
const store = new MemoryStore();
const counterSets: CounterSpec[][] = requests.map((req, i) =>
  ['ip', 'partner', 'user', 'bank'].flatMap((scope) => {
    const group = { namespace: `tg:${scope}:`, value: scope === 'ip' ? req.ip! : String(i) };
    return TWO_WINDOWS.map((limit) => {
      const windowMs = limit.window === '1m' ? 60_000 : 3_600_000;
      return {
        kind: 'window' as const,
        key: `${group.namespace}${group.value}:${windowMs}`,
        group,
        windowMs,
        limit: limit.max,
        cost: 1,
      };
    });
  }),
);
results.push(
  await measure('MemoryStore.consume alone, 8 counters in 4 groups', (seconds) =>
    sequential(seconds, (i) => store.consume(counterSets[i % KEYS]!)),
  ),
);

const flexible = new RateLimiterMemory({ points: MINUTE_MAX, duration: 60 });
results.push(
  await measure('rate-limiter-flexible RateLimiterMemory.consume, 1 rule', (seconds) =>
    sequential(seconds, (i) => flexible.consume(requests[i % KEYS]!.ip!)),
  ),
);

// The same policy as rate-limiter-flexible glue: its 8 limiters consumed in turn, each awaited.
const stacked = flexibleFluidLimiters();
const flexibleKeyOf = {
  ip: (req: RequestInfo<null>) => req.ip!,
  partner: (req: RequestInfo<null>) => req.headers['x-partner-id'] as string,
  user: (req: RequestInfo<null>) => req.headers['x-user-id'] as string,
  bank: (req: RequestInfo<null>) => String(req.params!.bankId),
};
async function flexibleFluid(req: RequestInfo<null>): Promise<void> {
  for (let k = 0; k < stacked.length; k++) {
    const { scope, limiter } = stacked[k]!;
    await limiter.consume(flexibleKeyOf[scope](req));
  }
}
results.push(
  await measure(FLEXIBLE_FLUID, (seconds) => sequential(seconds, (i) => flexibleFluid(requests[i % KEYS]!))),
);

console.log(JSON.stringify({ results }));
