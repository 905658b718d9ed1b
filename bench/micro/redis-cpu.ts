/**
 * Redis CPU and round trips per check: tollgate's `limiter.check` with `RedisStore` (build in
 * `TOLLGATE_DIST`) beside rate-limiter-flexible's `RateLimiterRedis`, on the runner's standalone
 * redis-server (`REDIS_PORT`, `REDIS_PID`) over one ioredis connection, and on its 3-master
 * cluster (`REDIS_CLUSTER_PORTS`, `REDIS_CLUSTER_PIDS`) over one ioredis `Cluster`, per master.
 * Per subject: the database flushed, `KEYS` checks (scripts loaded, keys made), the statistics
 * reset, then `BENCH_REDIS_CHECKS` checks with 50 in flight. Nothing is refused, except in the
 * flood subjects, where every other check comes from ten clients over their limit.
 * Prints one JSON line: `{ results: RedisCpuRow[] }`. To add a subject: a line in SUBJECTS.
 */
import { Cluster, Redis } from 'ioredis';
import {
  FLOOD_MAX,
  FOUR_SCOPES,
  flood,
  fluid,
  fourByOne,
  fourByTwo,
  KEYS,
  oneRule,
  requestOf,
} from '../support/policies.js';
import { processCpuMicros } from '../support/processes.js';
import {
  type CheckOn,
  flexibleCheck,
  fresh,
  requests,
  runChecks,
  tollgateCheck,
  tollgateLimiter,
} from '../support/redis-checks.js';
import { commandStats, costPerCheck, type RedisCost, sumStats } from '../support/redis-cpu.js';
import { FLOOR_TITLES, floorFluid, floorOne } from '../support/redis-floors.js';

export interface RedisCpuRow extends RedisCost {
  readonly id: string;
  readonly title: string;
  readonly deployment: 'standalone' | 'cluster';
  readonly checks: number;
  /** Commands the client sent per check (counted where ioredis sends them). */
  readonly sentPerCheck: number;
  /** redis-server's own CPU time per check (utime + stime, network I/O included), µs; all masters. */
  readonly processUsPerCheck: number;
  /** On the cluster: each master's Redis µs per check (`INFO commandstats`), in port order. */
  readonly perMaster?: readonly number[];
  /** Share of the checks refused. */
  readonly refused: number;
  readonly checksPerSecond: number;
}

interface Deployment {
  readonly client: Redis | Cluster;
  /** One connection per master, for INFO, RESETSTAT and FLUSHALL: never queued behind checks. */
  readonly admins: readonly Redis[];
  readonly pids: readonly number[];
}

const IN_FLIGHT = 50;
const checks = Number(process.env.BENCH_REDIS_CHECKS ?? 20_000);
/** Ten clients far over their limit once the first checks have run. */
const flooding = Array.from({ length: 10 }, (_, i) => requestOf(KEYS + i));
const host = '127.0.0.1';
let sent = 0;

function counted<T extends Redis | Cluster>(client: T): T {
  const sendCommand = client.sendCommand.bind(client) as (...args: unknown[]) => unknown;
  (client as { sendCommand: unknown }).sendCommand = (...args: unknown[]) => {
    sent++;
    return sendCommand(...args);
  };
  return client;
}

async function standalone(): Promise<Deployment> {
  const port = Number(process.env.REDIS_PORT);
  const options = { host, port, enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true };
  const client = counted(new Redis(options));
  await client.connect();
  return { client, admins: [new Redis({ host, port })], pids: [Number(process.env.REDIS_PID)] };
}

async function cluster(): Promise<Deployment | undefined> {
  const ports = (process.env.REDIS_CLUSTER_PORTS ?? '')
    .split(',')
    .filter((p) => p !== '')
    .map(Number);
  if (ports.length === 0) return undefined;
  const client = counted(
    new Cluster(
      ports.map((port) => ({ host, port })),
      { enableOfflineQueue: false, lazyConnect: true, redisOptions: { maxRetriesPerRequest: 0 } },
    ),
  );
  await client.connect();
  const pids = (process.env.REDIS_CLUSTER_PIDS ?? '').split(',').map(Number);
  return { client, admins: ports.map((port) => new Redis({ host, port })), pids };
}

/**
 * Every other check from a flooding client, refused; the others from the even half of the
 * 10,000, admitted, each key already made by the first `KEYS` checks (a key's first charge in a
 * window costs more, and the subject is about refusals, not new keys).
 */
function floodCheck(store: object): CheckOn {
  return (client) => {
    const limiter = tollgateLimiter(client, flood(), store);
    return async (i) => {
      const decision = await limiter.check(i % 2 === 0 ? requests[i % KEYS]! : flooding[(i >> 1) % 10]!);
      if (decision?.storeError !== undefined) throw new Error(`store error: ${String(decision.storeError)}`);
      return decision?.allowed === true;
    };
  };
}

