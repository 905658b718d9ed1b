import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// `tollgate/client` as programs outside this repository load it, and the rule that keeps it
// loadable in a browser: nothing from node:* and nothing from the rest of lib/.

const root = join(__dirname, '..', '..');
const run = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' }).trim();

const program = `
const api = client.createClient({ baseUrl: 'http://127.0.0.1:9', fetch: async () => new Response('{}', { status: 200, headers: { 'RateLimit-Limit': '10', 'RateLimit-Remaining': '7' } }) });
api.fetch('/x').then((res) => {
  const m = api.metrics();
  console.log([res.status, m.total_requests, m.utilisation.default, typeof client.ClientError].join(' '));
});`;

describe('tollgate/client, built', () => {
  beforeAll(() => {
    if (!existsSync(join(root, 'dist', 'client.js')))
      throw new Error('dist/ is missing: run `npm run build` first');
  });

  test('imports as ESM', () => {
    expect(
      run(['--input-type=module', '-e', `const client = await import('tollgate/client');${program}`]),
    ).toBe('200 1 0.3 function');
  });

  test('requires as CommonJS', () => {
    expect(run(['--input-type=commonjs', '-e', `const client = require('tollgate/client');${program}`])).toBe(
      '200 1 0.3 function',
    );
  });

  test('ships types for both conditions', () => {
    for (const file of ['client.d.ts', 'client.d.cts'])
      expect(existsSync(join(root, 'dist', file))).toBe(true);
  });

  test('the ESM build imports nothing: no node:*, no chunk shared with the Node entries', () => {
    const code = readFileSync(join(root, 'dist', 'client.js'), 'utf8');
    expect(code).not.toMatch(/\bfrom\s*["']|\bimport\s*\(|\brequire\s*\(|node:/);
  });
});

describe('lib/client sources', () => {
  const dir = join(root, 'lib', 'client');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));

  test.each(files)('%s imports only from lib/client', (file) => {
    const source = readFileSync(join(dir, file), 'utf8');
    const specifiers = [...source.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
    for (const specifier of specifiers) expect(specifier).toMatch(/^\.\/[a-z-]+\.js$/);
  });
});
