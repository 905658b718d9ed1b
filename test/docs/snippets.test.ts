import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

/**
 * The TypeScript blocks of the docs issue 22 added (docs/metrics.md, quotas.md, concurrency.md)
 * and of the README's sections on them, type-checked against lib/ as the package exports it,
 * so that they cannot rot. A block may use `app` (an Express app) and `generate` (a handler),
 * and the README's blocks the names its quick start imports.
 */

const root = join(__dirname, '..', '..');
const out = join(root, 'node_modules', '.cache', 'tollgate-snippets');

/** What a block uses without making it: an app and a handler, unless the block makes its own. */
function prelude(code: string): string {
  const lines = ["import type { Express as Express_, RequestHandler as Handler_ } from 'express';"];
  if (!/const app\b/.test(code)) lines.push('declare const app: Express_;');
  lines.push('declare const generate: Handler_;');
  return lines.join('\n');
}

/** Names the README's quick start imports, for its later blocks that use them bare. */
const IMPORTS: Record<string, string> = {
  scope: "import { scope } from 'tollgate';",
  rateLimit: "import { rateLimit } from 'tollgate/express';",
};

function blocks(text: string): string[] {
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

/** The README's sections on issue 22: from `## Metrics` to the next section after `## Concurrency limits`. */
function readmeSections(): string {
  const text = readFileSync(join(root, 'README.md'), 'utf8');
  const start = text.indexOf('\n## Metrics\n');
  const concurrency = text.indexOf('\n## Concurrency limits\n', start);
  const end = text.indexOf('\n## ', concurrency + 1);
  if (start < 0 || concurrency < 0)
    throw new Error('README: the Metrics to Concurrency limits sections are missing');
  return text.slice(start, end < 0 ? undefined : end);
}

function snippets(): Array<[string, string]> {
  const ours = ['docs/metrics.md', 'docs/quotas.md', 'docs/concurrency.md'].flatMap((file) =>
    blocks(readFileSync(join(root, file), 'utf8')).map((code, i): [string, string] => [
      `${file} #${i + 1}`,
      code,
    ]),
  );
  const readme = blocks(readmeSections()).map((code, i): [string, string] => [`README.md #${i + 1}`, code]);
  return [...ours, ...readme];
}

test('every TypeScript block of the metrics, quotas and concurrency docs type-checks', () => {
  const list = snippets();
  expect(list.length).toBe(7);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const files = list.map(([, code], i) => {
    const imports = Object.entries(IMPORTS)
      .filter(
        ([name]) =>
          new RegExp(`\\b${name}\\b`).test(code) && !new RegExp(`import[^;]*\\b${name}\\b`).test(code),
      )
      .map(([, line]) => line);
    const file = join(out, `snippet-${i}.ts`);
    writeFileSync(file, `${imports.join('\n')}\n${prelude(code)}\n${code}\nexport {};\n`);
    return file;
  });
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    esModuleInterop: true,
    noEmit: true,
    types: ['node'],
    baseUrl: root,
    paths: {
      tollgate: ['lib/index.ts'],
      'tollgate/express': ['lib/express/index.ts'],
      'tollgate/koa': ['lib/koa/index.ts'],
      'tollgate/metrics': ['lib/metrics/index.ts'],
      'tollgate/redis': ['lib/stores/redis/index.ts'],
    },
  });
  const problems = ts
    .getPreEmitDiagnostics(program)
    .filter((diagnostic) => diagnostic.file !== undefined && files.includes(diagnostic.file.fileName))
    .map((diagnostic) => {
      const index = files.indexOf(diagnostic.file!.fileName);
      return `${list[index]![0]}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
    });
  expect(problems).toEqual([]);
}, 60_000);
