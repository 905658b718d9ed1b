import type { ErrorBody } from './body.js';
import { ClientError, type ClientErrorCode } from './errors.js';
import type { RateLimitReading } from './headers.js';
import type { ClientConfig, RetryOptions } from './options.js';
import { periodEnd, type Refusal } from './refusal.js';

/** A kind of failure with a retry schedule of its own. */
export type FailureKind = 'rateLimited' | 'serverError' | 'timeout' | 'network';

export type RetryCounts = Record<FailureKind, number>;

/** One attempt's answer: `status` undefined when `fetch` itself rejected. */
export interface Answer {
  readonly status: number | undefined;
  readonly reading: RateLimitReading;
  readonly body: ErrorBody;
  readonly response: Response | undefined;
  readonly cause?: unknown;
}

/** The call, as far as deciding goes. */
export interface CallFacts {
  readonly method: string;
  readonly url: string;
  readonly retryable: boolean;
  readonly deadline: number | undefined;
  readonly attempts: number;
  readonly retries: Readonly<RetryCounts>;
}

export type Outcome =
  | { readonly type: 'resolve' }
  | { readonly type: 'reject'; readonly error: ClientError }
  | {
      readonly type: 'retry';
      readonly kind: FailureKind;
      readonly waitMs: number;
      readonly retryAfterMs: number | undefined;
    };

const CODES: Record<FailureKind, ClientErrorCode> = {
  rateLimited: 'RATE_LIMITED',
  serverError: 'SERVER_ERROR',
  timeout: 'TIMEOUT',
  network: 'NETWORK_ERROR',
};

function kindOf(status: number | undefined): FailureKind | undefined {
  if (status === undefined) return 'network';
  if (status === 429) return 'rateLimited';
  if (status === 504) return 'timeout';
  return status >= 500 ? 'serverError' : undefined;
}

/** `random()` kept to [0, 1), whatever an injected source returns. */
function unit(random: () => number): number {
  const r = random();
  return r >= 0 && r < 1 ? r : 0;
}

/** Retry `n` (from 1): `min(capMs, baseMs × factor^(n−1) + random × jitterMs)`. */
export function backoffMs(schedule: RetryOptions[FailureKind], n: number, random: () => number): number {
  const exponential = schedule.baseMs * schedule.factor ** Math.max(0, n - 1);
  return Math.min(schedule.capMs, exponential + unit(random) * schedule.jitterMs);
}

function spendCapError(answer: Answer, facts: CallFacts, now: number): ClientError {
  const { reading, body } = answer;
  const reason = reading.reason ?? body.reason ?? body.code;
  const ra = reading.retryAfterMs;
  const exhausted = reading.policies.find((p) => p.remaining === 0 && p.resetAt !== undefined);
  const clears = ra !== undefined ? now + ra : (exhausted?.resetAt ?? periodEnd(reason, now));
  const when = clears === undefined ? 'when its period ends' : `at ${new Date(clears).toISOString()}`;
  return new ClientError(
    'SPEND_CAP_EXCEEDED',
    `Spending cap reached (${reason ?? 'cap'}): it clears ${when}`,
    {
      status: 429,
      ...(answer.response === undefined ? {} : { response: answer.response }),
      attempts: facts.attempts,
      ...(ra === undefined ? {} : { retryAfterMs: ra }),
      ...(clears === undefined ? {} : { clearsAt: new Date(clears) }),
      ...(reason === undefined ? {} : { reason }),
      ...(body.code === undefined ? {} : { serverCode: body.code }),
    },
  );
}

function failure(code: ClientErrorCode, message: string, answer: Answer, facts: CallFacts): ClientError {
  const ra = answer.reading.retryAfterMs;
  const reason = answer.reading.reason ?? answer.body.reason;
  return new ClientError(code, `${facts.method} ${facts.url}: ${message}`, {
    ...(answer.status === undefined ? {} : { status: answer.status }),
    ...(answer.response === undefined ? {} : { response: answer.response }),
    attempts: facts.attempts,
    ...(ra === undefined ? {} : { retryAfterMs: ra }),
    ...(reason === undefined ? {} : { reason }),
    ...(answer.body.code === undefined ? {} : { serverCode: answer.body.code }),
    ...(answer.cause === undefined ? {} : { cause: answer.cause }),
  });
}

function describe(answer: Answer): string {
  if (answer.status === undefined)
    return `fetch failed (${answer.cause instanceof Error ? answer.cause.message : String(answer.cause)})`;
  return `HTTP ${answer.status}${answer.body.code === undefined ? '' : ` ${answer.body.code}`}`;
}

/**
 * What to do with an answer: hand it back, reject, or wait and retry. A 429 waits exactly
 * `Retry-After` (plus optional jitter, never less), else backs off; a refusal waiting cannot
 * fix, a wait beyond `maxWaitMs`, or one past the call's deadline rejects at once.
 */
export function classify(config: ClientConfig, answer: Answer, facts: CallFacts, now: number): Outcome {
  const kind = kindOf(answer.status);
  if (kind === undefined) return { type: 'resolve' };
  const { reading, body } = answer;
  if (kind === 'rateLimited') {
    const refusal: Refusal = {
      status: 429,
      reason: reading.reason ?? body.reason,
      code: body.code,
      problemType: body.problemType,
    };
    if (config.isFinal(refusal)) return { type: 'reject', error: spendCapError(answer, facts, now) };
  }
  const code = CODES[kind];
  const reject = (message: string): Outcome => ({
    type: 'reject',
    error: failure(code, message, answer, facts),
  });
  if (!config.retryEnabled) return reject(`${describe(answer)}; retries are off`);
  if (!facts.retryable)
    return reject(
      `${describe(answer)}; not retried: ${facts.method} is not idempotent and carries no Idempotency-Key`,
    );
  const schedule = config.retry[kind];
  const n = facts.retries[kind] + 1;
  if (n > schedule.retries) return reject(`${describe(answer)} after ${facts.attempts} attempts`);
  const ra = kind === 'network' ? undefined : reading.retryAfterMs;
  if (ra !== undefined && ra > config.maxWaitMs)
    return reject(
      `${describe(answer)}; the server asks to wait ${Math.ceil(ra / 1000)} s, more than maxWaitMs (${config.maxWaitMs} ms)`,
    );
  const asked =
    ra === undefined
      ? backoffMs(schedule, n, config.random)
      : ra + unit(config.random) * config.retry.retryAfterJitterMs;
  // Retry-After ≤ maxWaitMs here, so the clamp never shortens what the server asked for.
  const waitMs = Math.min(asked, Math.max(config.maxWaitMs, ra ?? 0));
  if (facts.deadline !== undefined && now + waitMs > facts.deadline)
    return {
      type: 'reject',
      error: new ClientError(
        'DEADLINE_EXCEEDED',
        `${facts.method} ${facts.url}: ${describe(answer)}; the retry would wait ${Math.ceil(waitMs)} ms, past the call's deadline`,
        {
          ...(answer.status === undefined ? {} : { status: answer.status }),
          ...(answer.response === undefined ? {} : { response: answer.response }),
          attempts: facts.attempts,
          ...(ra === undefined ? {} : { retryAfterMs: ra }),
        },
      ),
    };
  return { type: 'retry', kind, waitMs, retryAfterMs: ra };
}
