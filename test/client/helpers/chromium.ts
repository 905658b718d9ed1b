import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Where Debian's `chromium` package puts the browser; `CHROMIUM_PATH` overrides it. */
export function chromiumPath(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  for (const path of candidates) if (path && existsSync(path)) return path;
  const which = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], {
    encoding: 'utf8',
  });
  const found = which.stdout.trim();
  return which.status === 0 && found !== '' ? found : undefined;
}

/** `describe` when Chromium is here; under `CI=true` its absence is a failure, elsewhere a loud skip. */
export function describeWithChromium(): jest.Describe {
  if (chromiumPath() !== undefined) return describe;
  const message =
    'Chromium not found (/usr/bin/chromium or CHROMIUM_PATH): the browser test of tollgate/client cannot run. ' +
    'Install it with `apt-get install -y chromium` (.ci/run does).';
  if (process.env.CI === 'true') throw new Error(`${message} CI=true, so this is a failure.`);
  console.warn(`\n${'!'.repeat(80)}\n!! SKIPPED: ${message}\n${'!'.repeat(80)}\n`);
  return describe.skip;
}

/** The flags the browser runs with here: headless, no sandbox (containers), nothing phoning home. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
