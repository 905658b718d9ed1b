import { attachCharges, carryCharges, chargeOf, refundCharges } from './charges.js';
import {
  type CompiledFailure,
  type CompiledLimit,
  compileAllowListOption,
  compileFailurePolicy,
  compileScopes,
  conflict,
  policyItem,
} from './compile.js';
import { validateOptions } from './config-validation.js';
import { addCounters, insuredPolicyState, policyState, spendLimit, tierNamed } from './counters.js';
import type { Decision, PolicyState } from './decision.js';
import { headerFormat, isoSeconds } from './headers.js';
import { storeValue } from './keys.js';
import { isPromiseLike, type MaybePromise, Replay, replayed } from './maybe-promise.js';
import { type TollgateOptions, tollgateOptionsSchema } from './options.js';
import type { RequestInfo } from './request.js';
import { requestIdOf } from './request-id.js';
import { type ErrorDescription, problem, type Serializer } from './serializers/index.js';
import {
  type CompiledSpendCap,
  cancelSettlement,
  carrySettlement,
  checkedCostOf,
  compileSpendCap,
  DAY_MS,
  idempotencyKeyOf,
  recordSettlement,
  resolveBudget,
  spendCounter,
} from './spend-cap.js';
import type { ConsumeResult, CounterSpec, Store } from './store.js';
import { MemoryStore } from './stores/memory.js';
import { asAdmitted, createSummariser, pickRefusalFields } from './summarise.js';

/** The answer to send for a refused decision. */
export interface Refusal {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly contentType: string;
  readonly body: string;
  readonly requestId: string;
}

/** A spending cap's state for one key, as `GET /billing/usage/requests` shows it. */
export interface Usage {
  readonly used: number;
  readonly remaining: number;
  readonly cap: number;
  /** The next 00:00 UTC, ISO-8601. */
  readonly resets_at: string;
}

export interface Limiter<Raw = unknown> {
  /**
   * Decides one request: resolves every scope's key, tier and cost, then checks and charges all
   * counters in one store call. Resolves to `undefined` when the request is skipped or allow-listed.
   * Rejects only when a `skip`, key, tier, cost or budget function throws (or rejects), a tier
   * resolver names no tier, or a budget function returns no positive integer.
   */
  check(req: RequestInfo<Raw>): Promise<Decision | undefined>;
  /**
   * `check`, answered without a promise when nothing it runs is asynchronous (the memory store,
   * and `skip`, key, tier, cost and budget functions that return plain values); otherwise the
   * promise `check` would return. Throws, rather than rejects, what is thrown before the first promise.
   * For adapters, which can then go on in the same tick.
   */
  decide(req: RequestInfo<Raw>): MaybePromise<Decision | undefined>;
  /**
   * Gives back what a decision charged, e.g. when a later limiter refused the same request.
   * Works for any limiter's decision; a decision is refunded at most once.
   */
  refund(decision: Decision): Promise<void>;
  /** A decision covering an earlier limiter's admitted decision and this one's: stacked middleware. */
  combine(earlier: Decision, later: Decision): Decision;
  /**
   * The spending cap's usage for a key as the cap's key source yields it (a user id, an API
   * key): `{ used, remaining, cap, resets_at }`. `budget` is needed when the budget is a function.
   */
  getUsage(key: string, budget?: number): Promise<Usage>;
  /** The spending cap's usage for the caller of a request; `undefined` when the request has no key. */
  usageOf(req: RequestInfo<Raw>): Promise<Usage | undefined>;
  /** Reports an error that happened after the response (a failed settlement) to `onError`. */
  reportError(error: unknown, req: RequestInfo<Raw>): void;
  /** The status, headers and body that answer a refused decision. */
  refusal(decision: Decision, req: RequestInfo<Raw>): Refusal;
  readonly store: Store;
  readonly serializer: Serializer;
}

/**
 * Builds the framework-free core of a middleware. Options are validated here, once; nothing
 * is checked again per request.
 * @example
 * const limiter = createLimiter({
 *   scopes: [{ name: 'ip', key: 'ip', limits: [{ max: 100, window: '1m' }, { max: 6000, window: '1h' }], burst: 20 }],
 * });
 * const decision = await limiter.check({ ip: '203.0.113.7', method: 'GET', path: '/', headers: {}, raw: null });
 */
