import type { JsonSchema } from '../options/validation.js';
import { appDetails, ownCode, plural, rateFigures, sentence } from './common.js';
import type { ErrorDescription, Serializer } from './index.js';

/** Fastino's machine codes by status; statuses it does not list fall back by class. */
const FASTINO_CODES: Readonly<Record<number, string>> = {
  400: 'INVALID_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  429: 'RATE_LIMIT_EXCEEDED',
  500: 'SERVER_ERROR',
  // Fastino documents no 503 code; its 500 guidance (back off and retry) is the right one.
  503: 'SERVER_ERROR',
  504: 'TIMEOUT',
};

const MACHINE_CODE = /^[A-Z][A-Z0-9_]{0,63}$/;
const RESERVED = ['request_id', 'limit', 'window', 'retry_after'];

export interface FastinoOptions {
  /**
   * The text of a rate refusal. Defaults to
   * `Rate limit exceeded: 60 requests per 1 minute. Retry after 42 seconds.`
   */
  rateLimitMessage?: (error: ErrorDescription) => string;
}

/** The machine code of an error: the application's own when it is one, else the status's. */
export function fastinoCode(error: ErrorDescription): string {
  const code = ownCode(error);
  if (typeof code === 'string' && MACHINE_CODE.test(code)) return code;
  return FASTINO_CODES[error.status] ?? (error.status >= 500 ? 'SERVER_ERROR' : 'INVALID_REQUEST');
}

function defaultRateLimitMessage(error: ErrorDescription): string {
  const figures = rateFigures(error);
  const text =
    figures === undefined
      ? sentence(error.message)
      : `Rate limit exceeded: ${figures.limit} requests per ${figures.window}.`;
  return error.retryAfter === undefined ? text : `${text} Retry after ${plural(error.retryAfter, 'second')}.`;
}

/** The JSON Schema of every body the `fastino` serializer renders. */
export const fastinoErrorSchema: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://tollgate.dev/schemas/fastino-error.json',
  title: 'Fastino error',
  type: 'object',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details'],
      additionalProperties: false,
      properties: {
        code: { type: 'string', pattern: MACHINE_CODE.source },
        message: { type: 'string', minLength: 1 },
        details: {
          type: 'object',
          required: ['request_id'],
          properties: {
            request_id: { type: 'string', minLength: 1, maxLength: 128 },
            limit: { type: 'integer', minimum: 1 },
            window: { type: 'string', minLength: 1 },
            retry_after: { type: 'integer', minimum: 1 },
          },
        },
      },
    },
  },
};

/**
 * Fastino's error body, for every error and not only 429:
 * `{"error":{"code":"RATE_LIMIT_EXCEEDED","message":"…","details":{"limit":60,"window":"1 minute","retry_after":42,"request_id":"req_…"}}}`.
 * `code` is the application's own machine code (`USER_NOT_FOUND`) or the status's:
 * INVALID_REQUEST 400, UNAUTHORIZED 401, FORBIDDEN 403, NOT_FOUND 404, RATE_LIMIT_EXCEEDED 429,
 * SERVER_ERROR 500 and 503, TIMEOUT 504. `details` always carries `request_id`.
 * @example
 * app.use(rateLimit({ scopes: [scope.apiKey({ limits: [{ max: 60, window: '1m' }] })], serializer: fastinoSerializer() }));
 */
export function fastinoSerializer(options: FastinoOptions = {}): Serializer {
  const rateLimitMessage = options.rateLimitMessage ?? defaultRateLimitMessage;
  return {
    name: 'fastino',
    contentType: 'application/json; charset=utf-8',
    schema: fastinoErrorSchema,
    render(error) {
      const figures = rateFigures(error);
      return {
        error: {
          code: fastinoCode(error),
          message: error.status === 429 ? rateLimitMessage(error) : error.message,
          details: {
            ...appDetails(error, RESERVED),
            ...(figures === undefined ? {} : { limit: figures.limit, window: figures.window }),
            ...(error.retryAfter === undefined ? {} : { retry_after: error.retryAfter }),
            request_id: error.requestId,
          },
        },
      };
    },
  };
}

export const fastino: Serializer = fastinoSerializer();
