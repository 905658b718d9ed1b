/** What an error body says, in whichever of the common shapes it came. */
export interface ErrorBody {
  /** The machine code: `1454`, `RATE_LIMIT_EXCEEDED`, `rate_limit_error`, a problem type's last segment. */
  readonly code?: string;
  /** An RFC 9457 problem type URI. */
  readonly problemType?: string;
  /** A `reason` member (tollgate's problem bodies carry `X-RateLimit-Reason` there too). */
  readonly reason?: string;
  /** Human text: `message`, `detail` or `title`. */
  readonly message?: string;
}

/** Error bodies are read up to this size; the rest is left unread. */
export const MAX_BODY_BYTES = 64 * 1024;
const CODE = /^[A-Za-z0-9_.:#/-]{1,128}$/;

/**
 * The first `MAX_BODY_BYTES` of a response's body, as text, from a clone, so that the
 * response handed back to the caller keeps its body. Never throws.
 */
export async function peekText(response: Response): Promise<string> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    const body = response.clone().body;
    if (body === null) return '';
    reader = body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    while (size < MAX_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
    const bytes = new Uint8Array(Math.min(size, MAX_BODY_BYTES));
    let at = 0;
    for (const chunk of chunks) {
      const part = chunk.subarray(0, bytes.length - at);
      bytes.set(part, at);
      at += part.length;
    }
    return new TextDecoder().decode(bytes);
  } catch {
    return '';
  } finally {
    // The unread rest of a large or endless body is dropped rather than buffered.
    reader?.cancel().catch(() => {});
  }
}

function text(value: unknown, pattern?: RegExp): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim().slice(0, 500);
  if (trimmed === '') return undefined;
  return pattern === undefined || pattern.test(trimmed) ? trimmed : undefined;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** `https://iana.org/assignments/http-problem-types#quota-exceeded` → `quota-exceeded`. */
function lastSegment(uri: string): string | undefined {
  const segment = uri
    .split(/[#/]/)
    .filter((part) => part !== '')
    .pop();
  return segment === undefined ? undefined : text(segment, CODE);
}

function compact(body: { [K in keyof ErrorBody]: string | undefined }): ErrorBody {
  const out: { -readonly [K in keyof ErrorBody]?: string } = {};
  for (const key of ['code', 'problemType', 'reason', 'message'] as const) {
    const value = body[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/**
 * Reads the error code from RFC 9457 problem details, `{"error":{"code"}}` (numeric or
 * string), `{"error":{"type"}}` or FastAPI's `{"detail"}`. Anything else reads as empty.
 */
export function parseErrorBody(raw: string): ErrorBody {
  if (raw === '' || raw.length > MAX_BODY_BYTES) return {};
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return {};
  }
  const top = record(json);
  if (top === undefined) return {};
  const error = record(top.error);
  if (error !== undefined)
    return compact({
      code: text(error.code, CODE) ?? text(error.type, CODE),
      problemType: undefined,
      reason: text(error.reason, CODE),
      message: text(error.message),
    });
  const problemType = text(top.type);
  const detail = record(top.detail);
  if (detail !== undefined)
    return compact({
      code: text(detail.code, CODE) ?? text(detail.type, CODE),
      problemType: undefined,
      reason: undefined,
      message: text(detail.message) ?? text(detail.msg),
    });
  const detailText = text(top.detail);
  return compact({
    code:
      text(top.code, CODE) ??
      (problemType !== undefined && problemType !== 'about:blank' ? lastSegment(problemType) : undefined) ??
      // FastAPI's `detail` is usually prose; a bare token there is a code.
      (detailText !== undefined && /^[A-Za-z0-9_.:-]{1,64}$/.test(detailText) ? detailText : undefined),
    problemType,
    reason: text(top.reason, CODE),
    message: detailText ?? text(top.title),
  });
}
