import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { TollgateConfigError } from '../errors/errors.js';

/**
 * The counter key for a client address: IPv4 as dotted quad, IPv4-mapped IPv6 as the IPv4
 * address it maps (recognised by its range, ::ffff:0:0/96, whatever its spelling), and other
 * IPv6 as its subnet of `prefixLength` bits, since one subscriber commonly holds a /56 or /64
 * and could otherwise rotate through addresses to dodge the limit.
 * Returns `undefined` for anything that is not an IP address.
 */
export function ipKey(address: string | undefined, prefixLength: number): string | undefined {
  if (address === undefined || address.length > 64) return undefined;
  if (isDottedQuad(address)) return address;
  const words = parseIPv6(address);
  if (words === undefined) return undefined;
  const mapped = mappedIPv4(words);
  if (mapped !== undefined) return mapped;
  return formatSubnet(words, prefixLength);
}

/**
 * `net.isIPv4`, as a loop over char codes: four decimal octets of 0 to 255 without leading
 * zeros. Node's is a regular expression, and it ran for every request of an `ip` scope.
 */
export function isDottedQuad(text: string): boolean {
  const length = text.length;
  if (length < 7 || length > 15) return false;
  let octets = 0;
  let i = 0;
  for (;;) {
    const start = i;
    let value = 0;
    while (i < length) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      value = value * 10 + (c - 48);
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 3 || value > 255 || (digits > 1 && text.charCodeAt(start) === 48))
      return false;
    octets++;
    if (octets === 4) return i === length;
    if (i >= length || text.charCodeAt(i) !== 46) return false;
    i++;
  }
}

/** The canonical form of an address, for allow-list checks: IPv4-mapped IPv6 becomes IPv4. */
export function canonicalIp(
  address: string | undefined,
): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  if (address === undefined || address.length > 64) return undefined;
  if (isIPv4(address)) return { address, family: 'ipv4' };
  const words = parseIPv6(address);
  if (words === undefined) return undefined;
  const mapped = mappedIPv4(words);
  if (mapped !== undefined) return { address: mapped, family: 'ipv4' };
  return { address: words.map((w) => w.toString(16)).join(':'), family: 'ipv6' };
}

/** Parses IPv6 text (with `::`, an embedded dotted quad, or a `%zone`) into eight 16-bit words. */
export function parseIPv6(text: string): number[] | undefined {
  const address = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const zone = address.indexOf('%');
  const bare = zone === -1 ? address : address.slice(0, zone);
  if (!isIPv6(bare)) return undefined;
  let head = bare;
  const tail: number[] = [];
  const lastColon = bare.lastIndexOf(':');
  const last = bare.slice(lastColon + 1);
  if (last.includes('.')) {
    const octets = last.split('.').map(Number);
    tail.push(((octets[0]! << 8) | octets[1]!) >>> 0, ((octets[2]! << 8) | octets[3]!) >>> 0);
    head = bare.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const [left = '', right] = head.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => Number.parseInt(h, 16)));
  const leftWords = parse(left);
  const rightWords = right === undefined ? [] : parse(right);
  const fill = 8 - tail.length - leftWords.length - rightWords.length;
  if (fill < 0 || (right === undefined && fill !== 0)) return undefined;
  return [...leftWords, ...new Array<number>(fill).fill(0), ...rightWords, ...tail];
}

function mappedIPv4(words: number[]): string | undefined {
  for (let i = 0; i < 5; i++) if (words[i] !== 0) return undefined;
  if (words[5] !== 0xffff) return undefined;
  const high = words[6]!;
  const low = words[7]!;
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

function formatSubnet(words: number[], prefixLength: number): string {
  const parts: string[] = [];
  let bits = prefixLength;
  for (const word of words) {
    if (bits <= 0) break;
    const kept = bits >= 16 ? word : word & (0xffff << (16 - bits)) & 0xffff;
    parts.push(kept.toString(16));
    bits -= 16;
  }
  return `${parts.join(':')}::/${prefixLength}`;
}

/** An allow-list of addresses and CIDR ranges, IPv4 and IPv6, matched on canonical addresses. */
export function compileAllowList(entries: readonly string[]): (address: string | undefined) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const family = isIPv4(address) ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return (address) => {
    const canonical = canonicalIp(address);
    return canonical !== undefined && list.check(canonical.address, canonical.family);
  };
}

/** Whether an allow-list entry is an address or CIDR range the allow-list can hold. */
export function isAddressOrRange(entry: string): boolean {
  const [address = '', prefix, extra] = entry.split('/');
  if (extra !== undefined) return false;
  const max = isIPv4(address) ? 32 : isIPv6(address) ? 128 : -1;
  if (max === -1) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= max;
}

/** The `allowList` option, checked entry by entry: a test of the client address, or none. */
export function compileAllowListOption(
  entries: readonly string[] | undefined,
): ((ip: string | undefined) => boolean) | undefined {
  if (entries === undefined || entries.length === 0) return undefined;
  entries.forEach((entry, index) => {
    if (!isAddressOrRange(entry))
      throw new TollgateConfigError(
        'ERR_TOLLGATE_INVALID_OPTION',
        `allowList[${index}]`,
        `tollgate options: allowList[${index}] must be an IP address or CIDR range, got ${JSON.stringify(entry)}`,
      );
  });
  return compileAllowList(entries);
}
