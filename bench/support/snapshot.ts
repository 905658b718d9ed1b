import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

/**
 * A copy of lib/ and bench/ that every child of one run loads, so that the whole run measures
 * one version of the code even while lib/ is being edited. It lives in a temp dir with a link to
 * the repository's node_modules, so nothing is left in the working tree.
 */
export interface Snapshot {
  /** The directory standing in for the repository root. */
  readonly root: string;
  /** SHA-256 over lib/'s files, to tell which code a result belongs to. */
  readonly libHash: string;
  remove(): void;
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** SHA-256 over lib/'s file names and contents, shortened: which code a result belongs to. */
export function libHash(repo: string): string {
  const hash = createHash('sha256');
  for (const file of files(join(repo, 'lib'))) {
    hash.update(relative(repo, file));
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 16);
}

export function snapshot(repo: string): Snapshot {
  const root = mkdtempSync(join(tmpdir(), 'tollgate-bench-'));
  const hash = libHash(repo);
  cpSync(join(repo, 'lib'), join(root, 'lib'), { recursive: true });
  cpSync(join(repo, 'bench'), join(root, 'bench'), {
    recursive: true,
    filter: (source) => !relative(join(repo, 'bench'), source).startsWith('profiles'),
  });
  // tsx reads the nearest package.json ("type": "module") and tsconfig.json.
  cpSync(join(repo, 'package.json'), join(root, 'package.json'));
  cpSync(join(repo, 'tsconfig.json'), join(root, 'tsconfig.json'));
  symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'), 'dir');
  return {
    root,
    libHash: hash,
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}
