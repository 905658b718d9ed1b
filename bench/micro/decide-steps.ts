/**
 * A target for bench/instructions.ts: decides `POLICY` (`1`, `4x2`, `fluid`) requests with the
 * memory store over 10,000 key values, as scenario 16 does, in steps the parent asks for: it
 * reads `N` from stdin, makes N decisions and writes `done`, so that the parent can count the
 * instructions of exactly those decisions.
 */

import { createInterface } from 'node:readline';
import { createLimiter, type TollgateOptions } from '../../lib/index.js';
import { requestsFor } from '../support/keys.js';
import { fluidOptions, fourByTwoOptions, oneRuleOptions } from '../support/policies.js';

const KEYS = 10_000;
const policies: Record<string, () => TollgateOptions<null>> = {
  '1': oneRuleOptions,
  '4x2': fourByTwoOptions,
  fluid: fluidOptions,
};
const policy = policies[process.env.POLICY ?? '4x2'];
if (policy === undefined) throw new Error(`POLICY must be one of ${Object.keys(policies).join(', ')}`);

const requests = requestsFor(KEYS);
const limiter = createLimiter(policy());
let i = 0;

for await (const line of createInterface({ input: process.stdin })) {
  const count = Number(line);
  for (let end = i + count; i < end; ) {
    const decision = await limiter.check(requests[i++ % KEYS]!);
    if (decision?.allowed !== true) throw new Error(`refused: ${decision?.reason}`);
  }
  process.stdout.write('done\n');
}
