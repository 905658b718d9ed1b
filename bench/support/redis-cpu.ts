import type { Redis } from 'ioredis';

/**
 * Redis's side of a check, from `INFO commandstats` after `CONFIG RESETSTAT`: what fleets hit
 * first is Redis CPU and round trips, not client instructions.
 */

export interface CommandStat {
  readonly calls: number;
  /** Time Redis spent in the command, µs; a script's or EXEC's includes the commands it ran. */
  readonly usec: number;
}

/** `INFO commandstats`, by command name, leaving out the measurement's own INFO and CONFIG. */
export async function commandStats(admin: Redis): Promise<Record<string, CommandStat>> {
  const stats: Record<string, CommandStat> = {};
  const info = await admin.info('commandstats');
  for (const [, name, calls, usec] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    if (name === 'info' || name!.startsWith('config')) continue;
    stats[name!] = { calls: Number(calls), usec: Number(usec) };
  }
  return stats;
}

/** Commands that run others inside them, in one round trip: scripts, functions, a transaction. */
const ENTRY = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro', 'exec']);

export interface RedisCost {
  /** Every command Redis ran per check, those inside scripts and transactions included. */
  readonly commandsPerCheck: number;
  /** Round trips per check: scripts, functions and EXECs; every command when none ran. */
  readonly roundTripsPerCheck: number;
  /**
   * Redis CPU per check, µs: the usec of the commands counted as round trips. A script's usec
   * already holds the commands it ran, so those are not added again.
   */
  readonly usecPerCheck: number;
  /** Calls per check, by command. */
  readonly calls: Record<string, number>;
}

export function costPerCheck(stats: Record<string, CommandStat>, checks: number): RedisCost {
  const names = Object.keys(stats);
  const entries = names.filter((name) => ENTRY.has(name));
  const top = entries.length > 0 ? entries : names;
  const sum = (of: readonly string[], pick: (s: CommandStat) => number) =>
    of.reduce((total, name) => total + pick(stats[name]!), 0);
  return {
    commandsPerCheck: sum(names, (s) => s.calls) / checks,
    roundTripsPerCheck: sum(top, (s) => s.calls) / checks,
    usecPerCheck: sum(top, (s) => s.usec) / checks,
    calls: Object.fromEntries(names.map((name) => [name, stats[name]!.calls / checks])),
  };
}

/** The statistics of several servers (a cluster's masters) as one. */
export function sumStats(list: readonly Record<string, CommandStat>[]): Record<string, CommandStat> {
  const total: Record<string, CommandStat> = {};
  for (const stats of list)
    for (const [name, { calls, usec }] of Object.entries(stats)) {
      const before = total[name] ?? { calls: 0, usec: 0 };
      total[name] = { calls: before.calls + calls, usec: before.usec + usec };
    }
  return total;
}
