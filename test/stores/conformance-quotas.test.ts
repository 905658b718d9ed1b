import { MemoryStore } from '../../lib/stores/memory/index.js';
import { quotaStores } from '../helpers/quota-stores.js';
import { quotaConformance } from './conformance-quotas.js';

const stores = quotaStores();
beforeAll(() => stores.start(), 30_000);
afterAll(() => stores.close());

describe.each(stores.subjects)('Store conformance, calendar windows and leases: %s', (_name, factory) => {
  quotaConformance(factory);
});

test('the memory store is among the subjects', () => {
  expect(stores.subjects[0]![1]({ now: () => 0, advance() {}, set() {} })).toBeInstanceOf(MemoryStore);
});
