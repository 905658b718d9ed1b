import { conflict, TollgateError } from '../errors/errors.js';
import type { TollgateOptions } from '../options/options.js';
import { tollgateOptionsSchema } from '../options/options.js';
import { type JsonSchema, validateOptions } from '../options/validation.js';
import { problem, type Serializer } from '../serializers/index.js';
import { MemoryStore } from '../stores/memory/index.js';
import type { Store } from '../stores/store.js';
import type { PolicyState } from './decision.js';
import type { CounterTarget, StateTarget } from './inspect.js';
import { createLimiter, type Limiter } from './limiter.js';

/**
 * One object holding the settings every limit of an application shares (store, clock, header
 * dialects, serializer, failure policy, hooks, prefix), minting each route's limiter from
 * them, so that no route can forget one. The adapters wrap it in `createTollgate`.
 */

/** The options a tollgate instance holds for every limit it mints. */
export const SHARED_OPTIONS = [
  'store',
  'now',
  'prefix',
  'headers',
  'resetFormat',
  'reasonHeader',
  'serializer',
  'onStoreError',
  'onDecision',
  'onRefusal',
  'onError',
  'onWarning',
  'validate',
  'requestPropertyName',
] as const;

export type SharedOptionName = (typeof SHARED_OPTIONS)[number];

/** `createTollgate`'s options: what every limit of the instance shares. */
export type SharedOptions<Raw = unknown> = Pick<TollgateOptions<Raw>, SharedOptionName>;

/** One limit's options: its scopes, spending cap, cost, `skip`, `allowList` and `shadow`. */
export type RouteLimitOptions<Raw = unknown> = Omit<TollgateOptions<Raw>, SharedOptionName>;

export interface TollgateCore<Raw> {
  /** A limiter on the instance's settings, for `limit`, `usageHandler` and `check`. */
  limiter(options: RouteLimitOptions<Raw>): Limiter<Raw>;
  /** As `Limiter.reset`, for a scope (or the spending cap) of any limit the instance minted. */
  reset(target: CounterTarget): Promise<void>;
  /** As `Limiter.state`, for a scope (or the spending cap) of any limit the instance minted. */
  state(target: StateTarget): Promise<PolicyState[]>;
  /** Every limiter minted so far. */
  readonly limiters: readonly Limiter<Raw>[];
  readonly store: Store;
  readonly serializer: Serializer;
  readonly now: () => number;
}

const sharedSchema = {
  type: 'object',
  additionalProperties: false,
  expected: 'an object of shared settings',
  properties: Object.fromEntries(
    SHARED_OPTIONS.map((name) => [name, tollgateOptionsSchema.properties[name]]),
  ),
} satisfies JsonSchema;

export function createTollgateCore<Raw>(shared: SharedOptions<Raw> = {}): TollgateCore<Raw> {
  validateOptions(sharedSchema, shared, 'createTollgate options');
  const now = shared.now ?? Date.now;
  // One store for every limit, created here so that no limit falls back to its own.
  const store = shared.store ?? new MemoryStore({ now });
  const limiters: Limiter<Raw>[] = [];
  /** What each scope name (and cap name) counts, so that one name means one set of counters. */
  const owners = new Map<string, { readonly signature: string; readonly limiter: Limiter<Raw> }>();

  function limiter(options: RouteLimitOptions<Raw>): Limiter<Raw> {
    for (const name of SHARED_OPTIONS)
      if (Object.hasOwn(options ?? {}, name))
        conflict(name, `${name} is set on createTollgate(), for every limit: a limit cannot set it`);
    const minted = createLimiter<Raw>({ ...shared, ...options, now, store });
    claimNames(owners, options, minted);
    limiters.push(minted);
    return minted;
  }

  function ownerOf(target: CounterTarget | StateTarget): Limiter<Raw> {
    const owner = owners.get('spendCap' in target ? SPEND_CAP : target.scope);
    if (owner !== undefined) return owner.limiter;
    const names = [...owners.keys()].filter((name) => name !== SPEND_CAP);
    throw new TollgateError(
      'ERR_TOLLGATE_UNKNOWN_SCOPE',
      'spendCap' in target
        ? 'No limit of this tollgate instance has a spendCap'
        : `No limit of this tollgate instance has a scope named ${JSON.stringify(target.scope)} (it has ${names.map((name) => JSON.stringify(name)).join(', ') || 'none'})`,
    );
  }

  return {
    limiter,
    reset: (target) => ownerOf(target).reset(target),
    state: (target) => ownerOf(target).state(target),
    limiters,
    store,
    serializer: shared.serializer ?? problem,
    now,
  };
}

/** The spending cap's entry among the scope names: no scope name starts with a NUL. */
const SPEND_CAP = '\u0000spendCap';

/**
 * Two limits of one instance that name a scope alike count the same counters: allowed when they
 * count them alike (the same scope on two routes), refused when the limits differ, since each
 * would charge the other's counters under its own limits.
 */
function claimNames<Raw>(
  owners: Map<string, { readonly signature: string; readonly limiter: Limiter<Raw> }>,
  options: RouteLimitOptions<Raw>,
  limiter: Limiter<Raw>,
): void {
  (options.scopes ?? []).forEach((scope, index) => {
    const signature = `scope:${signatureOf({ ...scope, name: undefined })}`;
    const owner = owners.get(scope.name);
    if (owner !== undefined && owner.signature !== signature)
      conflict(
        `scopes[${index}].name`,
        `scopes[${index}].name "${scope.name}" is used by another limit of this tollgate instance with other settings: both would count the same counters. Give one of them another name.`,
      );
    if (owner === undefined) owners.set(scope.name, { signature, limiter });
  });
  const cap = options.spendCap;
  if (cap === undefined) return;
  const name = cap.name ?? 'spend';
  const signature = `cap:${signatureOf(cap)}`;
  const owner = owners.get(SPEND_CAP);
  if (owner !== undefined && owner.signature !== signature)
    conflict('spendCap', `another limit of this tollgate instance has a different spendCap ("${name}")`);
  if (owner === undefined) owners.set(SPEND_CAP, { signature, limiter });
}

/** A scope's settings as text: functions by their source, which tells two different ones apart. */
function signatureOf(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'function' ? `fn:${item.toString()}` : item,
  );
}
