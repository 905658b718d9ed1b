import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

// The client's code blocks in docs/client.md and the README's Client section type-check against
// lib/client, imported as users write it (`tollgate/client`), so that they cannot rot.

const root = join(__dirname, '..', '..');

function blocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

function readmeClientSection(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Client\n');
  if (start < 0) throw new Error('README.md has no "## Client" section');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

const snippets = [
  ...blocks(readFileSync(join(root, 'docs', 'client.md'), 'utf8')).map((code, i) => ({
    name: `docs/client.md #${i + 1}`,
    code,
  })),
  ...blocks(readmeClientSection()).map((code, i) => ({ name: `README.md Client #${i + 1}`, code })),
];

test('docs/client.md and the README Client section have code blocks', () => {
  expect(snippets.length).toBeGreaterThanOrEqual(7);
  for (const s of snippets) expect(s.code).toContain("from 'tollgate/client'");
});

test('every code block type-checks against tollgate/client', () => {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: ['node'],
    lib: ['lib.es2023.d.ts'],
    baseUrl: root,
    paths: { 'tollgate/client': ['lib/client/index.ts'] },
  };
  const files = new Map(snippets.map((s, i) => [join(root, 'test', 'client', `__snippet_${i}.ts`), s]));
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (file, language, ...rest) => {
    const snippet = files.get(file);
    return snippet === undefined
      ? getSourceFile(file, language, ...rest)
      : ts.createSourceFile(file, snippet.code, language);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (file) => files.has(file) || fileExists(file);
  const program = ts.createProgram([...files.keys()], options, host);
  const problems = ts
    .getPreEmitDiagnostics(program)
    .filter(
      (d) => d.file === undefined || files.has(d.file.fileName) || d.file.fileName.includes('/lib/client/'),
    )
    .map((d) => {
      const where = d.file === undefined ? '' : (files.get(d.file.fileName)?.name ?? d.file.fileName);
      const line =
        d.file === undefined || d.start === undefined
          ? 0
          : d.file.getLineAndCharacterOfPosition(d.start).line + 1;
      return `${where}:${line}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  expect(problems).toEqual([]);
});
