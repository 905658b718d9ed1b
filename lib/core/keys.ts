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
 * A scope's key for a request: a store-safe value, `undefined` when the request has none, or
 * `false` when it has one that cannot be a key (nested past `MAX_KEY_DEPTH`, or larger than
 * `MAX_KEY_NODES` values): such a request is refused with a 400, never left uncounted.
 */
export type KeyValue = string | undefined | false;

/**
 * The store value shared by the requests that have no key for a scope whose `onMissing` is
 * `'share'`. `~` never appears in a readable value or a hash, so no client's value can be it.
 */
export const KEYLESS = '~keyless';

/** How deep and how large an array or object may be to be counted as a key. */
export const MAX_KEY_DEPTH = 32;
export const MAX_KEY_NODES = 4096;

/**
 * A field's value as a key. Strings and numbers are themselves. Arrays and objects
 * (`?acct=A&acct=A`, `{"source_account": {"$ne": 1}}`) are counted under their JSON, hashed
 * later: treating them as "no key" would let any client skip the scope by repeating a field.
 * The JSON is written within bounds, by a walk of bounded depth, so that no value can overflow
 * the stack (as `JSON.stringify` of a deeply nested array does).
 */
function asKey(value: unknown): KeyValue {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number') return String(value);
  if (value === undefined || value === null) return undefined;
  const budget = { nodes: MAX_KEY_NODES };
  const json = boundedJson(value, 0, budget);
  return json === undefined ? false : `\u0000${json}`;
}

function boundedJson(value: unknown, depth: number, budget: { nodes: number }): string | undefined {
  if (--budget.nodes < 0) return undefined;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
  if (depth >= MAX_KEY_DEPTH) return undefined;
  const parts: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      const part = boundedJson(item, depth + 1, budget);
      if (part === undefined) return undefined;
      parts.push(part);
    }
    return `[${parts.join(',')}]`;
  }
  for (const name of Object.keys(value)) {
    const part = boundedJson((value as Record<string, unknown>)[name], depth + 1, budget);
    if (part === undefined) return undefined;
    parts.push(`${JSON.stringify(name)}:${part}`);
  }
  return `{${parts.join(',')}}`;
}

const BEARER = /^Bearer[ \t]+([^ \t].*)$/i;

/**
 * Compiles a key source into a function returning the store-safe key value, `undefined` when
 * the request has no value for the scope, or `false` when its value cannot be a key.
 */
export function compileKeySource<Raw>(
  source: KeySource<Raw>,
  options: KeySourceOptions,
): (req: RequestInfo<Raw>) => MaybePromise<KeyValue> {
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

function safeKey(value: KeyValue): KeyValue {
  return typeof value === 'string' ? storeValue(value, false) : value;
}

export interface KeySourceOptions {
  readonly ipv6Subnet: number;
  readonly apiKeyHeader: string;
}

/**
 * The store value of a key as the application knows it (an address, a raw API key, a partner
 * id), normalised and hashed as the key source does for a request: for `reset` and `state`.
 */
export function compileKeyNormaliser<Raw>(
  source: KeySource<Raw>,
  options: KeySourceOptions,
): (key: string | number) => string {
  return (key) => {
    const text = String(key);
    const value =
      source === 'ip'
        ? ipKey(text, options.ipv6Subnet)
        : source === 'apiKey'
          ? storeValue(text.trim(), true)
          : typeof source === 'object' && 'header' in source
            ? safeKey(asKey(text.trim()))
            : safeKey(asKey(key));
    if (typeof value !== 'string')
      throw new TypeError(
        `${JSON.stringify(key)} is not a key this scope counts (${describeSource(source)})`,
      );
    return value;
  };
}

function describeSource<Raw>(source: KeySource<Raw>): string {
  if (typeof source === 'string') return source === 'ip' ? 'an IP address' : 'an API key';
  if (typeof source === 'function') return 'a key function';
  return JSON.stringify(source);
}
