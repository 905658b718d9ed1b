/**
 * `npm run bench`: every scenario of issue 7 in one run, written to bench/results.md and
 * bench/results.json. Each HTTP scenario's server is a child process; autocannon runs here.
 * Settings (env): see support/settings.ts. Quick run:
 *   BENCH_DURATION=2 BENCH_WARMUP=1 BENCH_ROUNDS=1 BENCH_MICRO_DURATION=1 BENCH_FLOOD_DURATION=3 npm run bench
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { summarise } from './support/aggregate.js';
import { type CpuShare, cpuMeter, processCpuMicros, waitForQuiet } from './support/cpu.js';
import { combineSlices, type LoadResult, type LoadShape, load } from './support/load.js';
import {
  type RedisServer,
  type RunningServer,
  runChildrenIn,
  runJsonChild,
  startRedis,
  startServer,
} from './support/processes.js';
import { writeReports } from './support/report.js';
import type {
  Flood,
  HeapPerKey,
  HttpRow,
  HttpRun,
  MicroResult,
  RedisMicro,
  Results,
} from './support/results.js';
import {
  BARE_EXPRESS,
  BARE_KOA,
  baselineOf,
  CALIBRATION,
  type HttpScenario,
  MEASURED,
} from './support/scenarios.js';
import { readSettings, type Settings } from './support/settings.js';
import { snapshot } from './support/snapshot.js';
import { addedMicros } from './support/stats.js';
import { evaluateTargets } from './support/targets.js';

const settings = readSettings();
const started = performance.now();

function log(message: string): void {
  const elapsed = Math.round((performance.now() - started) / 1000);
  process.stderr.write(
    `[${String(Math.floor(elapsed / 60)).padStart(2, '0')}:${String(elapsed % 60).padStart(2, '0')}] ${message}\n`,
  );
}

function selected(id: number | string, group: string): boolean {
  return settings.only.length === 0 || settings.only.includes(String(id)) || settings.only.includes(group);
}

const SERVER_FILES = { express: 'bench/servers/express.ts', koa: 'bench/servers/koa.ts' } as const;

interface Measured {
  readonly result: LoadResult;
  readonly cpu: CpuShare | undefined;
  /** Measured runs made to get this one (more than 1 when other processes were busy). */
  readonly attempts: number;
  /** CPU time per request of the server process, and of redis-server, µs. */
  readonly serverCpuUs: number;
  readonly redisCpuUs: number | undefined;
}

/** Seconds left for waiting out, and repeating runs spoiled by, other processes. */
let quietBudgetS = settings.quietBudgetS;

const busy = (share: CpuShare | undefined) => share?.otherCores ?? 0;

interface Side {
  readonly server: RunningServer;
  readonly shape: LoadShape;
  readonly slices: LoadResult[];
  cpuUs: number;
  redisUs: number;
}

/**
 * A scenario and its bare framework, measured together: both servers run at once and the load
 * alternates between them in slices of `sliceS`, A B B A A B B A …, until each has had
 * `durationS`. On a virtual machine whose speed drifts from one second to the next, two runs of
 * 10 s one after the other differ by up to half (bare Express against itself: 0.45× to 1.29×),
 * while slices a second apart see the same machine (1.00× to 1.04×); A B B A also cancels a
 * steady drift. Returns why the scenario cannot run instead, when it cannot.
 */
