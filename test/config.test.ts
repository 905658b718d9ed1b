import { createLimiter } from '../lib/core/limiter.js';
import { TollgateConfigError } from '../lib/errors/errors.js';
import type { TollgateOptions } from '../lib/options/options.js';
import { MemoryStore } from '../lib/stores/memory/index.js';

const minute = { max: 100, window: '1m' };
const ip = { name: 'ip', key: 'ip' as const, limits: [minute] };
const INVALID = 'ERR_TOLLGATE_INVALID_OPTION';
const CONFLICT = 'ERR_TOLLGATE_CONFLICTING_OPTIONS';

// [what is wrong, options, code, path, words the message must contain]
const badConfigurations: Array<[string, unknown, string, string, string]> = [
  ['no options at all', undefined, INVALID, '', 'options must be'],
  [
    'neither scopes nor a spend cap',
    {},
    INVALID,
    '',
    'options must be an object with scopes, a spendCap, or both',
  ],
  [
    'a spend cap without a budget',
    { spendCap: { key: 'apiKey' } },
    INVALID,
    'spendCap.budget',
    'spendCap.budget is required',
  ],
  [
    'a fractional budget',
    { spendCap: { key: 'apiKey', budget: 10.5 } },
    INVALID,
    'spendCap.budget',
    'a positive integer of credits',
  ],
  [
    'a cost header with a bad name',
    { spendCap: { key: 'apiKey', budget: 10, cost: { header: 'x cost' } } },
    INVALID,
    'spendCap.cost.header',
    'a header name',
  ],
  [
    'a yearly period',
    { spendCap: { key: 'apiKey', budget: 10, period: 'year' } },
    INVALID,
    'spendCap.period',
    "must be 'day', 'week', 'month' or { days } (1 to 366)",
  ],
  [
    'a spend cap named like a scope',
    { scopes: [{ ...ip, name: 'spend' }], spendCap: { key: 'apiKey', budget: 10 } },
    CONFLICT,
    'spendCap.name',
    'is used by a scope',
  ],
  ['an empty scope list', { scopes: [] }, INVALID, 'scopes', 'a list of 1 to 32 scopes'],
  [
    'an unknown top-level option',
    { scopes: [ip], windowMs: 60000 },
    INVALID,
    'windowMs',
    'windowMs is not a known option',
  ],
  [
    'an unknown scope option',
    { scopes: [{ ...ip, limt: 5 }] },
    INVALID,
    'scopes[0].limt',
    'not a known option',
  ],
  [
    'a zero max',
    { scopes: [ip, { ...ip, name: 'b', limits: [{ max: 0, window: '1m' }] }] },
    INVALID,
    'scopes[1].limits[0].max',
    'scopes[1].limits[0].max must be a positive integer',
  ],
  [
    'a fractional max',
    { scopes: [{ ...ip, limits: [{ max: 1.5, window: '1m' }] }] },
    INVALID,
    'scopes[0].limits[0].max',
    'must be a positive integer',
  ],
  [
    'a max given as a string',
    { scopes: [{ ...ip, limits: [{ max: '100', window: '1m' }] }] },
    INVALID,
    'scopes[0].limits[0].max',
    'must be a positive integer',
  ],
  [
    'an unreadable window',
    { scopes: [{ ...ip, limits: [{ max: 1, window: '1 minute' }] }] },
    INVALID,
    'scopes[0].limits[0].window',
    "such as '1s', '1m'",
  ],
  [
    'a negative window',
    { scopes: [{ ...ip, limits: [{ max: 1, window: -5 }] }] },
    INVALID,
    'scopes[0].limits[0].window',
    'a duration',
  ],
  [
    'a window beyond a timer',
    { scopes: [{ ...ip, limits: [{ max: 1, window: '30d' }] }] },
    CONFLICT,
    'scopes[0].limits[0].window',
    'must fit in a timer',
  ],
  [
    'a limit without max',
    { scopes: [{ ...ip, limits: [{ window: '1m' }] }] },
    INVALID,
    'scopes[0].limits[0].max',
    'is required',
  ],
  [
    'an hour limit below the minute limit',
    { scopes: [{ ...ip, limits: [minute, { max: 50, window: '1h' }] }] },
    CONFLICT,
    'scopes[0].limits[1].max',
    'may not be lower than',
  ],
  [
    'the same window twice',
    { scopes: [{ ...ip, limits: [minute, { max: 200, window: 60000 }] }] },
    CONFLICT,
    'scopes[0].limits[1].window',
    'repeats the window',
  ],
  [
    'a scope without a name',
    { scopes: [{ key: 'ip', limits: [minute] }] },
    INVALID,
    'scopes[0].name',
    'is required',
  ],
  [
    'a scope name with a colon',
    { scopes: [{ ...ip, name: 'ip:v4' }] },
    INVALID,
    'scopes[0].name',
    'a name of letters',
  ],
  ['two scopes with one name', { scopes: [ip, ip] }, CONFLICT, 'scopes[1].name', 'is used by another scope'],
  [
    'an unknown key source',
    { scopes: [{ ...ip, key: 'cookie' }] },
    INVALID,
    'scopes[0].key',
    "'ip', 'apiKey', { header }",
  ],
  [
    'a header key with a bad header name',
    { scopes: [{ ...ip, key: { header: 'x partner' } }] },
    INVALID,
    'scopes[0].key.header',
    'must be a header name',
  ],
  [
    'a zero burst',
    { scopes: [{ ...ip, burst: 0 }] },
    INVALID,
    'scopes[0].burst',
    'must be a positive integer',
  ],
  [
    'a burst above the rate that refills it',
    { scopes: [{ ...ip, burst: 500 }] },
    CONFLICT,
    'scopes[0].burst',
    'may not exceed',
  ],
  [
    'a headerLimit naming no limit',
    { scopes: [{ ...ip, headerLimit: 'hour' }] },
    CONFLICT,
    'scopes[0].headerLimit',
    'names none of',
  ],
  [
    'a scope with neither limits nor tiers',
    { scopes: [{ name: 'ip', key: 'ip' }] },
    CONFLICT,
    'scopes[0].limits',
    'limits is required',
  ],
  [
    'tiers without a resolver',
    { scopes: [{ name: 'k', key: 'apiKey', tiers: { free: { limits: [minute] } } }] },
    CONFLICT,
    'scopes[0].tier',
    'tier is required',
  ],
  [
    'tiers beside limits',
    { scopes: [{ ...ip, tiers: { free: { limits: [minute] } }, tier: () => 'free' }] },
    CONFLICT,
    'scopes[0].tiers',
    'keeps its limits, burst, headerLimit and concurrency inside each tier',
  ],
  [
    'a tier that is neither limits nor unlimited',
    { scopes: [{ name: 'k', key: 'apiKey', tiers: { free: 'infinite' }, tier: () => 'free' }] },
    INVALID,
    'scopes[0].tiers.free',
    "'unlimited' or a tier",
  ],
  [
    'a bad max inside a tier',
    {
      scopes: [
        {
          name: 'k',
          key: 'apiKey',
          tier: () => 'free',
          tiers: { free: { limits: [{ max: -1, window: '1m' }] } },
        },
      ],
    },
    INVALID,
    'scopes[0].tiers.free.limits[0].max',
    'must be a positive integer',
  ],
  [
    'an IPv6 prefix beyond 128',
    { scopes: [{ ...ip, ipv6Subnet: 129 }] },
    INVALID,
    'scopes[0].ipv6Subnet',
    'a prefix length from 1 to 128',
  ],
  [
    'an IPv6 prefix on a non-ip scope',
    { scopes: [{ ...ip, key: 'apiKey', ipv6Subnet: 64 }] },
    CONFLICT,
    'scopes[0].ipv6Subnet',
    "only to key 'ip'",
  ],
  ['a negative cost', { scopes: [ip], cost: -1 }, INVALID, 'cost', 'a non-negative integer or a function'],
  [
    'an unknown header dialect',
    { scopes: [ip], headers: ['draft-6'] },
    INVALID,
    'headers[0]',
    "must be 'x-ratelimit', 'ratelimit' or 'ietf'",
  ],
  [
    'an unknown reset format',
    { scopes: [ip], resetFormat: 'rfc1123' },
    INVALID,
    'resetFormat',
    "'unix' or 'iso'",
  ],
  ['a store without consume', { scopes: [ip], store: { get: () => 0 } }, INVALID, 'store', 'a Store'],
  [
    'a hook that is not a function',
    { scopes: [ip], onRefusal: 'log' },
    INVALID,
    'onRefusal',
    'must be a function',
  ],
  [
    'an allow-list entry that is not an address',
    { scopes: [ip], allowList: ['10.0.0.0/33'] },
    INVALID,
    'allowList[0]',
    'an IP address or CIDR range',
  ],
  [
    'insurance without a divisor',
    { scopes: [ip], onStoreError: { insurance: {} } },
    INVALID,
    'onStoreError.insurance.divisor',
    'is required',
  ],
  [
    'a failure policy of the wrong word',
    { scopes: [ip], onStoreError: 'retry' },
    INVALID,
    'onStoreError',
    "'open', 'closed' or { insurance",
  ],
  [
    'a missing status that is not an error',
    { scopes: [{ ...ip, missingStatus: 200 }] },
    INVALID,
    'scopes[0].missingStatus',
    'an HTTP error status',
  ],
  [
    'a request property name that would replace the prototype',
    { scopes: [ip], requestPropertyName: '__proto__' },
    INVALID,
    'requestPropertyName',
    'a JavaScript identifier',
  ],
  [
    'a request property name that is no identifier',
    { scopes: [ip], requestPropertyName: 'rate-limit' },
    INVALID,
    'requestPropertyName',
    'a JavaScript identifier',
  ],
];

