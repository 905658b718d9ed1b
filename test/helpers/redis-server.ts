import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Throwaway redis-server processes for the store tests: each on a free port, without
 * persistence, in its own temp dir. The machine's own Redis (6379) is never touched.
 */

const run = promisify(execFile);

let availability: boolean | undefined;

/**
 * Whether redis-server and redis-cli can be run. Under `CI=true` their absence throws, so the
 * suite fails instead of passing with its Redis tests skipped.
 */
export function redisAvailable(): boolean {
  if (availability !== undefined) return availability;
  const server = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  const cli = spawnSync('redis-cli', ['--version'], { encoding: 'utf8' });
  availability = server.status === 0 && cli.status === 0;
  if (!availability) {
    const message =
      'redis-server/redis-cli not found on PATH: the Redis store tests cannot run. Install Redis ' +
      '(e.g. apt-get install redis-server) to run them.';
    if (process.env.CI === 'true') throw new Error(`${message} CI=true, so this is a failure.`);
    console.warn(`\n${'!'.repeat(80)}\n!! SKIPPED: ${message}\n${'!'.repeat(80)}\n`);
  }
  return availability;
}

/** `describe` when Redis can run here, else `describe.skip` (after a loud notice). */
export function describeWithRedis(): jest.Describe {
  return redisAvailable() ? describe : describe.skip;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A port free now, and, for cluster nodes, with its bus port (port + 10 000) free as well.
 * Picked at random in 20 000–45 000, below the kernel's ephemeral range, so that the bus port
 * stays valid and parallel test files seldom try the same one.
 */
export async function freePort(withBus = false): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if (port === 6379 || port === 16379) continue;
    if ((await portIsFree(port)) && (!withBus || (await portIsFree(port + 10_000)))) return port;
  }
  throw new Error('no free port found for redis-server');
}

/** Runs redis-cli against a test server and returns its output. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
    timeout: 10_000,
  });
  return stdout.trim();
}

/** Polls until `check` holds, every `everyMs`, failing after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  everyMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export interface RedisServer {
  readonly port: number;
  /** Stops the server (SIGKILL by default: a crash, nothing flushed, sockets reset). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port, empty (no persistence). */
  start(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections stay open, nothing answers. */
  pause(): void;
  resume(): void;
}

interface ServerSpec {
  port: number;
  dir: string;
  extraArgs: readonly string[];
}

class TestRedisServer implements RedisServer {
  private child: ChildProcess | undefined;
  private paused = false;

  constructor(private readonly spec: ServerSpec) {}

  get port(): number {
    return this.spec.port;
  }

  async start(): Promise<void> {
    if (this.child !== undefined) return;
    const { port, dir, extraArgs } = this.spec;
    mkdirSync(dir, { recursive: true });
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        ...extraArgs,
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    live.add(child);
    child.once('exit', () => {
      live.delete(child);
      if (this.child === child) this.child = undefined;
    });
    await waitFor(async () => (await redisCli(port, 'PING')) === 'PONG', `redis-server on ${port}`);
  }

  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // A stopped process only acts on SIGTERM once continued.
    if (this.paused) this.resume();
    child.kill(signal);
    await exited;
    // Nothing in it outlives the process (no persistence); a cluster node's nodes.conf goes
    // too, so a stopped cluster node comes back as a stranger to its cluster.
    rmSync(this.spec.dir, { recursive: true, force: true });
  }

  pause(): void {
    this.child?.kill('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    this.child?.kill('SIGCONT');
    this.paused = false;
  }
}

const dirs: string[] = [];
process.on('exit', () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-redis-'));
  dirs.push(dir);
  return dir;
}

/** Starts a standalone redis-server on a free port. */
export async function startRedis(extraArgs: readonly string[] = []): Promise<RedisServer> {
  const server = new TestRedisServer({ port: await freePort(), dir: tempDir(), extraArgs });
  await server.start();
  return server;
}

export interface RedisCluster {
  readonly nodes: readonly RedisServer[];
  readonly ports: readonly number[];
  stop(): Promise<void>;
}

/**
 * Starts three masters (no replicas) and joins them with `redis-cli --cluster create`.
 * `extraArgs` go to every node, e.g. `--cluster-require-full-coverage no` for a cluster that
 * keeps serving the slots of its live masters once one is killed.
 */
export async function startCluster(extraArgs: readonly string[] = []): Promise<RedisCluster> {
  const nodes: TestRedisServer[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort(true);
    const dir = tempDir();
    nodes.push(
      new TestRedisServer({
        port,
        dir,
        extraArgs: [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout',
          '5000',
          ...extraArgs,
        ],
      }),
    );
  }
  await Promise.all(nodes.map((node) => node.start()));
  const ports = nodes.map((node) => node.port);
  await run(
    'redis-cli',
    [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ],
    { timeout: 30_000 },
  );
  for (const port of ports)
    await waitFor(
      async () => (await redisCli(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok'),
      `cluster node ${port} to report cluster_state:ok`,
      30_000,
      100,
    );
  return {
    nodes,
    ports,
    stop: async () => {
      await Promise.all(nodes.map((node) => node.stop()));
    },
  };
}
