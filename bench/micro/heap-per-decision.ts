/**
 * Heap per decision of the core with the memory store, for `POLICY` (`1`, `4x2`, `fluid`):
 *
 *   POLICY=fluid node --expose-gc --import tsx bench/micro/heap-per-decision.ts
 *
 * - **allocated**: bytes the decisions allocate, by the function that allocated them, from V8's
 *   sampling heap profiler with collected objects kept in the samples. Run it with
 *   `--no-turbo-inlining` as well to see inlined functions (a `PolicyState`, a counter's state)
 *   apart from the function they are inlined into.
 * - **retained**: bytes still held by a decision kept alive, as `req.rateLimit` keeps it for the
 *   request's lifetime. Under load, every scavenge copies what in-flight requests hold, so this
 *   figure, rather than the allocated one, is what garbage collection costs per request.
 */

import { Session } from 'node:inspector/promises';
import v8 from 'node:v8';
import { createLimiter } from '../../lib/index.js';
import { requestsFor } from '../support/keys.js';
import { policyFromEnv } from '../support/policies.js';

const KEYS = 10_000;
const WARM_UP = 200_000;
const SAMPLED = 200_000;
const KEPT = 20_000;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

const requests = requestsFor(KEYS);
const limiter = createLimiter(policyFromEnv());
for (let i = 0; i < WARM_UP; i++) limiter.decide(requests[i % KEYS]!);

interface SamplingNode {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: SamplingNode[];
}

const session = new Session();
session.connect();
// Node's types predate the two `include…` parameters; V8 (Node 20) takes them.
const post = session.post.bind(session) as (method: string, params?: object) => Promise<unknown>;
await post('HeapProfiler.startSampling', {
  samplingInterval: 256,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
for (let i = 0; i < SAMPLED; i++) limiter.decide(requests[i % KEYS]!);
const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: { head: SamplingNode } };
session.disconnect();

const byFunction = new Map<string, number>();
(function walk(node: SamplingNode) {
  const { functionName, url } = node.callFrame;
  const name = `${functionName || '(anonymous)'}  ${url.replace(/^.*?\/(lib|bench)\//, '$1/') || '(native)'}`;
  if (node.selfSize > 0) byFunction.set(name, (byFunction.get(name) ?? 0) + node.selfSize);
  for (const child of node.children) walk(child);
})(profile.head);
const allocated = [...byFunction.values()].reduce((sum, bytes) => sum + bytes, 0);

const kept: unknown[] = new Array(KEPT);
gc();
gc();
const before = v8.getHeapStatistics().used_heap_size;
for (let i = 0; i < KEPT; i++) kept[i] = limiter.decide(requests[i % KEYS]!);
gc();
gc();
const retained = (v8.getHeapStatistics().used_heap_size - before) / KEPT;

console.log(
  `policy ${process.env.POLICY ?? '4x2'}: per decision, ${Math.round(allocated / SAMPLED)} bytes allocated, ${Math.round(retained)} retained (${kept.length} kept)`,
);
for (const [name, bytes] of [...byFunction].sort((a, b) => b[1] - a[1])) {
  const perDecision = Math.round(bytes / SAMPLED);
  if (perDecision >= 8) console.log(`${String(perDecision).padStart(7)}  ${name}`);
}
