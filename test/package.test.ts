import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

// Imports the built package by its own name, as a user would; `npm test` builds first.
const root = join(__dirname, '..');
const run = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' }).trim();

const program = (load: string) => `
${load}
const limiter = core.createLimiter({ scopes: [core.scope.ip({ limits: [{ max: 1, window: '1m' }] })] });
const req = { ip: '192.0.2.1', method: 'GET', path: '/', headers: {}, raw: null };
limiter.check(req).then(async (first) => {
  const second = await limiter.check(req);
  console.log([first.allowed, second.status, typeof express.rateLimit, typeof core.MemoryStore].join(' '));
});`;

describe('the built package', () => {
  beforeAll(() => {
    if (!existsSync(join(root, 'dist', 'index.js')))
      throw new Error('dist/ is missing: run `npm run build` first');
  });

  test('imports as ESM', () => {
    const code = program(
      "const core = await import('tollgate'); const express = await import('tollgate/express');",
    );
    expect(run(['--input-type=module', '-e', code])).toBe('true 429 function function');
  });

  test('requires as CommonJS', () => {
    const code = program("const core = require('tollgate'); const express = require('tollgate/express');");
    expect(run(['--input-type=commonjs', '-e', code])).toBe('true 429 function function');
  });

  test('ships types for both conditions', () => {
    for (const entry of ['index', 'express', 'koa', 'redis', 'testing'])
      for (const ext of ['d.ts', 'd.cts'])
        expect(existsSync(join(root, 'dist', `${entry}.${ext}`))).toBe(true);
  });

  test('tollgate/testing and createTollgate load by their package names, in both module systems', () => {
    const program = (load: string) => `${load}
const clock = testing.createTestClock();
const tollgate = express.createTollgate({ now: clock.now });
console.log([typeof tollgate.limit, clock.advance('1m') - Date.UTC(2025, 0, 1)].join(' '));`;
    const esm =
      "const testing = await import('tollgate/testing'); const express = await import('tollgate/express');";
    const cjs = "const testing = require('tollgate/testing'); const express = require('tollgate/express');";
    expect(run(['--input-type=module', '-e', program(esm)])).toBe('function 60000');
    expect(run(['--input-type=commonjs', '-e', program(cjs)])).toBe('function 60000');
  });
});
