/**
 * A target for bench/instructions.ts: decides `POLICY` (`1`, `4x2`, `fluid`) requests with the
 * memory store over 10,000 key values, as scenario 16 does, in steps the parent asks for: it
 * reads `N` from stdin, makes N decisions and writes `done`, so that the parent can count the
 * instructions of exactly those decisions.
 */

import { createInterface } from 'node:readline';
import { createLimiter } from '../../lib/index.js';
import { requestsFor } from '../support/keys.js';
import { policyFromEnv } from '../support/policies.js';

const KEYS = 10_000;

const requests = requestsFor(KEYS);
const limiter = createLimiter(policyFromEnv());
let i = 0;

for await (const line of createInterface({ input: process.stdin })) {
  const count = Number(line);
  for (let end = i + count; i < end; ) {
    const decision = await limiter.check(requests[i++ % KEYS]!);
    if (decision?.allowed !== true) throw new Error(`refused: ${decision?.reason}`);
  }
  process.stdout.write('done\n');
}
