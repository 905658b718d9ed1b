// `tollgate/client`: the browser-safe client. Nothing here may import from outside lib/client
// or from node:*, so that the ESM build loads in a browser as it is.
export { type ErrorBody, parseErrorBody } from './body.js';
export { type Client, type ClientRequestInit, createClient } from './client.js';
export { ClientError, type ClientErrorCode, type ClientErrorDetails, isClientError } from './errors.js';
export type { AlertEvent, AlertLevel, ClientEvents, Listener, RetryEvent, ThrottleEvent } from './events.js';
export {
  type HeaderLookup,
  parseReset,
  parseRetryAfter,
  type RateLimitReading,
  readRateLimit,
} from './headers.js';
export type { ClientMetrics, PolicyMetrics } from './metrics.js';
export type {
  AlertOptions,
  Backoff,
  ClientOptions,
  FetchLike,
  RetryOptions,
  ThrottleOptions,
} from './options.js';
export { DEFAULT_RETRY } from './options.js';
export type { PolicyReading } from './reading.js';
export { isSpendCapRefusal, type Refusal } from './refusal.js';
