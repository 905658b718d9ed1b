import { Call, type ClientParts, type PreparedCall } from './call.js';
import { ClientError } from './errors.js';
import { type ClientEvents, Emitter, type Listener } from './events.js';
import { type ClientMetrics, MetricsRecorder } from './metrics.js';
import { type ClientConfig, type ClientOptions, resolveOptions } from './options.js';
import { PolicyTracker } from './policies.js';
import { RequestQueue } from './queue.js';

/** `RequestInit` plus what the client adds for one call. */
export interface ClientRequestInit extends RequestInit {
  /** The latest time (ms on the client's clock) an attempt may start; a wait past it rejects at once. */
  deadline?: number;
  /** This call's time budget; overrides the client's `timeoutMs`. */
  timeoutMs?: number;
  /** `false`: never retry this call. */
  retry?: false;
  /** The group whose limits this call counts against; overrides the client's `bucket`. */
  bucket?: string;
}

export interface Client {
  /** Sends a request, waiting and retrying as the policy allows; rejects with a `ClientError`. */
  fetch(path: string | URL, init?: ClientRequestInit): Promise<Response>;
  /** Usage figures: counters since creation or the last `resetMetrics()`, peaks since creation. */
  metrics(): ClientMetrics;
  /** Returns the figures, then zeroes the counters; peaks and the tracked policies are kept. */
  resetMetrics(): ClientMetrics;
  /** Subscribes to `alert`, `retry` or `throttle` events; returns the unsubscribe function. */
  on<K extends keyof ClientEvents>(name: K, listener: Listener<ClientEvents[K]>): () => void;
}

/** `path` against `baseUrl`: a relative path is appended to it (keeping its own path), an absolute URL is kept. */
function resolveUrl(baseUrl: string, path: string | URL): string {
  const text = String(path);
  if (/^[a-z][a-z0-9+.-]*:/i.test(text)) return text;
  return `${baseUrl}/${text.replace(/^\/+/, '')}`;
}

function isStream(body: unknown): boolean {
  return typeof ReadableStream !== 'undefined' && body instanceof ReadableStream;
}

function prepare(config: ClientConfig, path: string | URL, init: ClientRequestInit): PreparedCall {
  const { deadline, timeoutMs, retry, bucket, ...fetchInit } = init;
  const method = (fetchInit.method ?? 'GET').toUpperCase();
  const url = resolveUrl(config.baseUrl, path);
  const headers = new Headers(config.headers);
  new Headers(fetchInit.headers).forEach((value, name) => {
    headers.set(name, value);
  });
  const idempotent = config.retry.idempotentMethods.includes(method);
  if (config.idempotencyKey !== undefined && !idempotent && !headers.has(config.idempotencyHeader))
    headers.set(config.idempotencyHeader, config.idempotencyKey());
  const budget = timeoutMs ?? config.timeoutMs;
  const deadlines = [deadline, budget === undefined ? undefined : config.now() + budget].filter(
    (d): d is number => typeof d === 'number' && !Number.isNaN(d),
  );
  return {
    url,
    method,
    init: { ...fetchInit, method, headers },
    // A streamed body cannot be sent twice.
    retryable:
      retry !== false && !isStream(fetchInit.body) && (idempotent || headers.has(config.idempotencyHeader)),
    deadline: deadlines.length === 0 ? undefined : Math.min(...deadlines),
    bucket: bucket ?? config.bucket(url, method),
    signal: fetchInit.signal ?? undefined,
  };
}

/**
 * A fetch-based client that honours what a rate-limited API says: `Retry-After`, the
 * `RateLimit` headers in every dialect, spending caps, and its own queue and throttle.
 */
export function createClient(options: ClientOptions): Client {
  const config = resolveOptions(options);
  const events = new Emitter();
  const tracker = new PolicyTracker();
  const throttle = config.throttle;
  const queue = new RequestQueue({
    concurrency: config.concurrency,
    spacingMs: config.spacingMs,
    maxWaitMs: config.maxWaitMs,
    now: config.now,
    sleep: config.sleep,
    gate: (bucket, now) =>
      throttle === undefined ? now : tracker.gate(bucket, now, throttle, config.maxWaitMs),
    onWait: (waitMs, bucket) => events.emit('throttle', { bucket, waitMs }),
  });
  const metrics = new MetricsRecorder(config.alerts, tracker, events);
  const parts: ClientParts = { config, queue, tracker, metrics, events };
  let seq = 0;
  const snapshot = () => metrics.snapshot(config.now(), { queued: queue.queued, in_flight: queue.running });

  return {
    fetch(path, init = {}) {
      let prepared: PreparedCall;
      try {
        prepared = prepare(config, path, init);
      } catch (cause) {
        return Promise.reject(new ClientError('INVALID_OPTIONS', `api.fetch: ${String(cause)}`, { cause }));
      }
      return new Promise<Response>((resolve, reject) => {
        new Call(parts, prepared, seq++, { resolve, reject }).begin();
      });
    },
    metrics: snapshot,
    resetMetrics() {
      const figures = snapshot();
      metrics.reset();
      return figures;
    },
    on: (name, listener) => events.on(name, listener),
  };
}