describe('bad configuration throws at construction, naming the option and what was expected', () => {
  test('the table holds at least 20 cases', () =>
    expect(badConfigurations.length).toBeGreaterThanOrEqual(20));

  test.each(badConfigurations)('%s', (_what, options, code, path, words) => {
    let thrown: unknown;
    try {
      createLimiter(options as TollgateOptions);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TollgateConfigError);
    expect(thrown).toBeInstanceOf(Error);
    const error = thrown as TollgateConfigError;
    expect(error.code).toBe(code);
    expect(error.path).toBe(path);
    if (path !== '') expect(error.message).toContain(path);
    expect(error.message).toContain(words);
  });
});

describe('good configuration', () => {
  test('readable and numeric windows, tiers and every key source construct', () => {
    expect(() =>
      createLimiter({
        scopes: [
          {
            name: 'ip',
            key: 'ip',
            limits: [
              { max: 100, window: 60_000 },
              { max: 6000, window: '1h' },
            ],
            burst: 20,
            ipv6Subnet: 64,
          },
          { name: 'partner', key: { header: 'X-Partner-Id' }, code: 1454, limits: [minute] },
          { name: 'bank', key: { param: 'bankId' }, limits: [minute] },
          { name: 'payment', key: { body: 'source_account' }, limits: [minute] },
          { name: 'q', key: { query: 'account' }, limits: [minute] },
          {
            name: 'user',
            key: async () => 'u',
            tiers: { a: 'unlimited', b: { limits: [minute], burst: 5, headerLimit: 'minute' } },
            tier: () => 'a',
          },
        ],
        headers: ['x-ratelimit', 'ratelimit', 'ietf'],
        allowList: ['127.0.0.1', '::1', '10.0.0.0/8', 'fd00::/8'],
        onStoreError: { insurance: { divisor: 4 } },
      }),
    ).not.toThrow();
  });

  test('the memory store validates its own options', () => {
    expect(() => new MemoryStore({ maxKeys: 0 })).toThrow('maxKeys must be a positive integer');
  });
});
