import type { JsonSchema } from '../options/validation.js';
import { ownCode, plural } from './common.js';
import type { ErrorDescription, Serializer } from './index.js';

/** FirstHand's error types, by status; other 4xx are `invalid_request_error`, other 5xx `api_error`. */
const FIRSTHAND_TYPES: Readonly<Record<number, FirsthandErrorType>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
  500: 'api_error',
};

export type FirsthandErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'api_error';

const TYPES: readonly string[] = [
  'invalid_request_error',
  'authentication_error',
  'permission_error',
  'not_found_error',
  'rate_limit_error',
  'api_error',
];

export interface FirsthandOptions {
  /** The text of a rate refusal. Defaults to `Too many requests. Please retry after 30 seconds.` */
  rateLimitMessage?: (error: ErrorDescription) => string;
}

/** The error's `type`: the application's code when it is one of the types, else the status's. */
export function firsthandType(error: ErrorDescription): FirsthandErrorType {
  const code = ownCode(error);
  if (typeof code === 'string' && TYPES.includes(code)) return code as FirsthandErrorType;
  return FIRSTHAND_TYPES[error.status] ?? (error.status >= 500 ? 'api_error' : 'invalid_request_error');
}

function defaultRateLimitMessage(error: ErrorDescription): string {
  return error.retryAfter === undefined
    ? 'Too many requests.'
    : `Too many requests. Please retry after ${plural(error.retryAfter, 'second')}.`;
}

/** The JSON Schema of every body the `firsthand` serializer renders. */
export const firsthandErrorSchema: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://tollgate.dev/schemas/firsthand-error.json',
  title: 'FirstHand error',
  type: 'object',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: {
      type: 'object',
      required: ['type', 'message', 'request_id'],
      additionalProperties: false,
      properties: {
        type: { enum: [...TYPES] },
        message: { type: 'string', minLength: 1 },
        request_id: { type: 'string', minLength: 1, maxLength: 128 },
      },
    },
  },
};

/**
 * FirstHand's error body:
 * `{"error":{"type":"rate_limit_error","message":"Too many requests. Please retry after 30 seconds.","request_id":"req_…"}}`.
 * `type` is the status's (`authentication_error` 401, `invalid_request_error` 400,
 * `permission_error` 403, `not_found_error` 404, `rate_limit_error` 429, `api_error` 5xx),
 * unless the application's code is itself one of these types. The retry seconds equal `Retry-After`.
 * @example
 * rateLimit({ scopes, headers: 'x-ratelimit', serializer: firsthandSerializer() });
 */
export function firsthandSerializer(options: FirsthandOptions = {}): Serializer {
  const rateLimitMessage = options.rateLimitMessage ?? defaultRateLimitMessage;
  return {
    name: 'firsthand',
    contentType: 'application/json; charset=utf-8',
    schema: firsthandErrorSchema,
    render(error) {
      return {
        error: {
          type: firsthandType(error),
          message: error.status === 429 ? rateLimitMessage(error) : error.message,
          request_id: error.requestId,
        },
      };
    },
  };
}

export const firsthand: Serializer = firsthandSerializer();
