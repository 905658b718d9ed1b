/**
 * CPU profile of one benchmark target, summarised by tollgate source line.
 *
 *   npx tsx bench/profile.ts express:tg-memory-fluid   # an Express scenario under autocannon load
 *   npx tsx bench/profile.ts koa:tg-memory-4x2         # a Koa scenario
 *   npx tsx bench/profile.ts decide:4x2                # the core alone (1, 4x2, fluid), as scenario 16
 *   npx tsx bench/profile.ts redis:4x2                 # the client side of Redis checks (1, 4x2)
 *   npx tsx bench/profile.ts compare express:bare express:tg-memory-1   # per-request CPU, function by function
 *
 * The target is bundled with esbuild (tsx puts each module on one line, which leaves a profile
 * without line numbers), run under `node --cpu-prof`, and the profile is mapped back to the
 * sources through the bundle's source map. Writes bench/profiles/<target>.cpuprofile (not
 * committed) and bench/profiles/<target>.txt. PROFILE_SECONDS sets the length (default 10);
 * PROFILE_NODE_FLAGS adds flags to the target's node (`--no-turbo-inlining` times inlined functions apart).
 */
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { load } from './support/load.js';
import { runJsonChild, startRedis, startServer } from './support/processes.js';
import { libHash } from './support/snapshot.js';
import { readSourceMap } from './support/source-map.js';

const target = process.argv[2] ?? 'express:tg-memory-fluid';
const seconds = Number(process.env.PROFILE_SECONDS ?? 10);
const [kind, name = ''] = target.includes(':')
  ? (target.split(':', 2) as [string, string])
  : ['express', target];
const root = process.cwd();
const outDir = join(root, 'bench', 'profiles');
const buildDir = join(outDir, '.build');
const slugOf = (t: string) => (t.includes(':') ? t.replace(':', '-') : `express-${t}`);
const slug = slugOf(target);

const entries: Record<string, string> = {
  express: 'bench/servers/express.ts',
  koa: 'bench/servers/koa.ts',
  decide: 'bench/micro/decide-loop.ts',
  redis: 'bench/micro/redis-loop.ts',
};
const comparing = target === 'compare';
const entry: string =
  entries[kind] ??
  (comparing ? '' : undefined) ??
  (() => {
    throw new Error(`unknown target kind ${kind}: one of ${Object.keys(entries).join(', ')}`);
  })();

async function main(): Promise<void> {
  await mkdir(buildDir, { recursive: true });
  const code = libHash(root);
  const bundle = join(buildDir, `${slug}.mjs`);
  await build({
    entryPoints: [entry],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'external',
    logLevel: 'warning',
  });

  const profDir = join(buildDir, `${slug}-prof`);
  rmSync(profDir, { recursive: true, force: true });
  // PROFILE_NODE_FLAGS, e.g. `--no-turbo-inlining`: inlined functions' time is their caller's otherwise.
  const extraFlags = (process.env.PROFILE_NODE_FLAGS ?? '').split(' ').filter((flag) => flag !== '');
  const flags = ['--cpu-prof', '--cpu-prof-dir', profDir, ...extraFlags];
  let note = '';
  let requests: number | undefined;

  if (kind === 'express' || kind === 'koa') {
    const redis = name.includes('redis') ? await startRedis() : undefined;
    if (redis !== undefined && 'unavailable' in redis) throw new Error(redis.unavailable);
    const started = await startServer(
      bundle,
      {
        BENCH_SCENARIO: name,
        ...(redis === undefined ? {} : { REDIS_PORT: String(redis.port) }),
      },
      flags,
    );
    if (started.kind === 'unavailable') throw new Error(started.reason);
    const shape = { keys: 10_000, refuseShare: name.includes('refuse') ? 0.5 : 0 };
    const warm = await load(started.server.port, shape, 2, 50);
    const result = await load(started.server.port, shape, seconds, 50);
    note = `${Math.round(result.rps)} req/s under autocannon, 50 connections, ${seconds} s (with the profiler on)`;
    // The profile covers the warm-up too.
    requests = warm.requests + result.requests;
    await started.server.stop();
    await redis?.stop();
  } else {
    const redis = kind === 'redis' ? await startRedis() : undefined;
    if (redis !== undefined && 'unavailable' in redis) throw new Error(redis.unavailable);
    const { value: out } = await runJsonChild<Record<string, number>>(
      bundle,
      {
        POLICY: name,
        PROFILE_SECONDS: String(seconds),
        ...(redis === undefined ? {} : { REDIS_PORT: String(redis.port) }),
      },
      flags,
    );
    note = Object.entries(out)
      .map(([key, value]) => `${key} ${value.toLocaleString('en')}`)
      .join(', ');
    await redis?.stop();
  }

  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error('no profile was written');
  const profilePath = join(outDir, `${slug}.cpuprofile`);
  renameSync(join(profDir, file), profilePath);
  rmSync(profDir, { recursive: true, force: true });

  const summary = summarise(JSON.parse(readFileSync(profilePath, 'utf8')) as CpuProfile, bundle, requests);
  const text = [
    `# ${target}: ${note}`,
    `# node ${process.version}; lib/ sha256 ${code}; profile: ${relative(root, profilePath)}`,
    '',
    summary,
  ].join('\n');
  writeFileSync(join(outDir, `${slug}.txt`), `${text}\n`);
  writeFileSync(join(buildDir, `${slug}.json`), JSON.stringify({ requests }));
  console.log(text);
}

