import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ClientError, createClient } from '../../lib/client/index.js';

// The examples as their users start them, `npm run example -- <name>`, on the real clock. Nothing
// here waits: the client reads each profile's headers, and Pioneer's spending cap refuses at once.

const root = join(__dirname, '..', '..');

interface Started {
  url: string;
  stop(): Promise<void>;
}

async function npmRunExample(name: string): Promise<Started> {
  const child: ChildProcess = spawn('npm', ['run', 'example', '--', name], {
    cwd: root,
    env: { ...process.env, PORT: '0', REDIS_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: npm starts a shell that starts tsx that starts node.
    detached: true,
  });
  const stop = async () => {
    if (child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(-child.pid, 'SIGTERM');
    await exited;
  };
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${output}`)), 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!.replace('localhost', '127.0.0.1'));
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}: ${output}`)));
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return { url, stop };
}

const CASES = [
  {
    name: 'fastino',
    path: '/v1/users/alice/summary',
    init: { headers: { Authorization: 'Bearer fk_run' } },
    policy: 'default',
    limit: 60,
  },
  { name: 'fluid', path: '/v1/status', init: {}, policy: 'default', limit: 100 },
  {
    name: 'firsthand',
    path: '/v1/jobs/job_none',
    init: { headers: { Authorization: 'Bearer fh_live_run' } },
    policy: 'default',
    limit: 60,
  },
  {
    name: 'pioneer',
    path: '/inference',
    init: {
      method: 'POST',
      body: '{}',
      headers: { 'Content-Type': 'application/json', Authorization: 'Bearer pk_run' },
    },
    // The IETF `RateLimit` field reports the policy closest to refusing: here the per-IP minute.
    policy: 'ip_minute',
    limit: 1000,
  },
] as const;

describe.each(CASES)('npm run example -- $name', (c) => {
  let server: Started;
  beforeAll(async () => {
    server = await npmRunExample(c.name);
  }, 90_000);
  afterAll(() => server?.stop());

  test('the client reads its rate-limit headers', async () => {
    const api = createClient({ baseUrl: server.url, idempotencyKey: true });
    const retries: unknown[] = [];
    api.on('retry', (e) => retries.push(e));
    for (let i = 0; i < 3; i++) expect((await api.fetch(c.path, c.init)).status).toBeLessThan(500);
    const m = api.metrics();
    expect(m.total_requests).toBe(3);
    // Real time: a minute may turn between the requests, so the count may have restarted.
    const policy = m.policies[c.policy]!;
    expect(policy.limit).toBe(c.limit);
    expect(policy.remaining).toBeGreaterThanOrEqual(c.limit - 3);
    expect(policy.remaining).toBeLessThan(c.limit);
    expect(m.utilisation[c.policy]).toBe((c.limit - policy.remaining!) / c.limit);
    if (c.name === 'pioneer')
      expect(m.policies).toMatchObject({ inference_minute: { limit: 1200, window_ms: 60_000 } });
    expect(retries).toEqual([]);
  });

  if (c.name === 'pioneer')
    test('a spending cap refusal stops at once (1,000 credits a day; /generate costs 100)', async () => {
      const api = createClient({ baseUrl: server.url, idempotencyKey: true });
      const generate = () =>
        api.fetch('/generate/tiny', {
          method: 'POST',
          body: '{}',
          headers: { 'Content-Type': 'application/json', Authorization: 'Bearer pk_capped' },
        });
      for (let i = 0; i < 10; i++) expect((await generate()).status).toBe(200);
      const error = await generate().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ClientError);
      expect(error).toMatchObject({
        code: 'SPEND_CAP_EXCEEDED',
        attempts: 1,
        reason: 'daily_spend_cap_exceeded',
      });
      const midnight = new Date();
      midnight.setUTCHours(24, 0, 0, 0);
      // Retry-After counts whole seconds, rounded up: the clearing time is at most a second late.
      const clears = (error as ClientError).clearsAt!.getTime();
      expect(clears).toBeGreaterThanOrEqual(midnight.getTime());
      expect(clears).toBeLessThanOrEqual(midnight.getTime() + 1000);
      expect(api.metrics().total_requests).toBe(11);
    });
});
