import { isIPv4 } from 'node:net';
import fc from 'fast-check';
import { canonicalIp, compileAllowList, ipKey, isDottedQuad, parseIPv6 } from '../lib/core/ip.js';

describe('ipKey', () => {
  test('IPv4 is its own key', () => expect(ipKey('203.0.113.7', 56)).toBe('203.0.113.7'));

  test.each([
    ['::ffff:203.0.113.7'],
    ['::FFFF:203.0.113.7'],
    ['::ffff:cb00:7107'],
    ['0:0:0:0:0:ffff:cb00:7107'],
    ['0000:0000:0000:0000:0000:FFFF:203.0.113.7'],
    ['[::ffff:203.0.113.7]'],
  ])('the IPv4-mapped spelling %s is keyed as 203.0.113.7', (spelling) => {
    expect(ipKey(spelling, 56)).toBe('203.0.113.7');
  });

  test('a lookalike outside ::ffff:0:0/96 is not mapped', () => {
    expect(ipKey('::fffe:cb00:7107', 128)).not.toBe('203.0.113.7');
    expect(ipKey('1::ffff:cb00:7107', 128)).not.toBe('203.0.113.7');
  });

  test('IPv6 is keyed by its /56 unless told otherwise', () => {
    expect(ipKey('2001:db8:abcd:12ff:1:2:3:4', 56)).toBe('2001:db8:abcd:1200::/56');
    expect(ipKey('2001:db8:abcd:12ff:1:2:3:4', 64)).toBe('2001:db8:abcd:12ff::/64');
    expect(ipKey('2001:db8:abcd:12ff:1:2:3:4', 128)).toBe('2001:db8:abcd:12ff:1:2:3:4::/128');
    expect(ipKey('fe80::1%eth0', 64)).toBe('fe80:0:0:0::/64');
  });

  test('10,000 addresses in one IPv6 /64 share one key', () => {
    const keys = new Set<string | undefined>();
    for (let i = 0; i < 10_000; i++) {
      const a = (i * 7919) & 0xffff;
      const b = (i * 104729) & 0xffff;
      keys.add(ipKey(`2001:db8:1:2:${a.toString(16)}:${b.toString(16)}:${i.toString(16)}:1`, 64));
    }
    expect(keys).toEqual(new Set(['2001:db8:1:2::/64']));
  });

  test.each([
    [undefined],
    [''],
    ['not an ip'],
    ['999.1.1.1'],
    ['1:2:3'],
    ['x'.repeat(10_000)],
    ['::ffff:1.2.3'],
  ])('%p has no key', (value) => expect(ipKey(value as string | undefined, 56)).toBeUndefined());
});

describe('isDottedQuad', () => {
  test.each([
    ['203.0.113.7', true],
    ['0.0.0.0', true],
    ['255.255.255.255', true],
    ['256.1.1.1', false],
    ['01.2.3.4', false],
    ['1.2.3', false],
    ['1.2.3.4.', false],
    ['1.2.3.4.5', false],
    ['1..3.4', false],
    [' 1.2.3.4', false],
    ['1.2.3.4 ', false],
    ['1.2.3.-4', false],
    ['1.2.3.0x4', false],
    ['１.2.3.4', false],
    ['', false],
  ])('%s: %s, as net.isIPv4 says', (text, expected) => {
    expect(isDottedQuad(text)).toBe(expected);
    expect(isIPv4(text)).toBe(expected);
  });

  test('agrees with net.isIPv4 on any text made of digits and dots', () => {
    const quadLike = fc.stringMatching(/^[0-9.]{0,17}$/);
    fc.assert(
      fc.property(quadLike, (text) => isDottedQuad(text) === isIPv4(text)),
      { numRuns: 20_000 },
    );
  });

  test('agrees with net.isIPv4 on every formatted address and on arbitrary strings', () => {
    const octet = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.stringMatching(/^0[0-9]{1,2}$/));
    const quad = fc.array(octet, { minLength: 3, maxLength: 5 }).map((parts) => parts.join('.'));
    fc.assert(
      fc.property(fc.oneof(quad, fc.string()), (text) => isDottedQuad(text) === isIPv4(text)),
      {
        numRuns: 20_000,
      },
    );
  });
});

describe('parseIPv6', () => {
  test('expands :: and embedded dotted quads', () => {
    expect(parseIPv6('::1')).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(parseIPv6('1::')).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseIPv6('64:ff9b::192.0.2.33')).toEqual([0x64, 0xff9b, 0, 0, 0, 0, 0xc000, 0x0221]);
  });
});

describe('allow-list', () => {
  const allowed = compileAllowList(['10.0.0.0/8', '192.0.2.1', '2001:db8::/32']);
  test.each([
    ['10.255.0.1', true],
    ['::ffff:10.255.0.1', true],
    ['::ffff:a00:1', true],
    ['192.0.2.1', true],
    ['192.0.2.2', false],
    ['2001:db8:ffff::1', true],
    ['2001:db9::1', false],
    [undefined, false],
    ['garbage', false],
  ])('%p → %p', (address, expected) => expect(allowed(address as string | undefined)).toBe(expected));

  test('canonical addresses', () =>
    expect(canonicalIp('::ffff:7f00:1')).toEqual({ address: '127.0.0.1', family: 'ipv4' }));
});
