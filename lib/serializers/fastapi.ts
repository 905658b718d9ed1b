import type { JsonSchema } from '../options/validation.js';
import { rateFigures } from './common.js';
import type { ErrorDescription, Serializer } from './index.js';

export interface FastapiOptions {
  /**
   * The text of a rate refusal after `Rate limit exceeded: `. Defaults to the limit and its
   * window, as slowapi words them: `200 per 1 minute`.
   */
  rateLimitDetail?: (error: ErrorDescription) => string;
}

function defaultRateLimitDetail(error: ErrorDescription): string {
  const figures = rateFigures(error);
  return figures === undefined ? error.message : `${figures.limit} per ${figures.window}`;
}

/** The JSON Schema of every body the `fastapi` serializer renders. */
export const fastapiErrorSchema: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://tollgate.dev/schemas/fastapi-error.json',
  title: 'FastAPI HTTPException',
  type: 'object',
  required: ['detail'],
  additionalProperties: false,
  properties: { detail: { type: 'string', minLength: 1 } },
};

/**
 * FastAPI's `HTTPException` body, as Pioneer sends it: `{"detail":"Rate limit exceeded: 200 per 1 minute"}`
 * for a refusal, `{"detail":"Not Found"}` for an application error without its own text.
 * The request id travels in the `X-Request-Id` header only: FastAPI's body has no field for it.
 * @example
 * rateLimit({ scopes, headers: 'ietf', serializer: fastapiSerializer() });
 */
export function fastapiSerializer(options: FastapiOptions = {}): Serializer {
  const rateLimitDetail = options.rateLimitDetail ?? defaultRateLimitDetail;
  return {
    name: 'fastapi',
    contentType: 'application/json',
    schema: fastapiErrorSchema,
    render(error) {
      return {
        detail: error.status === 429 ? `Rate limit exceeded: ${rateLimitDetail(error)}` : error.message,
      };
    },
  };
}

export const fastapi: Serializer = fastapiSerializer();
