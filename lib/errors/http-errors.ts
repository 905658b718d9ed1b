import { type ErrorDescription, type Serializer, serializers, statusTitle } from '../serializers/index.js';

export interface HttpErrorOptions {
  /** The machine code a serializer shows: `'USER_NOT_FOUND'`, `1454`, `'not_found_error'`. */
  code?: string | number;
  /** Extra fields for the body, where the serializer's schema has room for them (`details`). */
  details?: Record<string, unknown>;
  /** Response headers to send with the error, e.g. `{ 'WWW-Authenticate': 'Bearer' }`. */
  headers?: Record<string, string>;
  /** Seconds until a retry can succeed: sent as `Retry-After` and shown by serializers that have a field for it. */
  retryAfter?: number;
  /**
   * Whether the message, code and details may be shown to the client. Defaults to `true`: the
   * application wrote them for its clients. When `false`, the client sees only the status's title.
   */
  expose?: boolean;
  cause?: unknown;
}

/**
 * An error the application throws for the error handler to render in the API's schema.
 * @example
 * throw new HttpError(404, 'User "carol" not found', { code: 'USER_NOT_FOUND', details: { user_id: 'carol' } });
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string | number | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly retryAfter: number | undefined;
  readonly expose: boolean;

  /** @param status An HTTP error status, 400–599. @param message Defaults to the status's title, e.g. `Not Found`. */
  constructor(status: number, message?: string, options: HttpErrorOptions = {}) {
    if (!Number.isInteger(status) || status < 400 || status > 599)
      throw new RangeError(`HttpError: status must be an HTTP error status (400-599), got ${status}`);
    if (
      options.retryAfter !== undefined &&
      !(Number.isSafeInteger(options.retryAfter) && options.retryAfter > 0)
    )
      throw new RangeError(`HttpError: retryAfter must be a positive integer, got ${options.retryAfter}`);
    super(message ?? statusTitle(status), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpError';
    this.status = status;
    this.code = options.code;
    this.details = options.details;
    this.headers = options.headers;
    this.retryAfter = options.retryAfter;
    this.expose = options.expose ?? true;
  }

  /** The same as `status`, for code written against Node's and http-errors' spelling. */
  get statusCode(): number {
    return this.status;
  }
}

/** The answer to an error, ready for any framework to send. */
export interface ErrorAnswer {
  readonly status: number;
  /** Headers the error asked for (`WWW-Authenticate`, `Retry-After`, …), without `Content-Type` or `X-Request-Id`. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly contentType: string;
  readonly body: string;
  readonly requestId: string;
  /** What the serializer was given. */
  readonly description: ErrorDescription;
  /**
   * Whether the error was meant for the client (an `HttpError`, a body parser's 400). `false`
   * for anything the handler hid behind a 500: the one to log.
   */
  readonly expected: boolean;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]{0,4096}$/;
/** Headers a rendered body sets itself; an error may not override them. */
const OWN_HEADERS = new Set(['content-type', 'content-length', 'x-request-id', 'retry-after']);

/**
 * What a serializer may show of any thrown value. Recognised by shape, not by class, so that
 * `HttpError`s from another copy of tollgate, http-errors (Koa's `ctx.throw`, body-parser) and
 * similar objects all render:
 * - an object with an HTTP error `status` (or `statusCode`) of 400–599 keeps it; its message,
 *   code, details and headers show when it is exposed (`expose`, default: status below 500);
 * - a body parser's malformed-JSON error (`type: 'entity.parse.failed'`) is a 400 with a fixed
 *   message, never the parser's text, which quotes the body;
 * - anything else is a 500 whose message says nothing of the error.
 */
export function describeError(
  error: unknown,
  requestId: string,
): { description: ErrorDescription; headers: Array<readonly [string, string]>; expected: boolean } {
  const fields = typeof error === 'object' && error !== null ? (error as Record<string, unknown>) : undefined;
  const status = fields === undefined ? undefined : errorStatus(fields);
  if (fields === undefined || status === undefined) {
    return { description: describe(500, statusTitle(500), requestId), headers: [], expected: false };
  }
  // body-parser's malformed JSON, and co-body's (under @koa/bodyparser): a SyntaxError with
  // status 400 whose text quotes the body. Either way the answer is fixed, never the body back.
  const malformedJson =
    fields.type === 'entity.parse.failed' ||
    (error instanceof SyntaxError && status === 400 && typeof fields.body === 'string');
  if (malformedJson) {
    return {
      description: describe(400, 'The request body is not valid JSON', requestId),
      headers: [],
      expected: true,
    };
  }
  const expose = typeof fields.expose === 'boolean' ? fields.expose : status < 500;
  if (!expose)
    return { description: describe(status, statusTitle(status), requestId), headers: [], expected: false };

  const message =
    typeof fields.message === 'string' && fields.message !== '' ? fields.message : statusTitle(status);
  const code = fields.code;
  const retryAfter =
    typeof fields.retryAfter === 'number' && Number.isSafeInteger(fields.retryAfter) && fields.retryAfter > 0
      ? fields.retryAfter
      : undefined;
  const headers = safeHeaders(fields.headers);
  if (retryAfter !== undefined) headers.push(['Retry-After', String(retryAfter)]);
  return {
    description: {
      status,
      code:
        (typeof code === 'string' && code !== '' && code.length <= 128) ||
        (typeof code === 'number' && Number.isSafeInteger(code) && code >= 0)
          ? code
          : undefined,
      message,
      reason: undefined,
      retryAfter,
      requestId,
      decision: undefined,
      ...(isPlainObject(fields.details) ? { details: fields.details } : {}),
    },
    headers,
    expected: true,
  };
}

/**
 * Renders any thrown value in a serializer's schema: the framework-free half of an error
 * handler. The adapter sends `status`, `headers`, `X-Request-Id: requestId` and `body` as
 * `contentType`.
 * @example
 * const answer = renderError(err, { serializer: serializers.fastino, requestId: requestIdOf(req.headers) });
 */
export function renderError(
  error: unknown,
  options: { serializer?: Serializer; requestId: string },
): ErrorAnswer {
  const serializer = options.serializer ?? serializers.problem;
  const { description, headers, expected } = describeError(error, options.requestId);
  return {
    status: description.status,
    headers,
    contentType: serializer.contentType,
    body: JSON.stringify(serializer.render(description)),
    requestId: options.requestId,
    description,
    expected,
  };
}

function describe(status: number, message: string, requestId: string): ErrorDescription {
  return {
    status,
    code: undefined,
    message,
    reason: undefined,
    retryAfter: undefined,
    requestId,
    decision: undefined,
  };
}

function errorStatus(fields: Record<string, unknown>): number | undefined {
  const status = typeof fields.status === 'number' ? fields.status : fields.statusCode;
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599
    ? status
    : undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The error's own headers that can be sent as they are: a bad one must not turn the error answer into a crash. */
function safeHeaders(headers: unknown): Array<readonly [string, string]> {
  if (!isPlainObject(headers)) return [];
  const out: Array<readonly [string, string]> = [];
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string' || !HEADER_NAME.test(name) || !HEADER_VALUE.test(value)) continue;
    if (OWN_HEADERS.has(name.toLowerCase())) continue;
    out.push([name, value]);
  }
  return out;
}
