import { createHash } from 'node:crypto';
import { CONSUME_PEEK } from './lua/consume-peek.js';
import { HELPERS } from './lua/helpers.js';
import { PREAMBLE, WINDOW_MARGIN_MS } from './lua/preamble.js';
import { QUOTAS } from './lua/quotas.js';
import { REFUND_CHARGE } from './lua/refund-charge.js';
import { SINGLE_WINDOW } from './lua/single-window.js';

export { WINDOW_MARGIN_MS };

/**
 * One script serves every operation, so there is one SHA to cache and one script to reload
 * after a `SCRIPT FLUSH` or a restart.
 *
 * What a check costs Redis is mostly its `redis.call`s and the values they carry, so the
 * counters of one scope value (its minute, hour and burst) are fields of one hash (see
 * layout.ts). A consume whose windows were all charged before in their current window charges
 * each with one HINCRBY, which also reads it (op `f`, lua/charge-first.ts); any other call reads
 * each hash with one HMGET and writes each charged hash with one HSET, whatever its counters.
 * The script answers only what the client cannot compute: `reply.ts` derives remaining,
 * resetAt, retryAt and windowStart from it, on the same numbers and the same clock.
 *
 * KEYS: one per hash; in a cluster every one on the same slot (the store sends one call per slot).
 * ARGV[1]: the operation: `c` consume, `p` peek, `r` refund, `a` charge (add), `x` reset;
 * `f`, a consume with no idempotency key and whole costs above 0, which tries charging first and
 * falls back to `c`; `C` and `P`, consume and peek of one window counter without an idempotency key.
 * ARGV[2]: the clock in ms, or `''` to read Redis `TIME`.
 * `C` and `P`: windowMs, limit, cost and the counter's field suffix, then the window start the
 * client's clock expects (or `''`) and that window's count field.
 * Every other op, per key: the number of its counters, then per counter its spec
 * `<kind><a>:<b>:<cost><suffix>`: kind `w` window, `i` window with an idempotency key, `b`
 * bucket; a and b windowMs and limit (window) or capacity and intervalMs (bucket); the suffix of
 * its fields (empty, or starting with `:` or `/`). A refund or a charge of a window adds the
 * window start it aims at; kind `i` adds the idempotency key.
 *
 * Fields of a counter with suffix `s`: a window's `w<s>` (the start of the window counted) and
 * `n<s>@<start>` (units used in that window), with its idempotency marks `i<s>:<key>` and `m<s>`
 * (it has marks); a bucket's `t<s>`, its theoretical arrival time, fractional when the interval
 * is; and the hash's `e`, the end its TTL was last set to. Only the script knows the time, so the
 * window is in field names rather than key names: every key the script touches is declared in
 * KEYS, marks go with the window they belong to, and, as in the memory store, a clock that steps
 * back keeps counting in the later window (`w<s>`). A count whose field names its window can be
 * charged and read by one HINCRBY, which the single-window path does before anything else.
 *
 * Lua numbers are doubles, as in JavaScript, and the arithmetic repeats the memory store's
 * operation for operation, so that both stores agree to the bit; fractional results travel as
 * `%.17g` text, which reads back as the same double.
 *
 * The reply to consume and peek: admitted (0/1), now, then one number per counter in the order
 * sent: a window's units used before the call (`-1 - used` when the idempotency key replayed), a
 * bucket's arrival time before the call (no earlier than now); then, for each window counted in
 * a window later than the clock's (the clock stepped back), its position (1-based) and start.
 *
 * Calendar windows (a week, a month) and leases (issue 22) take ops of their own, `q` consume,
 * `Q` peek, `qr` refund, `qa` charge, `qx` reset, each of those counters under a key of its own
 * (lua/quotas.ts, quota-calls.ts): calls without them run exactly as before.
 *
 * The script is kept in sections, one per file in lua/, each beginning and ending with a
 * newline, so that joined as they are they read as one Lua file (charge-first.ts sits inside
 * consume-peek.ts, ahead of the general path it falls back to).
 */
export const STORE_SCRIPT = PREAMBLE + SINGLE_WINDOW + CONSUME_PEEK + HELPERS + QUOTAS + REFUND_CHARGE;

export const STORE_SCRIPT_SHA = createHash('sha1').update(STORE_SCRIPT).digest('hex');
