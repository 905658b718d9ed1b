import type { ServerResponse } from 'node:http';
import { releaseLeases } from './charges.js';
import type { Decision } from './decision.js';

/**
 * Gives a decision's concurrency slots back when its Node response is done, for every adapter:
 * on `finish` (the response was sent, whatever its status, an error page included), or on a
 * `close` without finish (the client hung up, or the socket failed). Exactly once: the charge
 * remembers that its leases were given back, by this or by a refund.
 */
export function releaseWhenDone(
  res: ServerResponse,
  decision: Decision,
  onError: (error: unknown) => void,
): void {
  let done = false;
  const release = () => {
    if (done) return;
    done = true;
    releaseLeases(decision).catch(onError);
  };
  res.once('finish', release);
  res.once('close', release);
}
