/**
 * `npm run bench`: the HTTP scenarios side by side with their bare framework, the Redis CPU and
 * the Redis instructions per check, and the micro benchmark, in one run; written to
 * bench/results.md and results.json.
 * Settings come from the environment: see bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { MicroRow } from './micro/decisions.js';
import type { RedisCpuRow } from './micro/redis-cpu.js';
import type { RedisInstructionsRow } from './micro/redis-instructions.js';
import { type Build, prepareBuilds } from './support/builds.js';
import { load, type Slice } from './support/load.js';
import { int } from './support/markdown.js';
import {
  otherLoadMeter,
  processCpuMicros,
  type RedisClusterServers,
  type RedisServer,
  runJsonChild,
  type Server,
  startRedis,
  startRedisCluster,
  startServer,
} from './support/processes.js';
import { type HttpResult, type Results, type Round, writeResults } from './support/report.js';
import { BARE, BASELINE_SCENARIOS, counterpartOf, SCENARIOS, type Scenario } from './support/scenarios.js';
import { isFullRun, readSettings } from './support/settings.js';

const settings = readSettings();
const started = performance.now();

function log(message: string): void {
  const s = Math.round((performance.now() - started) / 1000);
  process.stderr.write(
    `[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${message}\n`,
  );
}

const wanted = (id: string, group: string) =>
  settings.only.length === 0 || settings.only.includes(id) || settings.only.includes(group);

/** The chosen scenarios in run order, each baseline one right after its counterpart. */
function chosenScenarios(): Scenario[] {
  const baseline =
    settings.baselineDist === undefined ? [] : BASELINE_SCENARIOS.filter((s) => wanted(s.id, s.group));
  return SCENARIOS.flatMap((s) => {
    const base = baseline.find((b) => counterpartOf(b.id) === s.id);
    return [
      ...(wanted(s.id, s.group) || base !== undefined ? [s] : []),
      ...(base === undefined ? [] : [base]),
    ];
  });
}

interface Side {
  readonly server: Server;
  readonly refuseShare: number;
  readonly slices: Slice[];
  cpuUs: number;
  redisUs: number;
}

/**
 * A scenario and a fresh bare server of its framework, measured together: the load alternates
 * between them in slices, A B B A A B B A …, until each has had `durationS`. This VM's speed
 * drifts from one second to the next; slices a second apart see the same machine, and A B B A
 * cancels a steady drift.
 */
