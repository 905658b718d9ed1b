/**
 * Instructions per request, counted by valgrind's callgrind: a measure of cost that, unlike
 * req/s or CPU time, hardly moves with the machine's load or clock, so that changes of a few
 * per cent can be seen on a noisy VM. Targets of one kind run side by side:
 *
 *   npx tsx bench/instructions.ts express:bare express:rlf-memory express:tg-floor express:tg-memory-1
 *   npx tsx bench/instructions.ts koa:bare koa:tg-memory-4x2
 *   npx tsx bench/instructions.ts decide:1 decide:4x2              # the core alone, per decision
 *   npx tsx bench/instructions.ts redis:tg-1 redis:rlf-1          # redis-server's side of one check
 *
 * HTTP targets are the benchmark's servers (any slug of servers/express-middleware.ts or
 * servers/koa.ts) run under callgrind; autocannon sends a warm-up, then windows of a fixed
 * number of requests, and each window's instructions are read by zeroing and dumping the
 * counters around it (`callgrind_control`). `decide:` targets count the decisions of
 * micro/decide-steps.ts the same way. `redis:` targets run redis-server under callgrind and
 * this process sends the checks, one at a time (tollgate's `RedisStore` or
 * rate-limiter-flexible's `RateLimiterRedis`, `rlf-4` being four of them in turn).
 *
 * The figure is the mean over the windows after the first two (JIT and heap still settle
 * there): a mean, since a window holds a major GC or not, and GCs come every few thousand
 * requests. Node runs with `--single-threaded` so that GC work is on the counted thread, and
 * `--no-memory-reducer` so that idle-time GCs, which depend on how slow valgrind is, do not.
 * Writes bench/profiles/instructions-<INSTR_NAME, or the kind>.txt. Settings: INSTR_WARMUP (requests, 12,000),
 * INSTR_WINDOW (3,000), INSTR_WINDOWS (10).
 *
 * INSTR_LINES=n also counts the instructions of JavaScript by source line, over the same
 * windows, and lists each Node target's n largest (support/jit-lines.ts): node runs with
 * `--perf-prof`, whose jitdump maps V8's code to the bundle's lines, and callgrind counts per
 * instruction. Written to bench/profiles/instructions-<name>-lines.txt.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { createLimiter, type TollgateOptions } from '../lib/index.js';
import { RedisStore } from '../lib/stores/redis/index.js';
import { instructionsByLine, readInstructionCosts, readJitDump } from './support/jit-lines.js';
import { requestsFor } from './support/keys.js';
import { load } from './support/load.js';
import { fourByTwoOptions, MINUTE_MAX, oneRuleOptions } from './support/policies.js';
import { accepts, freePort, redisServerArgs } from './support/processes.js';
import { libHash } from './support/snapshot.js';
import { readSourceMap } from './support/source-map.js';

const WARMUP = Number(process.env.INSTR_WARMUP ?? 12_000);
const WINDOW = Number(process.env.INSTR_WINDOW ?? 3_000);
const WINDOWS = Number(process.env.INSTR_WINDOWS ?? 10);
const LINES = Number(process.env.INSTR_LINES ?? 0);
const SETTLING = 2;
const KEYS = 10_000;

const run = promisify(execFile);
const root = process.cwd();
const work = mkdtempSync(join(tmpdir(), 'tollgate-instructions-'));
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});
// support/processes.ts turns SIGINT and SIGTERM into an exit, which runs the above.

const NODE_FLAGS = ['--single-threaded', '--no-memory-reducer', ...(LINES > 0 ? ['--perf-prof'] : [])];

/** A process under callgrind whose counters can be zeroed and read between steps. */
class Counted {
  private dumps = 0;
  /** With INSTR_LINES: instructions by address over the windows read with `keep`. */
  readonly costs = new Map<number, number>();
  /** Settles when the process has exited: node writes the last of its jitdump then. */
  readonly exited: Promise<void>;
  constructor(
    readonly child: ChildProcess,
    private readonly outFile: string,
    /** Where the process runs: node writes its jitdump there. */
    readonly dir: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  async zero(): Promise<void> {
    await run('callgrind_control', ['-z', String(this.child.pid)]);
  }

  /** Instructions since the last zero (or dump); `keep` adds them by address to `costs`. */
  async read(keep = false): Promise<number> {
    await run('callgrind_control', ['-d', String(this.child.pid)]);
    this.dumps++;
    const file = `${this.outFile}.${this.dumps}`;
    const text = readFileSync(file, 'utf8');
    rmSync(file);
    if (keep && LINES > 0) readInstructionCosts(text, this.costs);
    const total = /^(?:summary|totals): (\d+)/m.exec(text);
    if (total === null) throw new Error(`no total in ${file}`);
    return Number(total[1]);
  }
}

function callgrind(name: string, command: string, args: readonly string[], env: Record<string, string> = {}) {
  const file = name.replace(/[^\w-]/g, '_');
  const outFile = join(work, `${file}.cg`);
  const dir = join(work, file);
  mkdirSync(dir);
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      `--callgrind-out-file=${outFile}`,
      `--dump-instr=${LINES > 0 ? 'yes' : 'no'}`,
      '--dump-line=no',
      '--compress-strings=no',
      command,
      ...args,
    ],
    { cwd: dir, env: { ...process.env, ...env, NODE_ENV: 'production' }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  children.add(child);
  let errors = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    errors = (errors + chunk).slice(-4000);
  });
  child.once('exit', () => children.delete(child));
  return { counted: new Counted(child, outFile, dir), errors: () => errors };
}

