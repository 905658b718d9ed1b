import request from 'supertest';
import { createDemoApp } from '../examples/demo.js';

describe('the npm start demo', () => {
  test('answers with headers, then refuses when the burst runs out', async () => {
    const app = createDemoApp();
    const first = await request(app).get('/').set('X-Forwarded-For', '192.0.2.50');
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ hello: 'tollgate', rateLimit: { scope: 'ip', limit: 10, remaining: 9 } });
    expect(first.headers['ratelimit-policy']).toBe(
      '"ip_minute";q=10;w=60, "ip_hour";q=100;w=3600, "ip_burst";q=5;w=30',
    );
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await request(app).get('/').set('X-Forwarded-For', '192.0.2.50')).status);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
  });

  test('an API key adds its tier', async () => {
    const app = createDemoApp();
    const res = await request(app)
      .get('/')
      .set('Authorization', 'Bearer demo_free_key')
      .set('X-Forwarded-For', '192.0.2.51');
    expect(res.body.rateLimit).toEqual({ scope: 'apiKey', limit: 3, remaining: 2 });
  });
});
