import { randomBytes } from 'node:crypto';

/**
 * Lease ids: unique across a fleet sharing one store, so that a request gives back its own lease
 * and no other. A random prefix per process, then a counter: no randomness per request.
 */
const PROCESS_PREFIX = randomBytes(9).toString('base64url');
let next = 0;

export function nextLeaseId(): string {
  next++;
  return `${PROCESS_PREFIX}.${next.toString(36)}`;
}
