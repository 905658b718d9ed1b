import type { Store } from '../stores/store.js';
import { isPromiseLike, type MaybePromise } from './maybe-promise.js';
import type { StoreOperation, TollgateObserver } from './observer.js';

/**
 * The store as a limiter with an observer calls it: each call timed, and its failure reported.
 * Only limiters with an observer wrap their store, so the others call it directly.
 */
export function observeStore(store: Store, observer: TollgateObserver): Store {
  const timed =
    <A extends unknown[], R>(operation: StoreOperation, call: (...args: A) => MaybePromise<R>) =>
    (...args: A): MaybePromise<R> => {
      const started = performance.now();
      const done = (error: unknown) =>
        observer.storeCall({ operation, seconds: (performance.now() - started) / 1000, error });
      let result: MaybePromise<R>;
      try {
        result = call.apply(store, args);
      } catch (error) {
        done(error);
        throw error;
      }
      if (!isPromiseLike(result)) {
        done(undefined);
        return result;
      }
      return Promise.resolve(result).then(
        (value) => {
          done(undefined);
          return value;
        },
        (error: unknown) => {
          done(error);
          throw error;
        },
      );
    };
  const observed: Store = {
    consume: timed('consume', store.consume),
    peek: timed('peek', store.peek),
    refund: timed('refund', store.refund),
    charge: timed('charge', store.charge),
    reset: timed('reset', store.reset),
  };
  if (store.close !== undefined) observed.close = () => store.close!();
  return observed;
}
