import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';

/**
 * The window of a round's counters. The script reads Redis TIME, which no test can set: a window
 * of 30 days (aligned to the epoch) keeps a window's end out of a round but once a month,
 * where an hour window ended inside a run about once in three hundred.
 */
export const ROUND_WINDOW_MS = 30 * 86_400_000;

/** The next IPC message of a forked worker; rejects if the worker exits first. */
export function nextMessage<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`worker exited with ${code}`));
    child.once('exit', onExit);
    child.once('message', (message) => {
      child.off('exit', onExit);
      resolve(message as T);
    });
  });
}

/**
 * Forks `count` Redis workers (test/stores/redis-worker.ts) on `target` (a port, or a cluster's
 * ports joined by commas), half on each client library, and waits until each is connected.
 */
export async function forkRedisWorkers(target: string, count: number): Promise<ChildProcess[]> {
  const workers = Array.from({ length: count }, (_, i) =>
    fork(join(__dirname, '..', 'stores', 'redis-worker.ts'), [target, i % 2 ? 'node-redis' : 'ioredis'], {
      execArgv: ['--import', 'tsx'],
      cwd: join(__dirname, '..', '..'),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  await Promise.all(workers.map((worker) => nextMessage<string>(worker)));
  return workers;
}

/** Asks each worker to exit, and kills the ones still running 5 s later. */
export async function stopWorkers(workers: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    workers.map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (worker.exitCode !== null) return resolve();
          worker.once('exit', () => resolve());
          worker.send('exit');
          setTimeout(() => worker.kill('SIGKILL'), 5_000).unref();
        }),
    ),
  );
}
