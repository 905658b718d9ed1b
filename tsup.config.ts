import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'lib/index.ts',
    express: 'lib/express.ts',
    redis: 'lib/stores/redis.ts',
    koa: 'lib/koa.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node18',
  splitting: true,
});
