// Run in a child process under a given TZ: prints the windows of instants around month ends,
// year ends and ISO week boundaries, and the spending caps' decisions around them.
import { createLimiter } from '../../lib/core/limiter.js';
import { MONTH_SPAN, WEEK_SPAN, windowEnd, windowIndex, windowStart } from '../../lib/stores/periods.js';

const instants = [
  '2024-02-29T23:59:59.999Z',
  '2024-03-01T00:00:00.000Z',
  '2025-02-28T23:59:59.999Z',
  '2025-04-30T23:59:59.999Z',
  '2025-12-31T23:59:59.999Z',
  '2026-01-01T00:00:00.000Z',
  '2025-12-28T23:59:59.999Z',
  '2025-12-29T00:00:00.000Z',
  '2026-03-29T01:30:00.000Z',
].map((text) => Date.parse(text));

const windows = instants.map((at) =>
  [MONTH_SPAN, WEEK_SPAN, 86_400_000].map((span) => {
    const index = windowIndex(span, at);
    return [windowStart(span, index), windowEnd(span, index)];
  }),
);

let now = instants[0]!;
const limiter = createLimiter<null>({
  now: () => now,
  spendCap: {
    key: { header: 'x-user' },
    cost: 1,
    budgets: [
      { period: 'day', budget: 3 },
      { period: 'week', budget: 4 },
      { period: 'month', budget: 5 },
    ],
  },
});
const req = { ip: '192.0.2.1', method: 'POST', path: '/', headers: { 'x-user': 'u' }, raw: null };
const decisions: unknown[] = [];
for (const at of instants) {
  now = at;
  const decision = await limiter.check(req);
  decisions.push([decision?.allowed, decision?.reason, decision?.retryAfter]);
}
const offset = new Date(instants[0]!).getTimezoneOffset();
process.stdout.write(JSON.stringify({ tz: process.env.TZ, offset, windows: { windows, decisions } }));
