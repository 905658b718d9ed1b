import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import type { PolicyState } from '../core/decision.js';
import type { CounterTarget, StateTarget } from '../core/inspect.js';
import type { Limiter } from '../core/limiter.js';
import { createTollgateCore, type RouteLimitOptions, type SharedOptions } from '../core/tollgate.js';
import type { Serializer } from '../serializers/index.js';
import type { Store } from '../stores/store.js';
import { type ErrorHandlerOptions, errorHandler, notFound } from './errors.js';
import { rateLimit, usageHandler } from './index.js';

export type ExpressSharedOptions = SharedOptions<Request>;
export type ExpressLimitOptions = RouteLimitOptions<Request>;

/** Route middleware minted from one set of shared settings. */
export interface ExpressTollgate {
  /**
   * Middleware enforcing `options` (scopes, spendCap, cost, skip, allowList, shadow) on the
   * instance's store, clock, headers, serializer, failure policy and hooks. Stacked limits of
   * one instance combine, as `rateLimit`s do.
   */
  limit(options: ExpressLimitOptions | Limiter<Request>): RequestHandler;
  /** The limiter behind a limit, for `usageHandler`, `check` or a `limit` shared by several routes. */
  limiter(options: ExpressLimitOptions): Limiter<Request>;
  /** `usageHandler` for a limiter of this instance. */
  usageHandler(limiter: Limiter<Request>): RequestHandler;
  /** `errorHandler` in the instance's schema. */
  errorHandler(options?: Omit<ErrorHandlerOptions, 'serializer'>): ErrorRequestHandler;
  /** `notFound` in the instance's schema. */
  notFound(): RequestHandler;
  /** Forgets one key's counters in any limit of the instance: see `Limiter.reset`. */
  reset(target: CounterTarget): Promise<void>;
  /** One key's limits, without charging: see `Limiter.state`. */
  state(target: StateTarget): Promise<PolicyState[]>;
  readonly store: Store;
  readonly serializer: Serializer;
}

/**
 * One object holding the settings every limit shares, minting route middleware from them.
 * @example
 * const tollgate = createTollgate({ store, headers: 'ratelimit', serializer: serializers.fluid });
 * app.use(tollgate.limit({ scopes: [scope.ip({ limits: [{ max: 100, window: '1m' }] })] }));
 * app.post('/v1/payments', express.json(), tollgate.limit({ scopes: [scope.payment({ limits: [{ max: 1000, window: '1m' }] })] }), pay);
 */
export function createTollgate(options: ExpressSharedOptions = {}): ExpressTollgate {
  const core = createTollgateCore<Request>(options);
  return {
    limit: (limit) => rateLimit('check' in limit ? limit : core.limiter(limit)),
    limiter: core.limiter,
    usageHandler,
    errorHandler: (handler = {}) => errorHandler({ ...handler, serializer: core.serializer }),
    notFound: () => notFound({ serializer: core.serializer }),
    reset: core.reset,
    state: core.state,
    store: core.store,
    serializer: core.serializer,
  };
}
