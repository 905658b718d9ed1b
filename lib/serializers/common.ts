import { describeDuration } from '../core/duration.js';
import type { ErrorDescription } from './index.js';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** The status's reason phrase (RFC 9110 §15), e.g. `Not Found`; a generic one for unlisted statuses. */
export function statusTitle(status: number): string {
  return TITLES[status] ?? (status >= 500 ? 'Server Error' : 'Client Error');
}

/** `1 second`, `30 seconds`. */
export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** The figures a rate refusal's text is templated from. */
export interface RateFigures {
  /** The reported limit: what the single-value headers say (`RateLimit-Limit`). */
  readonly limit: number;
  /** Its window in words: `1 minute`, `1 hour`. */
  readonly window: string;
}

/**
 * The limit a refusal reports, as its headers state it (the scope's `headerLimit` when it has
 * one), so that a body never contradicts `RateLimit-Limit`. `undefined` for anything but a
 * 429 decided by a limit, e.g. the application's own errors.
 */
export function rateFigures(error: ErrorDescription): RateFigures | undefined {
  const decision = error.decision;
  if (error.status !== 429 || decision === undefined) return undefined;
  if (!Number.isFinite(decision.limit) || decision.windowMs <= 0) return undefined;
  // A spending cap counts credits, not requests: "1000 per 1 day" would misstate it.
  const refused = decision.policies.find((policy) => policy.id === decision.reason) as
    | { unit?: string }
    | undefined;
  if (refused?.unit === 'credits') return undefined;
  return { limit: decision.limit, window: describeDuration(decision.windowMs) };
}

/**
 * Whether the description's `code` was chosen for this answer. tollgate's own non-429
 * answers (a missing key's 401, an invalid cost's 400, a store outage's 503) carry the scope's
 * code, which names its rate refusals: for those the status says more.
 */
export function ownCode(error: ErrorDescription): string | number | undefined {
  return error.decision === undefined || error.status === 429 ? error.code : undefined;
}

/** The application's details, minus the fields a preset reserves for itself. */
export function appDetails(
  error: ErrorDescription,
  reserved: readonly string[],
): Record<string, unknown> | undefined {
  if (error.details === undefined) return undefined;
  const out: Record<string, unknown> = {};
  let any = false;
  for (const [name, value] of Object.entries(error.details)) {
    if (reserved.includes(name) || value === undefined) continue;
    out[name] = value;
    any = true;
  }
  return any ? out : undefined;
}

/** The text as a sentence: with a final full stop unless it already ends one. */
export function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
