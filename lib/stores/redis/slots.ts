import type { ConsumeContext, ConsumeResult, CounterSpec, RefundSpec } from '../store.js';
import { type Batch, encodeBatch, type Op } from './batch.js';
import { RedisStoreError } from './errors.js';
import type { KeyLayout } from './layout.js';
import { emptyReadings, type Readings, readReply, statesOf } from './reply.js';

/**
 * A call whose counters live on several cluster slots: one script per slot, sent together. Each
 * script checks and charges its own counters atomically, so no counter ever passes its limit;
 * when one slot refuses (or fails), what the others charged is given back before the call
 * answers. Between a charge and its refund, another request may be refused that would
 * otherwise have been admitted (docs/redis.md, "Consistency").
 */

/** What a multi-slot call needs of the store. */
export interface SlotCaller {
  readonly layout: KeyLayout;
  send(batch: Batch): Promise<unknown>;
  /** Told of the refunds a refused call makes, as they are sent. */
  refunding(refunds: readonly RefundSpec[]): void;
}

/** A call's counters and how to reach Redis. */
export interface SpreadCall {
  readonly counters: readonly CounterSpec[];
  /** The counters' indexes, one list per slot. */
  readonly slots: readonly (readonly number[])[];
  /** The clock sent (tests), or `undefined` for each master's `TIME`. */
  readonly clock: number | undefined;
  readonly context: ConsumeContext | undefined;
}

/** A slot's script, sent: its batch and, once settled, its outcome. */
interface Sent {
  readonly batch: Batch;
  admitted: boolean;
  error: unknown;
}

/** The counters of one store call spread over slots: consume or peek. */
export async function evaluateAcross(
  caller: SlotCaller,
  op: 'c' | 'p',
  call: SpreadCall,
): Promise<{ result: ConsumeResult; readings: Readings; refunded: number }> {
  const { counters, slots } = call;
  const readings = emptyReadings(counters.length);
  const time = call.clock === undefined ? '' : String(call.clock);
  const batchOf = (indexes: readonly number[], as: Op) =>
    encodeBatch(caller.layout, as, counters, { clock: time, indexes });
  // A slot holding an idempotency key is charged only once every other slot has been: a
  // retry that finds its mark must never stand on a charge about to be given back.
  const marked = op === 'c' ? slots.filter((indexes) => indexes.some((i) => hasKey(counters[i]!))) : [];
  const first = marked.length === slots.length ? slots : slots.filter((indexes) => !marked.includes(indexes));
  const later = first === slots ? [] : marked;
  const sent = await sendAll(
    caller,
    first.map((indexes) => batchOf(indexes, op)),
    readings,
    call.clock,
  );
  let admitted = sent.every((s) => s.admitted);
  if (admitted && later.length > 0) {
    const last = await sendAll(
      caller,
      later.map((indexes) => batchOf(indexes, op)),
      readings,
      call.clock,
    );
    sent.push(...last);
    admitted = last.every((s) => s.admitted);
  } else if (later.length > 0 && sent.every((s) => s.error === undefined)) {
    // Refused before its turn: read, not charged, so that every counter has a state.
    const peeked = sendAll(
      caller,
      later.map((indexes) => batchOf(indexes, 'p')),
      readings,
      call.clock,
    );
    sent.push(...(await peeked));
  }
  const refunded = !admitted && op === 'c' ? await giveBack(caller, sent, call, readings) : 0;
  const failed = sent.find((s) => s.error !== undefined);
  if (failed !== undefined) throw failed.error;
  const states = statesOf(counters, readings, admitted && op === 'c');
  return { result: { admitted, now: Math.max(...readings.clocks), counters: states }, readings, refunded };
}

/** Refund, charge or reset of counters spread over slots: one script per slot, together. */
export async function applyAcross(
  caller: SlotCaller,
  op: 'r' | 'a' | 'x',
  call: Omit<SpreadCall, 'context' | 'counters'> & {
    readonly counters: readonly (CounterSpec | RefundSpec)[];
  },
): Promise<void> {
  const time = call.clock === undefined ? '' : String(call.clock);
  const batches = call.slots.map((indexes) =>
    encodeBatch(caller.layout, op, call.counters, { clock: time, indexes }),
  );
  const settled = await Promise.allSettled(batches.map((batch) => caller.send(batch)));
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
}

async function sendAll(
  caller: SlotCaller,
  batches: readonly Batch[],
  readings: Readings,
  clock: number | undefined,
): Promise<Sent[]> {
  return Promise.all(
    batches.map(async (batch): Promise<Sent> => {
      try {
        const { admitted } = readReply(await caller.send(batch), batch, readings, clock);
        return { batch, admitted, error: undefined };
      } catch (error) {
        return { batch, admitted: false, error };
      }
    }),
  );
}

/**
 * Gives back what the admitted slots charged, each slot's refund one script. A refund that
 * fails goes to the context, or, without one, rejects the call: it is never dropped. Returns
 * how many times the caller was told of refunds (0 or 1).
 */
async function giveBack(
  caller: SlotCaller,
  sent: readonly Sent[],
  call: SpreadCall,
  readings: Readings,
): Promise<number> {
  const time = call.clock === undefined ? '' : String(call.clock);
  const refunds = sent
    .filter((s) => s.admitted && s.batch.args[0] !== 'p' && s.batch.args[0] !== 'P')
    .map((s) => refundsOf(call.counters, s.batch.order, readings))
    .filter((list) => list.length > 0);
  if (refunds.length === 0) return 0;
  caller.refunding(refunds.flat());
  const settled = await Promise.allSettled(
    refunds.map((list) => caller.send(encodeBatch(caller.layout, 'r', list, { clock: time }))),
  );
  settled.forEach((outcome, n) => {
    if (outcome.status === 'fulfilled') return;
    const keys = refunds[n]!.map((refund) => refund.key);
    const lost = new RedisStoreError(
      'ERR_TOLLGATE_REDIS_REFUND_LOST',
      `A refused request's charges on one Redis Cluster slot could not be given back (${keys.join(', ')}): ${messageOf(outcome.reason)}`,
      { cause: outcome.reason, keys },
    );
    if (call.context === undefined) throw lost;
    call.context.report(lost);
  });
  return 1;
}

/** The refunds of what a slot charged: every counter but those replayed or of no cost. */
function refundsOf(
  counters: readonly CounterSpec[],
  order: readonly number[],
  readings: Readings,
): RefundSpec[] {
  const refunds: RefundSpec[] = [];
  for (const i of order) {
    const counter = counters[i]!;
    if (counter.cost === 0) continue;
    if (counter.kind === 'bucket') {
      refunds.push({ ...counter, windowStart: undefined });
      continue;
    }
    if (readings.values[i]! < 0) continue;
    const now = readings.clocks[i]!;
    refunds.push({ ...counter, windowStart: readings.later[i] ?? now - (now % counter.windowMs) });
  }
  return refunds;
}

function hasKey(counter: CounterSpec): boolean {
  return counter.kind === 'window' && counter.idempotencyKey !== undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
