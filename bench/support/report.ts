import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MicroRow } from '../micro/decisions.js';
import type { RedisCpuRow } from '../micro/redis-cpu.js';
import type { RedisInstructionsRow } from '../micro/redis-instructions.js';
import type { Build } from './builds.js';
import { int, table } from './markdown.js';
import { instructionsTable, redisTable, redisVerdicts } from './report-redis.js';
import { counterpartOf } from './scenarios.js';
import { DEFAULTS, type Settings } from './settings.js';

/** One round of a scenario beside its bare server. */
export interface Round {
  readonly rps: number;
  readonly bareRps: number;
  readonly ratio: number;
  /** CPU time of the server process per request, µs, and the bare server's. */
  readonly cpuUs: number;
  readonly bareCpuUs: number;
  /** redis-server's CPU per request, µs (Redis scenarios). */
  readonly redisCpuUs?: number;
  readonly p99: number;
  readonly non2xxShare: number;
  readonly errors: number;
  /** CPU used by processes outside the benchmark meanwhile, cores. */
  readonly otherCores: number;
}

export interface HttpResult {
  readonly id: string;
  readonly title: string;
  readonly group: string;
  readonly framework: 'express' | 'koa';
  /** The label of the tollgate build the server loaded (tollgate's scenarios). */
  readonly build?: string;
  readonly refuseShare: number;
  readonly rounds: Round[];
}

