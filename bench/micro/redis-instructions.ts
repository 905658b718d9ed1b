/**
 * Redis instructions per check: the user-space instructions redis-server ran per check (reading
 * the request, running the script, writing the reply, and its timers' share), counted by
 * callgrind on the runner's redis-server started under `valgrind --tool=callgrind`
 * (`REDIS_PORT`, `REDIS_PID`, dumps at `CALLGRIND_OUT.<n>`). Unlike µs on a shared machine, a
 * count barely moves from run to run, so it tells apart script changes and subjects whose µs
 * differ by less than the noise. Beside tollgate and rate-limiter-flexible, the floors of
 * support/redis-floors.ts.
 * Per subject: the database flushed, `FEW` checks (scripts loaded, every key made), a dump, then `BENCH_REDIS_INSTRUCTION_CHECKS` checks over the same keys, one at a time, so
 * that every check pays for its own read and reply, then a dump, which counts since the one before.
 * Prints one JSON line: `{ results: RedisInstructionsRow[] }`.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Redis } from 'ioredis';
import { fluid, oneRule } from '../support/policies.js';
import {
  type CheckOn,
  flexibleCheck,
  type Requests,
  requests,
  runChecks,
  tollgateCheck,
} from '../support/redis-checks.js';
import { commandStats, costPerCheck } from '../support/redis-cpu.js';
import { FLOOR_TITLES, floorFluid, floorOne } from '../support/redis-floors.js';

export interface RedisInstructionsRow {
  readonly id: string;
  readonly title: string;
  readonly checks: number;
  /** User-space instructions redis-server ran per check. */
  readonly instructionsPerCheck: number;
  /**
   * Of those, the ones inside EVALSHA (every subject is one EVALSHA per check): what `INFO
   * commandstats` times, without reading the request and writing the reply.
   */
  readonly scriptInstructionsPerCheck: number;
  /** Calls per check, by command (`INFO commandstats`). */
  readonly calls: Record<string, number>;
}

/** Keys the subjects cycle through: few enough that making them all under callgrind stays short. */
const FEW = 1_000;
const few: Requests = () => (i) => requests[i % FEW]!;
/** Redis answers some 50 times slower under callgrind: the store's timeout must not refuse. */
const PATIENT = { timeoutMs: 30_000 };

function setting(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}
const checks = Number(setting('BENCH_REDIS_INSTRUCTION_CHECKS'));
const out = setting('CALLGRIND_OUT');
const pid = setting('REDIS_PID');
const port = Number(setting('REDIS_PORT'));

const SUBJECTS: ReadonlyArray<{ id: string; title: string; check: CheckOn }> = [
  { id: 'tg-1', title: 'tollgate, 1 scope × 1 window', check: tollgateCheck(oneRule(), PATIENT, few) },
  { id: 'rlf-1', title: 'rate-limiter-flexible, 1 RateLimiterRedis', check: flexibleCheck(['ip'], few) },
  { id: 'floor-1', title: FLOOR_TITLES.one, check: floorOne(few) },
  { id: 'tg-fluid', title: 'tollgate, 4 × 2 + burst', check: tollgateCheck(fluid(), PATIENT, few) },
  { id: 'floor-fluid', title: FLOOR_TITLES.fluid, check: floorFluid(few) },
];

/**
 * Asks callgrind for a dump and returns its number. callgrind_control exits 0 and says "OK."
 * whether or not the process was reached, so the dump file is what tells: it must be the next.
 */
function dump(): number {
  const expected = (dumps()[0] ?? 0) + 1;
  execFileSync('callgrind_control', ['--dump', pid], { stdio: 'pipe' });
  const [last] = dumps();
  if (last !== expected)
    throw new Error(`callgrind_control --dump ${pid}: expected dump ${expected}, found ${last}`);
  return last;
}

/** The numbers of callgrind's dumps so far, highest first. */
function dumps(): number[] {
  const prefix = `${basename(out)}.`;
  return readdirSync(dirname(out))
    .filter((name) => name.startsWith(prefix))
    .map((name) => Number(name.slice(prefix.length)))
    .sort((a, b) => b - a);
}

/**
 * What dump `n` counted, that is since the dump before it: every instruction, and those inside
 * EVALSHA (the script, the commands it ran, its arguments made Lua values), the part `INFO
 * commandstats` times.
 */
function counted(n: number): { all: number; script: number } {
  const file = `${out}.${n}`;
  const all = /^(?:summary|totals): (\d+)/m.exec(readFileSync(file, 'utf8'))?.[1];
  const inclusive = execFileSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  const script = /^\s*([\d,]+) \([^)]*\)\s+\S*:evalShaCommand\b/m.exec(inclusive)?.[1];
  if (all === undefined || script === undefined) throw new Error(`no instruction counts in ${file}`);
  return { all: Number(all), script: Number(script.replaceAll(',', '')) };
}

const minute = () => Math.floor(Date.now() / 60_000);

async function measure(
  subject: (typeof SUBJECTS)[number],
  client: Redis,
  admin: Redis,
): Promise<RedisInstructionsRow> {
  // A subject's checks must fall in the windows its first checks made, or some would be a
  // key's first in a window, which costs more: one that saw a minute end (an hour ends with a
  // minute) runs again. Each subject takes well under a minute at the default checks.
  for (let attempt = 1; ; attempt++) {
    const started = minute();
    await admin.flushall();
    const check = subject.check(client);
    await runChecks(check, FEW, 1);
    await admin.config('RESETSTAT');
    // A dump, rather than callgrind_control --zero, starts the count: whether it happened shows.
    dump();
    await runChecks(check, checks, 1);
    const n = dump();
    const ended = minute() !== started;
    if (!ended) {
      const { all, script } = counted(n);
      const stats = await commandStats(admin);
      return {
        id: subject.id,
        title: subject.title,
        checks,
        instructionsPerCheck: all / checks,
        scriptInstructionsPerCheck: script / checks,
        calls: costPerCheck(stats, checks).calls,
      };
    }
    if (attempt === 3) throw new Error(`${subject.id}: a minute ended during each of 3 attempts`);
  }
}

const only = (process.env.REDIS_INSTRUCTIONS_ONLY ?? '').split(',').filter((id) => id !== '');
const client = new Redis({ host: '127.0.0.1', port });
const admin = new Redis({ host: '127.0.0.1', port });
const results: RedisInstructionsRow[] = [];
for (const subject of SUBJECTS)
  if (only.length === 0 || only.includes(subject.id)) results.push(await measure(subject, client, admin));
client.disconnect();
admin.disconnect();
console.log(JSON.stringify({ results }));
