import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The repository's root. */
export const ROOT = join(__dirname, '..', '..');

/** The pages whose code blocks the suite checks: the README and every page under docs/. */
export const PAGES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
];

export interface Snippet {
  readonly page: string;
  /** The fence's language: `ts` is compiled; `sh`, `text`, `json` and `http` are not code to check. */
  readonly lang: string;
  readonly code: string;
  /** The line of the fence in its page, for messages. */
  readonly line: number;
  /** The file the block stands for: its first line `// name.ts`, else one of its own. */
  readonly file: string;
}

const FENCE = /^```([\w-]*)\n([\s\S]*?)^```$/gm;
const FILE_COMMENT = /^\/\/ ([\w.-]+\.ts)\n/;

export function snippetsOf(page: string): Snippet[] {
  const text = readFileSync(join(ROOT, page), 'utf8');
  const snippets: Snippet[] = [];
  for (const match of text.matchAll(FENCE)) {
    const lang = match[1]!;
    const code = match[2]!;
    const line = text.slice(0, match.index).split('\n').length;
    const named = FILE_COMMENT.exec(code)?.[1];
    snippets.push({ page, lang, code, line, file: named ?? `line-${line}.ts` });
  }
  return snippets;
}

/** Where a page's blocks are compiled: a folder of the repository that exists only in memory. */
export function snippetDir(page: string): string {
  return join(ROOT, '.snippets', page.replace(/[/.]/g, '-'));
}
