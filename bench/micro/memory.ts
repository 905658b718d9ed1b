/**
 * Scenarios 18 and 19, run with `--expose-gc`: `MEMORY_MODE=heap` counts the heap each key
 * holds in the memory store after `BENCH_HEAP_KEYS` distinct keys; `MEMORY_MODE=flood` throws
 * random keys at a store held at its key cap and samples its size and heap every second.
 * Prints one JSON line.
 */
import { createLimiter, MemoryStore, type RequestInfo } from '../../lib/index.js';
import { ipOf } from '../support/keys.js';
import { BURST, ONE_RULE } from '../support/policies.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

function heapAfterGc(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

function requestOf(ip: string): RequestInfo<null> {
  return { ip, method: 'GET', path: '/', headers: {}, raw: null };
}

/** Heap per key for a policy, over `count` distinct client addresses. */
async function heapPerKey(burst: boolean, count: number) {
  // A clock that stands still: a window that ended during the run would be swept, records and
  // all, and its keys would no longer be in the heap they are divided into.
  const startedAt = Date.now();
  const now = () => startedAt;
  const store = new MemoryStore({ maxKeys: count * 2 + 10, now });
  const limiter = createLimiter<null>({
    now,
    store,
    scopes: [{ name: 'ip', key: 'ip', limits: ONE_RULE, ...(burst ? { burst: BURST } : {}) }],
  });
  // Opens the window generation before the baseline, so that only keys are counted.
  await limiter.check(requestOf('192.0.2.1'));
  const before = heapAfterGc();
  const start = performance.now();
  for (let i = 0; i < count; i++) await limiter.check(requestOf(ipOf(i)));
  const seconds = (performance.now() - start) / 1000;
  const after = heapAfterGc();
  const counters = store.size - 1;
  const result = {
    keys: count,
    counters,
    bytesPerKey: (after - before) / count,
    heapBeforeMB: before / 2 ** 20,
    heapAfterMB: after / 2 ** 20,
    insertsPerSecond: count / seconds,
  };
  store.close();
  return result;
}

async function flood(seconds: number) {
  const maxKeys = 100_000;
  const store = new MemoryStore({ maxKeys });
  const limiter = createLimiter<null>({
    store,
    scopes: [{ name: 'ip', key: 'ip', limits: ONE_RULE, burst: BURST }],
  });
  const samples: Array<{ at: number; checks: number; size: number; heapMB: number }> = [];
  let checks = 0;
  let refused = 0;
  let maxSize = 0;
  const start = performance.now();
  let nextSample = start + 1000;
  samples.push({ at: 0, checks: 0, size: store.size, heapMB: heapAfterGc() / 2 ** 20 });
  for (;;) {
    for (let j = 0; j < 1024; j++) {
      // A random address of 10.0.0.0/8: 16 million of them, so few repeat.
      const decision = await limiter.check(requestOf(ipOf(Math.floor(Math.random() * 0xffffff))));
      if (decision?.allowed !== true) refused++;
      checks++;
    }
    const now = performance.now();
    if (now >= nextSample) {
      const size = store.size;
      maxSize = Math.max(maxSize, size);
      const gcStart = performance.now();
      const heapMB = heapAfterGc() / 2 ** 20;
      // The time spent collecting is not the store's: leave it out of the rate.
      nextSample = performance.now() + 1000;
      samples.push({ at: Math.round((gcStart - start) / 100) / 10, checks, size, heapMB });
      if (gcStart - start >= seconds * 1000) break;
    }
  }
  const afterCap = samples.filter((s) => s.size >= maxKeys * 0.99);
  const firstAtCap = afterCap[0];
  const last = samples[samples.length - 1]!;
  const heapAtCap = afterCap.map((s) => s.heapMB);
  return {
    maxKeys,
    seconds,
    checks,
    refused,
    checksPerSecond: checks / ((performance.now() - start) / 1000),
    maxSize,
    samples,
    heapAtCapMinMB: heapAtCap.length === 0 ? undefined : Math.min(...heapAtCap),
    heapAtCapMaxMB: heapAtCap.length === 0 ? undefined : Math.max(...heapAtCap),
    heapGrowthAfterCapMB: firstAtCap === undefined ? undefined : last.heapMB - firstAtCap.heapMB,
  };
}

const mode = process.env.MEMORY_MODE ?? 'heap';
if (mode === 'heap') {
  const count = Number(process.env.BENCH_HEAP_KEYS ?? 1_000_000);
  const window = await heapPerKey(false, count);
  const withBurst = await heapPerKey(true, count);
  console.log(JSON.stringify({ window, withBurst }));
} else {
  console.log(JSON.stringify(await flood(Number(process.env.BENCH_FLOOD_DURATION ?? 10))));
}