async function measurePair(
  baselineScenario: HttpScenario,
  scenario: HttpScenario,
  redis: RedisServer | undefined,
  s: Settings,
): Promise<{ baseline: Measured; measured: Measured } | { unavailable: string }> {
  if (scenario.redis) {
    if (redis === undefined) return { unavailable: 'redis-server is not available' };
    await redis.flush();
  }
  const env: Record<string, string> = { BENCH_SCENARIO: scenario.slug };
  if (redis !== undefined) env.REDIS_PORT = String(redis.port);
  // redis-server's CPU is counted for the scenario's slices when the scenario uses it.
  const redisPid = scenario.redis && redis !== undefined ? redis.pid : undefined;
  const bare = await startServer(SERVER_FILES[baselineScenario.framework], {
    BENCH_SCENARIO: baselineScenario.slug,
  });
  if (bare.kind === 'unavailable') throw new Error(`${baselineScenario.title} cannot run: ${bare.reason}`);
  const start = await startServer(SERVER_FILES[scenario.framework], env);
  if (start.kind === 'unavailable') {
    await bare.server.stop();
    return { unavailable: start.reason };
  }
  const shapeOf = (of: HttpScenario): LoadShape => ({ keys: of.keys, refuseShare: of.refuseShare });
  const sideOf = (server: RunningServer, of: HttpScenario): Side => ({
    server,
    shape: shapeOf(of),
    slices: [],
    cpuUs: 0,
    redisUs: 0,
  });
  try {
    const ours = [bare.server.pid, start.server.pid, ...(redis === undefined ? [] : [redis.pid])];
    await load(bare.server.port, shapeOf(baselineScenario), s.warmupS, s.connections);
    await load(start.server.port, shapeOf(scenario), s.warmupS, s.connections);
    const count = Math.max(1, Math.round(s.durationS / s.sliceS));
    let best: { a: Side; b: Side; cpu: CpuShare | undefined; attempts: number } | undefined;
    for (let attempt = 1; ; attempt++) {
      if (s.quietWaitS > 0 && quietBudgetS > 0) {
        const waitStart = performance.now();
        await waitForQuiet(ours, s.quietCores, Math.min(s.quietWaitS, quietBudgetS));
        quietBudgetS -= (performance.now() - waitStart) / 1000;
      }
      const a = sideOf(bare.server, baselineScenario);
      const b = sideOf(start.server, scenario);
      const meter = cpuMeter(ours);
      for (let k = 0; k < 2 * count; k++) {
        const side = k % 4 === 0 || k % 4 === 3 ? a : b;
        const cpuBefore = await side.server.cpuMicros();
        const redisBefore = side === b && redisPid !== undefined ? processCpuMicros(redisPid) : 0;
        side.slices.push(await load(side.server.port, side.shape, s.sliceS, s.connections));
        side.cpuUs += (await side.server.cpuMicros()) - cpuBefore;
        if (side === b && redisPid !== undefined) side.redisUs += processCpuMicros(redisPid) - redisBefore;
      }
      const cpu = meter.stop();
      if (best === undefined || busy(cpu) < busy(best.cpu)) best = { a, b, cpu, attempts: attempt };
      else best = { ...best, attempts: attempt };
      if (busy(cpu) <= s.quietCores || attempt > s.retries || quietBudgetS <= 0) break;
      quietBudgetS -= 2 * s.durationS;
      log(`  other processes used ${busy(cpu).toFixed(2)} cores during the runs: measuring again`);
    }
    const measuredOf = (side: Side, withRedis: boolean): Measured => {
      const result = combineSlices(side.slices);
      return {
        result,
        cpu: best!.cpu,
        attempts: best!.attempts,
        serverCpuUs: side.cpuUs / result.requests,
        redisCpuUs: withRedis ? side.redisUs / result.requests : undefined,
      };
    };
    return {
      baseline: measuredOf(best.a, false),
      measured: measuredOf(best.b, redisPid !== undefined),
    };
  } finally {
    await Promise.all([bare.server.stop(), start.server.stop()]);
  }
}

/** The bare framework's own row, from every run it made as a baseline. */
function bareRow(scenario: HttpScenario, baselines: Measured[], reference: number | undefined): HttpRow {
  const runs: HttpRun[] = baselines.map(({ result, cpu, attempts, serverCpuUs }, round) => ({
    round,
    result,
    attempts,
    serverCpuUs,
    baselineCpuUs: serverCpuUs,
    baseline: result,
    ...(cpu === undefined ? {} : { cpu }),
  }));
  const row = summarise(scenario, runs, undefined);
  if (row.rps === undefined || reference === undefined) return row;
  // Bare Koa against bare Express, for scale; bare Express against itself is 1.
  return {
    ...row,
    baselineRps: reference,
    ratio: row.rps / reference,
    addedUs: addedMicros(row.rps, reference),
  };
}

