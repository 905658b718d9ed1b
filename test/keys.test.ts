import fc from 'fast-check';
import { compileKeySource, isReadableValue, storeValue } from '../lib/core/keys.js';
import { requestFrom } from './helpers/requests.js';

const options = { ipv6Subnet: 56, apiKeyHeader: 'x-api-key' };

describe('store values', () => {
  test('short plain values stay readable', () => expect(storeValue('partner-42', false)).toBe('partner-42'));

  test.each([
    ['a 16 KB key', 'k'.repeat(16 * 1024)],
    ['a key with a colon', 'tenant:42'],
    ['a key with braces', '{tg}'],
    ['a key with a newline', 'a\nb'],
    ['a key with spaces', 'a b'],
  ])('%s becomes a bounded hash', (_what, value) => {
    const key = storeValue(value, false);
    expect(key).toMatch(/^#[A-Za-z0-9_-]{22}$/);
  });

  test('readable means 1 to 64 of A-Z a-z 0-9 . _ @ -, exactly as the pattern it replaced', () => {
    const pattern = /^[A-Za-z0-9._@-]{1,64}$/;
    const nearlyReadable = fc
      .array(fc.constantFrom(...'aZ09._@-:{} #/\n\t\u0000\u00e9'), { maxLength: 70 })
      .map((chars) => chars.join(''));
    fc.assert(
      fc.property(fc.oneof(nearlyReadable, fc.string({ maxLength: 80 })), (value) => {
        expect(isReadableValue(value)).toBe(pattern.test(value));
      }),
      { numRuns: 20_000 },
    );
    expect(isReadableValue('a'.repeat(64))).toBe(true);
    expect(isReadableValue('a'.repeat(65))).toBe(false);
  });

  test('hashes never collide with readable values', () => {
    const hashed = storeValue('x:y', false);
    expect(storeValue(hashed, false)).not.toBe(hashed);
  });
});

describe('API keys', () => {
  const apiKey = compileKeySource<null>('apiKey', options);

  test('come from Authorization: Bearer, else X-API-Key, and are always hashed', () => {
    const bearer = apiKey(requestFrom({ headers: { authorization: 'Bearer fk_live_secret' } }));
    const header = apiKey(requestFrom({ headers: { 'x-api-key': 'fk_live_secret' } }));
    expect(bearer).toBe(header);
    expect(bearer).toMatch(/^#[A-Za-z0-9_-]{22}$/);
    expect(String(bearer)).not.toContain('secret');
  });

  test('a 16 KB key, or one with : or {}, yields a bounded hashed key', () => {
    for (const raw of ['k'.repeat(16 * 1024), 'a:b:c', '{tollgate}', '}{']) {
      const key = apiKey(requestFrom({ headers: { authorization: `Bearer ${raw}` } }));
      expect(key).toMatch(/^#[A-Za-z0-9_-]{22}$/);
    }
  });

  test('other schemes and empty bearers have no key', () => {
    expect(apiKey(requestFrom({ headers: { authorization: 'Basic dXNlcjpwYXNz' } }))).toBeUndefined();
    expect(apiKey(requestFrom({ headers: { authorization: 'Bearer    ' } }))).toBeUndefined();
  });
});

describe('fields', () => {
  test('header, param, body and query keys read strings and finite numbers only', () => {
    const body = compileKeySource<null>({ body: 'source_account' }, options);
    expect(body(requestFrom({ body: { source_account: 'acc_1' } }))).toBe('acc_1');
    expect(body(requestFrom({ body: { source_account: 42 } }))).toBe('42');
    // Objects and arrays are counted under a hash of their JSON, never skipped.
    expect(body(requestFrom({ body: { source_account: { $ne: 1 } } }))).toMatch(/^#[A-Za-z0-9_-]{22}$/);
    expect(body(requestFrom({ body: 'source_account=x' }))).toBeUndefined();
    expect(body(requestFrom({ body: Object.create({ source_account: 'inherited' }) }))).toBeUndefined();
    const param = compileKeySource<null>({ param: 'bankId' }, options);
    expect(param(requestFrom({ params: { bankId: 'b1' } }))).toBe('b1');
    const header = compileKeySource<null>({ header: 'X-Partner-Id' }, options);
    expect(header(requestFrom({ headers: { 'x-partner-id': ['p1', 'p2'] } }))).toBe('p1');
    const query = compileKeySource<null>({ query: 'account' }, options);
    const repeated = query(requestFrom({ query: { account: ['a', 'a'] } }));
    expect(repeated).toMatch(/^#[A-Za-z0-9_-]{22}$/);
    expect(query(requestFrom({ query: { account: ['a', 'a'] } }))).toBe(repeated);
    expect(query(requestFrom({ query: { account: 'a' } }))).toBe('a');
  });

  test('key functions may be async and return numbers', async () => {
    const fn = compileKeySource<null>(async () => 7, options);
    await expect(fn(requestFrom())).resolves.toBe('7');
  });
});
