import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** What an incoming request id may contain: enough for UUIDs, ULIDs and trace ids, nothing that could break a header or a log line. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The request's id: its `X-Request-Id` when that is safe, else a new `req_<ULID>`. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  const incoming = headers['x-request-id'];
  const value = Array.isArray(incoming) ? incoming[0] : incoming;
  if (value !== undefined && SAFE_REQUEST_ID.test(value)) return value;
  return `req_${ulid(Date.now())}`;
}

/** A ULID: 48 bits of time and 80 random bits in Crockford base32, so ids sort by time. */
export function ulid(time: number): string {
  let out = '';
  let t = time;
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[t % 32]! + out;
    t = Math.floor(t / 32);
  }
  const random = randomBytes(16);
  for (let i = 0; i < 16; i++) out += CROCKFORD[random[i]! & 31];
  return out;
}