async function runHttp(redis: RedisServer | undefined): Promise<HttpRow[]> {
  const chosen = [
    ...MEASURED.filter((s) => selected(s.id, s.group)),
    // Only on request: never part of a default run.
    ...CALIBRATION.filter((s) => settings.only.includes(String(s.id)) || settings.only.includes(s.group)),
  ];
  const runs = new Map<HttpScenario, HttpRun[]>(chosen.map((s) => [s, []]));
  const missing = new Map<HttpScenario, string>();
  const bare = new Map<HttpScenario, Measured[]>([
    [BARE_EXPRESS, []],
    [BARE_KOA, []],
  ]);
  for (let round = 1; round <= settings.rounds; round++) {
    for (const scenario of chosen) {
      if (missing.has(scenario)) continue;
      const label = `round ${round}/${settings.rounds} · ${scenario.id} ${scenario.title}`;
      const baselineScenario = baselineOf(scenario);
      const pair = await measurePair(baselineScenario, scenario, redis, settings);
      if ('unavailable' in pair) {
        log(`${label}: not available (${pair.unavailable})`);
        missing.set(scenario, pair.unavailable);
        continue;
      }
      const { baseline, measured } = pair;
      bare.get(baselineScenario)!.push(baseline);
      const { result, cpu } = measured;
      runs.get(scenario)!.push({
        round,
        result,
        attempts: measured.attempts,
        serverCpuUs: measured.serverCpuUs,
        ...(measured.redisCpuUs === undefined ? {} : { redisCpuUs: measured.redisCpuUs }),
        baselineCpuUs: baseline.serverCpuUs,
        baseline: baseline.result,
        ...(cpu === undefined ? {} : { cpu }),
        ...(baseline.cpu === undefined ? {} : { baselineCpu: baseline.cpu }),
      });
      const warn = result.non2xx > 0 && scenario.refuseShare === 0 ? ` ⚠ ${result.non2xx} non-2xx` : '';
      const others = (share: CpuShare | undefined) =>
        share === undefined ? '?' : share.otherCores.toFixed(2);
      const redisPart = measured.redisCpuUs === undefined ? '' : ` + ${measured.redisCpuUs.toFixed(0)} redis`;
      log(
        `${label}: ${Math.round(result.rps)} req/s vs ${baselineScenario.title} ${Math.round(baseline.result.rps)} ` +
          `(×${(result.rps / baseline.result.rps).toFixed(3)}), p99 ${result.p99} ms, ` +
          `CPU ${measured.serverCpuUs.toFixed(0)}${redisPart} vs ${baseline.serverCpuUs.toFixed(0)} µs/req, ` +
          `other processes ${others(cpu)}/${others(baseline.cpu)} cores${warn}`,
      );
    }
  }
  const expressRow = bareRow(BARE_EXPRESS, bare.get(BARE_EXPRESS)!, undefined);
  const rows: HttpRow[] = [];
  if (bare.get(BARE_EXPRESS)!.length > 0) rows.push(expressRow);
  for (const scenario of chosen) {
    if (scenario.id === 15 && bare.get(BARE_KOA)!.length > 0)
      rows.push(bareRow(BARE_KOA, bare.get(BARE_KOA)!, expressRow.rps));
    rows.push(summarise(scenario, runs.get(scenario)!, missing.get(scenario)));
  }
  return rows.sort((a, b) => a.id - b.id);
}

