/**
 * A target for bench/instructions.ts: decides `POLICY` (`1`, `4x2`, `fluid`) requests with the
 * memory store over 10,000 key values, as scenario 16 does, in steps the parent asks for: it
 * reads `N` from stdin, makes N decisions and writes `done`, so that the parent can count the
 * instructions of exactly those decisions. `POLICY=floor` and `floor-decision` decide the 4 × 2
 * policy with its floor instead (support/floor.ts), as scenario 16's floor rows do.
 * `POLICY=store-<policy>` (`store-1`, `store-4x2`, `store-fluid`) runs only the memory store's
 * share of that policy's decisions: the counters the limiter hands the store for each request,
 * recorded beforehand, consumed in turn by a `MemoryStore` of their own.
 */

import { createInterface } from 'node:readline';
import {
  type ConsumeResult,
  type CounterSpec,
  createLimiter,
  type Decision,
  MemoryStore,
  type RequestInfo,
} from '../../lib/index.js';
import { createFloor, createFloorDecider, FLOOR_SCOPES, floorValuesOf } from '../support/floor.js';
import { requestsFor } from '../support/keys.js';
import { policyFromEnv } from '../support/policies.js';

const KEYS = 10_000;

const requests = requestsFor(KEYS);
const decide = deciderFromEnv();
let i = 0;

for await (const line of createInterface({ input: process.stdin })) {
  const count = Number(line);
  for (let end = i + count; i < end; ) {
    const outcome = decide(requests[i++ % KEYS]!);
    const decision = outcome instanceof Promise ? await outcome : outcome;
    if (decision?.allowed !== true) throw new Error(`refused: ${decision?.reason}`);
  }
  process.stdout.write('done\n');
}

function deciderFromEnv(): (req: RequestInfo<null>) => Decision | undefined | Promise<Decision | undefined> {
  const policy = process.env.POLICY;
  if (policy === 'floor') {
    const floor = createFloor({ scopes: FLOOR_SCOPES });
    const result = { allowed: true, remaining: 0, resetAt: 0 };
    // Shaped as a decision for the check below; the floor builds only its small result.
    return (req) => floor.count(floorValuesOf(req), Date.now(), result) as unknown as Decision;
  }
  if (policy === 'floor-decision') {
    const decider = createFloorDecider(createFloor({ scopes: FLOOR_SCOPES }), FLOOR_SCOPES);
    return (req) => decider(floorValuesOf(req), Date.now());
  }
  if (policy?.startsWith('store-') === true) return storeShare(policy.slice('store-'.length));
  const limiter = createLimiter(policyFromEnv());
  return (req) => limiter.decide(req);
}

function storeShare(policy: string): (req: RequestInfo<null>) => Decision {
  const recorded = new Map<RequestInfo<null>, readonly CounterSpec[]>();
  const recorder = new MemoryStore();
  let last: readonly CounterSpec[] = [];
  const recording = {
    consume(counters: readonly CounterSpec[]): ConsumeResult {
      last = counters;
      return recorder.consume(counters);
    },
    peek: (counters: readonly CounterSpec[]) => recorder.peek(counters),
    refund: () => {},
    charge: () => {},
    reset: () => {},
  };
  const limiter = createLimiter({ ...policyFromEnv(policy), store: recording });
  for (const req of requests) {
    limiter.decide(req);
    recorded.set(req, last);
  }
  const store = new MemoryStore();
  // Shaped as a decision for the check below.
  return (req) => ({ allowed: store.consume(recorded.get(req)!).admitted }) as Decision;
}
