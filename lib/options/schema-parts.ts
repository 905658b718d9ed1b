import { DURATION_PATTERN } from '../core/duration.js';

/** Pieces the option schemas share. `expected` finishes "<path> must be …" (see validation.ts). */

export const NAME_PATTERN = '^[A-Za-z][A-Za-z0-9_.-]{0,63}$';
export const NAME_WORDS = 'a name of letters, digits, "_", "." and "-" starting with a letter (at most 64)';
export const HEADER_PATTERN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$";
export const FIELD_PATTERN = '^[^\\u0000-\\u001f]{1,128}$';
export const FIELD_WORDS = 'a field name of 1 to 128 printable characters';

/** RFC 9651 Integers have at most 15 digits: a larger quota could not be advertised in RateLimit-Policy. */
export const MAX_QUOTA = 999_999_999_999_999;
export const positiveInteger = {
  type: 'integer',
  minimum: 1,
  maximum: MAX_QUOTA,
  expected: 'a positive integer (at most 15 digits)',
};
export const codeSchema = {
  anyOf: [
    { type: 'string', minLength: 1, maxLength: 128 },
    { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  ],
  expected: 'a string or a non-negative integer',
};
export const messageSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 1024,
  expected: 'a string of 1 to 1024 characters',
};
export const costSchema = {
  anyOf: [{ type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER }, { typeofFunction: true }],
  expected: 'a non-negative integer or a function of the request',
};

export const keySchema = {
  anyOf: [
    { enum: ['ip', 'apiKey'] },
    {
      type: 'object',
      additionalProperties: false,
      required: ['header'],
      properties: { header: { type: 'string', pattern: HEADER_PATTERN, expected: 'a header name' } },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['param'],
      properties: { param: { type: 'string', pattern: FIELD_PATTERN, expected: FIELD_WORDS } },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['body'],
      properties: { body: { type: 'string', pattern: FIELD_PATTERN, expected: FIELD_WORDS } },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['query'],
      properties: { query: { type: 'string', pattern: FIELD_PATTERN, expected: FIELD_WORDS } },
    },
    { typeofFunction: true },
  ],
  expected: "'ip', 'apiKey', { header }, { param }, { body }, { query } or a key function",
};

/** A duration option: ms as a positive integer, or a string such as `'1m'`. */
export function durationSchema(expected: string) {
  return {
    anyOf: [
      { type: 'integer', minimum: 1 },
      { type: 'string', pattern: DURATION_PATTERN },
    ],
    expected,
  };
}
