import { validateOptions } from '../../options/validation.js';
import type {
  ConsumeContext,
  ConsumeResult,
  CounterSpec,
  RefundSpec,
  Store,
  StoreCounterSpec,
  StoreRefundSpec,
} from '../store.js';
import { type Batch, encodeBatch } from './batch.js';
import {
  type IoRedisLike,
  type NodeRedisLike,
  type RedisClientLike,
  type ScriptRunner,
  scriptRunner,
} from './clients.js';
import { Deadlines } from './deadlines.js';
import { RedisStoreError, type RedisStoreErrorCode } from './errors.js';
import { KeyLayout, slotOf } from './layout.js';
import { type RedisStoreOptions, redisStoreOptionsSchema } from './options.js';
import { applyWithQuotas, consumeWithQuotas, holdsQuotaCounters, type QuotaCaller } from './quota-calls.js';
import { RefusalCache } from './refusals.js';
import { emptyReadings, type Readings, readReply, statesOf } from './reply.js';
import { callScript } from './script-call.js';
import { applyAcross, evaluateAcross, type SlotCaller } from './slots.js';

export type { IoRedisLike, NodeRedisLike, RedisClientLike, RedisStoreErrorCode };
export { RedisStoreError, type RedisStoreOptions, redisStoreOptionsSchema };

/** Counters a refusal cache remembers unless told otherwise. */
const REFUSAL_CACHE_SIZE = 10_000;

/**
 * A store that keeps counters in Redis (standalone or Cluster). A `consume` checks and charges
 * all its counters with one `EVALSHA` of one Lua script per cluster slot, atomically on each, on
 * Redis's clock; on a standalone Redis that is always one script.
 * @example
 * import Redis from 'ioredis';
 * import { RedisStore } from 'tollgate/redis';
 * const client = new Redis({ enableOfflineQueue: false, maxRetriesPerRequest: 0 });
 * const store = new RedisStore({ client, timeoutMs: 100 });
 * app.use(rateLimit({ store, onStoreError: 'open', scopes: [scope.ip({ limits: [{ max: 100, window: '1m' }] })] }));
 */
export class RedisStore implements Store {
  readonly timeoutMs: number;
  /** Where each counter lives: its scope value's hash, or every hash under one tag. */
  readonly layout: KeyLayout;
  /** Refusals remembered in this process, or `undefined` when `refusalCache` is `false`. */
  readonly refusals: RefusalCache | undefined;
  private readonly runner: ScriptRunner;
  private readonly now: (() => number) | undefined;
  private readonly deadlines: Deadlines;
  /** Whether a call may span several slots: a cluster client and one hash tag per scope value. */
  private readonly spread: boolean;
  /** What slots.ts needs of the store for a call over several slots. */
  private readonly caller: SlotCaller;
  /** The store as the quota ops' calls see it (quota-calls.ts). */
  private readonly quotas: QuotaCaller;

  constructor(options: RedisStoreOptions) {
    validateOptions(redisStoreOptionsSchema, options, 'RedisStore options');
    this.runner = scriptRunner(options.client);
    this.timeoutMs = options.timeoutMs ?? 100;
    this.deadlines = new Deadlines(this.timeoutMs);
    this.layout = new KeyLayout(options.prefix ?? '', options.hashTag);
    this.spread = this.runner.cluster && !this.layout.oneSlot;
    this.now = options.now;
    const cache = options.refusalCache ?? {};
    this.refusals =
      cache === false ? undefined : new RefusalCache(cache.size ?? REFUSAL_CACHE_SIZE, options.now);
    this.caller = {
      layout: this.layout,
      send: (batch) => this.send(batch),
      // A refused call's refunds lower counts that this process may remember.
      refunding: (refunds) => this.refusals?.lowered(refunds),
    };
    this.quotas = {
      layout: this.layout,
      spread: this.spread,
      now: this.now,
      send: (keys, args) => this.send({ keys, args, order: [] }),
      consume: (counters, context) => this.consume(counters, context),
      peek: (counters) => this.peek(counters),
      refund: (refunds) => this.refund(refunds),
      charge: (charges) => this.charge(charges),
      reset: (counters) => this.reset(counters),
    };
  }

  /**
   * How every key of this store begins: `<prefix>{` (each scope value its own tag) or
   * `<prefix>{<hashTag>}:`. `clearStore` deletes the keys under it.
   */
  get keyPrefix(): string {
    return this.layout.head;
  }

  /** The Redis key (a hash) a counter is kept in: its fields are named in docs/redis.md. */
  keyOf(counter: Pick<CounterSpec, 'key' | 'group'>): string {
    return this.layout.hashOf(counter);
  }

  /** The suffix of a counter's fields in its hash: `n<suffix>` holds a window's count. */
  fieldSuffixOf(counter: Pick<CounterSpec, 'key' | 'group'>): string {
    return this.layout.suffixOf(counter);
  }

  /**
   * A refusal this process remembers is answered at once, without Redis (see refusals.ts);
   * anything else is one script call per slot.
   */
  consume(counters: readonly StoreCounterSpec[], context?: ConsumeContext): Promise<ConsumeResult> {
    // Calendar windows and leases take the quota ops, the rest of the call the usual path.
    if (holdsQuotaCounters(counters)) return consumeWithQuotas(this.quotas, 'c', counters, context);
    return this.consumeCounters(counters as readonly CounterSpec[], context);
  }

