export type { Decision, DecisionReason, PolicyState } from './core/decision.js';
export { describeDuration, parseDuration } from './core/duration.js';
export type { CounterTarget, StateTarget } from './core/inspect.js';
export { createLimiter, type Limiter, type PeriodUsage, type Refusal, type Usage } from './core/limiter.js';
export type { TollgateObserver } from './core/observer.js';
export type { RequestInfo } from './core/request.js';
export type { RouteLimitOptions, SharedOptions } from './core/tollgate.js';
export type { ValidateOption, ValidationCheck } from './core/validations.js';
export { TollgateConfigError, TollgateError, type TollgateErrorCode } from './errors/errors.js';
export {
  describeError,
  type ErrorAnswer,
  HttpError,
  type HttpErrorOptions,
  renderError,
} from './errors/http-errors.js';
export { requestIdOf } from './http/request-id.js';
export type {
  BudgetOption,
  ConcurrencyOptions,
  CostOption,
  HeaderDialect,
  KeyFunction,
  KeySource,
  LimitOptions,
  ScopeOptions,
  SpendBudget,
  SpendCapOptions,
  SpendPeriod,
  StoreFailurePolicy,
  TierOptions,
  TollgateOptions,
} from './options/options.js';
export { scopeOptionsSchema, spendCapOptionsSchema, tollgateOptionsSchema } from './options/options.js';
export { scope } from './options/presets.js';
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
export { reportActualCost } from './spend/settlement.js';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory/index.js';
export { spanOf, windowEnd, windowIndex, windowStart } from './stores/periods.js';
export type {
  BucketCounterSpec,
  CalendarPeriod,
  ConsumeContext,
  ConsumeResult,
  CounterGroup,
  CounterSpec,
  CounterState,
  LeaseCounterSpec,
  MaybePromise,
  RefundSpec,
  Store,
  StoreCounterSpec,
  StoreRefundSpec,
  WindowCounterSpec,
} from './stores/store.js';
