/**
 * A target for bench/profile.ts: decides `POLICY` (`1`, `4x2`, `fluid`) requests with the memory
 * store for `PROFILE_SECONDS`, the way scenario 16 does, and nothing else. `KEYS` (default 10,000)
 * sets how many key values the requests cycle through: fewer keep every lookup in cache.
 */

import { createLimiter } from '../../lib/index.js';
import { requestsFor } from '../support/keys.js';
import { policyFromEnv } from '../support/policies.js';
import { lastCpuRate, sequential } from './timing.js';

const KEYS = Number(process.env.KEYS ?? 10_000);

const requests = requestsFor(KEYS);
const limiter = createLimiter(policyFromEnv());
const rate = await sequential(Number(process.env.PROFILE_SECONDS ?? 10), (i) =>
  limiter.decide(requests[i % KEYS]!),
);
console.log(JSON.stringify({ decisionsPerSecond: Math.round(rate), perCpuSecond: Math.round(lastCpuRate) }));
