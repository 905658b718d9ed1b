import type { JsonSchema } from '../options/validation.js';
import { appDetails, ownCode, rateFigures } from './common.js';
import type { ErrorDescription, Serializer } from './index.js';

export type FluidSeverity = 'low' | 'medium' | 'high' | 'critical';

const SEVERITIES: readonly FluidSeverity[] = ['low', 'medium', 'high', 'critical'];
const RESERVED = ['limit', 'window', 'retry_after'];

export interface FluidOptions {
  /**
   * The `category` of an error. Defaults to `security` for 401, 403 and 429 (FLUID documents
   * its rate limits as a security control), `system` for 5xx, and `validation` for other 4xx.
   */
  category?: string | ((error: ErrorDescription) => string);
  /**
   * The `severity` of an error. Defaults to `medium` for 401, 403 and 429, `high` for 5xx, and
   * `low` for other 4xx.
   */
  severity?: FluidSeverity | ((error: ErrorDescription) => FluidSeverity);
  /**
   * The code of a 429 whose scope has no numeric code. Defaults to `1429`, FLUID's general
   * rate-limit code.
   */
  rateLimitCode?: number;
}

function isAccessControl(status: number): boolean {
  return status === 401 || status === 403 || status === 429;
}

export function defaultFluidCategory(error: ErrorDescription): string {
  if (isAccessControl(error.status)) return 'security';
  return error.status >= 500 ? 'system' : 'validation';
}

export function defaultFluidSeverity(error: ErrorDescription): FluidSeverity {
  if (isAccessControl(error.status)) return 'medium';
  return error.status >= 500 ? 'high' : 'low';
}

/** The JSON Schema of every body the `fluid` serializer renders. */
export const fluidErrorSchema: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://tollgate.dev/schemas/fluid-error.json',
  title: 'FLUID Network error',
  type: 'object',
  required: ['error'],
  additionalProperties: false,
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'category', 'severity'],
      additionalProperties: false,
      properties: {
        code: { type: 'integer', minimum: 0 },
        message: { type: 'string', minLength: 1 },
        category: { type: 'string', minLength: 1 },
        severity: { enum: [...SEVERITIES] },
        details: {
          type: 'object',
          minProperties: 1,
          properties: {
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
 * FLUID Network's error body:
 * `{"error":{"code":1454,"message":"Rate limit exceeded for payment partner","category":"security","severity":"medium","details":{"limit":1000,"window":"1 minute","retry_after":45}}}`.
 *
 * - `code`: the scope's numeric code on a 429 (else `rateLimitCode`); the application's
 *   numeric code on its own errors; otherwise the HTTP status itself.
 * - `message`: the scope's `message` verbatim, or the application's.
 * - `details.limit` and `details.window`: the limit the headers report (pin it with the
 *   scope's `headerLimit`); `details.retry_after` equals the `Retry-After` header whenever one
 *   is sent. The application's details join them; `details` is left out when empty.
 * @example
 * rateLimit({ scopes, headers: 'ratelimit', serializer: fluidSerializer({ severity: 'high' }) });
 */
export function fluidSerializer(options: FluidOptions = {}): Serializer {
  const { category = defaultFluidCategory, severity = defaultFluidSeverity, rateLimitCode = 1429 } = options;
  if (!Number.isSafeInteger(rateLimitCode) || rateLimitCode < 0)
    throw new RangeError(
      `fluidSerializer: rateLimitCode must be a non-negative integer, got ${rateLimitCode}`,
    );
  if (typeof severity === 'string' && !SEVERITIES.includes(severity))
    throw new RangeError(
      `fluidSerializer: severity must be one of ${SEVERITIES.join(', ')}, got ${severity}`,
    );
  const categoryOf = typeof category === 'string' ? () => category : category;
  const severityOf = typeof severity === 'string' ? () => severity : severity;

  function codeOf(error: ErrorDescription): number {
    const code = ownCode(error);
    if (typeof code === 'number' && Number.isSafeInteger(code) && code >= 0) return code;
    return error.status === 429 ? rateLimitCode : error.status;
  }

  return {
    name: 'fluid',
    contentType: 'application/json; charset=utf-8',
    schema: fluidErrorSchema,
    render(error) {
      const figures = rateFigures(error);
      const details = {
        ...(figures === undefined ? {} : { limit: figures.limit, window: figures.window }),
        ...(error.retryAfter === undefined ? {} : { retry_after: error.retryAfter }),
        ...appDetails(error, RESERVED),
      };
      return {
        error: {
          code: codeOf(error),
          message: error.message,
          category: categoryOf(error),
          severity: severityOf(error),
          ...(Object.keys(details).length === 0 ? {} : { details }),
        },
      };
    },
  };
}

export const fluid: Serializer = fluidSerializer();
