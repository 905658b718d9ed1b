import { validateOptions } from '../../options/validation.js';
import { bucketAdmits, bucketState, windowState } from '../counter-state.js';
import { spanOf, windowStart } from '../periods.js';
import type {
  ConsumeResult,
  CounterGroup,
  CounterState,
  LeaseCounterSpec,
  Store,
  StoreCounterSpec,
  StoreRefundSpec,
  WindowCounterSpec,
} from '../store.js';
import { chargedSlot, giveBack } from './adjust.js';
import { Leases } from './leases.js';
import { IdempotencyMarks, markerOf } from './marks.js';
import { type MemoryStoreOptions, memoryStoreOptionsSchema } from './options.js';
import { overflowKey } from './overflow.js';
import { type CounterRecord, lengthOf, windowNumber, windowOf } from './record.js';
import { BY_KEY, dropExpired, heldSlot, lookup, type Records, recordAt, SweepPass } from './records.js';
import { OVERFLOWING, REPLAYED, Scratch } from './scratch.js';

export { type MemoryStoreOptions, memoryStoreOptionsSchema };

/** The counters kept in records: all but leases. */
type Counted = Exclude<StoreCounterSpec, LeaseCounterSpec>;

/**
 * The in-process store. Every operation is synchronous, so a `consume` is atomic within the
 * process without locks.
 *
 * A group's counters (a scope value's minute, hour and burst) share one record. A window
 * slot that has ended reads as empty, and a record whose slots are all empty is dropped by a
 * pass over the records every minute, made a few records per call; a full pass runs at once
 * when the store reaches `maxKeys`, and when `size` is read. Idempotency marks live in one map
 * per window length, dropped whole when the window ends.
 */
export class MemoryStore implements Store {
  readonly maxKeys: number;
  private readonly now: () => number;
  private readonly records: Records = new Map();
  private readonly marks = new IdempotencyMarks();
  private readonly leases = new Leases();
  private readonly pass = new SweepPass(this.records);
  /** Slots held by every record: with the marks, what `maxKeys` bounds. */
  private slotCount = 0;
  private lastFullSweep = Number.NEGATIVE_INFINITY;
  private readonly scratch = new Scratch();

  constructor(options: MemoryStoreOptions = {}) {
    validateOptions(memoryStoreOptionsSchema, options, 'MemoryStore options');
    this.maxKeys = options.maxKeys ?? 1_000_000;
    this.now = options.now ?? Date.now;
  }

  /** Counters currently held, overflow counters and idempotency marks included. */
  get size(): number {
    this.sweep();
    return this.slotCount + this.marks.size + this.leases.size;
  }

  consume(counters: readonly StoreCounterSpec[]): ConsumeResult {
    return this.evaluate(counters, true);
  }

  peek(counters: readonly StoreCounterSpec[]): ConsumeResult {
    return this.evaluate(counters, false);
  }

  refund(refunds: readonly StoreRefundSpec[]): void {
    const now = this.now();
    for (const refund of refunds) {
      if (refund.cost <= 0) continue;
      if (refund.kind === 'lease') {
        this.leases.give(refund.key, refund.leaseId);
        continue;
      }
      const [record, slot] = heldSlot(this.records, refund);
      if (record !== undefined) giveBack({ record, slot }, refund, this.marks, now);
    }
  }

  charge(charges: readonly StoreRefundSpec[]): void {
    const now = this.now();
    for (const charge of charges) {
      // Leases are taken by consume alone.
      if (charge.cost <= 0 || charge.kind === 'lease') continue;
      let [record, slot] = heldSlot(this.records, charge);
      const charged = chargedSlot(record, slot, charge, now);
      if (charged === undefined) continue;
      if (slot < 0) {
        record = this.opened(record, charge, charge.key);
        slot = record.find(lengthOf(charge));
      }
      record!.set(slot, charged.units, charged.window);
    }
  }

