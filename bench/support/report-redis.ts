import type { RedisCpuRow } from '../micro/redis-cpu.js';
import type { RedisInstructionsRow } from '../micro/redis-instructions.js';
import { int, table } from './markdown.js';
import type { Results } from './report.js';

/** results.md's Redis sections: CPU per check, instructions per check, and issue 23's verdicts. */

export function redisTable(res: Results): string[] {
  if (res.redisCpu.length === 0) return [];
  return [
    '## Redis CPU per check',
    '',
    `One standalone redis-server, and a 3-master Redis Cluster; per subject the 10,000 keys are created first, then ${int(res.redisCpu[0]!.checks)}`,
    'checks run 50 in flight on one ioredis connection (one ioredis `Cluster` on the cluster), none refused but in',
    'the flood subjects. "Redis µs" is from `INFO commandstats`: the usec of the commands a check sent (a script\'s',
    'usec holds the commands it ran), all masters together, and each master\'s alone on the cluster; "process µs"',
    "is redis-server's own CPU time (network I/O included). Round trips are the scripts, functions and EXECs Redis",
    'ran per check; "sent" counts the commands the client sent.',
    '',
    ...table(
      [
        'subject',
        'on',
        'build',
        'Redis µs',
        'per master',
        'process µs',
        'round trips',
        'sent',
        'commands run',
        'refused',
        'checks/s',
      ],
      res.redisCpu.map((r) => [
        r.title,
        r.deployment ?? 'standalone',
        r.id.startsWith('tg') ? r.build : '',
        r.usecPerCheck.toFixed(1),
        r.perMaster?.map((u) => u.toFixed(1)).join(' / ') ?? '',
        r.processUsPerCheck.toFixed(1),
        r.roundTripsPerCheck.toFixed(2),
        r.sentPerCheck.toFixed(2),
        r.commandsPerCheck.toFixed(1),
        `${Math.round(100 * (r.refused ?? 0))} %`,
        int(r.checksPerSecond),
      ]),
    ),
  ];
}

/** Issue 23's targets for Redis CPU per check, judged on this build's rows. */
export function redisVerdicts(res: Results): string[] {
  const self = res.builds[0]!.label;
  const row = (id: string, build?: string) =>
    res.redisCpu.find((r) => r.id === id && (build === undefined || r.build === build));
  const lines: string[] = [];
  const us = (r: RedisCpuRow) => `${r.usecPerCheck.toFixed(1)} µs`;
  const [tg1, rlf1, fluid] = [row('tg-1', self), row('rlf-1'), row('tg-fluid', self)];
  if (tg1 !== undefined && rlf1 !== undefined)
    lines.push(
      `- ${tg1.usecPerCheck <= rlf1.usecPerCheck ? '✅' : '❌'} tollgate Redis, 1 × 1, no more Redis CPU than one RateLimiterRedis: ${us(tg1)} against ${us(rlf1)}.`,
    );
  if (fluid !== undefined)
    lines.push(
      `- ${fluid.usecPerCheck <= 15 ? '✅' : '❌'} tollgate Redis, 4 × 2 + burst, at most 15 µs: ${us(fluid)}.`,
    );
  const ofBaseline = (id: string) => (res.builds[1] === undefined ? undefined : row(id, res.builds[1].label));
  const fluidBefore = ofBaseline('tg-fluid');
  if (fluid !== undefined && fluidBefore !== undefined)
    lines.push(
      `- ℹ️ tollgate Redis, 4 × 2 + burst, against build ${fluidBefore.build}: ${us(fluid)} against ${us(fluidBefore)} (${(fluid.usecPerCheck / fluidBefore.usecPerCheck).toFixed(2)}×).`,
    );
  const [flood, before] = [row('tg-flood', self), row('tg-flood-nocache', self)];
  const baseline = ofBaseline('tg-flood');
  for (const today of [before, baseline])
    if (flood !== undefined && today !== undefined)
      lines.push(
        `- ${flood.usecPerCheck < today.usecPerCheck / 2 ? '✅' : '❌'} half the checks refused, Redis CPU per check less than half of ${today === before ? 'every refusal asking Redis' : `build ${today.build}`}: ${us(flood)} against ${us(today)}.`,
      );
  const spread = row('tg-fluid-cluster', self);
  if (spread?.perMaster !== undefined) {
    const share = Math.max(...spread.perMaster) / spread.perMaster.reduce((a, b) => a + b, 0);
    lines.push(
      `- ${share <= 0.5 ? '✅' : '❌'} tollgate Redis Cluster, 4 × 2 + burst, spread over the masters: the busiest does ${Math.round(100 * share)} % of the work (${spread.perMaster.map((u) => u.toFixed(1)).join(' / ')} µs per check).`,
    );
  }
  return [...lines, ...instructionVerdicts(res)];
}

