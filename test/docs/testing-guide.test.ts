import ts from 'typescript';
import { snippetsOf } from '../helpers/snippets.js';

/**
 * docs/testing.md's jest + supertest example is run, not only compiled: its `app.ts` and
 * `app.test.ts` blocks are loaded as modules, with `tollgate` and its entry points mapped to
 * lib/, and each `test` they declare runs here.
 */

const blocks = new Map(snippetsOf('docs/testing.md').map((s) => [s.file, s.code]));

const PACKAGES: Record<string, () => unknown> = {
  tollgate: () => require('../../lib/index.js'),
  'tollgate/express': () => require('../../lib/express/index.js'),
  'tollgate/testing': () => require('../../lib/testing/index.js'),
  express: () => require('express'),
  supertest: () => require('supertest'),
};

type Declared = Array<[string, () => Promise<void>]>;

function load(file: string, declared: Declared): Record<string, unknown> {
  const source = blocks.get(file);
  if (source === undefined) throw new Error(`docs/testing.md has no block named ${file}`);
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
    },
  });
  const module = { exports: {} as Record<string, unknown> };
  const requireFor = (name: string): unknown => {
    if (name.startsWith('./')) return load(name.slice(2).replace(/\.js$/, '.ts'), declared);
    const found = PACKAGES[name];
    if (found === undefined) throw new Error(`the guide imports ${name}, which this test does not provide`);
    return found();
  };
  const declare = (name: string, fn: () => Promise<void>) => declared.push([name, fn]);
  new Function('require', 'module', 'exports', 'test', 'expect', outputText)(
    requireFor,
    module,
    module.exports,
    declare,
    expect,
  );
  return module.exports;
}

const declared: Declared = [];
load('app.test.ts', declared);

describe('docs/testing.md, run', () => {
  test('declares its tests', () => expect(declared.length).toBeGreaterThanOrEqual(2));
  test.each(declared)('%s', async (_name, fn) => {
    await fn();
  });
});
