import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Settings } from './settings.js';

/**
 * The tollgate builds a run measures. Each build's .js files are copied under this repository's
 * node_modules/.cache first, so that the run measures one fixed build even while dist/ is
 * rebuilt, and so that a build kept anywhere (a baseline) resolves its dependencies (ajv) from
 * this repository's node_modules; a package.json there marks its files as ES modules.
 */
export interface Build {
  readonly role: 'this' | 'baseline';
  readonly label: string;
  /** Where the build was taken from. */
  readonly source: string;
  /** The frozen copy children load (`TOLLGATE_DIST`). */
  readonly dir: string;
  /** SHA-256 over the build's .js files, shortened: which code a result belongs to. */
  readonly hash: string;
}

const ENTRIES = ['index.js', 'express.js', 'koa.js', 'redis.js'];

function hashOf(dir: string): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(dir)
    .filter((name) => name.endsWith('.js'))
    .sort()) {
    hash.update(file);
    hash.update(readFileSync(join(dir, file)));
  }
  return hash.digest('hex').slice(0, 12);
}

function git(args: string[], cwd: string): string | undefined {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function freeze(role: Build['role'], source: string, label: string): Build {
  const missing = ENTRIES.filter((entry) => !existsSync(join(source, entry)));
  if (missing.length > 0)
    throw new Error(
      `${source} is not a tollgate build (no ${missing.join(', ')}): run \`npm run build\` there`,
    );
  const dir = resolve('node_modules/.cache/tollgate-bench', role);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const file of readdirSync(source).filter((name) => name.endsWith('.js')))
    copyFileSync(join(source, file), join(dir, file));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  return { role, label, source, dir, hash: hashOf(dir) };
}

/** This build (the repository's dist/, built first unless `BENCH_BUILD=0`) and the baseline, if any. */
export function prepareBuilds(s: Settings, log: (message: string) => void): Build[] {
  let source = s.dist === undefined ? undefined : resolve(s.dist);
  if (source === undefined) {
    source = resolve('dist');
    if (s.build) {
      log('building dist/ (npm run build; BENCH_BUILD=0 to measure it as it is)');
      execFileSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
    }
  }
  const labelOf = (dir: string, given: string | undefined) =>
    given ?? git(['describe', '--always', '--dirty'], dir) ?? basename(dir);
  const builds = [freeze('this', source, labelOf(source, s.label))];
  if (s.baselineDist !== undefined) {
    const base = resolve(s.baselineDist);
    builds.push(freeze('baseline', base, labelOf(base, s.baselineLabel)));
  }
  return builds;
}
