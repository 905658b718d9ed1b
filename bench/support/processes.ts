import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { ServerMessage } from '../servers/common.js';
import { type CpuShare, cpuMeter } from './cpu.js';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});
// Interrupted: take the servers and redis-server down too ('exit' alone does not run on a signal).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

let childRoot: string | undefined;

/** Runs every later child in `dir` (a snapshot of the repository): their file paths are relative to it. */
export function runChildrenIn(dir: string): void {
  childRoot = dir;
}

/** `node --import tsx <file>`: the benchmark runs the TypeScript sources, as the tests do. */
function nodeArgs(file: string, extra: readonly string[]): string[] {
  return [...extra, '--import', 'tsx', file];
}

export interface RunningServer {
  readonly port: number;
  readonly pid: number;
  /** CPU time the server has used so far, µs (from its own `process.cpuUsage()`). */
  cpuMicros(): Promise<number>;
  stop(): Promise<void>;
}

export type StartResult = { kind: 'ready'; server: RunningServer } | { kind: 'unavailable'; reason: string };

/** Starts a server child and waits for it to report its port (or that it cannot run). */
export async function startServer(
  file: string,
  env: Record<string, string>,
  nodeFlags: readonly string[] = [],
): Promise<StartResult> {
  const child = spawn(process.execPath, nodeArgs(file, nodeFlags), {
    cwd: childRoot,
    env: { ...process.env, ...env, NODE_ENV: 'production' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  live.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      live.delete(child);
      resolve();
    }),
  );
  const message = await new Promise<ServerMessage>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${file} did not start within 30 s`)), 30_000);
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve(m as ServerMessage);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} (${JSON.stringify(env)}) exited with ${code} before it was ready`));
    });
  });
  if (message.kind === 'unavailable') {
    await exited;
    return message;
  }
  if (message.kind !== 'ready') throw new Error(`${file} sent ${message.kind} before it was ready`);
  return {
    kind: 'ready',
    server: {
      port: message.port,
      pid: child.pid!,
      cpuMicros() {
        return new Promise<number>((resolve, reject) => {
          const onMessage = (m: ServerMessage) => {
            if (m.kind !== 'cpu') return;
            child.off('message', onMessage);
            resolve(m.micros);
          };
          child.on('message', onMessage);
          if (!child.send('cpu')) reject(new Error('the server is gone'));
        });
      },
      async stop() {
        if (child.connected) child.send('stop');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      },
    },
  };
}

/**
 * Runs a child that prints one JSON document on its last stdout line, and returns it with the
 * CPU other processes used meanwhile.
 */
export async function runJsonChild<T>(
  file: string,
  env: Record<string, string>,
  nodeFlags: readonly string[] = [],
  alsoOurs: readonly number[] = [],
): Promise<{ value: T; cpu: CpuShare | undefined }> {
  const child = spawn(process.execPath, nodeArgs(file, nodeFlags), {
    cwd: childRoot,
    env: { ...process.env, ...env, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  live.add(child);
  const meter = cpuMeter([child.pid!, ...alsoOurs]);
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    out += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const cpu = meter.stop();
  live.delete(child);
  const lines = out.trim().split('\n');
  if (code !== 0) throw new Error(`${file} exited with ${code}: ${out.slice(-2000)}`);
  return { value: JSON.parse(lines[lines.length - 1]!) as T, cpu };
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A free TCP port on 127.0.0.1, never 6379 (the machine's own Redis). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if (port !== 6379 && (await portIsFree(port))) return port;
  }
  throw new Error('no free port for redis-server');
}

/** redis-server's arguments for a throwaway instance: loopback only, no persistence, files in `dir`. */
export function redisServerArgs(port: number, dir: string): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
}

export interface RedisServer {
  readonly port: number;
  readonly pid: number;
  readonly version: string;
  /** Empties the database and resets INFO counters, between scenarios. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A throwaway redis-server on a free port (never 6379), without persistence, in a temp dir;
 * `{ unavailable }` when redis-server cannot be run.
 */
export async function startRedis(): Promise<RedisServer | { unavailable: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-redis-'));
  const child = spawn('redis-server', redisServerArgs(port, dir), { stdio: 'ignore' });
  live.add(child);
  const failed = new Promise<string>((resolve) => {
    child.once('error', (error) => resolve(error.message));
    child.once('exit', (code) => resolve(`redis-server exited with ${code}`));
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const why = await Promise.race([failed, accepts(port).then((ok) => (ok ? undefined : 'retry'))]);
    if (why === undefined) break;
    if (why !== 'retry' || Date.now() > deadline) {
      live.delete(child);
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      return { unavailable: why === 'retry' ? 'redis-server did not answer within 10 s' : why };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
  await client.connect();
  const info = await client.info('server');
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  return {
    port,
    pid: child.pid!,
    version,
    async flush() {
      await client.flushall();
      await client.config('RESETSTAT');
    },
    async stop() {
      client.disconnect();
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
      live.delete(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
