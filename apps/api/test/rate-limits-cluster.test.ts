/**
 * Limits hold across instances (issue #15): two in-process API instances share one Postgres
 * schema and the machine's Redis under a prefix of this run (its keys are deleted at the end;
 * Redis is never flushed). Attempts spread over both instances count against one budget.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEMO_PASSWORD } from './support/api-client.ts';
import { useInstancePair } from './support/instance-pair.ts';
import { rawExchange, upgradeRequest } from './support/raw-http.ts';
import type { TestApp } from './support/test-app.ts';
import type { TestSocket } from './support/test-socket.ts';

const pair = useInstancePair({
  tag: 'test-rl',
  env: () => ({ WS_UPGRADES_PER_IP: '4', WS_MAX_CONNECTIONS_PER_USER: '2' }),
});
let a: TestApp;
let b: TestApp;
beforeAll(() => {
  ({ a, b } = pair);
});

const login = (app: TestApp, username: string, password: string, from: string) =>
  app.http('POST', '/api/v1/auth/login', { body: { username, password }, headers: { 'x-forwarded-for': from } });

describe('limits shared through Redis', () => {
  it('counts login attempts on one username over both instances: the 6th is refused wherever it lands', async () => {
    const seen: string[] = [];
    for (const [i, app] of [a, a, a, b, b].entries()) {
      const res = await login(app, 'doctor_001', 'wrong-password', `192.0.2.${i + 1}`);
      seen.push(`${app === a ? 'A' : 'B'}:${res.status}`);
    }
    expect(seen).toEqual(['A:401', 'A:401', 'A:401', 'B:401', 'B:401']);
    const refusedOnA = await login(a, 'doctor_001', DEMO_PASSWORD, '192.0.2.6');
    const refusedOnB = await login(b, 'doctor_001', DEMO_PASSWORD, '192.0.2.7');
    for (const res of [refusedOnA, refusedOnB]) {
      expect(res.status).toBe(429);
      expect(res.body.code).toBe('RATE_LIMITED');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    const keys = await pair.redis.keys(`${pair.prefix}ratelimit:http:*login-username:doctor_001`);
    expect(keys).toHaveLength(1);
    console.log(
      `[rate-limits-cluster] login per username: ${seen.join(' ')}, then A:${refusedOnA.status} B:${refusedOnB.status} (Retry-After ${refusedOnB.headers.get('retry-after')} s); counter ${keys[0]}`,
    );
  });

  it('counts WebSocket upgrades of one address over both instances (WS_UPGRADES_PER_IP=4)', async () => {
    const from = '192.0.2.50';
    const statuses: string[] = [];
    for (const app of [a, b, a, b, a]) {
      const res = await rawExchange(
        Number(new URL(app.baseUrl).port),
        upgradeRequest('/api/v1/ws?ticket=forged', { 'X-Forwarded-For': from }),
      );
      statuses.push(
        `${app === a ? 'A' : 'B'}:${res.status}${res.status === 429 ? `(Retry-After ${res.headers['retry-after']} s)` : ''}`,
      );
    }
    expect(statuses.map((s) => s.slice(0, 5))).toEqual(['A:401', 'B:401', 'A:401', 'B:401', 'A:429']);
    console.log(`[rate-limits-cluster] upgrades of one address: ${statuses.join(' ')}`);
  });

  it('caps the open connections of one user over both instances (WS_MAX_CONNECTIONS_PER_USER=2), counted in presence', async () => {
    const onA = await a.connect('customer_789');
    const onB = await b.connect('customer_789');
    const { token } = await a.login('customer_789');
    const ticket = await a.ticket(token);
    const refused = await new Promise<{ status: number; body: string }>((resolve) => {
      const ws = new WebSocket(`${a.wsUrl}?ticket=${ticket}`);
      ws.on('error', () => undefined);
      ws.once('open', () => resolve({ status: 101, body: '' }));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
    });
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toMatchObject({
      code: 'TOO_MANY_CONNECTIONS',
      detail: expect.stringContaining('WS_MAX_CONNECTIONS_PER_USER=2'),
    });
    console.log(
      '[rate-limits-cluster] user with one socket on A and one on B: a third on A answered 429 TOO_MANY_CONNECTIONS',
    );
    await Promise.all([onA, onB].map((s: TestSocket) => s.close()));
  });
});