export interface Results {
  readonly generatedAt: string;
  readonly durationS: number;
  /** Run with the default settings; otherwise a smoke run whose figures are no measurement. */
  readonly full: boolean;
  readonly settings: Settings;
  readonly machine: { cores: number; cpu: string; memoryGB: number; os: string };
  readonly versions: Record<string, string>;
  readonly builds: ReadonlyArray<Omit<Build, 'dir'>>;
  readonly http: HttpResult[];
  readonly micro: Array<MicroRow & { build: string }>;
  readonly redisCpu: Array<RedisCpuRow & { build: string }>;
  /** Absent from runs before it was measured. */
  readonly redisInstructions?: Array<RedisInstructionsRow & { build: string }>;
  /** Why the Redis instructions were not measured, when they were wanted. */
  readonly redisInstructionsMissing?: string;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const x = (n: number) => `${n.toFixed(3)}×`;
const spread = (values: readonly number[], show: (n: number) => string) =>
  values.length < 2 ? '' : `${show(Math.min(...values))}–${show(Math.max(...values))}`;
const ratios = (r: HttpResult) => r.rounds.map((round) => round.ratio);
const ratioCell = (r: HttpResult) =>
  `${x(median(ratios(r)))}${r.rounds.length > 1 ? ` (${spread(ratios(r), (n) => n.toFixed(3))})` : ''}`;

function httpRows(res: Results): string[][] {
  const rows: string[][] = [];
  for (const [framework, title] of [
    ['express', 'bare Express'],
    ['koa', 'bare Koa'],
  ] as const) {
    const pairs = res.http.filter((r) => r.framework === framework).flatMap((r) => r.rounds);
    if (pairs.length === 0) continue;
    const rps = pairs.map((p) => p.bareRps);
    const cpu = median(pairs.map((p) => p.bareCpuUs)).toFixed(0);
    rows.push([
      title,
      '',
      int(median(rps)),
      '1',
      spread(rps, int),
      cpu,
      '–',
      `the ${pairs.length} bare runs`,
    ]);
  }
  for (const r of res.http.filter((r) => r.rounds.length > 0)) {
    const m = (pick: (round: Round) => number) => median(r.rounds.map(pick));
    const refused = `${(100 * m((p) => p.non2xxShare)).toFixed(1)} %`;
    const errors = r.rounds.reduce((sum, p) => sum + p.errors, 0);
    const other = Math.max(...r.rounds.map((p) => p.otherCores));
    const notes = [
      r.refuseShare > 0 ? `${refused} refused` : m((p) => p.non2xxShare) > 0 ? `⚠ ${refused} non-2xx` : '',
      errors > 0 ? `⚠ ${errors} errors` : '',
      r.rounds[0]!.redisCpuUs === undefined
        ? ''
        : `+${m((p) => p.redisCpuUs ?? 0).toFixed(0)} µs/req in redis-server`,
      other > 0.2 ? `other processes up to ${other.toFixed(2)} cores` : '',
    ];
    rows.push([
      r.title,
      r.build ?? '',
      int(m((p) => p.rps)),
      x(median(ratios(r))),
      spread(ratios(r), (n) => n.toFixed(3)),
      m((p) => p.cpuUs).toFixed(0),
      m((p) => p.cpuUs - p.bareCpuUs).toFixed(1),
      notes.filter((n) => n !== '').join('; '),
    ]);
  }
  return rows;
}

function baselineTable(res: Results): string[] {
  const [self, base] = res.builds;
  if (base === undefined) return [];
  const rows = res.http
    .filter((r) => r.group === 'baseline' && r.rounds.length > 0)
    .flatMap((b) => {
      const own = res.http.find((r) => r.id === counterpartOf(b.id));
      return own === undefined ? [] : [[b.title, ratioCell(own), ratioCell(b)]];
    });
  return [
    '## This build against the baseline',
    '',
    'Ratio to the bare framework, median of the rounds (min–max), both builds in the same rounds.',
    '',
    ...table(['scenario', `${self!.label} (this build)`, `${base.label} (baseline)`], rows),
  ];
}

function microTable(res: Results): string[] {
  if (res.micro.length === 0) return [];
  type Row = (typeof res.micro)[number];
  const cell = (row: Row | undefined) =>
    row === undefined
      ? '–'
      : `${int(median(row.perSecond))} ${row.perSecond.length > 1 ? `(${spread(row.perSecond, int)})` : ''}`;
  const columns = [
    ...res.builds.map((b) => ({
      head: `tollgate ${b.label}`,
      of: (r: Row) => r.subject === 'tollgate' && r.build === b.label,
    })),
    { head: 'rate-limiter-flexible glue', of: (r: Row) => r.subject === 'rate-limiter-flexible' },
  ];
  return [
    '## Micro: decisions per second in one process',
    '',
    '`await limiter.check(request)` with the memory store, 10,000 keys; rate-limiter-flexible: its limiters',
    'consumed in turn, each awaited. Median of the rounds (min–max).',
    '',
    ...table(
      ['policy', ...columns.map((c) => c.head)],
      ['1 rule', '4 × 2 + burst'].map((name) => [
        name,
        ...columns.map((c) => cell(res.micro.find((r) => r.name === name && c.of(r)))),
      ]),
    ),
  ];
}

function verdicts(res: Results): string[] {
  const self = res.builds[0]!.label;
  const find = (id: string) => res.http.find((r) => r.id === id && r.rounds.length > 0);
  const lines: string[] = [];
  for (const [ours, peers, what] of [
    [
      'tg-1',
      ['erl-1', 'rlf-1'],
      'tollgate memory, 1 rule, ahead of express-rate-limit and rate-limiter-flexible with 1 rule',
    ],
    [
      'tg-fluid',
      ['erl-4x2', 'rlf-fluid'],
      'tollgate memory, 4 × 2 + burst, ahead of the peers set up for the same policy',
    ],
  ] as const) {
    const t = find(ours);
    const others = peers.map(find);
    if (t === undefined || others.some((o) => o === undefined)) continue;
    const ahead = others.every((o) => median(ratios(t)) > median(ratios(o!)));
    // Clear: every round of the one side beyond every round of the other.
    const clear = ahead
      ? others.every((o) => Math.min(...ratios(t)) > Math.max(...ratios(o!)))
      : others.some((o) => Math.max(...ratios(t)) < Math.min(...ratios(o!)));
    const against = others.map((o) => `${o!.title} ${x(median(ratios(o!)))}`).join(', ');
    const noise =
      !clear && t.rounds.length > 1 ? '; the rounds overlap, so the margin is inside the noise' : '';
    lines.push(`- ${ahead ? '✅' : '❌'} ${what}: ${x(median(ratios(t)))} against ${against}${noise}.`);
  }
  const plain = find('tg-1');
  const metered = find('tg-1-metrics');
  if (plain !== undefined && metered !== undefined)
    lines.push(
      `- ℹ️ What metrics cost: tollgate memory, 1 rule, with Prometheus metrics (prom-client) ${x(median(ratios(metered)))} of bare Express, against ${x(median(ratios(plain)))} without, in the same run.`,
    );
  const trip = res.redisCpu.find((r) => r.id === 'tg-4x2' && r.build === self);
  if (trip !== undefined) {
    const one = trip.roundTripsPerCheck === 1 && trip.sentPerCheck === 1;
    lines.push(
      `- ${one ? '✅' : '❌'} tollgate Redis, 4 × 2, one round trip per check: ${trip.roundTripsPerCheck.toFixed(2)} round trips, ${trip.sentPerCheck.toFixed(2)} commands sent (${Object.entries(
        trip.calls,
      )
        .map(([name, n]) => `${name} ${n.toFixed(1)}`)
        .join(', ')} per check).`,
    );
  }
  lines.push(...redisVerdicts(res));
  return lines.length === 0 ? [] : ['## Verdicts', '', ...lines, ''];
}

function settingsLine(s: Settings): string {
  return (
    `${s.rounds} round(s); each pair: ${s.warmupS} s warm-up per server, then ${s.durationS} s measured per server in ${s.sliceS} s slices; ` +
    `${s.connections} connections; 10,000 keys; micro ${s.microS} s × rounds; Redis CPU ${int(s.redisChecks)} checks per subject` +
    (s.redisInstructionChecks === undefined
      ? ''
      : `; Redis instructions ${int(s.redisInstructionChecks)} checks per subject`) +
    (s.only.length > 0 ? `; only ${s.only.join(',')}` : '')
  );
}

export function renderMarkdown(res: Results): string {
  const v = res.versions;
  return [
    '# tollgate benchmarks',
    '',
    `Generated by \`npm run bench\` on ${res.generatedAt} in ${Math.round(res.durationS / 60)} min. Do not edit: run it again.`,
    '',
    res.full
      ? `Settings (the defaults): ${settingsLine(res.settings)}.`
      : `**Short settings, not the defaults: a smoke run of the harness, whose figures are no measurement.** ${settingsLine(res.settings)} (defaults: ${DEFAULTS.rounds} rounds, ${DEFAULTS.durationS} s, ${DEFAULTS.warmupS} s warm-up).`,
    '',
    `- ${res.machine.cores} cores, ${res.machine.cpu}, ${res.machine.memoryGB} GB, ${res.machine.os}`,
    `- ${Object.entries(v)
      .map(([name, version]) => `${name} ${version}`)
      .join(', ')}`,
    ...res.builds.map((b) => `- ${b.role} build: ${b.label} (from ${b.source}, js sha256 ${b.hash})`),
    '',
    ...verdicts(res),
    '## HTTP',
    '',
    'Each scenario ran beside a fresh bare server of its framework, the load (autocannon, in the runner)',
    'alternating between the two in slices, A B B A …; fresh processes each round. "× bare" is the median over',
    "the rounds of the scenario's req/s over its bare partner's; a margin smaller than the rounds' spread is",
    'noise. "CPU" is the server process\'s own CPU time per request; "added" its median paired difference from',
    "the bare server's, which moves less than req/s when other processes share the machine.",
    '',
    ...table(
      ['scenario', 'build', 'req/s', '× bare', 'rounds min–max', 'CPU µs/req', 'CPU added µs/req', 'notes'],
      httpRows(res),
    ),
    ...baselineTable(res),
    ...redisTable(res),
    ...instructionsTable(res),
    ...microTable(res),
  ].join('\n');
}

/** Writes results.md and results.json (numbers to 5 significant digits) into `outDir`. */
export function writeResults(res: Results, outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  const md = join(outDir, 'results.md');
  const json = join(outDir, 'results.json');
  writeFileSync(md, renderMarkdown(res));
  const compact = (_key: string, value: unknown) =>
    typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(5)) : value;
  writeFileSync(json, `${JSON.stringify(res, compact, 1)}\n`);
  return [md, json];
}