const NO_CACHE = { refusalCache: false };
const SUBJECTS: ReadonlyArray<{
  id: string;
  title: string;
  on: 'standalone' | 'cluster';
  check: CheckOn;
}> = [
  { id: 'tg-1', on: 'standalone', title: 'tollgate, 1 scope × 1 window', check: tollgateCheck(oneRule()) },
  {
    id: 'rlf-1',
    on: 'standalone',
    title: 'rate-limiter-flexible, 1 RateLimiterRedis',
    check: flexibleCheck(['ip']),
  },
  { id: 'floor-1', on: 'standalone', title: FLOOR_TITLES.one, check: floorOne() },
  {
    id: 'tg-4x1',
    on: 'standalone',
    title: 'tollgate, 4 scopes × 1 window',
    check: tollgateCheck(fourByOne()),
  },
  {
    id: 'rlf-4',
    on: 'standalone',
    title: 'rate-limiter-flexible, 4 RateLimiterRedis awaited in turn',
    check: flexibleCheck(FOUR_SCOPES),
  },
  {
    id: 'tg-4x2',
    on: 'standalone',
    title: 'tollgate, 4 scopes × 2 windows',
    check: tollgateCheck(fourByTwo()),
  },
  { id: 'tg-fluid', on: 'standalone', title: 'tollgate, 4 × 2 + burst', check: tollgateCheck(fluid()) },
  { id: 'floor-fluid', on: 'standalone', title: FLOOR_TITLES.fluid, check: floorFluid() },
  {
    id: 'tg-1-first',
    on: 'standalone',
    title: "tollgate, 1 scope × 1 window, every check a key's first",
    check: tollgateCheck(oneRule(), {}, fresh),
  },
  {
    id: 'rlf-1-first',
    on: 'standalone',
    title: "rate-limiter-flexible, 1 RateLimiterRedis, every check a key's first",
    check: flexibleCheck(['ip'], fresh),
  },
  {
    id: 'tg-fluid-first',
    on: 'standalone',
    title: "tollgate, 4 × 2 + burst, every check a key's first",
    check: tollgateCheck(fluid(), {}, fresh),
  },
  {
    id: 'tg-flood',
    on: 'standalone',
    title: `tollgate, 1 rule of ${FLOOD_MAX}/min, half the checks from 10 clients over it`,
    check: floodCheck({}),
  },
  {
    id: 'tg-flood-nocache',
    on: 'standalone',
    title: 'the same, refusalCache: false (every refusal asks Redis)',
    check: floodCheck(NO_CACHE),
  },
  {
    id: 'tg-1-cluster',
    on: 'cluster',
    title: 'tollgate, 1 scope × 1 window',
    check: tollgateCheck(oneRule()),
  },
  {
    id: 'rlf-1-cluster',
    on: 'cluster',
    title: 'rate-limiter-flexible, 1 RateLimiterRedis',
    check: flexibleCheck(['ip']),
  },
  { id: 'tg-fluid-cluster', on: 'cluster', title: 'tollgate, 4 × 2 + burst', check: tollgateCheck(fluid()) },
  {
    id: 'rlf-4-cluster',
    on: 'cluster',
    title: 'rate-limiter-flexible, 4 RateLimiterRedis awaited in turn',
    check: flexibleCheck(FOUR_SCOPES),
  },
];

async function measure(subject: (typeof SUBJECTS)[number], d: Deployment): Promise<RedisCpuRow> {
  await Promise.all(d.admins.map((admin) => admin.flushall()));
  const check = subject.check(d.client);
  await runChecks(check, KEYS, IN_FLIGHT);
  await Promise.all(d.admins.map((admin) => admin.config('RESETSTAT')));
  sent = 0;
  const cpu = () => d.pids.reduce((sum, pid) => sum + processCpuMicros(pid), 0);
  const cpuBefore = cpu();
  const start = performance.now();
  const refused = await runChecks(check, checks, IN_FLIGHT);
  const seconds = (performance.now() - start) / 1000;
  const stats = await Promise.all(d.admins.map((admin) => commandStats(admin)));
  return {
    id: subject.id,
    title: subject.title,
    deployment: subject.on,
    checks,
    ...costPerCheck(sumStats(stats), checks),
    sentPerCheck: sent / checks,
    processUsPerCheck: (cpu() - cpuBefore) / checks,
    ...(subject.on === 'cluster'
      ? { perMaster: stats.map((s) => costPerCheck(s, checks).usecPerCheck) }
      : {}),
    refused: refused / checks,
    checksPerSecond: Math.round(checks / seconds),
  };
}

const only = (process.env.REDIS_CPU_ONLY ?? '').split(',').filter((id) => id !== '');
const deployments = { standalone: await standalone(), cluster: await cluster() };
const results: RedisCpuRow[] = [];
for (const subject of SUBJECTS) {
  const d = deployments[subject.on];
  if (d === undefined || (only.length > 0 && !only.includes(subject.id))) continue;
  results.push(await measure(subject, d));
}
for (const d of Object.values(deployments)) {
  d?.client.disconnect();
  for (const admin of d?.admins ?? []) admin.disconnect();
}
console.log(JSON.stringify({ results }));
