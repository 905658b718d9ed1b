/**
 * `npm run example -- <name>`: starts one of the profile examples on `PORT` (default 3000),
 * on Redis when `REDIS_URL` is set. Each example module exports `main(env)`, which resolves to
 * the listening server.
 */
import type { Server } from 'node:http';
import { closeOnSignals, type ExampleEnv, startedAs } from './support.js';

interface ExampleModule {
  main?: (env?: ExampleEnv) => Promise<Server> | Server;
}

export const EXAMPLES: Readonly<Record<string, () => Promise<ExampleModule>>> = {
  fastino: () => import('./fastino.js'),
  fluid: () => import('./fluid.js'),
  pioneer: () => import('./pioneer.js'),
  firsthand: () => import('./firsthand.js'),
  'firsthand-koa': () => import('./firsthand-koa.js'),
  metrics: () => import('./metrics.js'),
};

/** Starts the example `name`; resolves to its server, or `undefined` if it starts itself on import. */
export async function runExample(name: string, env: ExampleEnv = process.env): Promise<Server | undefined> {
  const load = Object.hasOwn(EXAMPLES, name) ? EXAMPLES[name] : undefined;
  if (load === undefined)
    throw new Error(`Unknown example "${name}". Choose one of: ${Object.keys(EXAMPLES).join(', ')}`);
  const module = await load();
  return typeof module.main === 'function' ? module.main(env) : undefined;
}

if (startedAs('run')) {
  const name = process.argv[2];
  if (name === undefined) {
    console.error(`Usage: npm run example -- <${Object.keys(EXAMPLES).join('|')}>`);
    process.exit(1);
  }
  runExample(name).then(
    (server) => {
      if (server !== undefined) closeOnSignals(server);
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
