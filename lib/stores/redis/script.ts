import { createHash } from 'node:crypto';
import { CONSUME_PEEK } from './lua/consume-peek.js';
import { HELPERS } from './lua/helpers.js';
import { PREAMBLE, WINDOW_MARGIN_MS } from './lua/preamble.js';
import { REFUND_CHARGE } from './lua/refund-charge.js';
import { RESET } from './lua/reset.js';
import { SINGLE_WINDOW } from './lua/single-window.js';

export { WINDOW_MARGIN_MS };

/**
 * One script serves every operation, so there is one SHA to cache and one script to reload
 * after a `SCRIPT FLUSH` or a restart.
 *
 * What a check costs Redis is mostly its `redis.call`s and the numbers it parses, paid per
 * counter. So the script calls Redis once to read a counter and once to charge it, parses a
 * spec shared by several counters once, and answers only what the client cannot compute:
 * `evaluate` in index.ts derives remaining, resetAt, retryAt and windowStart from it, on the
 * same numbers and the same clock.
 *
 * KEYS: one per counter, every one carrying the same hash tag (one cluster slot).
 * ARGV[1]: the operation: `c` consume, `p` peek, `r` refund, `a` charge (add), `x` reset;
 * `C` and `P`, consume and peek of one window counter without an idempotency key, whose
 * arguments are windowMs, limit and cost, then the clock when it is not Redis `TIME`.
 * ARGV[2] (every other op): the clock in ms, or `''` to read Redis `TIME`.
 * Then, per counter, its spec `<kind><a>:<b>:<cost>`: kind `w` window, `i` window with an
 * idempotency key, `b` bucket; a and b windowMs and limit (window) or capacity and intervalMs
 * (bucket). A refund or a charge of a window adds the window start it aims at; kind `i` adds
 * the idempotency key.
 *
 * A window key is a hash `{ w = window start, n = units used, i:<idempotency key> = mark }`
 * under the counter's own key, rather than one key per window, so that every key the script
 * touches is declared in KEYS (the client cannot name the window: only the script knows the
 * time), so that idempotency marks go with the window they belong to, and so that, as in the
 * memory store, a clock that steps back keeps counting in the later window.
 *
 * A bucket key holds its theoretical arrival time, fractional when the interval is. Lua numbers
 * are doubles, as in JavaScript, and the arithmetic repeats the memory store's operation for
 * operation, so that both stores agree to the bit; fractional results travel as `%.17g` text,
 * which reads back as the same double.
 *
 * The reply to consume and peek: admitted (0/1), now, then one number per counter: a window's
 * units used before the call (`-1 - used` when the idempotency key replayed), a bucket's
 * arrival time before the call (no earlier than now); then, for each window counted in a
 * window later than the clock's (the clock stepped back), its index (1-based) and start.
 *
 * The script is kept in sections, one per file in lua/, each beginning and ending with a
 * newline, so that joined as they are they read as one Lua file.
 */
export const STORE_SCRIPT = PREAMBLE + SINGLE_WINDOW + CONSUME_PEEK + HELPERS + RESET + REFUND_CHARGE;

export const STORE_SCRIPT_SHA = createHash('sha1').update(STORE_SCRIPT).digest('hex');
