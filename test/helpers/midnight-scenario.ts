// Run in a child process under a given TZ: charges around midnight UTC and prints what was admitted.
import { createLimiter } from '../../lib/core/limiter.js';

const MIDNIGHT = Date.UTC(2025, 9, 28);
let now = MIDNIGHT - 1;
const limiter = createLimiter<null>({
  now: () => now,
  spendCap: { key: { header: 'x-user' }, budget: 2, cost: 1 },
});
const req = { ip: '192.0.2.1', method: 'POST', path: '/', headers: { 'x-user': 'u' }, raw: null };

const results: Array<[number, boolean | undefined, number | undefined]> = [];
for (const at of [MIDNIGHT - 1, MIDNIGHT - 1, MIDNIGHT - 1, MIDNIGHT, MIDNIGHT + 1, MIDNIGHT + 2]) {
  now = at;
  const decision = await limiter.check(req);
  results.push([at, decision?.allowed, decision?.retryAfter]);
}
const usage = await limiter.getUsage('u');
process.stdout.write(JSON.stringify({ tz: process.env.TZ, results, usage }));