  reset(counters: readonly StoreCounterSpec[]): void {
    const now = this.now();
    for (const counter of counters) {
      if (counter.kind === 'lease') {
        this.leases.drop(counter.key);
        continue;
      }
      const [record, slot] = heldSlot(this.records, counter);
      if (record === undefined) continue;
      if (counter.kind === 'window') {
        const window = windowOf(record, slot, spanOf(counter), now);
        if (record.window(slot) === window) record.set(slot, 0, window);
      } else record.set(slot, 0, 0);
    }
  }

  /** Drops every record whose windows have all ended and bucket refilled, and ended marks. */
  sweep(): void {
    const now = this.now();
    this.slotCount -= dropExpired(this.records, now);
    this.marks.dropEnded(now);
    this.leases.sweep(now);
    this.lastFullSweep = now;
    this.pass.restart(now);
  }

  /** Forgets every counter and idempotency mark: a fresh store, e.g. between tests. */
  clear(): void {
    this.records.clear();
    this.marks.clear();
    this.leases.clear();
    this.slotCount = 0;
  }

  close(): void {
    this.clear();
    this.pass.stop();
  }

  /**
   * Consume and peek: reads every counter, then, only if all of them admit their cost and
   * `charge` is set, charges them all.
   */
  private evaluate(counters: readonly StoreCounterSpec[], charge: boolean): ConsumeResult {
    const now = this.now();
    if (charge) this.slotCount -= this.pass.step(now);
    // Whether newcomers go to the overflow counters, settled before any record is looked up:
    // the full sweep it may run drops records, which must not be ones this call then charges.
    const atCap = charge && this.full(now);
    this.scratch.fit(counters.length);
    const admitted = this.readCounters(counters, now, atCap);
    const states = this.chargeCounters(counters, now, admitted && charge);
    return { admitted, now, counters: states };
  }

  /**
   * The first pass: finds each counter's slot and what it holds, and leaves them in the scratch
   * for `chargeCounters`. Returns whether every counter admits its cost.
   */
  private readCounters(counters: readonly StoreCounterSpec[], now: number, atCap: boolean): boolean {
    const scratch = this.scratch;
    let admitted = true;
    let lastGroup: CounterGroup | undefined;
    let groupRecord: CounterRecord | undefined;
    for (let i = 0; i < counters.length; i++) {
      const counter = counters[i]!;
      if (counter.kind === 'lease') {
        scratch.records[i] = undefined;
        scratch.flags[i] = 0;
        if (this.leases.read(counter.key, now).held + counter.cost > counter.limit) admitted = false;
        continue;
      }
      const group = counter.group;
      // A group's counters come one after another: one lookup finds them all.
      if (group === undefined) groupRecord = lookup(this.records, BY_KEY, counter.key);
      else if (group !== lastGroup) groupRecord = lookup(this.records, group.namespace, group.value);
      lastGroup = group;
      const length = lengthOf(counter);
      let record = groupRecord;
      let slot = record === undefined ? -1 : record.find(length);
      let flag = 0;
      if (slot < 0 && atCap) {
        record = lookup(this.records, BY_KEY, overflowKey(counter));
        slot = record === undefined ? -1 : record.find(length);
        flag = OVERFLOWING;
      }
      scratch.records[i] = record;
      scratch.slots[i] = slot;
      if (counter.kind === 'window') {
        let window = windowNumber(now, spanOf(counter));
        let used = 0;
        if (slot >= 0) {
          const stored = record!.window(slot);
          // A clock that steps back keeps counting in the later window: it must not reopen one.
          if (stored >= window) {
            window = stored;
            used = record!.units(slot);
          }
        }
        // Counters of one call can share an overflow counter: each sees what the ones before it
        // will charge, so that together they stay within its limit.
        if (flag === OVERFLOWING) used += scratch.chargedBefore(counters, i);
        if (counter.idempotencyKey !== undefined && this.isMarked(counter, flag, window)) flag |= REPLAYED;
        scratch.windows[i] = window;
        scratch.before[i] = used;
        if ((flag & REPLAYED) === 0 && used + counter.cost > counter.limit) admitted = false;
      } else {
        const tat = slot < 0 ? now : record!.units(slot);
        let from = Math.max(tat, now);
        if (flag === OVERFLOWING) from += scratch.chargedBefore(counters, i) * counter.intervalMs;
        scratch.windows[i] = 0;
        scratch.before[i] = from;
        if (!bucketAdmits(counter, from, now)) admitted = false;
      }
      scratch.flags[i] = flag;
    }
    return admitted;
  }

