import type { JsonSchema } from '../../options/validation.js';
import { validateOptions } from '../../options/validation.js';
import { bucketAdmits, bucketState, EPSILON_MS, windowState } from '../counter-state.js';
import type {
  ConsumeResult,
  CounterGroup,
  CounterSpec,
  CounterState,
  RefundSpec,
  Store,
  WindowCounterSpec,
} from '../store.js';
import { IdempotencyMarks } from './marks.js';
import { BUCKET, CounterRecord } from './record.js';

export interface MemoryStoreOptions {
  /**
   * The most counters the store keeps at once. Past it, a counter the store has never seen
   * shares one overflow counter with every other newcomer of the same limit, so a flood of
   * random keys gets one client's allowance in all, and no counter already held is evicted.
   * Defaults to `1_000_000` (about 200 MB of heap at worst, with one counter per scope value).
   */
  maxKeys?: number;
  /** The clock, ms since epoch. Defaults to `Date.now`. */
  now?: () => number;
}

export const memoryStoreOptionsSchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    maxKeys: {
      type: 'integer',
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
      expected: 'a positive integer',
    },
    now: { typeofFunction: true, expected: 'a function returning ms since epoch' },
  },
};

const OVERFLOW_PREFIX = '\u0000overflow';
/**
 * The namespace of records held under a counter's own key: counters given without a group,
 * and overflow counters. No limiter namespace starts with a NUL.
 */
const BY_KEY = '\u0000key';
/** How often a pass over every record drops those whose windows have all ended. */
const SWEEP_EVERY_MS = 60_000;
/** Records a pass looks at per `consume`, so that no call pays for a whole pass. */
const SWEEP_STEP = 16;

/** `decide`'s flags for a counter: it went to its overflow counter; its charge is a replay. */
const OVERFLOWING = 1;
const REPLAYED = 2;

/** The counter every newcomer of the same limit shares once the store is full. */
function overflowKey(counter: CounterSpec): string {
  return counter.kind === 'window'
    ? `${OVERFLOW_PREFIX}:w:${counter.windowMs}:${counter.limit}`
    : `${OVERFLOW_PREFIX}:b:${counter.capacity}:${counter.intervalMs}`;
}

/** Whether two counters share one overflow counter: `overflowKey` would give both the same key. */
function sameOverflow(a: CounterSpec, b: CounterSpec): boolean {
  if (a.kind === 'window') return b.kind === 'window' && a.windowMs === b.windowMs && a.limit === b.limit;
  return b.kind === 'bucket' && a.capacity === b.capacity && a.intervalMs === b.intervalMs;
}

function lengthOf(counter: CounterSpec): number {
  return counter.kind === 'window' ? counter.windowMs : BUCKET;
}

