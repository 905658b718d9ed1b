import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'lib/index.ts',
    express: 'lib/express/index.ts',
    redis: 'lib/stores/redis/index.ts',
    koa: 'lib/koa/index.ts',
    metrics: 'lib/metrics/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node18',
  splitting: true,
  // `__filename` in the ESM build, where tollgate/metrics resolves its optional peers from.
  shims: true,
});
