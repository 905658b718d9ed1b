import type { ScriptRunner } from './clients.js';
import type { Deadlines, Waiting } from './deadlines.js';
import { RedisStoreError } from './errors.js';
import { STORE_SCRIPT, STORE_SCRIPT_SHA } from './script.js';

/**
 * Runs the store script with `keys` and `args`: the promise settles with the reply, the
 * failure or the timeout, whichever comes first. A client that is not connected is not asked.
 */
export function callScript(
  runner: ScriptRunner,
  deadlines: Deadlines,
  keys: readonly string[],
  args: readonly string[],
): Promise<unknown> {
  const why = runner.unavailable();
  // Sending now would park the call in the client's offline queue, to be replayed (and
  // charged) long after the limiter has answered the request without it.
  if (why !== undefined)
    return Promise.reject(
      new RedisStoreError('ERR_TOLLGATE_REDIS_UNAVAILABLE', `Redis is unavailable: ${why}`),
    );
  return new ScriptCall(runner, deadlines, keys, args).start();
}

/**
 * One script call in flight: answered, failed, or timed out by the store's `Deadlines`,
 * whichever comes first; what comes after is ignored.
 */
class ScriptCall implements Waiting {
  deadline = 0;
  settled = false;
  private retried = false;
  private resolve: (reply: unknown) => void = ignore;
  private reject: (error: RedisStoreError) => void = ignore;

  constructor(
    private readonly runner: ScriptRunner,
    private readonly deadlines: Deadlines,
    private readonly keys: readonly string[],
    private readonly args: readonly string[],
  ) {}

  start(): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.deadlines.add(this);
      this.send();
    });
  }

  timeOut(): void {
    this.reject(
      new RedisStoreError(
        'ERR_TOLLGATE_REDIS_TIMEOUT',
        `Redis did not answer within ${this.deadlines.timeoutMs} ms`,
      ),
    );
  }

  private send(): void {
    try {
      this.runner.evalSha(STORE_SCRIPT_SHA, this.keys, this.args).then(this.answered, this.failed);
    } catch (error) {
      this.failed(error);
    }
  }

  private readonly answered = (reply: unknown): void => {
    if (this.settled) return;
    this.settled = true;
    this.deadlines.release();
    this.resolve(reply);
  };

  private readonly failed = (error: unknown): void => {
    if (this.settled) return;
    // NOSCRIPT means the script did not run, so sending it whole cannot count twice. EVAL rather
    // than SCRIPT LOAD + EVALSHA: it is routed by key, so in a cluster it reaches (and caches the
    // script on) the node that refused. Any other error, and a timeout, may follow a run: those
    // are never retried.
    if (!this.retried && isNoScript(error)) {
      this.retried = true;
      try {
        this.runner.eval(STORE_SCRIPT, this.keys, this.args).then(this.answered, this.failed);
      } catch (thrown) {
        this.failed(thrown);
      }
      return;
    }
    this.settled = true;
    this.deadlines.release();
    this.reject(
      error instanceof RedisStoreError
        ? error
        : new RedisStoreError('ERR_TOLLGATE_REDIS_FAILED', `Redis call failed: ${messageOf(error)}`, {
            cause: error,
          }),
    );
  };
}

function ignore(): void {}

function isNoScript(error: unknown): boolean {
  return messageOf(error).startsWith('NOSCRIPT');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