// ---------------------------------------------------------------------------------------------

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
  /** Samples per line of the generated file (1-based), when V8 recorded them. */
  positionTicks?: Array<{ line: number; ticks: number }>;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Frames through which a middleware hands over to the rest of the app (Express, Koa). */
const DOWNSTREAM = new Set(['next', 'dispatch']);

/** Maps a profile's frames to `file:line` of the sources (through the bundle's map) or of node_modules. */
function locator(bundlePath: string): {
  locate: (frame: CallFrame) => string;
  lines: Array<Array<[number, number, number]>>;
  sources: string[];
  bundleUrl: string;
} {
  const map = readSourceMap(bundlePath, root);
  const bundleUrl = pathToFileURL(bundlePath).href;
  const locate = (frame: CallFrame): string => {
    if (frame.url === bundleUrl) return map.locate(frame.lineNumber, frame.columnNumber) ?? 'bundle';
    if (frame.url === '') return '';
    const path = frame.url.replace(/^file:\/\//, '');
    const modules = path.lastIndexOf('node_modules/');
    if (modules !== -1) return `${path.slice(modules + 13)}:${frame.lineNumber + 1}`;
    return `${path}:${frame.lineNumber + 1}`;
  };
  return { locate, lines: map.lines, sources: map.sources, bundleUrl };
}

/** Self time by function (`name  file:line`), µs, and the total sampled. */
function selfTimes(profile: CpuProfile, bundlePath: string): { self: Map<string, number>; total: number } {
  const { locate } = locator(bundlePath);
  const keyOf = new Map(
    profile.nodes.map((node) => {
      const where = locate(node.callFrame);
      return [node.id, `${node.callFrame.functionName || '(anonymous)'}${where === '' ? '' : `  ${where}`}`];
    }),
  );
  const self = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const time = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    const key = keyOf.get(profile.samples[i]!)!;
    self.set(key, (self.get(key) ?? 0) + time);
    total += time;
  }
  return { self, total };
}

/**
 * `compare <a> <b>`: where target b spends more CPU per request than target a, function by
 * function, from the profiles the two targets left in bench/profiles (e.g. bare Express against
 * a limiter: everything the limiter costs, GC and response writing included, not only its frames).
 */
