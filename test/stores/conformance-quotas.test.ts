import { MemoryStore } from '../../lib/stores/memory/index.js';
import { quotaConformance } from './conformance-quotas.js';

describe('Store conformance, calendar windows and leases: MemoryStore', () => {
  quotaConformance((clock) => new MemoryStore({ now: clock.now }));
});