export function createLimiter<Raw = unknown>(options: TollgateOptions<Raw>): Limiter<Raw> {
  validateOptions(tollgateOptionsSchema, options, 'tollgate options');
  const prefix = options.prefix ?? 'tg';
  const scopes = compileScopes(options.scopes ?? [], prefix);
  const spendCap = options.spendCap === undefined ? undefined : compileSpendCap(options.spendCap, prefix);
  const { cost: capCost, budget: capBudget } = options.spendCap ?? {};
  if (typeof capCost === 'number' && typeof capBudget === 'number' && capCost > capBudget)
    conflict(
      'spendCap.cost',
      `spendCap.cost (${capCost}) is above spendCap.budget (${capBudget}): no request could ever be admitted`,
    );
  if (spendCap !== undefined && scopes.some((scope) => scope.name === spendCap.name))
    conflict(
      'spendCap.name',
      `spendCap.name "${spendCap.name}" is used by a scope; give the cap its own name`,
    );
  // The most counters one request can have: every scope in its largest tier, and the cap.
  const maxCounters =
    scopes.reduce(
      (sum, scope) =>
        sum +
        Math.max(
          0,
          ...(scope.only === undefined ? [...scope.tiers!.values()] : [scope.only]).map(
            (t) => t.limits.length,
          ),
        ),
      0,
    ) + (spendCap === undefined ? 0 : 1);
  // With one tier per scope, every request that each scope counts has the same RateLimit-Policy
  // (and so does the spending cap, with a fixed budget): joined once here, not per request.
  const fixedLimits = scopes.every((scope) => scope.only !== undefined)
    ? scopes.flatMap((scope) => scope.only!.limits)
    : undefined;
  const fixedField = fixedLimits?.map((limit) => limit.policy).join(', ');
  const fixedCount = fixedLimits?.length ?? -1;
  const capItem =
    spendCap?.fixedBudget === undefined ? undefined : policyItem(spendCap.id, spendCap.fixedBudget, DAY_MS);
  const fixedFieldWithCap =
    capItem === undefined ? undefined : fixedCount === 0 ? capItem : `${fixedField}, ${capItem}`;
  const now = options.now ?? Date.now;
  const store = options.store ?? new MemoryStore({ now });
  const serializer = options.serializer ?? problem;
  const format = headerFormat(options.headers, options.resetFormat, options.reasonHeader);
  const shadow = options.shadow === true;
  const skip = options.skip;
  const defaultCost = options.cost;
  const onDecision = options.onDecision;
  const onRefusal = options.onRefusal;
  const onError = options.onError;
  const failure = compileFailurePolicy(options.onStoreError ?? 'open', now);
  const allowListed = compileAllowListOption(options.allowList);
  // Per scope, its cost: a number, or the function that resolves it (the application's).
  // A number that is no cost (checked as a function's answer is) refuses every request with a 400.
  const scopeCosts = scopes.map(
    (scope): number | undefined | ((req: RequestInfo<Raw>) => MaybePromise<number | undefined>) => {
      const cost = scope.cost ?? defaultCost;
      if (cost === undefined) return 1;
      return typeof cost === 'number'
        ? (checkedCostOf(cost) as number | undefined)
        : (req) => checkedCostOf(cost(req));
    },
  );
  const spendBudgetOf = (req: RequestInfo<Raw>) => resolveBudget(spendCap!, req);
  const spendIdempotencyKeyOf = (req: RequestInfo<Raw>) => idempotencyKeyOf(spendCap!, req);
  const isAllowListed = (req: RequestInfo<Raw>) => allowListed!(req.ip);
  // Whether a decision calls the application's functions, any of which may answer with a
  // promise: then each of its decisions records what it reads of the request (see `decision`).
  const callsApplication =
    skip !== undefined ||
    spendCap !== undefined ||
    scopes.some(
      (scope, s) => scope.keyCallsUser || scope.only === undefined || typeof scopeCosts[s] === 'function',
    );

  function notify(decision: Decision, req: RequestInfo<Raw>): void {
    // A hook that throws must not turn a decision into a 500: hooks are for logs and metrics.
    try {
      onDecision?.(decision, req);
    } catch {}
    if (decision.allowed) return;
    try {
      onRefusal?.(decision, req);
    } catch {}
  }

  function finish(decision: Decision, req: RequestInfo<Raw>): Decision {
    notify(decision, req);
    return decision;
  }

  /**
   * Decides a request. Without functions of the application to call (only built-in key
   * sources, numeric costs, no tiers, skip or spending cap) it runs once, as a plain function,
   * and with a store that answers without a promise (the memory store) so does `decide`, so
   * that an adapter can go on in the same tick: the promise, its `then` and the microtask were
   * 17k of the 96k instructions tollgate added to an Express request with the 4 × 2 + burst
   * policy (callgrind). A store that answers with a promise is waited for at the end.
   *
   * The application's functions (`skip`, key, tier, cost, budget) may answer with a promise, or
   * any thenable. A limiter with such functions gives each decision a `Replay`, through which it reads
   * everything it reads of the request (`ask`): at the first promise the decision stops and
   * returns the replay, and `decide` runs it again from the start once the promise settles, each
   * read answered from the record of the run before. Each function is called once, and a
   * request an application function changes meanwhile is read as it was. A generator did the
   * same before, at about 500 bytes a decision for its object and the register file it keeps.
   */
  function decision(
    req: RequestInfo<Raw>,
    replay: Replay | undefined,
  ): Decision | undefined | Replay | Promise<Decision> {
    if (skip !== undefined) {
      const skipped = ask(replay, skip, req);
      if (isPromiseLike(skipped)) return replay!.stopAt(skipped);
      if (skipped) return undefined;
    }
    if (allowListed !== undefined && ask(replay, isAllowListed, req)) return undefined;

    // Sized for every counter a request can have, then cut to those it has: growing an empty
    // array on the first push cost more than the rest of building the counters.
    const counters: CounterSpec[] = new Array(maxCounters);
    // The limit behind each counter: its scope, tier, max and policy item, built at compile time.
    const owners: CompiledLimit[] = new Array(maxCounters);
    let used = 0;
    let firstCost = 0;
    for (let s = 0; s < scopes.length; s++) {
      const scope = scopes[s]!;
      const key = ask(replay, scope.keyOf, req);
      if (isPromiseLike(key)) return replay!.stopAt(key);
      if (key === undefined) {
        if (scope.onMissing === 'skip') continue;
        return finish(standaloneRefusal(scope.missingStatus, `${scope.name}_missing`, scope), req);
      }
      let tier = scope.only;
      if (tier === undefined) {
        const named = ask(replay, scope.tierOf!, req);
        if (isPromiseLike(named)) return replay!.stopAt(named);
        tier = tierNamed(scope, named);
      }
      if (tier.unlimited) continue;
      const costOf = scopeCosts[s]!;
      const cost = typeof costOf === 'function' ? ask(replay, costOf, req) : costOf;
      if (isPromiseLike(cost)) return replay!.stopAt(cost);
      if (cost === undefined) return finish(standaloneRefusal(400, 'invalid_cost', scope), req);
      // A cost above a limit's whole capacity could never be admitted: no Retry-After would hold.
      if (cost > tier.maxCost) return finish(standaloneRefusal(400, 'cost_exceeds_limit', scope), req);
      if (used === 0) firstCost = cost;
      used = addCounters(counters, owners, used, scope.keyPrefix, key, tier, cost);
    }
    let spendIndex = -1;
    if (spendCap !== undefined) {
      const key = ask(replay, spendCap.keyOf, req);
      if (isPromiseLike(key)) return replay!.stopAt(key);
      if (key === undefined) {
        if (spendCap.onMissing === 'refuse')
          return finish(standaloneRefusal(401, `${spendCap.name}_missing`, spendCap), req);
      } else {
        const budget = ask(replay, spendBudgetOf, req);
        if (isPromiseLike(budget)) return replay!.stopAt(budget);
        const cost = ask(replay, spendCap.costOf, req);
        if (isPromiseLike(cost)) return replay!.stopAt(cost);
        if (cost === undefined) return finish(standaloneRefusal(400, 'invalid_cost', spendCap), req);
        if (cost > budget) return finish(standaloneRefusal(400, 'cost_exceeds_cap', spendCap), req);
        const idempotencyKey = ask(replay, spendIdempotencyKeyOf, req);
        if (idempotencyKey === false)
          return finish(standaloneRefusal(400, 'invalid_idempotency_key', spendCap), req);
        if (used === 0) firstCost = cost;
        spendIndex = used;
        counters[used] = spendCounter(spendCap, key, budget, cost, idempotencyKey);
        owners[used++] = spendLimit(spendCap, budget);
      }
    }
    if (used === 0) return finish(unlimitedDecision(now()), req);
    // Setting an array's length runs a builtin even when the length stays: 400 instructions of
    // a 4 × 2 decision (callgrind), for a cut that only skipped or unlimited scopes need.
    if (used !== maxCounters) counters.length = used;

    // The store is called once, after everything else: a store that answers with a promise is
    // waited for here, not run again (see `decide`).
    let pending: MaybePromise<ConsumeResult>;
    try {
      pending = store.consume(counters);
    } catch (error) {
      return finish(afterStoreFailure(error, owners, counters, used, spendIndex, firstCost), req);
    }
    if (isPromiseLike(pending))
      return Promise.resolve(pending).then(
        (result) =>
          finish(conclude(owners, used, spendIndex, firstCost, result, undefined, store, counters), req),
        (error) => finish(afterStoreFailure(error, owners, counters, used, spendIndex, firstCost), req),
      );
    return finish(conclude(owners, used, spendIndex, firstCost, pending, undefined, store, counters), req);
  }

  /**
   * The decision when the store could not answer: the configured failure policy. With the
   * insurance policy, the in-memory insurance store is charged shrunk counters (and refunded the
   * same way).
   */
  function afterStoreFailure(
    error: unknown,
    owners: readonly CompiledLimit[],
    counters: readonly CounterSpec[],
    used: number,
    spendIndex: number,
    firstCost: number,
  ): Decision {
    if (failure.kind !== 'insurance') return storeFailureDecision(failure.kind, error, now(), firstCost);
    const shrunk = counters.map(failure.shrink);
    const result = failure.store.consume(shrunk);
    return conclude(owners, used, spendIndex, firstCost, result, error, failure.store, shrunk);
  }

  /** The decision from the store's answer. */
  function conclude(
    owners: readonly CompiledLimit[],
    used: number,
    spendIndex: number,
    firstCost: number,
    result: ConsumeResult,
    storeError: unknown,
    chargedStore: Store,
    charged: readonly CounterSpec[],
  ): Decision {
    const policies: PolicyState[] = new Array(used);
    const states = result.counters;
    if (chargedStore === store) {
      for (let i = 0; i < used; i++) policies[i] = policyState(owners[i]!, states[i]!);
    } else {
      const insurance = failure as Extract<CompiledFailure, { kind: 'insurance' }>;
      for (let i = 0; i < used; i++) policies[i] = insuredPolicyState(owners[i]!, states[i]!, insurance);
    }
    const policyField =
      chargedStore !== store
        ? undefined
        : used === fixedCount && spendIndex < 0
          ? fixedField
          : used === fixedCount + 1 && spendIndex === fixedCount
            ? fixedFieldWithCap
            : undefined;
    const decision = summarise(policies, result.now, firstCost, storeError, policyField);
    if (result.admitted) {
      attachCharges(decision, [chargeOf(chargedStore, charged, result.counters)]);
      // Guarded: reading index -1 of an array is a slow dictionary lookup in V8 (~6 % of a 1-rule decision).
      const spend = spendIndex < 0 ? undefined : charged[spendIndex];
      const spent = spendIndex < 0 ? undefined : result.counters[spendIndex];
      if (spend?.kind === 'window' && spent !== undefined && spent.replayed !== true) {
        // Settled where it was charged: the store's overflow counter, when it used one.
        recordSettlement(
          decision,
          chargedStore,
          { ...spend, key: spent.key ?? spend.key, windowStart: spent.windowStart ?? 0 },
          spendCap!.refundWhen,
        );
      }
    }
    return decision;
  }

  function decide(req: RequestInfo<Raw>): MaybePromise<Decision | undefined> {
    const outcome = decision(req, callsApplication ? new Replay() : undefined);
    return outcome instanceof Replay ? replayed(outcome, (replay) => decision(req, replay)) : outcome;
  }

  async function check(req: RequestInfo<Raw>): Promise<Decision | undefined> {
    return decide(req);
  }

  const summarise = createSummariser({
    shadow,
    format,
    scopes: spendCap === undefined ? scopes : [...scopes, spendCap],
  });

  function unlimitedDecision(at: number): Decision {
    return summarise([], at, 0, undefined);
  }

  function standaloneRefusal(
    status: number,
    reason: string,
    scope: { name: string; code: string | number | undefined },
  ): Decision {
    const at = now();
    return {
      ...summarise([], at, 0, undefined),
      allowed: false,
      status,
      reason,
      scope: scope.name,
      code: scope.code,
      message: STANDALONE_MESSAGES[reason] ?? `This request has no ${scope.name} to be counted against`,
    };
  }

  function storeFailureDecision(kind: 'open' | 'closed', error: unknown, at: number, cost: number): Decision {
    const open = kind === 'open';
    return {
      ...summarise([], at, cost, error),
      allowed: open,
      status: open ? 200 : 503,
      reason: 'store_unavailable',
      message: open ? undefined : 'The rate-limit store is unavailable; please retry shortly',
    };
  }

  async function refund(decision: Decision): Promise<void> {
    // The whole charge comes back here: a settlement after the response must not give it again.
    cancelSettlement(decision);
    await refundCharges(decision);
  }

  function combine(earlier: Decision, later: Decision): Decision {
    if (later.policies.length === 0 && later.allowed) return earlier;
    // A shadow limiter's refusals are for its hooks only: they must not refuse through another.
    const earlierPolicies = earlier.shadow ? earlier.policies.map(asAdmitted) : earlier.policies;
    const merged = summarise(
      [...earlierPolicies, ...later.policies],
      later.now,
      later.cost,
      later.storeError,
    );
    const combined = later.allowed
      ? merged
      : { ...merged, ...pickRefusalFields(later), headers: merged.headers };
    carryCharges(earlier, later, combined);
    carrySettlement(earlier, combined);
    carrySettlement(later, combined);
    return combined;
  }

  function requireSpendCap(): CompiledSpendCap<Raw> {
    if (spendCap === undefined) throw new TypeError('This limiter has no spendCap');
    return spendCap;
  }

  async function readUsage(cap: CompiledSpendCap<Raw>, storedKey: string, budget: number): Promise<Usage> {
    const result = await store.peek([spendCounter(cap, storedKey, budget, 0, undefined)]);
    const state = result.counters[0]!;
    return {
      used: budget - state.remaining,
      remaining: state.remaining,
      cap: budget,
      resets_at: isoSeconds(state.resetAt),
    };
  }

  async function getUsage(key: string, budget?: number): Promise<Usage> {
    const cap = requireSpendCap();
    const resolved = budget ?? cap.fixedBudget;
    if (resolved === undefined)
      throw new TypeError('getUsage needs the budget when spendCap.budget is a function');
    return readUsage(cap, storeValue(key, cap.hashKeys), resolved);
  }

  async function usageOf(req: RequestInfo<Raw>): Promise<Usage | undefined> {
    const cap = requireSpendCap();
    const key = await cap.keyOf(req);
    if (key === undefined) return undefined;
    return readUsage(cap, key, await resolveBudget(cap, req));
  }

  function reportError(error: unknown, req: RequestInfo<Raw>): void {
    try {
      onError?.(error, req);
    } catch {}
  }

  function refusal(decision: Decision, req: RequestInfo<Raw>): Refusal {
    const requestId = requestIdOf(req.headers);
    const description: ErrorDescription = {
      status: decision.status,
      code: decision.code,
      message: decision.message ?? 'Too many requests',
      reason: decision.reason,
      retryAfter: decision.retryAfter,
      requestId,
      decision,
    };
    return {
      status: decision.status,
      headers: decision.headers,
      contentType: serializer.contentType,
      body: JSON.stringify(serializer.render(description)),
      requestId,
    };
  }

  return { check, decide, refund, combine, refusal, getUsage, usageOf, reportError, store, serializer };
}

const STANDALONE_MESSAGES: Record<string, string> = {
  invalid_cost: 'The request cost must be a non-negative safe integer',
  cost_exceeds_cap: 'The request costs more than the whole daily spending cap',
  cost_exceeds_limit: 'The request costs more than a limit admits in a whole window',
  invalid_idempotency_key: 'The Idempotency-Key header must be 1 to 255 printable characters',
};

/** `call(req)`, through the decision's replay when it has one (see `decision`). */
function ask<Raw, T>(
  replay: Replay | undefined,
  call: (req: RequestInfo<Raw>) => T,
  req: RequestInfo<Raw>,
): T {
  return replay === undefined ? call(req) : replay.ask(call, req);
}
