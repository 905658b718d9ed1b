import type { BucketCounterSpec, WindowCounterSpec } from '../store.js';
import { isOverflowKey } from './overflow.js';
import { CounterRecord, lengthOf } from './record.js';

/** The memory store's records by namespace, then by value: see `CounterGroup`. */
export type Records = Map<string, Map<string, CounterRecord>>;

/**
 * The namespace of records held under a counter's own key: counters given without a group,
 * and overflow counters. No limiter namespace starts with a NUL.
 */
export const BY_KEY = '\u0000key';

/** How often a pass over every record drops those whose windows have all ended. */
const SWEEP_EVERY_MS = 60_000;
/** Records a pass looks at per step, so that no call pays for a whole pass. */
const SWEEP_STEP = 16;

export function lookup(records: Records, namespace: string, value: string): CounterRecord | undefined {
  return records.get(namespace)?.get(value);
}

/** The record of `value` in `namespace`, created when there is none. */
export function recordAt(records: Records, namespace: string, value: string): CounterRecord {
  let byValue = records.get(namespace);
  if (byValue === undefined) {
    byValue = new Map();
    records.set(namespace, byValue);
  }
  let record = byValue.get(value);
  if (record === undefined) {
    record = new CounterRecord();
    byValue.set(value, record);
  }
  return record;
}

/**
 * The record and slot a counter (or a refund aimed at one) is held in: its group's, or, for
 * a counter that went to an overflow counter, the one under its key.
 */
export function heldSlot(
  records: Records,
  counter: WindowCounterSpec | BucketCounterSpec,
): [CounterRecord | undefined, number] {
  const length = lengthOf(counter);
  const group = counter.group;
  // An overflow counter is never in a group's record, whatever group the spec still names.
  const record =
    group === undefined || isOverflowKey(counter.key)
      ? lookup(records, BY_KEY, counter.key)
      : lookup(records, group.namespace, group.value);
  const slot = record === undefined ? -1 : record.find(length);
  if (slot >= 0 || group === undefined) return [slot < 0 ? undefined : record, slot];
  const own = lookup(records, BY_KEY, counter.key);
  const ownSlot = own === undefined ? -1 : own.find(length);
  return [ownSlot < 0 ? undefined : own, ownSlot];
}

/** Drops every record whose windows have all ended and bucket refilled; returns their slots. */
export function dropExpired(records: Records, now: number): number {
  let slots = 0;
  for (const byValue of records.values())
    for (const [value, record] of byValue) {
      if (!record.expired(now)) continue;
      byValue.delete(value);
      slots += record.slots;
    }
  return slots;
}

/**
 * The periodic pass over every record, made a few records per step: one starts every
 * `SWEEP_EVERY_MS`, and each step drops the expired records it comes to.
 */
export class SweepPass {
  /** The namespaces still to visit, and the one being visited. */
  private namespaces: Iterator<Map<string, CounterRecord>> | undefined;
  private entries: Iterator<[string, CounterRecord]> | undefined;
  private visiting: Map<string, CounterRecord> | undefined;
  private nextAt = 0;

  constructor(private readonly records: Records) {}

  /** Moves the pass on by a few records, starting one when it is time; returns the slots dropped. */
  step(now: number): number {
    if (this.namespaces === undefined) {
      if (now < this.nextAt) return 0;
      this.nextAt = now + SWEEP_EVERY_MS;
      this.namespaces = this.records.values();
    }
    let dropped = 0;
    for (let n = 0; n < SWEEP_STEP; n++) {
      const next = this.entries?.next();
      if (next === undefined || next.done === true) {
        const namespace = this.namespaces.next();
        if (namespace.done === true) {
          this.stop();
          return dropped;
        }
        this.visiting = namespace.value;
        this.entries = namespace.value.entries();
        continue;
      }
      const [value, record] = next.value;
      if (record.expired(now)) {
        this.visiting!.delete(value);
        dropped += record.slots;
      }
    }
    return dropped;
  }

  /** A full pass has just run: the pass under way stops, and the next starts a period on. */
  restart(now: number): void {
    this.stop();
    this.nextAt = now + SWEEP_EVERY_MS;
  }

  stop(): void {
    this.namespaces = undefined;
    this.entries = undefined;
    this.visiting = undefined;
  }
}
