import { createRequire } from 'node:module';

/**
 * Loads an optional peer dependency (`prom-client`, `@opentelemetry/api`) when a metrics
 * flavour is built without one passed in, never when `tollgate/metrics` is imported: a user
 * with only one of them installed never loads the other. Resolved from tollgate's own files,
 * as an import of it would be.
 */
export function requirePeer(name: string, purpose: string): unknown {
  const from = typeof __filename === 'string' ? __filename : `${process.cwd()}/`;
  try {
    return createRequire(from)(name);
  } catch (error) {
    throw new Error(
      `tollgate/metrics: ${purpose} needs the optional peer dependency ${name}; npm install ${name}`,
      {
        cause: error,
      },
    );
  }
}
