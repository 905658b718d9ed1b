import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RequestHandler } from 'express';
import type { Cluster, Redis } from 'ioredis';
import type { Middleware } from 'koa';

/**
 * The part of tollgate's public API the benchmark uses, loaded from a built package (a `dist/`
 * directory) rather than from lib/: the same scenarios then run against any build, today's or
 * one from another commit. Only the package's entry points are imported, never its modules.
 */

/** The request description `limiter.check` takes (tollgate's `RequestInfo`). */
export interface RequestInfo {
  readonly ip: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly params: Record<string, string>;
  readonly raw: null;
}

export interface Limit {
  readonly max: number;
  readonly window: string;
}

export interface Scope<Raw> {
  readonly name: string;
  readonly key: 'ip' | { readonly header: string } | { readonly param: string };
  readonly limits: readonly Limit[];
  readonly code?: number;
  readonly headerLimit?: string;
  readonly burst?: number;
  readonly cost?: (req: { headers: Record<string, string | string[] | undefined>; raw: Raw }) => number;
}

/** The options the benchmark's policies set; `store` and `onStoreError` for the Redis scenarios. */
export interface Policy<Raw = unknown> {
  readonly scopes: readonly Scope<Raw>[];
  readonly headers?: 'ratelimit' | 'ietf' | false;
  readonly store?: object;
  readonly onStoreError?: 'open' | 'closed';
  /** `tollgate/metrics`' observer, for the metrics scenario. */
  readonly metrics?: object;
}

export interface Limiter {
  check(
    req: RequestInfo,
  ): Promise<
    { readonly allowed: boolean; readonly reason?: string; readonly storeError?: unknown } | undefined
  >;
}

export interface Tollgate {
  readonly createLimiter: (options: Policy<null>) => Limiter;
  readonly express: { rateLimit(options: Policy): RequestHandler };
  readonly koa: { rateLimit(options: Policy): Middleware };
  readonly RedisStore: new (options: {
    client: Redis | Cluster;
    timeoutMs?: number;
    refusalCache?: false;
  }) => object;
}

async function entry<T>(dist: string, name: string): Promise<T> {
  return (await import(pathToFileURL(join(dist, `${name}.js`)).href)) as T;
}

/** Loads the build in `dist` (the runner hands children a frozen copy in `TOLLGATE_DIST`). */
export async function loadTollgate(dist = process.env.TOLLGATE_DIST): Promise<Tollgate> {
  if (dist === undefined) throw new Error('TOLLGATE_DIST is not set');
  const [core, express, koa, redis] = await Promise.all([
    entry<Pick<Tollgate, 'createLimiter'>>(dist, 'index'),
    entry<Tollgate['express']>(dist, 'express'),
    entry<Tollgate['koa']>(dist, 'koa'),
    entry<Pick<Tollgate, 'RedisStore'>>(dist, 'redis'),
  ]);
  return { createLimiter: core.createLimiter, express, koa, RedisStore: redis.RedisStore };
}

/** `tollgate/metrics` of the build in `dist`, for the scenario that measures it; older builds have none. */
export async function loadMetrics(
  dist = process.env.TOLLGATE_DIST,
): Promise<{ prometheusMetrics(options: { registry: object; client?: object }): object }> {
  if (dist === undefined) throw new Error('TOLLGATE_DIST is not set');
  return entry(dist, 'metrics');
}
