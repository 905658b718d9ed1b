export type { Decision, DecisionReason, PolicyState } from './decision.js';
export { describeDuration, parseDuration } from './duration.js';
export { TollgateConfigError, TollgateError, type TollgateErrorCode } from './errors.js';
export {
  describeError,
  type ErrorAnswer,
  HttpError,
  type HttpErrorOptions,
  renderError,
} from './http-errors.js';
export { createLimiter, type Limiter, type Refusal, type Usage } from './limiter.js';
export type {
  CostOption,
  HeaderDialect,
  KeyFunction,
  KeySource,
  LimitOptions,
  ScopeOptions,
  SpendCapOptions,
  StoreFailurePolicy,
  TierOptions,
  TollgateOptions,
} from './options.js';
export { scopeOptionsSchema, spendCapOptionsSchema, tollgateOptionsSchema } from './options.js';
export type { RequestInfo } from './request.js';
export { requestIdOf } from './request-id.js';
export { scope } from './scopes.js';
export {
  defineSerializer,
  type ErrorDescription,
  type FastapiOptions,
  type FastinoOptions,
  type FirsthandErrorType,
  type FirsthandOptions,
  type FluidOptions,
  type FluidSeverity,
  fastapiErrorSchema,
  fastapiSerializer,
  fastinoErrorSchema,
  fastinoSerializer,
  firsthandErrorSchema,
  firsthandSerializer,
  fluidErrorSchema,
  fluidSerializer,
  PROBLEM_QUOTA_EXCEEDED,
  type Serializer,
  serializers,
  statusTitle,
} from './serializers/index.js';
export { reportActualCost } from './spend-cap.js';
export type {
  BucketCounterSpec,
  ConsumeResult,
  CounterGroup,
  CounterSpec,
  CounterState,
  MaybePromise,
  RefundSpec,
  Store,
  WindowCounterSpec,
} from './store.js';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory.js';
