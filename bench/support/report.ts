import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { HttpRow, Results, Target } from './results.js';
import { bareExpressRps, REFERENCE_BARE_EXPRESS_RPS } from './targets.js';

const int = (value: number) => Math.round(value).toLocaleString('en');
const fixed = (value: number | undefined, digits: number) =>
  value === undefined ? '–' : value.toFixed(digits);

function verdict(met: boolean | undefined): string {
  return met === undefined ? '– not measured' : met ? '✅ met' : '❌ missed';
}

function httpNote(row: HttpRow): string {
  const notes: string[] = [];
  if (row.keys !== 10_000) notes.push(`${int(row.keys)} keys`);
  if (row.refuseShare > 0) notes.push(`${((row.non2xxShare ?? 0) * 100).toFixed(1)} % refused`);
  else if ((row.non2xx ?? 0) > 0) notes.push(`⚠ ${int(row.non2xx!)} non-2xx`);
  if ((row.errors ?? 0) > 0) notes.push(`⚠ ${int(row.errors!)} errors/timeouts`);
  if (row.serverCores !== undefined && row.serverCores < 0.85)
    notes.push(`server at ${row.serverCores.toFixed(2)} cores: the load generator limited this req/s`);
  if (row.id === 14) notes.push('ratio: against bare Express');
  if (row.framework === 'koa' && row.id !== 14) notes.push('ratio: against bare Koa');
  if (row.roundRatios !== undefined && row.roundRatios.length > 1 && row.id !== 1 && row.id !== 14)
    notes.push(`rounds ${row.roundRatios.map((r) => r.toFixed(3)).join(' / ')}`);
  return notes.join('; ');
}

function cpuCell(row: HttpRow): string {
  if (row.cpuUs === undefined) return '–';
  return row.redisCpuUs === undefined
    ? row.cpuUs.toFixed(0)
    : `${row.cpuUs.toFixed(0)} (${row.redisCpuUs.toFixed(0)} in Redis)`;
}

function httpTable(rows: readonly HttpRow[]): string[] {
  const lines = [
    '| # | scenario | req/s | p50 ms | p99 ms | × bare | added µs/req | CPU µs/req | CPU added µs/req | other load | notes |',
    '|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const row of rows) {
    if (row.rps === undefined) {
      lines.push(
        `| ${row.id} | ${row.title} | – | – | – | – | – | – | – | – | not available: ${row.unavailable} |`,
      );
      continue;
    }
    const self = row.id === 1;
    lines.push(
      `| ${row.id} | ${row.title} | ${int(row.rps)} | ${row.p50} | ${row.p99} | ${self ? '1' : fixed(row.ratio, 3)} | ${
        self ? '0' : fixed(row.addedUs, 1)
      } | ${cpuCell(row)} | ${self || row.id === 14 ? '–' : fixed(row.cpuAddedUs, 1)} | ${fixed(row.otherCores, 2)} | ${httpNote(row)} |`,
    );
  }
  return lines;
}

function targetTable(targets: readonly Target[]): string[] {
  return [
    '| area | target | measured | |  floor, same run |',
    '|---|---|---|---|---|',
    ...targets.map(
      (t) => `| ${t.area} | ${t.target} | ${t.measured} | ${verdict(t.met)} | ${t.floor ?? ''} |`,
    ),
  ];
}

function otherShares(rows: readonly HttpRow[]): number[] {
  return rows
    .flatMap((row) => row.runs.flatMap((run) => (run.cpu === undefined ? [] : [run.cpu.otherCores])))
    .sort((a, b) => a - b);
}

function sharedWarning(rows: readonly HttpRow[]): string[] {
  const shares = otherShares(rows);
  const mid = shares[shares.length >> 1];
  if (mid === undefined || mid < 0.25) return [];
  return [
    `> **Shared machine.** Other processes used a median of ${mid.toFixed(2)} of the ${cpus().length} cores during the`,
    '> measured HTTP runs, so absolute req/s and added µs are inflated (every µs of work waits for a CPU)',
    '> and noisy. The paired ratios are the figures to read; rerun on an idle machine for absolute ones.',
    '',
  ];
}

