// Shared plumbing of the profile examples: the store, the server, the Bearer token.
// Everything tollgate-specific stays in the examples themselves.
import type { IncomingHttpHeaders, Server } from 'node:http';
import { basename } from 'node:path';
import type { Express } from 'express';
import type { Store } from '../lib/index.js';

/** What every example's `createApp` takes, so that tests can drive it with their own clock. */
export interface ExampleOptions {
  /** Where counters live. Defaults to a `MemoryStore` on `now`. */
  store?: Store;
  /** The clock, ms since epoch. Defaults to `Date.now`. */
  now?: () => number;
}

/** The environment `main` reads: `PORT` (default 3000) and `REDIS_URL`. */
export type ExampleEnv = Readonly<Record<string, string | undefined>>;

/** `Authorization: Bearer <token>` → the token. */
export function bearerToken(headers: IncomingHttpHeaders): string | undefined {
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(headers.authorization ?? '');
  return match?.[1];
}

/**
 * The Redis store when `REDIS_URL` is set, else `undefined` (each example then uses memory).
 * Loaded only then, so that the examples run without Redis or its driver.
 */
export async function storeFromEnv(
  env: ExampleEnv,
): Promise<{ store: Store | undefined; close: () => Promise<void> }> {
  const url = env.REDIS_URL;
  if (url === undefined || url === '') return { store: undefined, close: async () => {} };
  const [{ Redis }, { RedisStore }] = await Promise.all([import('ioredis'), redisStoreModule()]);
  // No offline queue: while Redis is away a call fails at once and the limiter's
  // `onStoreError` policy decides, instead of requests waiting for a reconnect.
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0 });
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
  });
  return {
    store: new RedisStore({ client }),
    close: async () => {
      await client.quit();
    },
  };
}

// `tollgate/redis`. Its specifier is kept from the type-checker so that the examples compile,
// and run on memory, in a checkout without the Redis store.
const REDIS_ENTRY = '../lib/stores/redis/index.js';

async function redisStoreModule(): Promise<{ RedisStore: new (options: { client: unknown }) => Store }> {
  const module: { RedisStore?: unknown } = await import(REDIS_ENTRY);
  if (typeof module.RedisStore !== 'function')
    throw new Error('REDIS_URL is set, but this build of tollgate has no Redis store (tollgate/redis)');
  return module as { RedisStore: new (options: { client: unknown }) => Store };
}

/**
 * Starts an example: builds the app on the store the environment names and listens on
 * `PORT` (default 3000). Resolves once it listens; SIGINT and SIGTERM close it.
 */
export async function serve(
  name: string,
  createApp: (options: ExampleOptions) => Express,
  env: ExampleEnv = process.env,
): Promise<Server> {
  const { store, close } = await storeFromEnv(env);
  const app = createApp(store === undefined ? {} : { store });
  const port = Number(env.PORT ?? 3000);
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(port, (error?: Error) => (error ? reject(error) : resolve(listening)));
  });
  server.once('close', () => void close());
  const address = server.address();
  const actual = typeof address === 'object' && address !== null ? address.port : port;
  console.log(
    `${name} example listening on http://localhost:${actual} (store: ${store === undefined ? 'memory' : 'redis'})`,
  );
  return server;
}

/** Closes the server on SIGINT and SIGTERM: for `main` only, never for tests. */
export function closeOnSignals(server: Server): void {
  const stop = () => server.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/**
 * Whether the process was started on this example's file (`tsx examples/fastino.ts`), read
 * from `argv` because the examples are also loaded as CommonJS by the test runner, where
 * `import.meta` does not exist.
 */
export function startedAs(name: string): boolean {
  const script = process.argv[1];
  return script !== undefined && basename(script).replace(/\.[cm]?[jt]s$/, '') === name;
}
