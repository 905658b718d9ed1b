import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';

/**
 * What every server child shares: it tells the runner its port over IPC, stops when told to
 * (so that `--cpu-prof` gets to write its profile), and reports a scenario it cannot run.
 */

export type ServerMessage =
  | { readonly kind: 'ready'; readonly port: number }
  | { readonly kind: 'unavailable'; readonly reason: string }
  /** The CPU time this process has used so far, µs: the runner divides it by the requests served. */
  | { readonly kind: 'cpu'; readonly micros: number };

function send(message: ServerMessage): void {
  if (process.send === undefined) {
    console.log(JSON.stringify(message));
    return;
  }
  process.send(message);
}

export function announce(server: Server, cleanup: () => Promise<void> = async () => {}): void {
  const { port } = server.address() as AddressInfo;
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
      send({ kind: 'cpu', micros: user + system });
    }
  });
  process.on('SIGTERM', () => void stop());
  // The runner died: do not outlive it.
  process.on('disconnect', () => void stop());
  send({ kind: 'ready', port });
}

export function unavailable(reason: string): never {
  send({ kind: 'unavailable', reason });
  process.exit(0);
}

/** An ioredis client for the runner's redis-server, configured as docs/redis.md advises. */
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
  // A failure answers requests with 5xx, which autocannon counts; an error event with no
  // listener would only print a stack, e.g. an EPIPE while the server stops.
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** Imports an optional part of tollgate, or reports the scenario as not available. */
export async function optional<T>(what: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    return unavailable(
      `${what} could not be loaded: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
