import { join } from 'node:path';
import ts from 'typescript';
import { PAGES, ROOT, type Snippet, snippetDir, snippetsOf } from '../helpers/snippets.js';

/**
 * Every code block of the README and docs/ is compiled as the module a user would paste,
 * importing `tollgate`, `tollgate/express`, … as the package's entry points (mapped to lib/),
 * so that snippets cannot rot.
 */

const ENTRIES: Record<string, string> = {
  tollgate: 'lib/index.ts',
  'tollgate/express': 'lib/express/index.ts',
  'tollgate/koa': 'lib/koa/index.ts',
  'tollgate/redis': 'lib/stores/redis/index.ts',
  'tollgate/testing': 'lib/testing/index.ts',
  'tollgate/client': 'lib/client/index.ts',
  'tollgate/metrics': 'lib/metrics/index.ts',
};

/** Languages that are not code to check. */
const PROSE = new Set(['sh', 'text', 'json', 'http', 'console']);

const snippets = PAGES.flatMap(snippetsOf);
const typescript = snippets.filter((s) => s.lang === 'ts');

function compilerOptions(): ts.CompilerOptions {
  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  return {
    ...options,
    noEmit: true,
    baseUrl: ROOT,
    paths: Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, [join(ROOT, file)]])),
  };
}

/** Type-checks the snippets, each a file of its page's folder, which exists only for the compiler. */
function diagnose(files: readonly Snippet[]): string[] {
  const virtual = new Map(files.map((s) => [join(snippetDir(s.page), s.file), s]));
  const options = compilerOptions();
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  const folders = new Set(files.map((s) => snippetDir(s.page)));
  const directoryExists = host.directoryExists?.bind(host) ?? ts.sys.directoryExists;
  host.directoryExists = (name) => folders.has(name) || directoryExists(name);
  host.fileExists = (name) => virtual.has(name) || fileExists.call(host, name);
  host.readFile = (name) => virtual.get(name)?.code ?? readFile.call(host, name);
  host.getSourceFile = (name, language, ...rest) => {
    const snippet = virtual.get(name);
    if (snippet === undefined) return getSourceFile.call(host, name, language, ...rest);
    return ts.createSourceFile(name, snippet.code, language);
  };
  const program = ts.createProgram([...virtual.keys()], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const snippet = diagnostic.file === undefined ? undefined : virtual.get(diagnostic.file.fileName);
    if (diagnostic.file === undefined || diagnostic.start === undefined) return text;
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    const where =
      snippet === undefined
        ? diagnostic.file.fileName
        : `${snippet.page}:${snippet.line + 1 + line} (the block at line ${snippet.line})`;
    return `${where}: ${text}`;
  });
}

describe('code blocks in the README and docs/', () => {
  test('every page has blocks, and each is TypeScript or marked as not code (sh, text, json, http)', () => {
    expect(typescript.length).toBeGreaterThan(15);
    const unmarked = snippets.filter((s) => s.lang !== 'ts' && !PROSE.has(s.lang));
    expect(unmarked.map((s) => `${s.page}:${s.line} \`\`\`${s.lang}`)).toEqual([]);
  });

  test('every TypeScript block type-checks as pasted, against the package entry points', () => {
    expect(diagnose(typescript)).toEqual([]);
  });

  test('the check has teeth: the ioredis default import that failed under nodenext is caught', () => {
    const broken: Snippet = {
      page: 'docs/broken.md',
      lang: 'ts',
      line: 1,
      file: 'broken.ts',
      code: "import Redis from 'ioredis';\nconst client = new Redis();\nconsole.log(client);\n",
    };
    expect(diagnose([broken]).join('\n')).toMatch(
      /broken\.md.*(not constructable|has no construct signatures)/,
    );
  });

  test('Redis clients are configured as docs/redis.md requires: no replay, and an error listener', () => {
    for (const snippet of typescript) {
      if (/new Redis\(/.test(snippet.code))
        expect([
          snippet.page,
          snippet.line,
          /autoResendUnfulfilledCommands: false/.test(snippet.code),
        ]).toEqual([snippet.page, snippet.line, true]);
      // node-redis's createClient, not tollgate/client's.
      if (/from 'redis'/.test(snippet.code) && /createClient\(/.test(snippet.code))
        expect([snippet.page, snippet.line, /\.on\('error'/.test(snippet.code)]).toEqual([
          snippet.page,
          snippet.line,
          true,
        ]);
    }
  });
});