function versionOf(name: string): string {
  try {
    return (
      JSON.parse(readFileSync(join('node_modules', name, 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    return 'not installed';
  }
}

function gitDescribe(): string {
  try {
    return execFileSync('git', ['describe', '--always', '--dirty'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const own = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  const code = snapshot(process.cwd());
  // Taken with the snapshot: commits made while the run goes on are not what it measured.
  const commit = gitDescribe();
  runChildrenIn(code.root);
  process.once('exit', () => code.remove());
  log(`measuring a snapshot of lib/ (sha256 ${code.libHash}) in ${code.root}`);
  const needsRedis = MEASURED.some((s) => s.redis && selected(s.id, s.group)) || selected(17, 'micro');
  let redis: RedisServer | undefined;
  let redisVersion = 'not started';
  if (needsRedis) {
    const started = await startRedis();
    if ('unavailable' in started) {
      log(`redis-server not available: ${started.unavailable}; Redis scenarios are skipped`);
      redisVersion = `not available (${started.unavailable})`;
    } else {
      redis = started;
      redisVersion = started.version;
      log(`redis-server ${started.version} on port ${started.port}`);
    }
  }
  try {
    const http = await runHttp(redis);

    let micro: { results: MicroResult[]; otherCores?: number } | undefined;
    if (selected(16, 'micro')) {
      log('16 micro: memory decisions per second');
      const { value: decisions, cpu } = await runJsonChild<{ results: MicroResult[] }>(
        'bench/micro/decisions.ts',
        microEnv(),
      );
      micro = { ...decisions, ...(cpu === undefined ? {} : { otherCores: cpu.otherCores }) };
      for (const r of decisions.results) log(`  ${r.name}: ${Math.round(r.median).toLocaleString('en')} /s`);
    }
    let redisMicro: RedisMicro | undefined;
    if (selected(17, 'micro')) {
      if (redis === undefined) redisMicro = { unavailable: 'redis-server is not available' };
      else {
        log('17 micro: Redis checks per second');
        await redis.flush();
        const { value: checks, cpu } = await runJsonChild<RedisMicro>(
          'bench/micro/redis-checks.ts',
          { ...microEnv(), REDIS_PORT: String(redis.port) },
          [],
          [redis.pid],
        );
        redisMicro = { ...checks, ...(cpu === undefined ? {} : { otherCores: cpu.otherCores }) };
        for (const r of checks.results ?? [])
          log(`  ${r.name}: ${Math.round(r.median).toLocaleString('en')} /s`);
      }
    }
    let memory: { window: HeapPerKey; withBurst: HeapPerKey } | undefined;
    if (selected(18, 'memory')) {
      log(`18 memory: heap per key after ${settings.heapKeys.toLocaleString('en')} keys`);
      const { value: heap } = await runJsonChild<{ window: HeapPerKey; withBurst: HeapPerKey }>(
        'bench/micro/memory.ts',
        { ...microEnv(), MEMORY_MODE: 'heap' },
        ['--expose-gc'],
      );
      memory = heap;
      log(
        `  ${heap.window.bytesPerKey.toFixed(0)} bytes/key (1 window), ${heap.withBurst.bytesPerKey.toFixed(0)} with burst`,
      );
    }
    let flood: Flood | undefined;
    if (selected(19, 'memory')) {
      log(`19 memory: ${settings.floodS} s flood of random keys at the key cap`);
      const { value: flooded } = await runJsonChild<Flood>(
        'bench/micro/memory.ts',
        { ...microEnv(), MEMORY_MODE: 'flood' },
        ['--expose-gc'],
      );
      flood = flooded;
      log(
        `  max size ${flooded.maxSize}, heap growth after the cap ${flooded.heapGrowthAfterCapMB?.toFixed(2)} MB`,
      );
    }

    const cpuList = cpus();
    const results: Results = {
      generatedAt: new Date().toISOString(),
      command: 'npm run bench',
      settings: { ...settings, keys: 10_000 },
      machine: {
        cores: cpuList.length,
        cpu: cpuList[0]?.model ?? 'unknown',
        memoryGB: Math.round(totalmem() / 2 ** 30),
        platform: `${process.platform} ${release()}`,
      },
      versions: {
        node: process.version,
        tollgate: `${own.version} (${commit}, lib/ sha256 ${code.libHash})`,
        express: versionOf('express'),
        koa: versionOf('koa'),
        '@koa/router': versionOf('@koa/router'),
        'express-rate-limit': versionOf('express-rate-limit'),
        'rate-limit-redis': versionOf('rate-limit-redis'),
        'rate-limiter-flexible': versionOf('rate-limiter-flexible'),
        ioredis: versionOf('ioredis'),
        'redis-server': redisVersion,
        autocannon: versionOf('autocannon'),
        tsx: versionOf('tsx'),
      },
      http,
      ...(micro === undefined ? {} : { micro }),
      ...(redisMicro === undefined ? {} : { redisMicro }),
      ...(memory === undefined ? {} : { memory }),
      ...(flood === undefined ? {} : { flood }),
      targets: [],
      durationS: Math.round((performance.now() - started) / 1000),
    };
    const complete = { ...results, targets: evaluateTargets(results) };
    const written = writeReports(complete, settings.outDir);
    log(`wrote ${written.join(' and ')}`);
  } finally {
    await redis?.stop();
    code.remove();
  }
}

function microEnv(): Record<string, string> {
  return {
    BENCH_MICRO_DURATION: String(settings.microS),
    BENCH_ROUNDS: String(settings.rounds),
    BENCH_HEAP_KEYS: String(settings.heapKeys),
    BENCH_FLOOD_DURATION: String(settings.floodS),
  };
}

/**
 * `BENCH_RERENDER=bench/results.json npm run bench`: rebuilds the rows, targets and both reports
 * from the runs recorded in a results.json, without measuring anything (after a change to how
 * results are summarised or shown).
 */
function rerender(path: string): void {
  const old = JSON.parse(readFileSync(path, 'utf8')) as Results;
  const express = old.http.find((row) => row.id === 1);
  const expressRow =
    express === undefined ? undefined : summarise(express, express.runs, express.unavailable);
  const http = old.http.map((row) => {
    if (row.id === 1 && expressRow !== undefined) return expressRow;
    const fresh = row.runs.length === 0 ? row : summarise(row, row.runs, row.unavailable);
    if (row.id !== 14 || fresh.rps === undefined || expressRow?.rps === undefined) return fresh;
    return {
      ...fresh,
      baselineRps: expressRow.rps,
      ratio: fresh.rps / expressRow.rps,
      addedUs: addedMicros(fresh.rps, expressRow.rps),
    };
  });
  const results: Results = { ...old, http, rerenderedAt: new Date().toISOString() };
  const written = writeReports({ ...results, targets: evaluateTargets(results) }, settings.outDir);
  log(`re-rendered ${path} into ${written.join(' and ')}`);
}

if (process.env.BENCH_RERENDER) rerender(process.env.BENCH_RERENDER);
else await main();
