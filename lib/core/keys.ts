import { createHash } from 'node:crypto';
import type { KeySource } from '../options/options.js';
import { ipKey } from './ip.js';
import { isPromiseLike, type MaybePromise } from './maybe-promise.js';
import type { RequestInfo } from './request.js';

/**
 * Whether a value is kept readable in the store: 1 to 64 of `A-Z a-z 0-9 . _ @ -`, so free of
 * separators and braces (`/^[A-Za-z0-9._@-]{1,64}$/`, checked by char code since it runs for
 * every scope of every request).
 */
export function isReadableValue(value: string): boolean {
  const length = value.length;
  if (length === 0 || length > 64) return false;
  for (let i = 0; i < length; i++) {
    const c = value.charCodeAt(i);
    // 0-9, A-Z, a-z, then - . @ _
    if (
      !(
        (c >= 48 && c <= 57) ||
        (c >= 65 && c <= 90) ||
        (c >= 97 && c <= 122) ||
        c === 45 ||
        c === 46 ||
        c === 64 ||
        c === 95
      )
    )
      return false;
  }
  return true;
}

/**
 * The store-safe form of a scope's value. Short plain values stay readable; anything long or
 * containing `:`, `{}`, spaces or control characters is replaced by `#` and 22 characters of
 * its SHA-256 (132 bits), so store keys stay bounded whatever a client sends. `#` never
 * appears in a readable value, so the two forms cannot collide.
 */
export function storeValue(value: string, alwaysHash: boolean): string {
  if (!alwaysHash && isReadableValue(value)) return value;
  return `#${createHash('sha256').update(value).digest('base64url').slice(0, 22)}`;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function fieldOf(container: unknown, name: string): unknown {
  if (typeof container !== 'object' || container === null) return undefined;
  return Object.hasOwn(container, name) ? (container as Record<string, unknown>)[name] : undefined;
}

/**
 * A field's value as a key. Strings and finite numbers are themselves. Arrays and objects
 * (`?acct=A&acct=A`, `{"source_account": {"$ne": 1}}`) are counted under their JSON, hashed
 * later: treating them as "no key" would let any client skip the scope by repeating a field.
 */
function asKey(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === 'object' && value !== null) {
    try {
      return `\u0000${JSON.stringify(value)}`;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

const BEARER = /^Bearer[ \t]+([^ \t].*)$/i;

/**
 * Compiles a key source into a function returning the store-safe key value, or `undefined`
 * when the request has no value for the scope.
 */
export function compileKeySource<Raw>(
  source: KeySource<Raw>,
  options: { ipv6Subnet: number; apiKeyHeader: string },
): (req: RequestInfo<Raw>) => MaybePromise<string | undefined> {
  if (source === 'ip') {
    const bits = options.ipv6Subnet;
    return (req) => ipKey(req.ip, bits);
  }
  if (source === 'apiKey') {
    const fallback = options.apiKeyHeader.toLowerCase();
    return (req) => {
      const authorization = firstHeader(req.headers.authorization);
      const bearer = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1]?.trim();
      const key = bearer || firstHeader(req.headers[fallback])?.trim();
      return key ? storeValue(key, true) : undefined;
    };
  }
  if (typeof source === 'function') {
    return (req) => {
      const value = source(req);
      if (isPromiseLike(value)) return Promise.resolve(value).then((v) => safeKey(asKey(v)));
      return safeKey(asKey(value));
    };
  }
  if ('header' in source) {
    const name = source.header.toLowerCase();
    return (req) => {
      const value = req.headers[name];
      // A single header, as nearly every request sends it, without the generic conversions.
      if (typeof value === 'string') {
        const trimmed = value.trim();
        return trimmed === '' ? undefined : storeValue(trimmed, false);
      }
      return safeKey(asKey(firstHeader(value)?.trim()));
    };
  }
  if ('param' in source) {
    const name = source.param;
    return (req) => safeKey(asKey(fieldOf(req.params, name)));
  }
  if ('body' in source) {
    const name = source.body;
    return (req) => safeKey(asKey(fieldOf(req.body, name)));
  }
  const name = source.query;
  return (req) => safeKey(asKey(fieldOf(req.query, name)));
}

function safeKey(value: string | undefined): string | undefined {
  return value === undefined ? undefined : storeValue(value, false);
}
