import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * npm 11's `npm ci` refuses a lockfile that lacks any package's optional dependencies, other
 * platforms' binaries included (npm/cli#8320); npm 10's does not check. A lockfile that passes
 * this test installs with both (regenerate it as CONTRIBUTING.md says).
 */

interface LockEntry {
  readonly version?: string;
  readonly optionalDependencies?: Readonly<Record<string, string>>;
}

const lock = JSON.parse(readFileSync(join(__dirname, '..', 'package-lock.json'), 'utf8')) as {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
};

/** Where npm would find `name` from the package at `path`: its own node_modules, then each parent's. */
function resolves(path: string, name: string): boolean {
  let at = path;
  for (;;) {
    if (lock.packages[`${at === '' ? '' : `${at}/`}node_modules/${name}`] !== undefined) return true;
    if (at === '') return false;
    const parent = at.lastIndexOf('/node_modules/');
    at = parent < 0 ? '' : at.slice(0, parent);
  }
}

describe('package-lock.json', () => {
  test('is a lockfile v3', () => expect(lock.lockfileVersion).toBe(3));

  test("holds every package's optional dependencies, for every platform, as npm 11's ci requires", () => {
    const missing: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages))
      for (const name of Object.keys(entry.optionalDependencies ?? {}))
        if (!resolves(path, name)) missing.push(`${name} (for ${path || 'the root'})`);
    expect(missing).toEqual([]);
  });
});
