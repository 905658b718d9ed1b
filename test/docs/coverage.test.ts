import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as express from '../../lib/express/index.js';
import * as core from '../../lib/index.js';
import * as koa from '../../lib/koa/index.js';
import { memoryStoreOptionsSchema } from '../../lib/stores/memory/index.js';
import * as redis from '../../lib/stores/redis/index.js';
import * as testing from '../../lib/testing/index.js';
import { PAGES, ROOT } from '../helpers/snippets.js';

const docs = PAGES.map((page) => readFileSync(join(ROOT, page), 'utf8')).join('\n');
/** Whether the docs name `name` as code: `name`, `name(…)` or `name.member`. */
const named = (name: string) => new RegExp(`\`${name}[\`(.]`).test(docs);

describe('every exported name and option appears in the docs', () => {
  test.each([
    ['tollgate', core],
    ['tollgate/express', express],
    ['tollgate/koa', koa],
    ['tollgate/redis', redis],
    ['tollgate/testing', testing],
  ] as const)('%s', (_entry, module) => {
    const missing = Object.keys(module).filter((name) => !named(name));
    expect(missing).toEqual([]);
  });

  test.each([
    ['tollgate options', core.tollgateOptionsSchema],
    ['scope options', core.scopeOptionsSchema],
    ['spending cap options', core.spendCapOptionsSchema],
    ['MemoryStore options', memoryStoreOptionsSchema],
    ['RedisStore options', redis.redisStoreOptionsSchema],
  ] as const)('%s', (_what, schema) => {
    const missing = Object.keys(schema.properties ?? {}).filter((name) => !named(name));
    expect(missing).toEqual([]);
  });

  test('every error code has its heading or row in docs/errors.md', () => {
    const errors = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
    const source = readFileSync(join(ROOT, 'lib/errors/errors.ts'), 'utf8');
    const codes = [...source.matchAll(/'(ERR_TOLLGATE_[A-Z_]+)'/g)].map((m) => m[1]!);
    expect(codes.length).toBeGreaterThan(8);
    expect(codes.filter((code) => !errors.includes(`### \`${code}\``))).toEqual([]);
  });
});

describe('documentation reachable from an installed package', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

  test('package.json names the repository, homepage and bug tracker, and ships docs/', () => {
    expect(pkg.repository).toMatchObject({
      type: 'git',
      url: expect.stringMatching(/^git\+https:\/\/github\.com\/.+\.git$/),
    });
    expect(pkg.homepage).toMatch(/^https:\/\//);
    expect(pkg.bugs.url).toMatch(/^https:\/\/.+\/issues$/);
    expect(pkg.files).toContain('docs');
  });

  test("the README's links are absolute, so that they work on the registry's page, and point into this repository", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(5);
    expect(links.filter((link) => !/^https:\/\//.test(link) && !link.startsWith('#'))).toEqual([]);
    const base = pkg.homepage.replace(/#readme$/, '');
    for (const link of links.filter((l) => l.startsWith(`${base}/blob/main/`))) {
      const path = link.slice(`${base}/blob/main/`.length).replace(/#.*$/, '');
      expect([path, readFileSync(join(ROOT, path), 'utf8').length > 0]).toEqual([path, true]);
    }
  });

  test('the help links of run-time reports lead to docs/errors.md headings that exist', () => {
    const errors = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
    for (const code of [
      'ERR_TOLLGATE_NO_ROUTE_PARAM',
      'ERR_TOLLGATE_BODY_NOT_PARSED',
      'ERR_TOLLGATE_CLOCK_MISMATCH',
      'ERR_TOLLGATE_UNSAFE_PROXY',
    ])
      expect(errors).toContain(`### \`${code}\``);
  });
});