async function measurePair(
  scenario: Scenario,
  builds: Build[],
  redis: RedisServer | undefined,
): Promise<Round> {
  const build = builds.find((b) => b.role === scenario.build)!;
  const file = `bench/servers/${scenario.framework}.ts`;
  if (scenario.redis) await redis!.flush();
  const env = {
    BENCH_SCENARIO: scenario.server,
    TOLLGATE_DIST: build.dir,
    ...(redis === undefined ? {} : { REDIS_PORT: String(redis.port) }),
  };
  const servers = await Promise.all([startServer(file, { BENCH_SCENARIO: 'bare' }), startServer(file, env)]);
  try {
    const [bare, measured] = servers.map(
      (server, i): Side => ({
        server,
        refuseShare: i === 1 ? scenario.refuseShare : 0,
        slices: [],
        cpuUs: 0,
        redisUs: 0,
      }),
    ) as [Side, Side];
    for (const side of [bare, measured])
      await load(side.server.port, settings.warmupS, settings.connections, side.refuseShare);
    const redisPid = scenario.redis ? redis!.pid : undefined;
    const otherLoad = otherLoadMeter([
      ...servers.map((s) => s.pid),
      ...(redis === undefined ? [] : [redis.pid]),
    ]);
    const slices = 2 * Math.max(1, Math.round(settings.durationS / settings.sliceS));
    for (let k = 0; k < slices; k++) {
      const side = k % 4 === 0 || k % 4 === 3 ? bare : measured;
      const cpuBefore = await side.server.cpuMicros();
      const redisPidOf = side === measured ? redisPid : undefined;
      const redisBefore = redisPidOf === undefined ? 0 : processCpuMicros(redisPidOf);
      side.slices.push(await load(side.server.port, settings.sliceS, settings.connections, side.refuseShare));
      side.cpuUs += (await side.server.cpuMicros()) - cpuBefore;
      if (redisPidOf !== undefined) side.redisUs += processCpuMicros(redisPidOf) - redisBefore;
    }
    const total = (side: Side, pick: (slice: Slice) => number) =>
      side.slices.reduce((sum, s) => sum + pick(s), 0);
    const rps = (side: Side) => total(side, (s) => s.requests) / total(side, (s) => s.seconds);
    const requests = (side: Side) => total(side, (s) => s.requests);
    return {
      rps: rps(measured),
      bareRps: rps(bare),
      ratio: rps(measured) / rps(bare),
      cpuUs: measured.cpuUs / requests(measured),
      bareCpuUs: bare.cpuUs / requests(bare),
      ...(redisPid === undefined ? {} : { redisCpuUs: measured.redisUs / requests(measured) }),
      p99: Math.max(...measured.slices.map((s) => s.p99)),
      non2xxShare: total(measured, (s) => s.non2xx) / requests(measured),
      errors: total(measured, (s) => s.errors),
      otherCores: otherLoad(),
    };
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

async function runHttp(
  chosen: Scenario[],
  builds: Build[],
  redis: RedisServer | undefined,
): Promise<HttpResult[]> {
  const results = chosen.map(
    (s): HttpResult => ({
      id: s.id,
      title: s.title,
      group: s.group,
      framework: s.framework,
      ...(s.server.startsWith('tg') ? { build: builds.find((b) => b.role === s.build)!.label } : {}),
      refuseShare: s.refuseShare,
      rounds: [],
    }),
  );
  for (let round = 1; round <= settings.rounds; round++) {
    for (const [i, scenario] of chosen.entries()) {
      const r = await measurePair(scenario, builds, redis);
      results[i]!.rounds.push(r);
      const warn =
        r.non2xxShare > scenario.refuseShare + 0.01 || r.errors > 0
          ? ` ⚠ non-2xx ${(100 * r.non2xxShare).toFixed(1)} %, ${r.errors} errors`
          : '';
      log(
        `round ${round}/${settings.rounds} ${scenario.id}: ${Math.round(r.rps)} req/s vs ${BARE[scenario.framework].title} ` +
          `${Math.round(r.bareRps)} (×${r.ratio.toFixed(3)}), CPU ${r.cpuUs.toFixed(0)} vs ${r.bareCpuUs.toFixed(0)} µs/req, ` +
          `other load ${r.otherCores.toFixed(2)} cores${warn}`,
      );
    }
  }
  return results;
}

/**
 * Redis instructions per check, on a redis-server of its own run under callgrind (about 50 times
 * slower, so on 1,000 keys). Without valgrind, or when it fails, the run goes on and results.md
 * says why the section is missing.
 */
async function redisInstructions(
  builds: readonly Build[],
): Promise<{ rows: Array<RedisInstructionsRow & { build: string }>; missing?: string }> {
  const absent = ['valgrind', 'callgrind_control', 'callgrind_annotate'].filter(
    // Not the exit status: callgrind_annotate --version exits 255.
    (tool) => spawnSync(tool, ['--version']).error !== undefined,
  );
  if (absent.length > 0) {
    log(`${absent.join(', ')} not found (valgrind): no Redis instructions per check`);
    return { rows: [], missing: `${absent.join(', ')} not found (valgrind is not installed)` };
  }
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-callgrind-'));
  const out = join(dir, 'callgrind.out');
  const rows: Array<RedisInstructionsRow & { build: string }> = [];
  let redis: RedisServer | undefined;
  try {
    redis = await startRedis(['valgrind', '--tool=callgrind', `--callgrind-out-file=${out}`]);
    for (const build of builds) {
      log(`Redis instructions per check (callgrind), ${build.label}`);
      const { results } = await runJsonChild<{ results: RedisInstructionsRow[] }>(
        'bench/micro/redis-instructions.ts',
        {
          TOLLGATE_DIST: build.dir,
          REDIS_PORT: String(redis.port),
          REDIS_PID: String(redis.pid),
          CALLGRIND_OUT: out,
          BENCH_REDIS_INSTRUCTION_CHECKS: String(settings.redisInstructionChecks),
          // The baseline build's own subjects only: the peer and the floors do not change with it.
          ...(build.role === 'this' ? {} : { REDIS_INSTRUCTIONS_ONLY: 'tg-1,tg-fluid' }),
        },
      );
      for (const row of results) {
        rows.push({ ...row, build: build.label });
        log(`  ${row.title}: ${int(row.instructionsPerCheck)} instructions`);
      }
    }
    return { rows };
  } catch (error) {
    // Everything measured before this step is still written.
    log(`Redis instructions per check failed: ${String(error)}`);
    return { rows, missing: `the measurement failed (the run's log says more): ${String(error)}` };
  } finally {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const PACKAGES =
  'express koa @koa/router express-rate-limit rate-limit-redis rate-limiter-flexible ioredis autocannon';

function versionOf(name: string): string {
  try {
    return (JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')) as { version: string })
      .version;
  } catch {
    return 'not installed';
  }
}

async function main(): Promise<void> {
  const builds = prepareBuilds(settings, log);
  for (const b of builds) log(`${b.role} build: ${b.label} (${b.source}, js sha256 ${b.hash})`);
  const chosen = chosenScenarios();
  const redisCpuWanted = wanted('redis-cpu', 'redis-cpu');
  let redis: RedisServer | undefined;
  let cluster: RedisClusterServers | undefined;
  if (chosen.some((s) => s.redis) || redisCpuWanted) {
    redis = await startRedis();
    log(`redis-server ${redis.version} on port ${redis.port}`);
  }
  try {
    const http = await runHttp(chosen, builds, redis);
    const micro: Array<MicroRow & { build: string }> = [];
    if (wanted('micro', 'micro')) {
      for (const build of builds) {
        log(`micro: decisions per second, ${build.label}`);
        const { results } = await runJsonChild<{ results: MicroRow[] }>('bench/micro/decisions.ts', {
          TOLLGATE_DIST: build.dir,
          BENCH_MICRO_DURATION: String(settings.microS),
          BENCH_ROUNDS: String(settings.rounds),
          MICRO_PEERS: build.role === 'this' ? '1' : '0',
        });
        micro.push(...results.map((row) => ({ ...row, build: build.label })));
      }
    }
    const redisCpu: Array<RedisCpuRow & { build: string }> = [];
    if (redisCpuWanted && redis !== undefined) {
      cluster = await startRedisCluster();
      log(`3-master Redis Cluster on ports ${cluster.ports.join(', ')}`);
      for (const build of builds) {
        log(`Redis CPU per check, ${build.label}`);
        const { results } = await runJsonChild<{ results: RedisCpuRow[] }>('bench/micro/redis-cpu.ts', {
          TOLLGATE_DIST: build.dir,
          REDIS_PORT: String(redis.port),
          REDIS_PID: String(redis.pid),
          REDIS_CLUSTER_PORTS: cluster.ports.join(','),
          REDIS_CLUSTER_PIDS: cluster.pids.join(','),
          BENCH_REDIS_CHECKS: String(settings.redisChecks),
          // The baseline build's own subjects only: the peers do not change with it.
          ...(build.role === 'this'
            ? {}
            : {
                REDIS_CPU_ONLY:
                  'tg-1,tg-4x1,tg-4x2,tg-fluid,tg-1-first,tg-fluid-first,tg-flood,tg-1-cluster,tg-fluid-cluster',
              }),
        });
        for (const row of results) {
          redisCpu.push({ ...row, build: build.label });
          const masters =
            row.perMaster === undefined
              ? ''
              : ` (per master ${row.perMaster.map((u) => u.toFixed(1)).join(' / ')})`;
          log(
            `  ${row.deployment} ${row.title}: ${row.usecPerCheck.toFixed(1)} µs${masters}, ${row.roundTripsPerCheck.toFixed(2)} round trips, ${(100 * row.refused).toFixed(0)} % refused`,
          );
        }
      }
    }
    const instructions = wanted('redis-instructions', 'redis-instructions')
      ? await redisInstructions(builds)
      : { rows: [] };
    const list = cpus();
    const results: Results = {
      generatedAt: new Date().toISOString(),
      durationS: Math.round((performance.now() - started) / 1000),
      full: isFullRun(settings),
      settings: { ...settings },
      machine: {
        cores: list.length,
        cpu: list[0]?.model ?? 'unknown',
        memoryGB: Math.round(totalmem() / 2 ** 30),
        os: `${process.platform} ${release()}`,
      },
      versions: {
        node: process.version,
        'redis-server': redis?.version ?? 'not started',
        valgrind:
          spawnSync('valgrind', ['--version'], { encoding: 'utf8' })
            .stdout?.trim()
            .replace(/^valgrind-/, '') || 'not installed',
        ...Object.fromEntries(PACKAGES.split(' ').map((name) => [name, versionOf(name)])),
      },
      builds: builds.map(({ role, label, source, hash }) => ({ role, label, source, hash })),
      http,
      micro,
      redisCpu,
      redisInstructions: instructions.rows,
      ...(instructions.missing === undefined ? {} : { redisInstructionsMissing: instructions.missing }),
    };
    log(`wrote ${writeResults(results, settings.outDir).join(' and ')}`);
  } finally {
    await redis?.stop();
    await cluster?.stop();
  }
}

// `BENCH_RERENDER=bench/results.json npm run bench`: results.md again from a results.json, measuring nothing.
if (process.env.BENCH_RERENDER === undefined) await main();
else writeResults(JSON.parse(readFileSync(process.env.BENCH_RERENDER, 'utf8')) as Results, settings.outDir);