function compare(a: string, b: string): string {
  const load = (t: string) => {
    const s = slugOf(t);
    const meta = JSON.parse(readFileSync(join(buildDir, `${s}.json`), 'utf8')) as { requests: number };
    const profile = JSON.parse(readFileSync(join(outDir, `${s}.cpuprofile`), 'utf8')) as CpuProfile;
    const { self, total } = selfTimes(profile, join(buildDir, `${s}.mjs`));
    const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((sum, [, t]) => sum + t, 0);
    return { self, busy: total - idle, requests: meta.requests };
  };
  const x = load(a);
  const y = load(b);
  const keys = new Set([...x.self.keys(), ...y.self.keys()]);
  const rows = [...keys]
    .filter((k) => !k.startsWith('(idle)'))
    .map((k) => {
      const before = (x.self.get(k) ?? 0) / x.requests;
      const after = (y.self.get(k) ?? 0) / y.requests;
      return { k, before, after, diff: after - before };
    })
    .sort((p, q) => q.diff - p.diff);
  const fmt = (v: number) => v.toFixed(2).padStart(7);
  return [
    `# ${b} against ${a}: busy CPU per request ${(y.busy / y.requests).toFixed(1)} µs against ${(x.busy / x.requests).toFixed(1)} µs (+${(y.busy / y.requests - x.busy / x.requests).toFixed(1)} µs), main thread, profiler on`,
    '',
    '## self time per request that grew the most (µs: before, after, difference)',
    ...rows.slice(0, 30).map((r) => `${fmt(r.before)} ${fmt(r.after)} ${fmt(r.diff)}  ${r.k}`),
    '',
    '## self time per request that shrank the most',
    ...rows
      .slice(-15)
      .reverse()
      .map((r) => `${fmt(r.before)} ${fmt(r.after)} ${fmt(r.diff)}  ${r.k}`),
  ].join('\n');
}

