/**
 * The Redis clients the store accepts, described by shape only: importing `ioredis` or
 * `redis` here, even for types, would make them dependencies of every user of
 * `tollgate/redis`, and both are optional peers.
 */

type SomeFunction = (...args: never[]) => unknown;

/** An ioredis `Redis` or `Cluster`: told apart by `evalsha` and `defineCommand`. */
export interface IoRedisLike {
  evalsha: SomeFunction;
  eval: SomeFunction;
  defineCommand: SomeFunction;
  /** `'ready'` once connected; anything else but `'wait'` means no connection. */
  readonly status?: string;
}

/** A node-redis (v4+) client from `createClient` or cluster from `createCluster`. */
export interface NodeRedisLike {
  evalSha: SomeFunction;
  eval: SomeFunction;
  sendCommand: SomeFunction;
  readonly isOpen?: boolean;
  /** Clients only; a cluster has `isOpen` alone. */
  readonly isReady?: boolean;
}

export type RedisClientLike = IoRedisLike | NodeRedisLike;

/** What the store needs of a client, whichever it is. */
export interface ScriptRunner {
  /** Whether the client is a cluster's: each call must then keep to one slot. */
  readonly cluster: boolean;
  /** Why a command sent now would wait in an offline queue, or `undefined` when it would not. */
  unavailable(): string | undefined;
  evalSha(sha: string, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  eval(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown>;
}

type IoEval = (this: IoRedisLike, script: string, numKeys: number, ...rest: string[]) => Promise<unknown>;
type ClusterSend = (
  this: NodeRedisLike,
  firstKey: string | undefined,
  isReadonly: boolean,
  args: string[],
) => Promise<unknown>;
type NodeEval = (
  this: NodeRedisLike,
  script: string,
  options: { keys: string[]; arguments: string[] },
) => Promise<unknown>;

export function isNodeRedis(client: object): client is NodeRedisLike {
  const c = client as Partial<Record<string, unknown>>;
  return typeof c.evalSha === 'function' && typeof c.sendCommand === 'function';
}

/** A node-redis cluster (`createCluster`), 4 or 5: it finds a key's node itself. */
function isNodeRedisCluster(client: NodeRedisLike): boolean {
  return typeof (client as unknown as Partial<Record<string, unknown>>).getSlotMaster === 'function';
}

export function isIoRedis(client: object): client is IoRedisLike {
  const c = client as Partial<Record<string, unknown>>;
  return typeof c.evalsha === 'function' && typeof c.defineCommand === 'function';
}

export function scriptRunner(client: RedisClientLike): ScriptRunner {
  // node-redis first: an ioredis client has `sendCommand` too, but no camel-cased `evalSha`.
  if (isNodeRedis(client)) {
    const unavailable = () =>
      client.isReady === false || client.isOpen === false ? 'the node-redis client is not ready' : undefined;
    if (isNodeRedisCluster(client)) {
      // The script's commands spelt out, routed by the first key: node-redis 4's cluster sends
      // `evalSha`/`eval` to a node chosen without the key (its key finder is handed the SHA
      // where it expects the options), and the wrong node answers MOVED.
      const send = client.sendCommand as unknown as ClusterSend;
      const run = (command: string, body: string, keys: readonly string[], args: readonly string[]) =>
        send.call(client, keys[0], false, [command, body, String(keys.length), ...keys, ...args]);
      return {
        cluster: true,
        unavailable,
        evalSha: (sha, keys, args) => run('EVALSHA', sha, keys, args),
        eval: (script, keys, args) => run('EVAL', script, keys, args),
      };
    }
    const evalSha = client.evalSha as unknown as NodeEval;
    const evalScript = client.eval as unknown as NodeEval;
    return {
      cluster: false,
      unavailable,
      evalSha: (sha, keys, args) => evalSha.call(client, sha, { keys: [...keys], arguments: [...args] }),
      eval: (script, keys, args) =>
        evalScript.call(client, script, { keys: [...keys], arguments: [...args] }),
    };
  }
  const io = client as IoRedisLike;
  const evalSha = io.evalsha as unknown as IoEval;
  const evalScript = io.eval as unknown as IoEval;
  return {
    // ioredis marks its Cluster so; a standalone client has `isCluster: false`.
    cluster: (io as { isCluster?: unknown }).isCluster === true,
    unavailable() {
      // `wait` is a lazyConnect client before its first command: that command connects it.
      const status = io.status;
      if (status === undefined || status === 'ready' || status === 'wait') return undefined;
      return `the ioredis client is ${status}`;
    },
    evalSha: (sha, keys, args) => evalSha.call(io, sha, keys.length, ...keys, ...args),
    eval: (script, keys, args) => evalScript.call(io, script, keys.length, ...keys, ...args),
  };
}