/** Window numbers count windows of one length since the epoch: window `n` starts at n × windowMs. */
function windowNumber(now: number, windowMs: number): number {
  return Math.floor(now / windowMs);
}

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
  /** Records by namespace, then by value: see `CounterGroup`. */
  private readonly records = new Map<string, Map<string, CounterRecord>>();
  private readonly marks = new IdempotencyMarks();
  /** Slots held by every record: with the marks, what `maxKeys` bounds. */
  private slotCount = 0;
  private lastFullSweep = Number.NEGATIVE_INFINITY;
  private nextSweepAt = 0;
  /** The pass under way: the namespaces still to visit, and the one being visited. */
  private sweepingNamespaces: Iterator<Map<string, CounterRecord>> | undefined;
  private sweeping: Iterator<[string, CounterRecord]> | undefined;
  private sweepingIn: Map<string, CounterRecord> | undefined;
  // Scratch space of `decide`, which is synchronous and never re-entered: allocated once per
  // store, grown when a call brings more counters. Numbers go in typed arrays, which hold them
  // unboxed (window starts and arrival times are beyond small integers) and take no write
  // barrier.
  private scratchRecords: (CounterRecord | undefined)[] = [];
  private scratchSlots = new Int32Array(0);
  private scratchWindows = new Float64Array(0);
  private scratchBefore = new Float64Array(0);
  private scratchFlags = new Uint8Array(0);

  constructor(options: MemoryStoreOptions = {}) {
    validateOptions(memoryStoreOptionsSchema, options, 'MemoryStore options');
    this.maxKeys = options.maxKeys ?? 1_000_000;
    this.now = options.now ?? Date.now;
  }

  /** Counters currently held, overflow counters and idempotency marks included. */
  get size(): number {
    this.sweep();
    return this.slotCount + this.marks.size;
  }

  consume(counters: readonly CounterSpec[]): ConsumeResult {
    return this.decide(counters, true);
  }

  peek(counters: readonly CounterSpec[]): ConsumeResult {
    return this.decide(counters, false);
  }

  refund(refunds: readonly RefundSpec[]): void {
    const now = this.now();
    for (const refund of refunds) {
      if (refund.cost <= 0) continue;
      const [record, slot] = this.held(refund);
      if (record === undefined) continue;
      if (refund.kind === 'window') {
        const window = this.windowOf(record, slot, refund.windowMs, now);
        // The window aimed at must be the one the slot holds: a slot of an ended window reads
        // as empty, and taking from it would bring its old count back.
        if (window * refund.windowMs !== refund.windowStart || record.window(slot) !== window) continue;
        if (refund.idempotencyKey !== undefined) {
          // Only the refund that finds the mark gives anything back: refunds are idempotent.
          if (!this.marks.take(refund.windowMs, window, refund.key, refund.idempotencyKey)) continue;
        }
        record.set(slot, Math.max(0, record.units(slot) - refund.cost), window);
      } else {
        const back = record.units(slot) - refund.cost * refund.intervalMs;
        // Refunded to within the tolerance of now, the bucket is full: what is left is the
        // rounding of a fractional interval (three refunds of 60 000 / 7 ms leave 0.00024 ms),
        // which would read as a unit short until it passed.
        record.set(slot, back > now + EPSILON_MS ? back : now, 0);
      }
    }
  }

  charge(charges: readonly RefundSpec[]): void {
    const now = this.now();
    for (const charge of charges) {
      if (charge.cost <= 0) continue;
      const [held, slot] = this.held(charge);
      const record = held;
      if (charge.kind === 'window') {
        const window =
          record === undefined
            ? windowNumber(now, charge.windowMs)
            : this.windowOf(record, slot, charge.windowMs, now);
        if (window * charge.windowMs !== charge.windowStart) continue;
        const used = record === undefined || record.window(slot) !== window ? 0 : record.units(slot);
        this.write(record, slot, charge, charge.key, used + charge.cost, window);
      } else {
        const tat = Math.max(record === undefined ? now : record.units(slot), now);
        this.write(record, slot, charge, charge.key, tat + charge.cost * charge.intervalMs, 0);
      }
    }
  }

  reset(counters: readonly CounterSpec[]): void {
    const now = this.now();
    for (const counter of counters) {
      const [record, slot] = this.held(counter);
      if (record === undefined) continue;
      if (counter.kind === 'window') {
        const window = this.windowOf(record, slot, counter.windowMs, now);
        if (record.window(slot) === window) record.set(slot, 0, window);
      } else record.set(slot, 0, 0);
    }
  }

  /** Drops every record whose windows have all ended and bucket refilled, and ended marks. */
  sweep(): void {
    const now = this.now();
    for (const records of this.records.values())
      for (const [value, record] of records) if (record.expired(now)) this.drop(records, value, record);
    this.marks.dropEnded(now);
    this.lastFullSweep = now;
    this.stopSweeping();
    this.nextSweepAt = now + SWEEP_EVERY_MS;
  }

  close(): void {
    this.records.clear();
    this.marks.clear();
    this.slotCount = 0;
    this.stopSweeping();
  }

  private decide(counters: readonly CounterSpec[], charge: boolean): ConsumeResult {
    const now = this.now();
    if (charge) this.sweepStep(now);
    // Whether newcomers go to the overflow counters, settled before any record is looked up:
    // the full sweep it may run drops records, which must not be ones this call then charges.
    const atCap = charge && this.full(now);
    const count = counters.length;
    if (count > this.scratchSlots.length) this.growScratch(count);
    const records = this.scratchRecords;
    const slots = this.scratchSlots;
    const windows = this.scratchWindows;
    const before = this.scratchBefore;
    const flags = this.scratchFlags;
    let admitted = true;
    let lastGroup: CounterGroup | undefined;
    let groupRecord: CounterRecord | undefined;

    // First every counter is read, then, only if all of them admit their cost, charged.
    for (let i = 0; i < count; i++) {
      const counter = counters[i]!;
      const group = counter.group;
      // A group's counters come one after another: one lookup finds them all.
      if (group === undefined) groupRecord = this.lookup(BY_KEY, counter.key);
      else if (group !== lastGroup) groupRecord = this.lookup(group.namespace, group.value);
      lastGroup = group;
      const length = lengthOf(counter);
      let record = groupRecord;
      let slot = record === undefined ? -1 : record.find(length);
      let flag = 0;
      if (slot < 0 && atCap) {
        record = this.lookup(BY_KEY, overflowKey(counter));
        slot = record === undefined ? -1 : record.find(length);
        flag = OVERFLOWING;
      }
      records[i] = record;
      slots[i] = slot;
      if (counter.kind === 'window') {
        let window = windowNumber(now, counter.windowMs);
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
        if (flag === OVERFLOWING) used += this.chargedBefore(i, counters);
        if (counter.idempotencyKey !== undefined && this.isMarked(counter, flag, window)) flag |= REPLAYED;
        windows[i] = window;
        before[i] = used;
        if ((flag & REPLAYED) === 0 && used + counter.cost > counter.limit) admitted = false;
      } else {
        const tat = slot < 0 ? now : record!.units(slot);
        let from = Math.max(tat, now);
        if (flag === OVERFLOWING) from += this.chargedBefore(i, counters) * counter.intervalMs;
        windows[i] = 0;
        before[i] = from;
        if (!bucketAdmits(counter, from, now)) admitted = false;
      }
      flags[i] = flag;
    }

    const states: CounterState[] = new Array(count);
    const charging = admitted && charge;
    for (let i = 0; i < count; i++) {
      const counter = counters[i]!;
      const record = records[i];
      records[i] = undefined;
      const flag = flags[i]!;
      // The key charged when it is not the counter's own: rare, so built again rather than kept.
      const elsewhere = (flag & OVERFLOWING) === 0 ? undefined : overflowKey(counter);
      if (counter.kind === 'window') {
        const window = windows[i]!;
        const used = before[i]!;
        const replayed = (flag & REPLAYED) !== 0;
        const charged = charging && !replayed && counter.cost > 0;
        if (charged) {
          const key = elsewhere ?? counter.key;
          this.write(record, slots[i]!, counter, key, used + counter.cost, window);
          if (counter.idempotencyKey !== undefined)
            this.marks.add(counter.windowMs, window, key, counter.idempotencyKey, now);
        }
        states[i] = windowState(counter, used, window * counter.windowMs, charged, replayed, now, elsewhere);
      } else {
        const tat = before[i]!;
        const charged = charging && counter.cost > 0;
        if (charged)
          this.write(
            record,
            slots[i]!,
            counter,
            elsewhere ?? counter.key,
            tat + counter.cost * counter.intervalMs,
            0,
          );
        states[i] = bucketState(counter, tat, charged, now, elsewhere);
      }
    }
    return { admitted, now, counters: states };
  }

  private growScratch(count: number): void {
    const size = Math.max(count, 2 * this.scratchSlots.length, 16);
    this.scratchRecords = new Array(size).fill(undefined);
    this.scratchSlots = new Int32Array(size);
    this.scratchWindows = new Float64Array(size);
    this.scratchBefore = new Float64Array(size);
    this.scratchFlags = new Uint8Array(size);
  }

  /** Whether a window counter's idempotency key was already charged in `window`. */
  private isMarked(counter: WindowCounterSpec, flag: number, window: number): boolean {
    const key = (flag & OVERFLOWING) === 0 ? counter.key : overflowKey(counter);
    return this.marks.has(counter.windowMs, window, key, counter.idempotencyKey!);
  }

  /**
   * The record and slot a counter (or a refund aimed at one) is held in: its group's, or, for
   * a counter that went to an overflow counter, the one under its key.
   */
  private held(counter: CounterSpec): [CounterRecord | undefined, number] {
    const length = lengthOf(counter);
    const group = counter.group;
    // An overflow counter is never in a group's record, whatever group the spec still names.
    const record =
      group === undefined || counter.key.startsWith(OVERFLOW_PREFIX)
        ? this.lookup(BY_KEY, counter.key)
        : this.lookup(group.namespace, group.value);
    const slot = record === undefined ? -1 : record.find(length);
    if (slot >= 0 || group === undefined) return [slot < 0 ? undefined : record, slot];
    const own = this.lookup(BY_KEY, counter.key);
    const ownSlot = own === undefined ? -1 : own.find(length);
    return [ownSlot < 0 ? undefined : own, ownSlot];
  }

  /** Writes a charged counter's slot, opening its record or slot first when it has none yet. */
  private write(
    record: CounterRecord | undefined,
    slot: number,
    counter: CounterSpec,
    key: string,
    units: number,
    window: number,
  ): void {
    if (record === undefined || slot < 0) {
      record = this.opened(record, slot, counter, key);
      slot = record.find(lengthOf(counter));
    }
    record.set(slot, units, window);
  }

  /**
   * The record holding the counter's slot, opened (record, slot or both) when the counter has
   * none yet. `key` is where it is held when that is not its group: an overflow counter.
   */
  private opened(
    record: CounterRecord | undefined,
    slot: number,
    counter: CounterSpec,
    key: string = counter.key,
  ): CounterRecord {
    if (record !== undefined && slot >= 0) return record;
    // Held under its group, or under its key: a counter without a group, or an overflow counter.
    const group = key === counter.key ? counter.group : undefined;
    const namespace = group === undefined ? BY_KEY : group.namespace;
    const value = group === undefined ? key : group.value;
    // Another counter of the same call may have opened the record since `decide` looked.
    let records = this.records.get(namespace);
    if (records === undefined) {
      records = new Map();
      this.records.set(namespace, records);
    }
    let opened = record ?? records.get(value);
    if (opened === undefined) {
      opened = new CounterRecord();
      records.set(value, opened);
    }
    if (opened.find(lengthOf(counter)) < 0) {
      opened.open(lengthOf(counter));
      this.slotCount++;
    }
    return opened;
  }

  /** The window a held slot counts in now: the current one, or a later one it already reached. */
  private windowOf(record: CounterRecord, slot: number, windowMs: number, now: number): number {
    return Math.max(windowNumber(now, windowMs), record.window(slot));
  }

  private lookup(namespace: string, value: string): CounterRecord | undefined {
    return this.records.get(namespace)?.get(value);
  }

  private drop(records: Map<string, CounterRecord>, value: string, record: CounterRecord): void {
    records.delete(value);
    this.slotCount -= record.slots;
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

  /** Moves the periodic pass on by a few records, starting one every `SWEEP_EVERY_MS`. */
  private sweepStep(now: number): void {
    if (this.sweepingNamespaces === undefined) {
      if (now < this.nextSweepAt) return;
      this.nextSweepAt = now + SWEEP_EVERY_MS;
      this.sweepingNamespaces = this.records.values();
    }
    for (let n = 0; n < SWEEP_STEP; n++) {
      const next = this.sweeping?.next();
      if (next === undefined || next.done === true) {
        const namespace = this.sweepingNamespaces.next();
        if (namespace.done === true) {
          this.stopSweeping();
          return;
        }
        this.sweepingIn = namespace.value;
        this.sweeping = namespace.value.entries();
        continue;
      }
      const [value, record] = next.value;
      if (record.expired(now)) this.drop(this.sweepingIn!, value, record);
    }
  }

  private stopSweeping(): void {
    this.sweepingNamespaces = undefined;
    this.sweeping = undefined;
    this.sweepingIn = undefined;
  }

  /**
   * What the counters before `i` in this call, charged to the same overflow counter, will add
   * to it: units for windows, costs for a bucket (the caller scales them by its interval).
   */
  private chargedBefore(i: number, counters: readonly CounterSpec[]): number {
    const counter = counters[i]!;
    let units = 0;
    for (let j = 0; j < i; j++) {
      const other = counters[j]!;
      if (this.scratchFlags[j] === OVERFLOWING && sameOverflow(counter, other)) units += other.cost;
    }
    return units;
  }
}