/** The next line `child` writes on stdout. */
function nextLine(child: ChildProcess, errors: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const end = buffered.indexOf('\n');
      if (end === -1) return;
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      resolve(buffered.slice(0, end));
    };
    const onExit = (code: number | null) => reject(new Error(`exited with ${code}: ${errors()}`));
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Bundled into bench/profiles/.build (ignored by git), where node finds the repository's packages. */
async function bundle(entry: string, name: string): Promise<string> {
  const outfile = join(root, 'bench', 'profiles', '.build', `instructions-${name}.mjs`);
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'external',
    logLevel: 'warning',
  });
  return outfile;
}

/**
 * One target: `step(n)` does n requests (or decisions, or checks) and resolves, when they are
 * done, to how many were answered.
 */
interface Target {
  readonly name: string;
  readonly counted: Counted;
  /** The bundle a Node target runs (for INSTR_LINES). */
  readonly bundle?: string;
  step(n: number): Promise<number>;
  stop(): Promise<void>;
}

async function httpTarget(kind: 'express' | 'koa', slug: string): Promise<Target> {
  const file = await bundle(`bench/servers/${kind}.ts`, `${kind}-${slug}`);
  const { counted, errors } = callgrind(`${kind}-${slug}`, process.execPath, [...NODE_FLAGS, file], {
    BENCH_SCENARIO: slug,
  });
  // Without an IPC channel the server announces itself on stdout (servers/common.ts).
  const message = JSON.parse(await nextLine(counted.child, errors)) as { kind: string; port?: number };
  if (message.kind !== 'ready' || message.port === undefined) {
    throw new Error(`${kind}:${slug} did not start: ${JSON.stringify(message)}`);
  }
  const { port } = message;
  const shape = { keys: KEYS, refuseShare: slug.includes('refuse') ? 0.5 : 0 };
  return {
    name: `${kind}:${slug}`,
    counted,
    bundle: file,
    async step(n) {
      // Under callgrind a request can take seconds while the JIT warms up: no retries, no timeouts.
      const result = await load(port, shape, 0, 50, { amount: n, timeoutS: 600 });
      // A connection can still be reset: a server kept busy past its keep-alive timeout runs
      // that timer before it reads the request already waiting. Count what was answered.
      return result.ok + result.non2xx;
    },
    async stop() {
      counted.child.kill('SIGTERM');
    },
  };
}

async function decideTarget(policy: string): Promise<Target> {
  const file = await bundle('bench/micro/decide-steps.ts', `decide-${policy}`);
  const { counted, errors } = callgrind(`decide-${policy}`, process.execPath, [...NODE_FLAGS, file], {
    POLICY: policy,
  });
  return {
    name: `decide:${policy}`,
    counted,
    bundle: file,
    async step(n) {
      const done = nextLine(counted.child, errors);
      counted.child.stdin!.write(`${n}\n`);
      if ((await done) !== 'done') throw new Error(`decide:${policy}: ${errors()}`);
      return n;
    },
    async stop() {
      counted.child.stdin!.end();
    },
  };
}

