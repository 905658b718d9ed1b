import { Cluster, Redis } from 'ioredis';
import { createClient, createCluster } from 'redis';
import { createClient as createClient4, createCluster as createCluster4 } from 'redis4';
import type { NodeRedisLike } from '../../lib/stores/redis/clients.js';
import type { RedisClientLike } from '../../lib/stores/redis/index.js';
import { type RedisServer, startRedis } from './redis-server.js';

/**
 * Clients configured as docs/redis.md recommends: nothing queued while disconnected, nothing
 * re-sent after a reconnect, and quick reconnects so that fault tests stay short.
 */

const host = '127.0.0.1';
const quickRetry = (times: number) => Math.min(times * 20, 200);

/** node-redis 5 is the `redis` package; 4, which the peer range also admits, is `redis4`. */
export type ClientKind = 'ioredis' | 'node-redis' | 'node-redis-4';
export const clientKinds: readonly ClientKind[] = ['ioredis', 'node-redis', 'node-redis-4'];

export interface TestClient {
  readonly kind: ClientKind;
  readonly client: RedisClientLike;
  /** Whether the client would send a command now. */
  ready(): boolean;
  close(): Promise<void>;
}

export async function connectClient(kind: ClientKind, port: number): Promise<TestClient> {
  if (kind === 'ioredis') {
    const client = new Redis({
      host,
      port,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: quickRetry,
    });
    client.on('error', () => {});
    await client.connect();
    return {
      kind,
      client,
      ready: () => client.status === 'ready',
      close: async () => client.disconnect(),
    };
  }
  const options = { socket: { host, port, reconnectStrategy: quickRetry }, disableOfflineQueue: true };
  const client = (kind === 'node-redis-4' ? createClient4(options) : createClient(options)) as NodeRedisTest;
  // node-redis throws an 'error' event nobody listens to; connection errors are expected here.
  client.on('error', () => {});
  await client.connect();
  return { kind, client, ready: () => client.isReady ?? client.isOpen, close: () => closeNodeRedis(client) };
}

/** What these helpers use of a node-redis 4 or 5 client or cluster, whose types differ. */
interface NodeRedisTest extends NodeRedisLike {
  on(event: 'error', listener: () => void): unknown;
  connect(): Promise<unknown>;
  readonly isOpen: boolean;
  /** 5 only. */
  destroy?(): void;
  /** 4: closes at once, as 5's destroy() does, without waiting for replies. */
  disconnect?(): Promise<void>;
}

async function closeNodeRedis(client: NodeRedisTest): Promise<void> {
  if (!client.isOpen) return;
  if (client.destroy !== undefined) client.destroy();
  else await client.disconnect?.();
}

export async function connectCluster(kind: ClientKind, ports: readonly number[]): Promise<TestClient> {
  if (kind === 'ioredis') {
    const cluster = new Cluster(
      ports.map((port) => ({ host, port })),
      { enableOfflineQueue: false, lazyConnect: true, redisOptions: { maxRetriesPerRequest: 0 } },
    );
    cluster.on('error', () => {});
    await cluster.connect();
    return {
      kind,
      client: cluster,
      ready: () => cluster.status === 'ready',
      close: async () => cluster.disconnect(),
    };
  }
  const options = {
    rootNodes: ports.map((port) => ({ socket: { host, port } })),
    defaults: { disableOfflineQueue: true, socket: { reconnectStrategy: quickRetry } },
  };
  const cluster = (
    kind === 'node-redis-4' ? createCluster4(options) : createCluster(options)
  ) as NodeRedisTest;
  cluster.on('error', () => {});
  await cluster.connect();
  return { kind, client: cluster, ready: () => cluster.isOpen, close: () => closeNodeRedis(cluster) };
}

/** A plain ioredis connection for the test's own inspection (SCAN, PTTL, INFO). */
export function adminClient(port: number): Redis {
  const client = new Redis({ host, port, retryStrategy: quickRetry });
  client.on('error', () => {});
  return client;
}

/** What `withRedisClients` holds once its `beforeAll` has run. */
export interface RedisWithClients {
  readonly server: RedisServer;
  /** The test's own connection, for inspecting and flushing; never a store's. */
  readonly admin: Redis;
  /** The connected client of one kind. */
  client(kind: ClientKind): RedisClientLike;
}

/**
 * A throwaway redis-server for the calling `describe` block, with an admin connection and one
 * client of each kind: started before its tests, stopped after them. Read it inside hooks and
 * tests, once the server is up.
 */
export function withRedisClients(): RedisWithClients {
  const clients = new Map<ClientKind, TestClient>();
  const fixture = {
    server: undefined as unknown as RedisServer,
    admin: undefined as unknown as Redis,
    client(kind: ClientKind): RedisClientLike {
      return clients.get(kind)!.client;
    },
  };
  beforeAll(async () => {
    fixture.server = await startRedis();
    fixture.admin = adminClient(fixture.server.port);
    for (const kind of clientKinds) clients.set(kind, await connectClient(kind, fixture.server.port));
  });
  afterAll(async () => {
    for (const client of clients.values()) await client.close();
    fixture.admin.disconnect();
    await fixture.server.stop();
  });
  return fixture;
}

/** Every key matching `pattern` whose PTTL is not positive (−1: no TTL). */
export async function keysWithoutTtl(admin: Redis, pattern = '*{*}*'): Promise<string[]> {
  const bad: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const ttl = await admin.pttl(key);
      // −2: expired between SCAN and PTTL, which is fine.
      if (ttl === -1 || ttl === 0) bad.push(key);
    }
  } while (cursor !== '0');
  return bad;
}

/** All keys matching `pattern`. */
export async function allKeys(admin: Redis, pattern = '*'): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found.sort();
}

/**
 * Wraps a client so that every method the store calls on it is recorded by name: proof of
 * how many commands one store call sends, and of which.
 */
export function recordingClient<T extends object>(client: T, calls: string[]): T {
  return new Proxy(client, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args: unknown[]) => {
        calls.push(property);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** `INFO commandstats` as `{ evalsha: 1, hmget: 8, … }`. */
export async function commandCalls(admin: Redis): Promise<Record<string, number>> {
  const info = await admin.info('commandstats');
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2]);
  return calls;
}

/** A window counter's count as the Redis store keeps it: the field `n<suffix>@<window start>` of its hash. */
export async function countIn(admin: Redis, key: string, suffix = ''): Promise<string | undefined> {
  const fields = await admin.hgetall(key);
  const name = Object.keys(fields).find((field) => field.startsWith(`n${suffix}@`));
  return name === undefined ? undefined : fields[name];
}
