import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/** Child processes of the runner: scenario servers, micro benchmarks, a throwaway redis-server. */

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});
// 'exit' does not run on a signal by itself.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

function spawnNode(file: string, env: Record<string, string>, stdout: 'inherit' | 'pipe'): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    env: { ...process.env, ...env, NODE_ENV: 'production' },
    stdio: ['ignore', stdout, 'inherit', 'ipc'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

export interface Server {
  readonly port: number;
  readonly pid: number;
  /** CPU time the server has used so far, µs (its own `process.cpuUsage()`). */
  cpuMicros(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts a scenario server (servers/*.ts) and waits for the port it reports over IPC. */
export async function startServer(file: string, env: Record<string, string>): Promise<Server> {
  const child = spawnNode(file, env, 'inherit');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not start within 30 s`)), 30_000);
    child.once('message', (m: { port: number }) => {
      clearTimeout(timer);
      resolve(m.port);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} (${JSON.stringify(env)}) exited with ${code} before it was ready`));
    });
  });
  return {
    port,
    pid: child.pid!,
    cpuMicros: () =>
      new Promise<number>((resolve) => {
        child.once('message', (m: { cpu: number }) => resolve(m.cpu));
        child.send('cpu');
      }),
    async stop() {
      if (child.connected) child.send('stop');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs a child that prints one JSON document on its last stdout line. */
export async function runJsonChild<T>(file: string, env: Record<string, string>): Promise<T> {
  const child = spawnNode(file, env, 'pipe');
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${file} exited with ${code}: ${out.slice(-2000)}`);
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}

/** CPU time a process has used (utime + stime from /proc), µs at 10 ms resolution; 0 when unknown. */
export function processCpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return 0;
  }
}

function busyTicks(): number {
  try {
    const [user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8')
      .split('\n', 1)[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    return user! + nice! + system! + irq! + softirq!;
  } catch {
    return Number.NaN;
  }
}

/**
 * Measures the CPU used meanwhile by processes outside the benchmark (runner, `pids`), in cores:
 * anything well above 0 means other work shared the machine during the measurement.
 */
export function otherLoadMeter(pids: readonly number[]): () => number {
  const own = () => processCpuMicros(process.pid) + pids.reduce((sum, pid) => sum + processCpuMicros(pid), 0);
  const start = { busy: busyTicks(), own: own(), at: performance.now() };
  return () => {
    const seconds = (performance.now() - start.at) / 1000;
    const busyUs = (busyTicks() - start.busy) * 10_000;
    return Math.max(0, (busyUs - (own() - start.own)) / 1e6 / seconds);
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  if (port === 6379) return freePort();
  return port;
}

export interface RedisServer {
  readonly port: number;
  readonly pid: number;
  readonly version: string;
  /** Empties the database and resets INFO's counters. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A throwaway redis-server on a free port (never the machine's 6379), no persistence, in a temp
 * dir; run by the command in `under` when there is one (valgrind, which keeps its pid).
 */
export async function startRedis(under: readonly string[] = []): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const [command, ...rest] = [...under, 'redis-server', ...args, '--dir', dir];
  const child = spawn(command!, rest, { stdio: 'ignore' });
  live.add(child);
  const failed = new Promise<never>((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  failed.catch(() => {});
  // Commands wait in ioredis's queue until redis-server accepts connections, for up to 10 s
  // (under valgrind it takes a while): no limit on retries per command, 200 reconnections.
  const admin = new Redis({
    host: '127.0.0.1',
    port,
    maxRetriesPerRequest: null,
    retryStrategy: (times) => (times > 200 ? null : 50),
  });
  admin.on('error', () => {});
  const info = await Promise.race([admin.info('server'), failed]).catch((error: unknown) => {
    admin.disconnect();
    child.kill('SIGKILL');
    throw error;
  });
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  return {
    port,
    pid: child.pid!,
    version,
    async flush() {
      await admin.flushall();
      await admin.config('RESETSTAT');
    },
    async stop() {
      admin.disconnect();
      // It may have ended already (a crash under valgrind): then there is no 'exit' to wait for.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      live.delete(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisClusterServers {
  readonly ports: readonly number[];
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

/**
 * Three throwaway masters joined as a Redis Cluster (no replicas, no persistence), for the Redis
 * CPU per master. Ports are free ones whose bus port (port + 10,000) is free too.
 */
export async function startRedisCluster(): Promise<RedisClusterServers> {
  const nodes: Array<{ port: number; child: ChildProcess; dir: string }> = [];
  while (nodes.length < 3) {
    const port = await freePort();
    if (port > 55_000 || !(await portFree(port + 10_000))) continue;
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-cluster-'));
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    const cluster = ['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf')];
    const child = spawn('redis-server', [...args, ...cluster, '--dir', dir], { stdio: 'ignore' });
    live.add(child);
    nodes.push({ port, child, dir });
  }
  for (const { port } of nodes) {
    const admin = new Redis({ host: '127.0.0.1', port, retryStrategy: (times) => (times > 200 ? null : 50) });
    admin.on('error', () => {});
    await admin.ping();
    admin.disconnect();
  }
  const create = spawn(
    'redis-cli',
    [
      '--cluster',
      'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ],
    { stdio: 'ignore' },
  );
  await new Promise((resolve) => create.once('exit', resolve));
  for (const { port } of nodes) {
    const admin = new Redis({ host: '127.0.0.1', port });
    for (let i = 0; i < 300 && !(await admin.cluster('INFO')).includes('cluster_state:ok'); i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    admin.disconnect();
  }
  return {
    ports: nodes.map((n) => n.port),
    pids: nodes.map((n) => n.child.pid!),
    async stop() {
      for (const { child, dir } of nodes) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
        live.delete(child);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
