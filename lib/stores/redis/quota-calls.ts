import type {
  ConsumeContext,
  ConsumeResult,
  CounterSpec,
  CounterState,
  RefundSpec,
  StoreCounterSpec,
  StoreRefundSpec,
} from '../store.js';
import { RedisStoreError } from './errors.js';
import { type KeyLayout, slotOf } from './layout.js';
import { isQuotaCounter, type QuotaOp, quotaArgs, quotaResult } from './quota-ops.js';

/**
 * Calls that hold calendar windows or leases (issue 22): those counters go to the script's
 * quota ops, each under a key of its own (a lease set cannot share its scope value's hash), one
 * script per cluster slot; the others take the store's usual path. The call is still all or
 * nothing: the quota counters are charged first, and given back when the rest refuses, as the
 * store does across slots (slots.ts), so a refused request ends up charging nothing.
 */

/** What the quota calls need of the store. */
export interface QuotaCaller {
  readonly layout: KeyLayout;
  /** Whether one call's keys may sit on several cluster slots. */
  readonly spread: boolean;
  readonly now: (() => number) | undefined;
  send(keys: string[], args: string[]): Promise<unknown>;
  consume(counters: readonly CounterSpec[], context: ConsumeContext | undefined): Promise<ConsumeResult>;
  peek(counters: readonly CounterSpec[]): Promise<ConsumeResult>;
  refund(refunds: readonly RefundSpec[]): Promise<void>;
  charge(charges: readonly RefundSpec[]): Promise<void>;
  reset(counters: readonly CounterSpec[]): Promise<void>;
}

export function holdsQuotaCounters(counters: readonly (StoreCounterSpec | StoreRefundSpec)[]): boolean {
  for (const counter of counters) if (isQuotaCounter(counter)) return true;
  return false;
}

/** A quota counter's key: its own, never its scope value's hash. */
function quotaKey(layout: KeyLayout, counter: { readonly key: string }): string {
  return layout.hashOf({ key: counter.key });
}

/** The quota counters' indexes, by slot when the call may span several. */
function quotaGroups(caller: QuotaCaller, counters: readonly { readonly key: string }[], indexes: number[]) {
  if (!caller.spread) return indexes.length === 0 ? [] : [indexes];
  const bySlot = new Map<number, number[]>();
  for (const i of indexes) {
    const slot = slotOf(quotaKey(caller.layout, counters[i]!));
    const group = bySlot.get(slot);
    if (group === undefined) bySlot.set(slot, [i]);
    else group.push(i);
  }
  return [...bySlot.values()];
}

function send(caller: QuotaCaller, op: QuotaOp, list: readonly (StoreCounterSpec | StoreRefundSpec)[]) {
  const keys = list.map((counter) => quotaKey(caller.layout, counter));
  return caller.send(keys, quotaArgs(op, list, caller.now?.()));
}

interface Taken {
  readonly list: StoreCounterSpec[];
  readonly indexes: number[];
  readonly reply: unknown;
}

export async function consumeWithQuotas(
  caller: QuotaCaller,
  op: 'c' | 'p',
  counters: readonly StoreCounterSpec[],
  context: ConsumeContext | undefined,
): Promise<ConsumeResult> {
  const quota: number[] = [];
  const base: number[] = [];
  counters.forEach((counter, i) => {
    (isQuotaCounter(counter) ? quota : base).push(i);
  });
  const states: CounterState[] = new Array(counters.length);
  const taken: Taken[] = [];
  let admitted = true;
  let now = 0;
  for (const indexes of quotaGroups(caller, counters, quota)) {
    const list = indexes.map((i) => counters[i]!);
    const charging = op === 'c' && admitted;
    const reply = await send(caller, charging ? 'q' : 'Q', list);
    const result = quotaResult(list, reply, charging);
    if (charging && result.admitted) taken.push({ list, indexes, reply });
    admitted &&= result.admitted;
    now = result.now;
    indexes.forEach((i, j) => {
      states[i] = result.counters[j]!;
    });
  }
  if (base.length > 0) {
    const list = base.map((i) => counters[i] as CounterSpec);
    const result = op === 'c' && admitted ? await caller.consume(list, context) : await caller.peek(list);
    admitted &&= result.admitted;
    now = result.now;
    base.forEach((i, j) => {
      states[i] = result.counters[j]!;
    });
  }
  if (!admitted) await giveBack(caller, taken, states, context);
  return { admitted, now, counters: states };
}

/** Gives back what the quota ops charged for a call that refused in the end, and reads as uncharged. */
async function giveBack(
  caller: QuotaCaller,
  taken: readonly Taken[],
  states: CounterState[],
  context: ConsumeContext | undefined,
): Promise<void> {
  for (const { list, indexes, reply } of taken) {
    const refunds = list.map((counter, j): StoreRefundSpec => {
      if (counter.kind === 'window')
        return { ...counter, windowStart: states[indexes[j]!]!.windowStart ?? 0 };
      return { ...counter, windowStart: undefined };
    });
    const uncharged = quotaResult(list, reply, false);
    indexes.forEach((i, j) => {
      states[i] = uncharged.counters[j]!;
    });
    try {
      await send(caller, 'qr', refunds);
    } catch (error) {
      const lost = new RedisStoreError(
        'ERR_TOLLGATE_REDIS_REFUND_LOST',
        `A refused request's quota charges could not be given back (${list.map((c) => c.key).join(', ')})`,
        { cause: error, keys: list.map((c) => c.key) },
      );
      if (context === undefined) throw lost;
      context.report(lost);
    }
  }
}

/** Refunds, charges and resets of calls holding quota counters: each part by its own ops. */
export async function applyWithQuotas(
  caller: QuotaCaller,
  op: 'r' | 'a' | 'x',
  counters: readonly (StoreCounterSpec | StoreRefundSpec)[],
): Promise<void> {
  const quota: number[] = [];
  const base: (CounterSpec | RefundSpec)[] = [];
  counters.forEach((counter, i) => {
    if (isQuotaCounter(counter)) quota.push(i);
    else base.push(counter as CounterSpec | RefundSpec);
  });
  const quotaOp = op === 'r' ? 'qr' : op === 'a' ? 'qa' : 'qx';
  const calls = quotaGroups(caller, counters, quota).map((indexes) =>
    send(
      caller,
      quotaOp,
      indexes.map((i) => counters[i]!),
    ),
  );
  if (base.length > 0)
    calls.push(
      op === 'r'
        ? caller.refund(base as RefundSpec[])
        : op === 'a'
          ? caller.charge(base as RefundSpec[])
          : caller.reset(base as CounterSpec[]),
    );
  await Promise.all(calls);
}
