import { MemoryStore } from '../../lib/stores/memory/index.js';
import type { Store } from '../../lib/stores/store.js';
import type { ManualClock } from './clock.js';

/** The stores the quota suites (periods, concurrency) run on, each on the test's clock. */
export interface QuotaStores {
  readonly subjects: ReadonlyArray<[string, (clock: ManualClock) => Store]>;
  close(): Promise<void>;
}

export function quotaStores(): QuotaStores {
  return {
    subjects: [['memory store', (clock) => new MemoryStore({ now: clock.now })]],
    close: async () => {},
  };
}
