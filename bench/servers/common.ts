import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';

/**
 * What every server child shares: it reports its port to the runner over IPC, answers `cpu`
 * with its CPU time so far (µs), and stops when told to or when the runner goes away.
 */
export function announce(server: Server, cleanup: () => Promise<void> = async () => {}): void {
  const stop = async () => {
    server.closeAllConnections();
    server.close();
    await cleanup().catch(() => {});
    process.exit(0);
  };
  process.on('message', (message) => {
    if (message === 'stop') void stop();
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send!({ cpu: user + system });
    }
  });
  process.on('SIGTERM', () => void stop());
  process.on('disconnect', () => void stop());
  process.send!({ port: (server.address() as AddressInfo).port });
}

/** An ioredis client for the runner's redis-server (`REDIS_PORT`), set up as docs/redis.md advises. */
export async function connectRedis(): Promise<Redis> {
  const port = Number(process.env.REDIS_PORT);
  if (!Number.isInteger(port) || port <= 0) throw new Error('REDIS_PORT is not set');
  const client = new Redis({
    host: '127.0.0.1',
    port,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    lazyConnect: true,
  });
  // A failure answers requests with 5xx, which autocannon counts; an unhandled error event
  // (an EPIPE while the server stops) would only print a stack.
  client.on('error', () => {});
  await client.connect();
  return client;
}
