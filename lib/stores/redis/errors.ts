export type RedisStoreErrorCode =
  /** No reply within `timeoutMs`. The script may still run later; it is never sent again. */
  | 'ERR_TOLLGATE_REDIS_TIMEOUT'
  /** The client is not connected, so the call was not sent (it would only wait in a queue). */
  | 'ERR_TOLLGATE_REDIS_UNAVAILABLE'
  /** The client or Redis answered with an error; `cause` holds it. */
  | 'ERR_TOLLGATE_REDIS_FAILED'
  /** Redis answered something the script never returns: another script under the same SHA? */
  | 'ERR_TOLLGATE_REDIS_REPLY'
  /**
   * A request spanning several cluster slots was charged on some and refused (or failed) on
   * another, and the charges could not all be given back: `cause` says why, `keys` names the
   * counters left charged until their windows end.
   */
  | 'ERR_TOLLGATE_REDIS_REFUND_LOST';

/** Why a Redis store call rejected. The limiter answers it with its `onStoreError` policy. */
export class RedisStoreError extends Error {
  readonly code: RedisStoreErrorCode;
  /** The counters' keys a lost refund left charged (`ERR_TOLLGATE_REDIS_REFUND_LOST`). */
  readonly keys: readonly string[] | undefined;

  constructor(
    code: RedisStoreErrorCode,
    message: string,
    options?: { cause?: unknown; keys?: readonly string[] },
  ) {
    super(message, options);
    this.name = 'RedisStoreError';
    this.code = code;
    this.keys = options?.keys;
  }
}
