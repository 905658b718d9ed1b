import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'lib/index.ts',
    express: 'lib/express/index.ts',
    redis: 'lib/stores/redis/index.ts',
    koa: 'lib/koa/index.ts',
    metrics: 'lib/metrics/index.ts',
    // Browser-safe: lib/client imports nothing outside itself, so it shares no chunk with the Node entries.
    client: 'lib/client/index.ts',
    testing: 'lib/testing/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node18',
  splitting: true,
});
