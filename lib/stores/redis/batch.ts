import type { CounterSpec, RefundSpec, WindowCounterSpec } from '../store.js';
import type { KeyLayout } from './layout.js';

/** The script's operations (see script.ts); `f` is sent in place of `c` when it may charge first. */
export type Op = 'c' | 'p' | 'r' | 'a' | 'x';

/** One script call: its KEYS and ARGV, and which of the store call's counters it answers for. */
export interface Batch {
  readonly keys: string[];
  readonly args: string[];
  /** The index, in the store call's list, of the counter at each position of the script's reply. */
  readonly order: number[];
}

/** What a counter of any operation may carry: refunds a window start, windows an idempotency key. */
type AnyCounter = (CounterSpec | RefundSpec) & {
  readonly windowStart?: number;
  readonly idempotencyKey?: string;
};

/**
 * The script call for `counters[i]` of each `i` in `indexes` (all of them when left out): the
 * counters of one hash go together, in the order they were given.
 */
export function encodeBatch(
  layout: KeyLayout,
  op: Op,
  counters: readonly AnyCounter[],
  call: { readonly clock: string; readonly indexes?: readonly number[] | undefined },
): Batch {
  const { clock, indexes } = call;
  const count = indexes === undefined ? counters.length : indexes.length;
  const first = counters[indexes === undefined ? 0 : indexes[0]!]!;
  // One window counter without an idempotency key, the commonest check, takes the script's
  // short path: ops `C` and `P`, its numbers as arguments of their own.
  if (
    count === 1 &&
    (op === 'c' || op === 'p') &&
    first.kind === 'window' &&
    first.idempotencyKey === undefined
  )
    return {
      keys: [layout.hashOf(first)],
      args: singleWindowArgs(op === 'c' ? 'C' : 'P', first, { clock, suffix: layout.suffixOf(first) }),
      order: [indexes === undefined ? 0 : indexes[0]!],
    };
  const keys: string[] = [];
  const members: number[][] = [];
  for (let n = 0; n < count; n++) {
    const i = indexes === undefined ? n : indexes[n]!;
    const hash = layout.hashOf(counters[i]!);
    // The counters of one scope value come one after another: the last hash is nearly always it.
    let g = keys.length - 1;
    if (g < 0 || keys[g] !== hash) g = keys.indexOf(hash);
    if (g < 0) {
      keys.push(hash);
      members.push([i]);
    } else members[g]!.push(i);
  }
  const args: string[] = [op, clock];
  const order: number[] = [];
  const aimed = op === 'r' || op === 'a';
  let chargeFirst = op === 'c';
  for (const group of members) {
    args.push(String(group.length));
    for (const i of group) {
      const counter = counters[i]!;
      order.push(i);
      pushCounter(args, layout, counter, aimed);
      if (counter.idempotencyKey !== undefined || !(Number.isSafeInteger(counter.cost) && counter.cost > 0))
        chargeFirst = false;
    }
  }
  // The script's charge-first path (lua/charge-first.ts) takes only these; it falls back to `c`.
  if (chargeFirst) args[0] = 'f';
  return { keys, args, order };
}

/**
 * The short path's arguments (see script.ts): the counter's numbers, its field suffix, and the
 * window this process's clock says is current, with its count field, which the script uses
 * when Redis's clock agrees. Whole starts only: the script names any other itself.
 */
function singleWindowArgs(
  op: 'C' | 'P',
  counter: WindowCounterSpec,
  at: { readonly clock: string; readonly suffix: string },
): string[] {
  const { windowMs, limit, cost } = counter;
  const now = at.clock === '' ? Date.now() : Number(at.clock);
  const start = now - (now % windowMs);
  const expected = Number.isInteger(start) ? String(start) : '';
  const field = expected === '' ? '' : `n${at.suffix}@${expected}`;
  return [op, at.clock, String(windowMs), String(limit), String(cost), at.suffix, expected, field];
}

/**
 * A counter's arguments: its spec `<kind><a>:<b>:<cost><suffix>` (a suffix is empty or starts
 * with `:` or `/`, which no number holds), then a refund's or a
 * charge's window start and the idempotency key, which the core hashes before it gets here. A
 * number in a template is written as String() writes it, the shortest text that reads back as
 * the same double, which Lua's tonumber (strtod) does: a fractional intervalMs arrives unrounded.
 */
function pushCounter(args: string[], layout: KeyLayout, counter: AnyCounter, aimed: boolean): void {
  const suffix = layout.suffixOf(counter);
  if (counter.kind === 'bucket') {
    args.push(`b${counter.capacity}:${counter.intervalMs}:${counter.cost}${suffix}`);
    return;
  }
  const idempotencyKey = counter.idempotencyKey;
  args.push(
    `${idempotencyKey === undefined ? 'w' : 'i'}${counter.windowMs}:${counter.limit}:${counter.cost}${suffix}`,
  );
  if (aimed) args.push(String(counter.windowStart));
  if (idempotencyKey !== undefined) args.push(idempotencyKey);
}
