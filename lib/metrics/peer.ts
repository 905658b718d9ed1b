import { createRequire } from 'node:module';

/**
 * Loads an optional peer dependency (`prom-client`, `@opentelemetry/api`) when a metrics
 * flavour is built without one passed in, never when `tollgate/metrics` is imported: a user
 * with only one of them installed never loads the other. Resolved as the application would
 * resolve it: from tollgate's own file where the build knows it (CommonJS), else from the
 * application's main script, else from the working directory. Passing the module (`client`,
 * `meter`) needs none of this.
 */
export function requirePeer(name: string, purpose: string): unknown {
  const bases = [
    typeof __filename === 'string' ? __filename : undefined,
    process.argv[1],
    `${process.cwd()}/`,
  ];
  let failure: unknown;
  for (const base of bases) {
    if (base === undefined) continue;
    try {
      return createRequire(base)(name);
    } catch (error) {
      failure ??= error;
    }
  }
  throw new Error(
    `tollgate/metrics: ${purpose} needs the optional peer dependency ${name} (npm install ${name}), or the module passed in`,
    { cause: failure },
  );
}
