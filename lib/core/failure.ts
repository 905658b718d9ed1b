import type { StoreFailurePolicy } from '../options/options.js';
import { MemoryStore } from '../stores/memory/index.js';
import type { StoreCounterSpec } from '../stores/store.js';

export type CompiledFailure =
  | { kind: 'open' | 'closed' }
  | {
      kind: 'insurance';
      store: MemoryStore;
      shrink: (counter: StoreCounterSpec) => StoreCounterSpec;
      shrinkMax: (max: number) => number;
      divisor: number;
    };

export function compileFailurePolicy(policy: StoreFailurePolicy, now: () => number): CompiledFailure {
  if (policy === 'open' || policy === 'closed') return { kind: policy };
  const { divisor } = policy.insurance;
  // Rounded down, but never to zero: each of `divisor` instances admits its share, so the
  // fleet as a whole stays at or under the configured limit.
  const shrinkMax = (max: number) => Math.max(1, Math.floor(max / divisor));
  return {
    kind: 'insurance',
    store: new MemoryStore({ now }),
    shrinkMax,
    divisor,
    shrink: (counter) =>
      counter.kind === 'bucket'
        ? { ...counter, capacity: shrinkMax(counter.capacity), intervalMs: counter.intervalMs * divisor }
        : { ...counter, limit: shrinkMax(counter.limit) },
  };
}
