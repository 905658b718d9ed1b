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
  const floor = (id: string) => {
    const r = row(id);
    return r === undefined ? '' : `; its floor (support/redis-floors.ts) ${us(r)}`;
  };
  if (tg1 !== undefined && rlf1 !== undefined)
    lines.push(
      `- ${tg1.usecPerCheck <= rlf1.usecPerCheck ? '✅' : '❌'} tollgate Redis, 1 × 1, no more Redis CPU than one RateLimiterRedis: ${us(tg1)} against ${us(rlf1)}${floor('floor-1')}.`,
    );
  if (fluid !== undefined)
    lines.push(
      `- ${fluid.usecPerCheck <= 15 ? '✅' : '❌'} tollgate Redis, 4 × 2 + burst, at most 15 µs: ${us(fluid)}${floor('floor-fluid')}.`,
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
  // Runs before the count inside EVALSHA was taken have only the whole count.
  const ir = (r: RedisInstructionsRow) =>
    r.scriptInstructionsPerCheck === undefined
      ? `${int(r.instructionsPerCheck)} in all`
      : `${int(r.scriptInstructionsPerCheck)} in EVALSHA (${int(r.instructionsPerCheck)} in all)`;
  const lines: string[] = [];
  const [tg1, rlf1, floor1] = [row('tg-1', self), row('rlf-1'), row('floor-1')];
  if (tg1 !== undefined && rlf1 !== undefined && floor1 !== undefined) {
    const below = floor1.scriptInstructionsPerCheck <= rlf1.scriptInstructionsPerCheck;
    lines.push(
      `- ℹ️ Redis instructions per check, 1 × 1: tollgate ${ir(tg1)}, one RateLimiterRedis ${ir(rlf1)}, the floor ${ir(floor1)}: in EVALSHA, what the target measures, the floor runs ${below ? 'no more' : 'more'} instructions than a RateLimiterRedis.`,
    );
  }
  const [fluid, floorFluid] = [row('tg-fluid', self), row('floor-fluid')];
  if (fluid !== undefined && floorFluid !== undefined)
    lines.push(
      `- ℹ️ Redis instructions per check, 4 × 2 + burst: tollgate ${ir(fluid)}, the floor ${ir(floorFluid)}: in EVALSHA, the floor is ${(floorFluid.scriptInstructionsPerCheck / fluid.scriptInstructionsPerCheck).toFixed(2)} of tollgate.`,
    );
  const base = res.builds[1]?.label;
  for (const id of ['tg-1', 'tg-fluid']) {
    const [now, before] = [row(id, self), base === undefined ? undefined : row(id, base)];
    if (now !== undefined && before !== undefined)
      lines.push(
        `- ℹ️ Redis instructions per check, ${now.title}, against build ${before.build}: ${ir(now)} against ${ir(before)} (${(now.scriptInstructionsPerCheck / before.scriptInstructionsPerCheck).toFixed(2)}× in EVALSHA).`,
      );
  }
  return lines;
}

export function instructionsTable(res: Results): string[] {
  const rows = res.redisInstructions ?? [];
  const missing = res.redisInstructionsMissing;
  if (missing !== undefined && rows.length === 0)
    return ['## Redis instructions per check', '', `Not measured: ${missing}.`, ''];
  if (rows.length === 0) return [];
  return [
    '## Redis instructions per check',
    '',
    ...(missing === undefined ? [] : [`**Incomplete:** ${missing}.`, '']),
    'The user-space instructions redis-server ran per check (reading the request, the script, the reply, its',
    `timers' share), counted by callgrind on a redis-server of its own: per subject 1,000 keys are created first,`,
    `then ${int(rows[0]!.checks)} checks run one at a time over the same keys. "In EVALSHA" is the part inside the script call`,
    '(every subject is one EVALSHA per check), which `INFO commandstats` times for the "Redis µs" above; "in all"',
    'adds reading the request and writing the reply. A count barely moves between runs where µs move by a tenth',
    'or more, so it tells apart what differs by less than that noise. The floors',
    '([support/redis-floors.ts](support/redis-floors.ts)) are scripts sent the least a check decided in Redis',
    'needs (windows, limits, cost) that run only the commands it cannot do without while Redis TIME is the clock',
    "(TIME, one HINCRBY per window, the bucket's HGET and HSET), each checked against its limit, and nothing",
    'else: nothing taken back on a refusal, no TTL, no other field.',
    '',
    ...table(
      ['subject', 'build', 'in all', 'in EVALSHA', 'commands run per check'],
      rows.map((r) => [
        r.title,
        r.id.startsWith('tg') ? r.build : '',
        int(r.instructionsPerCheck),
        r.scriptInstructionsPerCheck === undefined ? '' : int(r.scriptInstructionsPerCheck),
        Object.entries(r.calls)
          .map(([name, n]) => `${name} ${Number(n.toFixed(2))}`)
          .join(', '),
      ]),
    ),
  ];
}