/**
 * What the instruction counts say of the two targets: where the floor (the commands alone) sits
 * beside them, and tollgate beside the baseline build.
 */
function instructionVerdicts(res: Results): string[] {
  const rows = res.redisInstructions ?? [];
  const self = res.builds[0]!.label;
  const row = (id: string, build?: string) =>
    rows.find((r) => r.id === id && (build === undefined || r.build === build));
  const ir = (r: RedisInstructionsRow) => int(r.instructionsPerCheck);
  const lines: string[] = [];
  const [tg1, rlf1, floor1] = [row('tg-1', self), row('rlf-1'), row('floor-1')];
  if (tg1 !== undefined && rlf1 !== undefined && floor1 !== undefined) {
    const below = floor1.instructionsPerCheck <= rlf1.instructionsPerCheck;
    lines.push(
      `- ℹ️ Redis instructions per check, 1 × 1: tollgate ${ir(tg1)}, one RateLimiterRedis ${ir(rlf1)}, Redis TIME + one HINCRBY and nothing else ${ir(floor1)}: ${below ? 'the floor is below RateLimiterRedis' : 'even the floor costs Redis more than a RateLimiterRedis: by this count, no check that reads Redis TIME and is sent its window, limit and cost meets the 1 × 1 target'}.`,
    );
  }
  const [fluid, floorFluid] = [row('tg-fluid', self), row('floor-fluid')];
  const fluidUs = res.redisCpu.find((r) => r.id === 'tg-fluid' && r.build === self);
  if (fluid !== undefined && floorFluid !== undefined) {
    const share = floorFluid.instructionsPerCheck / fluid.instructionsPerCheck;
    const us =
      fluidUs === undefined
        ? ''
        : `; at tollgate's µs per instruction in this run, the commands alone would take about ${(share * fluidUs.usecPerCheck).toFixed(1)} µs`;
    lines.push(
      `- ℹ️ Redis instructions per check, 4 × 2 + burst: tollgate ${ir(fluid)}, its commands alone ${ir(floorFluid)} (${share.toFixed(2)} of tollgate's)${us}.`,
    );
  }
  const base = res.builds[1]?.label;
  for (const id of ['tg-1', 'tg-fluid']) {
    const [now, before] = [row(id, self), base === undefined ? undefined : row(id, base)];
    if (now !== undefined && before !== undefined)
      lines.push(
        `- ℹ️ Redis instructions per check, ${now.title}, against build ${before.build}: ${ir(now)} against ${ir(before)} (${(now.instructionsPerCheck / before.instructionsPerCheck).toFixed(2)}×).`,
      );
  }
  return lines;
}

export function instructionsTable(res: Results): string[] {
  const rows = res.redisInstructions ?? [];
  if (rows.length === 0) return [];
  return [
    '## Redis instructions per check',
    '',
    `Every instruction redis-server ran per check (reading the request, the script, the reply), counted by`,
    `callgrind on a redis-server of its own: per subject 1,000 keys are created first, then ${int(rows[0]!.checks)} checks`,
    'run 50 in flight over the same keys. A count does not move from run to run as µs do, so it tells apart',
    'what differs by less than the noise. The floors are scripts that take the least a check decided in Redis',
    'must be sent (windows, limits, cost) and run only the commands it cannot do without while Redis TIME is the',
    "clock (TIME, one HINCRBY per window, the bucket's HMGET and HSET), each checked against its limit, and",
    'nothing else: nothing taken back on a refusal, no TTL, no other field.',
    '',
    ...table(
      ['subject', 'build', 'instructions', 'commands run per check'],
      rows.map((r) => [
        r.title,
        r.id.startsWith('tg') ? r.build : '',
        int(r.instructionsPerCheck),
        Object.entries(r.calls)
          .map(([name, n]) => `${name} ${Number(n.toFixed(2))}`)
          .join(', '),
      ]),
    ),
  ];
}