  /**
   * The second pass: charges every counter when `charging` (all of them admitted and the call
   * is a consume), and returns each one's state.
   */
  private chargeCounters(
    counters: readonly StoreCounterSpec[],
    now: number,
    charging: boolean,
  ): CounterState[] {
    const scratch = this.scratch;
    const count = counters.length;
    const states: CounterState[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const counter = counters[i]!;
      if (counter.kind === 'lease') {
        states[i] = this.leases.state(counter, now, charging);
        continue;
      }
      let record = scratch.records[i];
      scratch.records[i] = undefined;
      let slot = scratch.slots[i]!;
      const flag = scratch.flags[i]!;
      // The key charged when it is not the counter's own: rare, so built again rather than kept.
      const elsewhere = (flag & OVERFLOWING) === 0 ? undefined : overflowKey(counter);
      const key = elsewhere ?? counter.key;
      let charged: boolean;
      let units: number;
      let window = 0;
      if (counter.kind === 'window') {
        window = scratch.windows[i]!;
        const used = scratch.before[i]!;
        const replayed = (flag & REPLAYED) !== 0;
        charged = charging && !replayed && counter.cost > 0;
        units = used + counter.cost;
        if (charged && counter.idempotencyKey !== undefined)
          this.marks.add(spanOf(counter), window, markerOf(key, counter.idempotencyKey), now);
        const start = windowStart(spanOf(counter), window);
        states[i] = windowState(
          counter,
          { used, windowStart: start, charged, replayed, key: elsewhere },
          now,
        );
      } else {
        const tat = scratch.before[i]!;
        charged = charging && counter.cost > 0;
        units = tat + counter.cost * counter.intervalMs;
        states[i] = bucketState(counter, { tat, charged, key: elsewhere }, now);
      }
      if (!charged) continue;
      if (slot < 0) {
        record = this.opened(record, counter, key);
        slot = record.find(lengthOf(counter));
      }
      record!.set(slot, units, window);
    }
    return states;
  }

  /** Whether a window counter's idempotency key was already charged in `window`. */
  private isMarked(counter: WindowCounterSpec, flag: number, window: number): boolean {
    const key = (flag & OVERFLOWING) === 0 ? counter.key : overflowKey(counter);
    return this.marks.has(spanOf(counter), window, markerOf(key, counter.idempotencyKey!));
  }

  /**
   * The record to hold a counter that has no slot yet, with the slot opened: `record` when the
   * first pass found one, else its group's, or the one under `key` when that is not the
   * counter's own (an overflow counter), created when there is none.
   */
  private opened(record: CounterRecord | undefined, counter: Counted, key: string): CounterRecord {
    // Held under its group, or under its key: a counter without a group, or an overflow counter.
    const group = key === counter.key ? counter.group : undefined;
    // Looked up again: another counter of the same call may have opened the record since.
    const opened =
      record ?? recordAt(this.records, group?.namespace ?? BY_KEY, group === undefined ? key : group.value);
    if (opened.find(lengthOf(counter)) < 0) {
      opened.open(lengthOf(counter));
      this.slotCount++;
    }
    return opened;
  }

  /**
   * Whether a counter the store has never seen must go to the overflow counter. A full pass is
   * O(n): under sustained pressure it runs at most once per second of store time.
   */
  private full(now: number): boolean {
    if (this.slotCount + this.marks.size < this.maxKeys) return false;
    if (now - this.lastFullSweep < 1000) return true;
    this.sweep();
    return this.slotCount + this.marks.size >= this.maxKeys;
  }
}
