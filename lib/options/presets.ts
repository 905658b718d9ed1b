import type { KeySource, ScopeOptions } from './options.js';

/** A scope's options without its key source; the name defaults to the factory's. */
export type ScopePreset<Raw> = Omit<ScopeOptions<Raw>, 'key' | 'name'> & { name?: string };

function preset<Raw>(
  name: string,
  key: KeySource<Raw>,
  options: ScopePreset<Raw> & { key?: KeySource<Raw> },
): ScopeOptions<Raw> {
  return { ...options, name: options.name ?? name, key: options.key ?? key };
}

/**
 * Factories for the common scopes. Each returns plain `ScopeOptions`, validated when the
 * middleware is built, so `scope.ip({...})` and a hand-written object are interchangeable.
 * @example
 * rateLimit({ scopes: [
 *   scope.ip({ code: 1453, limits: [{ max: 100, window: '1m' }, { max: 6000, window: '1h' }], burst: 20 }),
 *   scope.partner({ code: 1454, limits: [{ max: 1000, window: '1m' }] }),
 * ] });
 */
export const scope = {
  /** Per client address (IPv6 per /56 unless `ipv6Subnet` says otherwise). Name `ip`. */
  ip: <Raw = unknown>(options: ScopePreset<Raw>) => preset<Raw>('ip', 'ip', options),
  /** Per API key from `Authorization: Bearer` or `X-API-Key`, hashed. Name `apiKey`; refuses requests without a key unless `onMissing: 'skip'`. */
  apiKey: <Raw = unknown>(options: ScopePreset<Raw>) => preset<Raw>('apiKey', 'apiKey', options),
  /** Per partner account, from `X-Partner-Id` unless `key` says otherwise. Name `partner`. */
  partner: <Raw = unknown>(options: ScopePreset<Raw> & { key?: KeySource<Raw> }) =>
    preset<Raw>('partner', { header: 'x-partner-id' }, options),
  /** Per bank account, from the `bankId` route parameter unless `key` says otherwise. Name `bank`. */
  bank: <Raw = unknown>(options: ScopePreset<Raw> & { key?: KeySource<Raw> }) =>
    preset<Raw>('bank', { param: 'bankId' }, options),
  /** Per paying account, from the body's `source_account` unless `key` says otherwise. Name `payment`. */
  payment: <Raw = unknown>(options: ScopePreset<Raw> & { key?: KeySource<Raw> }) =>
    preset<Raw>('payment', { body: 'source_account' }, options),
  /** Per authenticated user; `key` says where the user comes from. Name `user`. */
  user: <Raw = unknown>(options: ScopePreset<Raw> & { key: KeySource<Raw> }) =>
    preset<Raw>('user', options.key, options),
  /** Any key: give it a `name` and a `key`. */
  custom: <Raw = unknown>(options: ScopeOptions<Raw>) => options,
};