  private consumeCounters(
    counters: readonly CounterSpec[],
    context?: ConsumeContext,
  ): Promise<ConsumeResult> {
    const remembered = this.refusals?.answer(counters);
    if (remembered !== undefined) return Promise.resolve(remembered);
    return this.evaluate('c', counters, context);
  }

  peek(counters: readonly StoreCounterSpec[]): Promise<ConsumeResult> {
    if (holdsQuotaCounters(counters)) return consumeWithQuotas(this.quotas, 'p', counters, undefined);
    return this.evaluate('p', counters as readonly CounterSpec[], undefined);
  }

  async refund(refunds: readonly StoreRefundSpec[]): Promise<void> {
    if (refunds.length === 0) return;
    if (holdsQuotaCounters(refunds)) return applyWithQuotas(this.quotas, 'r', refunds);
    const list = refunds as readonly RefundSpec[];
    this.refusals?.lowered(list);
    await this.apply('r', list);
  }

  /**
   * Adds each counter's cost to the window it names, without checking its limit (settling
   * work already done). A charge aimed at an ended window does nothing.
   */
  async charge(charges: readonly StoreRefundSpec[]): Promise<void> {
    if (charges.length === 0) return;
    if (holdsQuotaCounters(charges)) return applyWithQuotas(this.quotas, 'a', charges);
    const list = charges as readonly RefundSpec[];
    this.refusals?.forget(list);
    await this.apply('a', list);
  }

  async reset(counters: readonly StoreCounterSpec[]): Promise<void> {
    if (counters.length === 0) return;
    if (holdsQuotaCounters(counters)) return applyWithQuotas(this.quotas, 'x', counters);
    const list = counters as readonly CounterSpec[];
    this.refusals?.lowered(list);
    await this.apply('x', list);
  }

  /** Consume (`c`) and peek (`p`): the scripts' readings, and the counters' states from them. */
  private async evaluate(
    op: 'c' | 'p',
    counters: readonly CounterSpec[],
    context: ConsumeContext | undefined,
  ): Promise<ConsumeResult> {
    const clock = this.now?.();
    const epoch = this.refusals?.epoch ?? 0;
    const slots = this.spread ? slotsOf(this.layout, counters) : undefined;
    if (slots !== undefined) {
      const { result, readings, refunded } = await evaluateAcross(this.caller, op, {
        counters,
        slots,
        clock,
        context,
      });
      // Its own refunds gave back what the call charged after reading: its readings still hold.
      if (op === 'c') this.learn(counters, { readings, result, epoch: epoch + refunded });
      return result;
    }
    const batch = encodeBatch(this.layout, op, counters, { clock: clock === undefined ? '' : String(clock) });
    const readings = emptyReadings(counters.length);
    const { admitted, now } = readReply(await this.send(batch), batch, readings, clock);
    const result = { admitted, now, counters: statesOf(counters, readings, admitted && op === 'c') };
    if (op === 'c') this.learn(counters, { readings, result, epoch });
    return result;
  }

  /**
   * A refusal is remembered; an admission charged its counters, so what was remembered of
   * them no longer holds. Refunds, charges and resets forget theirs too: what this process
   * remembers is never staler than what it did itself.
   */
  private learn(
    counters: readonly CounterSpec[],
    answer: { readings: Readings; result: ConsumeResult; epoch: number },
  ): void {
    if (answer.result.admitted) this.refusals?.forget(counters);
    else this.refusals?.remember(counters, answer.readings, answer.result, answer.epoch);
  }

  private async apply(op: 'r' | 'a' | 'x', counters: readonly (CounterSpec | RefundSpec)[]): Promise<void> {
    const clock = this.now?.();
    const slots = this.spread ? slotsOf(this.layout, counters) : undefined;
    if (slots !== undefined) return applyAcross(this.caller, op, { counters, slots, clock });
    await this.send(
      encodeBatch(this.layout, op, counters, { clock: clock === undefined ? '' : String(clock) }),
    );
  }

  private send(batch: Batch): Promise<unknown> {
    return callScript(this.runner, this.deadlines, batch.keys, batch.args);
  }
}

/**
 * The counters' indexes by cluster slot, or `undefined` when they share one slot (then the
 * call is one script, as on a standalone Redis).
 */
function slotsOf(layout: KeyLayout, counters: readonly (CounterSpec | RefundSpec)[]): number[][] | undefined {
  let first: number | undefined;
  let bySlot: Map<number, number[]> | undefined;
  counters.forEach((counter, i) => {
    const slot = slotOf(layout.hashOf(counter));
    first ??= slot;
    if (bySlot === undefined && slot === first) return;
    if (bySlot === undefined) bySlot = new Map([[first, Array.from({ length: i }, (_, j) => j)]]);
    const list = bySlot.get(slot);
    if (list === undefined) bySlot.set(slot, [i]);
    else list.push(i);
  });
  return bySlot === undefined ? undefined : [...bySlot.values()];
}

/**
 * Builds a `RedisStore`.
 * @example
 * import { createClient } from 'redis';
 * import { createRedisStore } from 'tollgate/redis';
 * const client = await createClient({ disableOfflineQueue: true }).connect();
 * const store = createRedisStore({ client });
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  return new RedisStore(options);
}