function loadSummary(rows: readonly HttpRow[]): string[] {
  const shares = rows.flatMap((row) =>
    row.runs.flatMap((run) => (run.cpu === undefined ? [] : [run.cpu.otherCores])),
  );
  if (shares.length === 0) return [];
  const sorted = [...shares].sort((a, b) => a - b);
  const mid = sorted[sorted.length >> 1]!;
  return [
    `Other processes used a median of ${mid.toFixed(2)} cores (max ${sorted[sorted.length - 1]!.toFixed(2)}) during the ${shares.length} measured runs.`,
    '',
  ];
}

/** How the µs targets are judged: at the issue's machine speed (see targets.ts). */
function speedNote(results: Results): string[] {
  const bare = bareExpressRps(results);
  if (bare === undefined) return [];
  return [
    `The issue states its µs targets for a machine on which bare Express answers about 12–13k requests a second, as ratios: ≤ 5 µs over its 80 µs is 0.941×. Bare Express answered ${int(bare)} a second in this run (${(1e6 / bare).toFixed(0)} µs each), so each µs figure is judged as it would be at ${REFERENCE_BARE_EXPRESS_RPS / 1000}k req/s, scaled by ${(bare / REFERENCE_BARE_EXPRESS_RPS).toFixed(3)} (Koa's by the same factor); the figure measured here follows it.`,
    '',
  ];
}

