import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { Redis } from 'ioredis';

/** Whether redis-server can be run here; under `CI=true` its absence is a failure, not a skip. */
export function redisServerAvailable(): boolean {
  const found = spawnSync('redis-server', ['--version']).status === 0;
  if (!found && process.env.CI === 'true') throw new Error('redis-server not found on PATH under CI=true');
  return found;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** Waits until something accepts connections on the port: redis-server takes a moment to start. */
async function untilListening(port: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis-server did not listen on port ${port}`);
}

/** A throwaway redis-server without persistence, for the examples' `REDIS_URL` test. */
export async function throwawayRedis(): Promise<{
  url: string;
  keys(pattern: string): Promise<string[]>;
  /** Resolves once this helper's own connection is the only one left: the example's client has quit. */
  drained(): Promise<void>;
  stop(): Promise<void>;
}> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  const url = `redis://127.0.0.1:${port}`;
  await untilListening(port);
  const client = new Redis(url, { maxRetriesPerRequest: 0 });
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
  });
  return {
    url,
    keys: (pattern) => client.keys(pattern),
    async drained() {
      for (let attempt = 0; attempt < 200; attempt++) {
        const list = String(await client.call('CLIENT', 'LIST'));
        if (list.trim().split('\n').length <= 1) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error('the example kept its Redis connection open after its server closed');
    },
    async stop() {
      await client.quit();
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
