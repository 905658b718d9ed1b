/**
 * Decisions per second in one process: tollgate's `limiter.check` with the memory store (1 rule;
 * 4 × 2 + burst) from the build in `TOLLGATE_DIST`, and, with `MICRO_PEERS=1`,
 * rate-limiter-flexible's glue for the same policies. Each call is awaited, as middleware does.
 * Request descriptions are built beforehand. Prints one JSON line: `{ results: MicroRow[] }`.
 */
import { RateLimiterMemory } from 'rate-limiter-flexible';
import {
  flexibleFluid,
  fluid,
  KEY_OF_INFO,
  KEYS,
  MINUTE_MAX,
  oneRule,
  requestOf,
} from '../support/policies.js';
import { loadTollgate } from '../support/tollgate.js';

export interface MicroRow {
  readonly name: string;
  readonly subject: 'tollgate' | 'rate-limiter-flexible';
  /** Calls per second, one figure per round. */
  readonly perSecond: number[];
}

const seconds = Number(process.env.BENCH_MICRO_DURATION ?? 2);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const requests = Array.from({ length: KEYS }, (_, i) => requestOf(i));

async function rate(step: (i: number) => Promise<unknown>, forS: number): Promise<number> {
  const start = performance.now();
  const deadline = start + forS * 1000;
  let i = 0;
  // Reading the clock every call would cost as much as a decision.
  while (performance.now() < deadline) for (let j = 0; j < 256; j++) await step(i++);
  return Math.round(i / ((performance.now() - start) / 1000));
}

async function measure(
  name: string,
  subject: MicroRow['subject'],
  step: (i: number) => Promise<unknown>,
): Promise<MicroRow> {
  await rate(step, Math.min(1, seconds));
  const perSecond: number[] = [];
  for (let r = 0; r < rounds; r++) perSecond.push(await rate(step, seconds));
  return { name, subject, perSecond };
}

const tollgate = await loadTollgate();
const results: MicroRow[] = [];
for (const [name, policy] of [
  ['1 rule', oneRule<null>()],
  ['4 × 2 + burst', fluid<null>()],
] as const) {
  const limiter = tollgate.createLimiter(policy);
  results.push(await measure(name, 'tollgate', (i) => limiter.check(requests[i % KEYS]!)));
}
if (process.env.MICRO_PEERS === '1') {
  const one = new RateLimiterMemory({ points: MINUTE_MAX, duration: 60 });
  results.push(await measure('1 rule', 'rate-limiter-flexible', (i) => one.consume(requests[i % KEYS]!.ip)));
  const stacked = flexibleFluid();
  results.push(
    await measure('4 × 2 + burst', 'rate-limiter-flexible', async (i) => {
      const req = requests[i % KEYS]!;
      for (const { scope, limiter } of stacked) await limiter.consume(KEY_OF_INFO[scope](req));
    }),
  );
}
console.log(JSON.stringify({ results }));