export function renderMarkdown(results: Results): string {
  const s = results.settings as Record<string, number | string | string[]>;
  const lines: string[] = [
    '# tollgate benchmarks',
    '',
    `Generated by \`npm run bench\` (bench/run.ts) on ${results.generatedAt}, in ${Math.round(results.durationS / 60)} min.`,
    'Scenarios and targets: issue 7. Do not edit by hand: run the harness again.',
    '',
    '## Machine and versions',
    '',
    `- ${results.machine.cores} cores, ${results.machine.cpu}, ${results.machine.memoryGB} GB, ${results.machine.platform}`,
    `- ${Object.entries(results.versions)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}`,
    `- ${s.rounds} rounds; each HTTP run: ${s.warmupS} s warm-up, then ${s.durationS} s measured with autocannon, ${s.connections} connections; ${int(Number(s.keys))} distinct keys unless noted; micro runs ${s.microS} s each.`,
    '',
    ...sharedWarning(results.http),
    '## Targets',
    '',
    ...speedNote(results),
    ...targetTable(results.targets),
    '',
    '## HTTP',
    '',
    'Median of the rounds. Each scenario ran beside its bare framework, the load alternating between',
    'the two in slices (A B B A …), fresh server processes each round; "× bare" is the median of the rounds\' ratios,',
    '"added µs/req" is 1e6/req/s − 1e6/bare req/s. "CPU µs/req" is the CPU time the server process',
    '(plus redis-server, for Redis scenarios) used per request; "CPU added" is its paired difference',
    "from the bare server's: it hardly moves when other processes take CPU away, so on a shared",
    'machine it is the steadier estimate of what a request costs. Load comes from this process (autocannon), the',
    'server from a child, Redis from a third process: on 2 cores they share the CPUs. "other load" is',
    'the median CPU, in cores, that processes outside the benchmark used during the measured runs',
    '(from /proc): anything well above 0 means the machine was shared and the figures are noisy.',
    '',
    ...loadSummary(results.http),
    ...httpTable(results.http),
    '',
  ];
  if (results.micro !== undefined) {
    lines.push(
      '## Micro: memory decisions per second (scenario 16)',
      '',
      '`createLimiter(options).decide(request)` in a loop on one core (awaited only when it returns a promise, which the memory store never makes it do; the floors likewise), request descriptions built beforehand.',
      ...(results.micro.otherCores === undefined
        ? []
        : [`Other processes used ${results.micro.otherCores.toFixed(2)} cores meanwhile.`]),
      '',
      '"per CPU-second" divides by the CPU time the process used (GC threads included), so it is what',
      'one core does even when other processes share the machine; "per second" is wall-clock.',
      '',
      '| configuration | per CPU-second | CPU µs each | per second | rounds (per CPU-second) |',
      '|---|--:|--:|--:|---|',
      ...results.micro.results.map(
        (r) =>
          `| ${r.name} | ${r.cpuMedian === undefined ? '–' : int(r.cpuMedian)} | ${
            r.cpuMedian === undefined ? '–' : (1e6 / r.cpuMedian).toFixed(2)
          } | ${int(r.median)} | ${(r.perCpuSecond ?? r.perSecond).map(int).join(' / ')} |`,
      ),
      '',
    );
  }
  const rm = results.redisMicro;
  if (rm !== undefined) {
    lines.push('## Micro: Redis checks per second (scenario 17)', '');
    if (rm.unavailable !== undefined) lines.push(`Not available: ${rm.unavailable}`, '');
    else {
      lines.push(
        `Both on one ioredis connection to the runner's redis-server; ${rm.inFlight} concurrent = ${rm.inFlight} calls kept in flight.` +
          (rm.otherCores === undefined
            ? ''
            : ` Other processes used ${rm.otherCores.toFixed(2)} cores meanwhile.`),
        '',
        '| subject | mode | checks/s | rounds |',
        '|---|---|--:|---|',
        ...(rm.results ?? []).map(
          (r) => `| ${r.subject} | ${r.mode} | ${int(r.median)} | ${r.perSecond.map(int).join(' / ')} |`,
        ),
        '',
        'Round trips are the commands the client sent, counted in ioredis; Redis-side figures are from',
        'INFO commandstats over 1,000 sequential checks (commands run inside scripts included).',
        '',
        '| subject | round trips per check | Redis commands per check | script time in Redis per call |',
        '|---|--:|---|--:|',
        ...Object.entries(rm.roundTrips ?? {}).map(
          ([subject, t]) =>
            `| ${subject} | ${t.perCall.toFixed(2)} | ${Object.entries(t.redisCommandsPerCall)
              .map(([name, calls]) => `${name} ${calls.toFixed(1)}`)
              .join(', ')} | ${Object.entries(t.scriptMicrosPerCall)
              .map(([name, us]) => `${us.toFixed(1)} µs (${name})`)
              .join(', ')} |`,
        ),
        '',
      );
    }
  }
  if (results.memory !== undefined) {
    const { window, withBurst } = results.memory;
    lines.push(
      '## Memory store (scenarios 18, 19)',
      '',
      '| policy | keys | counters | heap per key | heap after | inserts/s |',
      '|---|--:|--:|--:|--:|--:|',
      ...[
        ['1 rule (1 window counter per key)', window],
        ['1 rule + burst (window + bucket per key)', withBurst],
      ].map(([name, m]) => {
        const h = m as typeof window;
        return `| ${name as string} | ${int(h.keys)} | ${int(h.counters)} | ${h.bytesPerKey.toFixed(0)} bytes | ${h.heapAfterMB.toFixed(0)} MB | ${int(h.insertsPerSecond)} |`;
      }),
      '',
    );
  }
  if (results.flood !== undefined) {
    const f = results.flood;
    lines.push(
      `Flood: ${f.seconds} s of random client addresses against \`new MemoryStore({ maxKeys: ${int(f.maxKeys)} })\`, 1 rule + burst, ${int(f.checksPerSecond)} checks/s, ${int(f.refused)} refused.`,
      '',
      '| s | checks | counters held | heap after GC |',
      '|--:|--:|--:|--:|',
      ...f.samples.map((x) => `| ${x.at} | ${int(x.checks)} | ${int(x.size)} | ${x.heapMB.toFixed(1)} MB |`),
      '',
    );
  }
  lines.push(
    '## Reproducing',
    '',
    '```sh',
    'npm run bench                                   # everything, about 25-30 minutes on 2 cores',
    'BENCH_DURATION=2 BENCH_WARMUP=1 BENCH_ROUNDS=1 BENCH_MICRO_DURATION=1 BENCH_FLOOD_DURATION=3 \\',
    '  BENCH_HEAP_KEYS=200000 BENCH_QUIET_WAIT=0 BENCH_OUT=/tmp/bench npm run bench   # quick check, about 3 minutes',
    'BENCH_ONLY=4,5,micro npm run bench              # a subset: scenario numbers or express, redis, koa, micro, memory',
    'npx tsx bench/profile.ts tg-memory-fluid        # CPU profile of one scenario under load (see bench/README.md)',
    '```',
    '',
  );
  return lines.join('\n');
}

export function writeReports(results: Results, outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const json = join(outDir, 'results.json');
  const md = join(outDir, 'results.md');
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(md, renderMarkdown(results));
  return [md, json];
}
