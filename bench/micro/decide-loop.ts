/**
 * A target for bench/profile.ts: decides `POLICY` (`1`, `4x2`, `fluid`) requests with the memory
 * store for `PROFILE_SECONDS`, the way scenario 16 does, and nothing else. `KEYS` (default 10,000)
 * sets how many key values the requests cycle through: fewer keep every lookup in cache.
 */

import { createLimiter, type TollgateOptions } from '../../lib/index.js';
import { requestsFor } from '../support/keys.js';
import { fluidOptions, fourByTwoOptions, oneRuleOptions } from '../support/policies.js';
import { lastCpuRate, sequential } from './timing.js';

const KEYS = Number(process.env.KEYS ?? 10_000);
const policies: Record<string, () => TollgateOptions<null>> = {
  '1': oneRuleOptions,
  '4x2': fourByTwoOptions,
  fluid: fluidOptions,
};
const policy = policies[process.env.POLICY ?? '4x2'];
if (policy === undefined) throw new Error(`POLICY must be one of ${Object.keys(policies).join(', ')}`);

const requests = requestsFor(KEYS);
const limiter = createLimiter(policy());
const rate = await sequential(Number(process.env.PROFILE_SECONDS ?? 10), (i) =>
  limiter.check(requests[i % KEYS]!),
);
console.log(JSON.stringify({ decisionsPerSecond: Math.round(rate), perCpuSecond: Math.round(lastCpuRate) }));
