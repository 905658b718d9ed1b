export type RedisStoreErrorCode =
  /** No reply within `timeoutMs`. The script may still run later; it is never sent again. */
  | 'ERR_TOLLGATE_REDIS_TIMEOUT'
  /** The client is not connected, so the call was not sent (it would only wait in a queue). */
  | 'ERR_TOLLGATE_REDIS_UNAVAILABLE'
  /** The client or Redis answered with an error; `cause` holds it. */
  | 'ERR_TOLLGATE_REDIS_FAILED'
  /** Redis answered something the script never returns: another script under the same SHA? */
  | 'ERR_TOLLGATE_REDIS_REPLY';

/** Why a Redis store call rejected. The limiter answers it with its `onStoreError` policy. */
export class RedisStoreError extends Error {
  readonly code: RedisStoreErrorCode;

  constructor(code: RedisStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedisStoreError';
    this.code = code;
  }
}
