import { execFile, spawn } from 'node:child_process';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { createDemoApp, demoLines } from '../examples/demo.js';
import { createTestClock } from '../lib/testing/index.js';

/** Runs one printed line as a user would paste it into a shell, with `-s` so that curl prints no progress. */
async function run(line: string): Promise<string> {
  const { stdout } = await promisify(execFile)('bash', ['-c', line.replace(/^curl -i /, 'curl -si ')], {
    encoding: 'utf8',
  });
  return stdout;
}

function statusesOf(output: string): string {
  return output.trim();
}

describe('the npm start demo', () => {
  let server: Server;
  let url: string;

  beforeEach(async () => {
    const clock = createTestClock();
    server = await new Promise<Server>((resolve) => {
      const listening = createDemoApp({ now: clock.now }).listen(0, '127.0.0.1', () => resolve(listening));
    });
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('the printed curl lines, run in order, show the burst, then the tiers, each as its comment says', async () => {
    const lines = demoLines(url);
    expect(lines).toHaveLength(6);
    const first = await run(lines[0]!);
    expect(first).toMatch(/^HTTP\/1\.1 200/);
    expect(first).toMatch(
      /^RateLimit-Policy: "ip_minute";q=10;w=60, "ip_hour";q=100;w=3600, "ip_burst";q=5;w=30\r$/m,
    );
    expect(first).toMatch(/^X-RateLimit-Limit: 10\r$/m);
    expect(statusesOf(await run(lines[1]!))).toBe('200 200 200 200 429 429');
    const free = await run(lines[2]!);
    expect(free).toMatch(/^HTTP\/1\.1 200/);
    expect(free).toContain('"tier":"free","limit":3,"remaining":2');
    expect(statusesOf(await run(lines[3]!))).toBe('200 200 429');
    const pro = await run(lines[4]!);
    expect(pro).toMatch(/^HTTP\/1\.1 200/);
    expect(pro).toContain('"tier":"pro","limit":30,"remaining":29');
    const keyless = await run(lines[5]!);
    expect(keyless).toMatch(/^HTTP\/1\.1 401/);
    expect(keyless).toMatch(/^Content-Type: application\/problem\+json/m);
  });
});

describe('npm start', () => {
  /** Whether something listens on the port. */
  const listening = (port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });

  test.each([
    ['SIGINT', 'its process group (Ctrl-C)', true],
    ['SIGTERM', 'its process group', true],
    ['SIGTERM', 'npm alone (a process manager)', false],
  ] as const)(
    '%s to %s stops the server',
    async (signal, _to, group) => {
      // Its own process group, as a terminal gives it: Ctrl-C signals the whole group.
      const child = spawn('npm', ['start', '--silent'], {
        cwd: `${__dirname}/..`,
        env: { ...process.env, PORT: '0' },
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        let output = '';
        const port = await new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no URL printed: ${output}`)), 20_000);
          child.stdout.on('data', (chunk: Buffer) => {
            output += chunk.toString();
            const match = /demo on http:\/\/localhost:(\d+)/.exec(output);
            if (match === null) return;
            clearTimeout(timer);
            resolve(Number(match[1]));
          });
        });
        expect(output).toContain('Try, in order');
        expect(await listening(port)).toBe(true);
        process.kill(group ? -child.pid! : child.pid!, signal);
        await exited;
        expect(await listening(port)).toBe(false);
      } finally {
        // Whatever failed, nothing of the demo outlives the test.
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {}
        await exited;
      }
    },
    30_000,
  );
});