async function redisTarget(subject: string): Promise<Target> {
  const port = await freePort();
  const { counted, errors } = callgrind(`redis-${subject}`, 'redis-server', redisServerArgs(port, work));
  for (let attempt = 0; !(await accepts(port)); attempt++) {
    if (attempt > 300) throw new Error(`redis-server did not start: ${errors()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const client = new Redis({ host: '127.0.0.1', port });
  await new Promise((resolve) => client.once('ready', resolve));
  const requests = requestsFor(KEYS);
  let check: (i: number) => Promise<unknown>;
  const tollgate = (options: TollgateOptions<null>) => {
    const limiter = createLimiter<null>({
      ...options,
      store: new RedisStore({ client, timeoutMs: 60_000 }),
      onStoreError: 'closed',
    });
    return async (i: number) => {
      const decision = await limiter.check(requests[i % KEYS]!);
      if (decision?.allowed !== true) throw new Error(`refused: ${decision?.reason}`);
    };
  };
  const flexible = (prefix: string) =>
    new RateLimiterRedis({ storeClient: client, keyPrefix: prefix, points: MINUTE_MAX, duration: 60 });
  if (subject === 'tg-1') check = tollgate(oneRuleOptions<null>());
  else if (subject === 'tg-4x2') check = tollgate(fourByTwoOptions<null>());
  else if (subject === 'rlf-1') {
    const ip = flexible('rlf-ip');
    check = (i) => ip.consume(requests[i % KEYS]!.ip!);
  } else if (subject === 'rlf-4') {
    const [ip, partner, user, bank] = ['ip', 'partner', 'user', 'bank'].map((s) => flexible(`rlf-${s}`));
    check = async (i) => {
      const req = requests[i % KEYS]!;
      await ip!.consume(req.ip!);
      await partner!.consume(req.headers['x-partner-id'] as string);
      await user!.consume(req.headers['x-user-id'] as string);
      await bank!.consume(String(req.params!.bankId));
    };
  } else throw new Error(`unknown redis subject ${subject}: tg-1, tg-4x2, rlf-1 or rlf-4`);
  let i = 0;
  return {
    name: `redis:${subject}`,
    counted,
    async step(n) {
      for (const end = i + n; i < end; ) await check(i++);
      return n;
    },
    async stop() {
      client.disconnect();
      counted.child.kill('SIGTERM');
    },
  };
}

function targetFor(spec: string): Promise<Target> {
  const [kind, name = ''] = spec.split(':', 2) as [string, string | undefined];
  if (kind === 'express' || kind === 'koa') return httpTarget(kind, name);
  if (kind === 'decide') return decideTarget(name);
  if (kind === 'redis') return redisTarget(name);
  throw new Error(`unknown target ${spec}: express:<slug>, koa:<slug>, decide:<policy> or redis:<subject>`);
}

async function main(): Promise<void> {
  const specs = process.argv.slice(2);
  if (specs.length === 0) throw new Error('name one or more targets, e.g. express:bare express:tg-memory-1');
  const kinds = [...new Set(specs.map((s) => s.split(':')[0]))];
  if (kinds.length > 1) throw new Error('targets of one kind at a time: their figures compare');
  const targets = await Promise.all(specs.map(targetFor));
  // Redis checks are sent by this process: one target at a time, so that they do not take
  // turns on its event loop. The others run side by side, under the same conditions.
  const together = kinds[0] !== 'redis';
  const each = async (f: (t: Target) => Promise<void>) => {
    if (together) await Promise.all(targets.map(f));
    else for (const t of targets) await f(t);
  };
  process.stderr.write(`warm-up: ${WARMUP} per target\n`);
  await each(async (t) => {
    await t.step(WARMUP);
  });
  const perRequest = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const unanswered = new Map<string, number>(targets.map((t) => [t.name, 0]));
  const keptAnswered = new Map<string, number>(targets.map((t) => [t.name, 0]));
  for (let w = 0; w < WINDOWS; w++) {
    await each(async (t) => {
      await t.counted.zero();
      const answered = await t.step(WINDOW);
      const keep = w >= SETTLING;
      perRequest.get(t.name)!.push((await t.counted.read(keep)) / answered);
      unanswered.set(t.name, unanswered.get(t.name)! + WINDOW - answered);
      if (keep) keptAnswered.set(t.name, keptAnswered.get(t.name)! + answered);
    });
    process.stderr.write(
      `window ${w + 1}/${WINDOWS}: ${targets.map((t) => `${t.name} ${Math.round(perRequest.get(t.name)!.at(-1)!)}`).join(', ')}\n`,
    );
  }
  await each((t) => t.stop());

  const rows = targets.map((t) => {
    const windows = perRequest.get(t.name)!;
    const kept = windows.slice(SETTLING);
    const mean = kept.reduce((sum, v) => sum + v, 0) / kept.length;
    return {
      name: t.name,
      mean,
      low: Math.min(...kept),
      high: Math.max(...kept),
      lost: unanswered.get(t.name)!,
    };
  });
  const base = rows[0]!;
  const unit = kinds[0] === 'decide' ? 'decision' : kinds[0] === 'redis' ? 'check (redis-server)' : 'request';
  const table = [
    `| target | instructions per ${unit} | windows' range | added to ${base.name} | ${base.name} ÷ target |`,
    '|---|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${Math.round(r.mean).toLocaleString('en')} | ${Math.round(r.low).toLocaleString('en')}–${Math.round(r.high).toLocaleString('en')} | ${r === base ? '' : `${r.mean >= base.mean ? '+' : ''}${(((r.mean - base.mean) / base.mean) * 100).toFixed(1)} %`} | ${(base.mean / r.mean).toFixed(3)} |`,
    ),
  ];
  const text = [
    `# instructions per ${unit}, callgrind: ${specs.join(' ')}`,
    `# node ${process.version}, ${await valgrindVersion()}; lib/ sha256 ${libHash(root)}; warm-up ${WARMUP}, ${WINDOWS} windows of ${WINDOW}, mean of the last ${WINDOWS - SETTLING}${LINES > 0 ? '; node --perf-prof (INSTR_LINES)' : ''}`,
    '',
    ...table,
    ...rows
      .filter((r) => r.lost > 0)
      .map(
        (r) =>
          `\n${r.name}: ${r.lost} of ${WINDOWS * WINDOW} measured requests not answered (connection reset)`,
      ),
  ].join('\n');
  const name = process.env.INSTR_NAME ?? kinds[0];
  writeFileSync(join(root, 'bench', 'profiles', `instructions-${name}.txt`), `${text}\n`);
  console.log(text);
  if (LINES > 0) {
    await Promise.all(targets.map((t) => t.counted.exited));
    const measured = targets
      .filter((t) => t.bundle !== undefined)
      .map((t) => ({ name: t.name, perLine: perLineOf(t, keptAnswered.get(t.name)!) }));
    const lines = measured.map((m, i) => linesOf(m.name, m.perLine, unit, i === 0 ? undefined : measured[0]));
    const linesText = [
      `# instructions per ${unit} by source line (JavaScript only), callgrind and V8's jitdump: ${specs.join(' ')}`,
      `# node ${process.version}; lib/ sha256 ${libHash(root)}; the same windows as instructions-${name}.txt (counted with node --perf-prof, which keeps V8 from compacting code space)`,
      ...lines,
    ].join('\n');
    writeFileSync(join(root, 'bench', 'profiles', `instructions-${name}-lines.txt`), `${linesText}\n`);
    console.log(linesText);
  }
}