function summarise(profile: CpuProfile, bundlePath: string, requests: number | undefined): string {
  const { locate, lines, sources, bundleUrl } = locator(bundlePath);

  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const keyOf = new Map<number, string>();
  for (const node of profile.nodes) {
    const where = locate(node.callFrame);
    keyOf.set(node.id, `${node.callFrame.functionName || '(anonymous)'}${where === '' ? '' : `  ${where}`}`);
  }

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const time = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    const id = profile.samples[i]!;
    total += time;
    const key = keyOf.get(id)!;
    self.set(key, (self.get(key) ?? 0) + time);
    const frame = byId.get(id)!.callFrame;
    const where = locate(frame);
    const file =
      where === ''
        ? frame.functionName
        : where
            .replace(/:\d+$/, '')
            .replace(/^([^/]+(\/[^/]+)?)\/.*$/, (m, pkg: string) =>
              m.startsWith('lib/') || m.startsWith('bench/') ? m : pkg,
            );
    byFile.set(file, (byFile.get(file) ?? 0) + time);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const k = keyOf.get(at)!;
      if (seen.has(k)) continue;
      seen.add(k);
      inclusive.set(k, (inclusive.get(k) ?? 0) + time);
    }
  }
  // Hot lines of tollgate's code: V8 counts samples per generated line; map each to its source line.
  const lineTicks = new Map<string, number>();
  let allTicks = 0;
  for (const node of profile.nodes) {
    for (const { line, ticks } of node.positionTicks ?? []) {
      allTicks += ticks;
      if (node.callFrame.url !== bundleUrl) continue;
      const segment = lines[line - 1]?.[0];
      if (segment === undefined) continue;
      const where = `${sources[segment[1]]}:${segment[2] + 1}`;
      if (!where.startsWith('lib/')) continue;
      const key = `${where}  (${node.callFrame.functionName || 'anonymous'})`;
      lineTicks.set(key, (lineTicks.get(key) ?? 0) + ticks);
    }
  }
  const sourceText = new Map<string, string[]>();
  const lineText = (where: string) => {
    const [file, line] = where.split('  ')[0]!.split(':') as [string, string];
    if (!sourceText.has(file)) sourceText.set(file, readFileSync(join(root, file), 'utf8').split('\n'));
    return (sourceText.get(file)![Number(line) - 1] ?? '').trim().slice(0, 90);
  };
  const hotLines = [...lineTicks]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 25)
    .map(
      ([k, t]) =>
        `${((100 * t) / Math.max(1, allTicks)).toFixed(1).padStart(5)} %  ${k}\n           ${lineText(k)}`,
    );
  // The middleware's own cost: time under tollgate's middleware frames, less what it spends
  // downstream (the `next()` it calls runs the rest of the app inside its frame).
  const isMiddleware = (id: number) => {
    const frame = byId.get(id)!.callFrame;
    return frame.functionName === 'tollgate' && locate(frame).startsWith('lib/');
  };
  let middlewareTime = 0;
  let outsideTime = 0;
  const middlewareSelf = new Map<string, number>();
  let idleTime = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const time = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    const id = profile.samples[i]!;
    const own = byId.get(id)!.callFrame.functionName;
    if (own === '(idle)') idleTime += time;
    // Downstream is whatever runs under a `next` (Express) or `dispatch` (Koa) that tollgate's
    // code called: straight from the middleware's frame, or, since a decision made in the same
    // tick goes on from a function of its own (`decided`), from one of lib/'s frames under it.
    let inMiddleware = false;
    let downstream = false;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      if (isMiddleware(at)) {
        inMiddleware = !downstream;
        break;
      }
      const above = parent.get(at);
      if (
        DOWNSTREAM.has(byId.get(at)!.callFrame.functionName) &&
        above !== undefined &&
        locate(byId.get(above)!.callFrame).startsWith('lib/')
      )
        downstream = true;
    }
    if (inMiddleware) {
      middlewareTime += time;
      const key = keyOf.get(id)!;
      middlewareSelf.set(key, (middlewareSelf.get(key) ?? 0) + time);
    } else outsideTime += time;
  }
  const busyTime = total - idleTime;
  const middlewareLines =
    requests === undefined
      ? []
      : [
          `tollgate middleware, own time (excluding what its next() runs): ${((100 * middlewareTime) / busyTime).toFixed(1)} % of the busy CPU time`,
          `  = ${(middlewareTime / requests).toFixed(1)} µs per request of ${(busyTime / requests).toFixed(1)} µs busy CPU per request (${requests.toLocaleString('en')} requests, profiler on)`,
          '  (a middleware whose own work is N % of the busy time costs about N % of the throughput of a CPU-bound server)',
          '',
          '## where the middleware own time goes (self time, µs per request)',
          ...[...middlewareSelf]
            .sort((a, b) => b[1] - a[1])
            .slice(0, 25)
            .map(([k, t]) => `${(t / requests).toFixed(2).padStart(6)} µs  ${k}`),
          '',
        ];
  void outsideTime;
  const pct = (t: number) => `${((100 * t) / total).toFixed(1).padStart(5)} %`;
  const top = (m: Map<string, number>, n: number, filter: (k: string) => boolean = () => true) =>
    [...m]
      .filter(([k]) => filter(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, t]) => `${pct(t)}  ${k}`);
  const ours = (k: string) => k.includes('  lib/');
  return [
    `sampled ${(total / 1e6).toFixed(1)} s`,
    '',
    ...middlewareLines,
    '## self time, top 30',
    ...top(self, 30),
    '',
    '## self time by file (lib/ files, packages, node internals)',
    ...top(byFile, 20),
    '',
    '## inclusive time of tollgate functions (lib/), top 25',
    ...top(inclusive, 25, ours),
    '',
    '## hottest lines of tollgate code (self samples by source line, % of all samples)',
    ...hotLines,
  ].join('\n');
}

if (comparing) {
  const [a, b] = process.argv.slice(3);
  if (a === undefined || b === undefined) throw new Error('compare <target a> <target b>');
  const text = compare(a, b);
  writeFileSync(join(outDir, `compare-${slugOf(a)}-${slugOf(b)}.txt`), `${text}\n`);
  console.log(text);
} else await main();
