import type { Decision } from '../core/decision.js';
import type { JsonSchema } from '../options/validation.js';
import { statusTitle } from './common.js';
import { fastapi } from './fastapi.js';
import { fastino } from './fastino.js';
import { firsthand } from './firsthand.js';
import { fluid } from './fluid.js';

export { statusTitle } from './common.js';
export {
  type FastapiOptions,
  fastapiErrorSchema,
  fastapiSerializer,
} from './fastapi.js';
export { type FastinoOptions, fastinoErrorSchema, fastinoSerializer } from './fastino.js';
export {
  type FirsthandErrorType,
  type FirsthandOptions,
  firsthandErrorSchema,
  firsthandSerializer,
} from './firsthand.js';
export { type FluidOptions, type FluidSeverity, fluidErrorSchema, fluidSerializer } from './fluid.js';

/** Everything a serializer may show of an error: tollgate's refusals and the application's own errors. */
export interface ErrorDescription {
  /** The HTTP status: 429 for rate and spend refusals, 400, 401, 404, 500, 503, 504, … */
  readonly status: number;
  /** The machine code: a scope's code for refusals, the application's code for its own errors. */
  readonly code: string | number | undefined;
  /** Human text, templated from the decision for refusals. */
  readonly message: string;
  /** `ip_minute`, `daily_spend_cap_exceeded`, `store_unavailable`, … */
  readonly reason: string | undefined;
  /** Seconds until a retry can succeed; equals the `Retry-After` header when one is sent. */
  readonly retryAfter: number | undefined;
  /** The request's id: a sanitised incoming `X-Request-Id`, or a generated one. */
  readonly requestId: string;
  /** The refusal's decision; undefined for the application's own errors. */
  readonly decision: Decision | undefined;
  /** Extra fields the application attached to its error. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Turns an error into a response body. Presets live in `serializers`; any object of this shape works. */
export interface Serializer {
  readonly name: string;
  /** The `Content-Type` of the body, e.g. `application/json; charset=utf-8`. */
  readonly contentType: string;
  /** Returns the body as a JSON-serialisable value. */
  render(error: ErrorDescription): unknown;
  /** The JSON Schema every body this serializer renders satisfies, for clients to validate. */
  readonly schema?: JsonSchema;
}

/** A custom serializer from a function; the body is sent as `application/json`. */
export function defineSerializer(
  render: (error: ErrorDescription) => unknown,
  options: { name?: string; contentType?: string; schema?: JsonSchema } = {},
): Serializer {
  return {
    name: options.name ?? 'custom',
    contentType: options.contentType ?? 'application/json; charset=utf-8',
    render,
    ...(options.schema === undefined ? {} : { schema: options.schema }),
  };
}

export const PROBLEM_QUOTA_EXCEEDED = 'https://iana.org/assignments/http-problem-types#quota-exceeded';

/**
 * RFC 9457 problem details. Refusals by a limit use the `quota-exceeded` problem type of
 * draft-ietf-httpapi-ratelimit-headers-11 §7 with `violated-policies`; other errors use
 * `about:blank` with the status's title.
 */
export const problem: Serializer = {
  name: 'problem',
  contentType: 'application/problem+json; charset=utf-8',
  render(error) {
    const violated = error.decision?.policies.filter((p) => !p.allowed).map((p) => p.id);
    const quota = error.status === 429 && violated !== undefined && violated.length > 0;
    return {
      type: quota ? PROBLEM_QUOTA_EXCEEDED : 'about:blank',
      title: quota
        ? 'Request cannot be satisfied as assigned quota has been exceeded'
        : statusTitle(error.status),
      status: error.status,
      detail: error.message,
      ...(quota ? { 'violated-policies': violated } : {}),
      ...(error.code === undefined ? {} : { code: error.code }),
      ...(error.reason === undefined ? {} : { reason: error.reason }),
      ...(error.retryAfter === undefined ? {} : { retry_after: error.retryAfter }),
      request_id: error.requestId,
    };
  },
  schema: {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://tollgate.dev/schemas/problem.json',
    type: 'object',
    required: ['type', 'title', 'status', 'detail', 'request_id'],
    properties: {
      type: { type: 'string' },
      title: { type: 'string' },
      status: { type: 'integer', minimum: 400, maximum: 599 },
      detail: { type: 'string' },
      'violated-policies': { type: 'array', items: { type: 'string' }, minItems: 1 },
      code: { type: ['string', 'integer'] },
      reason: { type: 'string' },
      retry_after: { type: 'integer', minimum: 1 },
      request_id: { type: 'string', minLength: 1 },
    },
    additionalProperties: false,
  },
};

export const serializers = { problem, fastino, fluid, fastapi, firsthand };