/** A target's instructions per request by source line, over the windows kept. */
function perLineOf(target: Target, answered: number): Map<string, number> {
  const map = readSourceMap(target.bundle!, root);
  const codes = readJitDump(join(target.counted.dir, `jit-${target.counted.child.pid}.dump`));
  const byLine = instructionsByLine(target.counted.costs, codes, map, resolve(target.bundle!));
  return new Map([...byLine].map(([where, n]) => [where, n / answered]));
}

const sourceLines = new Map<string, string[]>();

/** The text of a `file:line` of the repository, shortened; '' for anything else. */
function textOf(where: string): string {
  const [file, line] = where.split(':') as [string, string | undefined];
  if (line === undefined || !file.includes('/')) return '';
  if (!sourceLines.has(file)) {
    let lines: string[] = [];
    try {
      lines = readFileSync(join(root, file), 'utf8').split('\n');
    } catch {}
    sourceLines.set(file, lines);
  }
  return (sourceLines.get(file)![Number(line) - 1] ?? '').trim().slice(0, 90);
}

const count = (n: number) => Math.round(n).toLocaleString('en').padStart(7);

/**
 * A target's instructions by file, its INSTR_LINES largest lines, and, against the first
 * target (`base`), the lines that grew the most.
 */
function linesOf(
  name: string,
  perLine: ReadonlyMap<string, number>,
  unit: string,
  base: { name: string; perLine: ReadonlyMap<string, number> } | undefined,
): string {
  const total = [...perLine.values()].reduce((sum, n) => sum + n, 0);
  // By file, and V8's builtins together: where the lines come from.
  const byFile = new Map<string, number>();
  for (const [where, n] of perLine) {
    const file = where.startsWith('Builtin:') ? "V8's builtins" : where.split(':')[0]!;
    byFile.set(file, (byFile.get(file) ?? 0) + n);
  }
  const top = (entries: Iterable<[string, number]>) =>
    [...entries]
      .sort((a, b) => b[1] - a[1])
      .slice(0, LINES)
      .map(([where, n]) => `${count(n)}  ${where}  ${textOf(where)}`);
  const grew =
    base === undefined
      ? []
      : [
          '',
          `### grew the most against ${base.name}`,
          ...top(
            [...new Set([...perLine.keys(), ...base.perLine.keys()])].map((where): [string, number] => [
              where,
              (perLine.get(where) ?? 0) - (base.perLine.get(where) ?? 0),
            ]),
          ),
        ];
  return [
    '',
    `## ${name}: ${count(total).trim()} instructions per ${unit} in V8's code (the rest is Node's and V8's C++: GC, runtime calls)`,
    '',
    ...[...byFile]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([file, n]) => `${count(n)}  ${file}`),
    '',
    ...top(perLine),
    ...grew,
  ].join('\n');
}

async function valgrindVersion(): Promise<string> {
  return (await run('valgrind', ['--version'])).stdout.trim();
}

await main();
