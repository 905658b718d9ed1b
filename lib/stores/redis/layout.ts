import type { CounterGroup } from '../store.js';

/**
 * Where a counter lives in Redis: the hash of its scope value, and the suffix of its fields
 * there (see script.ts for the fields).
 *
 * - Spread (the default): each scope value is its own hash tag, `<prefix>{tg:ip:203.0.113.7}`,
 *   so that a cluster spreads the scope values over its slots, hence its masters.
 * - One slot (the `hashTag` option): `<prefix>{<hashTag>}:tg:ip:203.0.113.7`, every key on one
 *   slot, so that any request is one script on one master.
 *
 * A counter without a group (a spending cap's) is a hash of its own, under its key, with the
 * empty suffix. A counter whose key does not start with its group's name keeps its whole key as
 * its suffix.
 */
export class KeyLayout {
  /** Whether every key shares one hash tag. */
  readonly oneSlot: boolean;
  /** How every key this layout names begins (what `clearStore` deletes under). */
  readonly head: string;
  private readonly tail: string;

  constructor(prefix: string, hashTag: string | undefined) {
    this.oneSlot = hashTag !== undefined;
    this.head = hashTag === undefined ? `${prefix}{` : `${prefix}{${hashTag}}:`;
    this.tail = hashTag === undefined ? '}' : '';
  }

  hashOf(counter: { readonly key: string; readonly group?: CounterGroup | undefined }): string {
    const group = counter.group;
    return group === undefined
      ? this.head + counter.key + this.tail
      : this.head + group.namespace + group.value + this.tail;
  }

  suffixOf(counter: { readonly key: string; readonly group?: CounterGroup | undefined }): string {
    const group = counter.group;
    if (group === undefined) return '';
    const { namespace, value } = group;
    const { key } = counter;
    const length = namespace.length + value.length;
    return key.length > length && key.startsWith(namespace) && key.startsWith(value, namespace.length)
      ? key.slice(length)
      : `/${key}`;
  }
}

/**
 * The Redis Cluster slot of a key: CRC16 (XMODEM) of its hash tag, the text between the first
 * `{` and the next `}` when that is not empty, else of the whole key.
 */
export function slotOf(key: string): number {
  const open = key.indexOf('{');
  let from = 0;
  let to = key.length;
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) {
      from = open + 1;
      to = close;
    }
  }
  let crc = 0;
  const bytes = isAscii(key, from, to) ? undefined : Buffer.from(key.slice(from, to));
  const length = bytes === undefined ? to - from : bytes.length;
  for (let i = 0; i < length; i++) {
    const byte = bytes === undefined ? key.charCodeAt(from + i) : bytes[i]!;
    crc = ((crc << 8) & 0xff00) ^ CRC16[((crc >> 8) ^ byte) & 0xff]!;
  }
  return crc & 16383;
}

function isAscii(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (text.charCodeAt(i) > 127) return false;
  return true;
}

const CRC16 = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();
