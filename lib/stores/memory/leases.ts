import { type LeaseReading, leaseState } from '../counter-state.js';
import type { CounterState, LeaseCounterSpec } from '../store.js';

/**
 * The memory store's leases (concurrency slots): per key, each lease held and when it ends by
 * itself. Leases are few per key (at most its limit), so reading one walks them all and drops
 * the ended ones as it goes.
 */
export class Leases {
  private readonly byKey = new Map<string, Map<string, number>>();
  /** Leases held, ended ones not yet dropped included. */
  size = 0;

  /** The leases held under `key` at `now`. */
  read(key: string, now: number): LeaseReading {
    const leases = this.byKey.get(key);
    let held = 0;
    let firstEnd = Number.POSITIVE_INFINITY;
    let lastEnd = now;
    if (leases !== undefined) {
      for (const [id, end] of leases) {
        if (end <= now) {
          leases.delete(id);
          this.size--;
          continue;
        }
        held++;
        if (end < firstEnd) firstEnd = end;
        if (end > lastEnd) lastEnd = end;
      }
      if (leases.size === 0) this.byKey.delete(key);
    }
    return { held, firstEnd: held === 0 ? now : firstEnd, lastEnd, charged: false };
  }

  /** A lease counter's state, its lease taken when `charging`. */
  state(counter: LeaseCounterSpec, now: number, charging: boolean): CounterState {
    const reading = this.read(counter.key, now);
    const charged = charging && counter.cost > 0;
    if (charged) this.take(counter.key, counter.leaseId, now + counter.leaseMs);
    return leaseState(counter, { ...reading, charged }, now);
  }

  take(key: string, id: string, end: number): void {
    let leases = this.byKey.get(key);
    if (leases === undefined) {
      leases = new Map();
      this.byKey.set(key, leases);
    }
    if (!leases.has(id)) this.size++;
    leases.set(id, end);
  }

  /** Gives back the lease `id`; whether it was held. */
  give(key: string, id: string): boolean {
    const leases = this.byKey.get(key);
    if (leases === undefined || !leases.delete(id)) return false;
    this.size--;
    if (leases.size === 0) this.byKey.delete(key);
    return true;
  }

  drop(key: string): void {
    this.size -= this.byKey.get(key)?.size ?? 0;
    this.byKey.delete(key);
  }

  /** Drops every lease that has ended. */
  sweep(now: number): void {
    for (const key of [...this.byKey.keys()]) this.read(key, now);
  }

  clear(): void {
    this.byKey.clear();
    this.size = 0;
  }
}
