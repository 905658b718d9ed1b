import type { Context, Middleware } from 'koa';
import type { PolicyState } from '../core/decision.js';
import type { CounterTarget, StateTarget } from '../core/inspect.js';
import type { Limiter } from '../core/limiter.js';
import { createTollgateCore, type RouteLimitOptions, type SharedOptions } from '../core/tollgate.js';
import type { Serializer } from '../serializers/index.js';
import type { Store } from '../stores/store.js';
import { errorHandler, type KoaErrorHandlerOptions } from './errors.js';
import { rateLimit, usageHandler } from './index.js';

export type KoaSharedOptions = SharedOptions<Context>;
export type KoaLimitOptions = RouteLimitOptions<Context>;

/** Route middleware minted from one set of shared settings. */
export interface KoaTollgate {
  /** Middleware enforcing `options` on the instance's settings; stacked limits combine. */
  limit(options: KoaLimitOptions | Limiter<Context>): Middleware;
  /** The limiter behind a limit, for `usageHandler`, `check` or a limit shared by several routes. */
  limiter(options: KoaLimitOptions): Limiter<Context>;
  /** `usageHandler` for a limiter of this instance. */
  usageHandler(limiter: Limiter<Context>): Middleware;
  /** `errorHandler` in the instance's schema (it also answers unmatched routes, unless `notFound: false`). */
  errorHandler(options?: Omit<KoaErrorHandlerOptions, 'serializer'>): Middleware;
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
 * const tollgate = createTollgate({ headers: 'x-ratelimit', serializer: serializers.firsthand });
 * app.use(tollgate.errorHandler());
 * router.post('/jobs', tollgate.limit({ scopes: [scope.apiKey({ limits: [{ max: 10, window: '1m' }] })] }), create);
 */
export function createTollgate(options: KoaSharedOptions = {}): KoaTollgate {
  const core = createTollgateCore<Context>(options);
  return {
    limit: (limit) => rateLimit('check' in limit ? limit : core.limiter(limit)),
    limiter: core.limiter,
    usageHandler,
    errorHandler: (handler = {}) => errorHandler({ ...handler, serializer: core.serializer }),
    reset: core.reset,
    state: core.state,
    store: core.store,
    serializer: core.serializer,
  };
}
