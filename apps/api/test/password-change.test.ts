/** POST /api/v1/auth/password: a signed-in user changes their password (issue #17, item 2). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PASSWORD } from './support/api-client.ts';
import { startTestApp, type TestApp } from './support/test-app.ts';

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ RATE_LIMIT_LOGIN_PER_USERNAME: '4' });
});

afterAll(async () => {
  await app?.close();
});

const change = (token: string | undefined, body: unknown) =>
  app.http('POST', '/api/v1/auth/password', { ...(token ? { token } : {}), body });
const loginStatus = async (username: string, password: string) =>
  (await app.http('POST', '/api/v1/auth/login', { body: { username, password } })).status;

describe('changing my password', () => {
  it('takes the new password from then on and refuses the old one; the token in use keeps working', async () => {
    const { token } = await app.login('customer_789');
    const res = await change(token, { current_password: DEMO_PASSWORD, new_password: '新的密码-2026' });
    expect([res.status, res.body]).toEqual([204, null]);
    expect(await loginStatus('customer_789', DEMO_PASSWORD)).toBe(401);
    expect(await loginStatus('customer_789', '新的密码-2026')).toBe(200);
    expect((await app.http('GET', '/api/v1/auth/me', { token })).status).toBe(200);
    expect(app.logs.find((r) => JSON.stringify(r).includes('新的密码-2026'))).toEqual([]);
  });

  it('refuses a wrong current password with 403 CURRENT_PASSWORD_WRONG and changes nothing', async () => {
    const { token } = await app.login('doctor_001');
    const res = await change(token, { current_password: 'not-my-password', new_password: 'another-pass-1' });
    expect([res.status, res.body.code]).toEqual([403, 'CURRENT_PASSWORD_WRONG']);
    expect(await loginStatus('doctor_001', DEMO_PASSWORD)).toBe(200);
  });

  it('refuses a new password under 8 characters, naming the field, and a caller who is not signed in', async () => {
    const { token } = await app.login('consultant_001');
    const short = await change(token, { current_password: DEMO_PASSWORD, new_password: 'short' });
    expect([short.status, short.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(JSON.stringify(short.body.issues)).toContain('new_password');
    const anonymous = await change(undefined, { current_password: DEMO_PASSWORD, new_password: 'long-enough-1' });
    expect([anonymous.status, anonymous.body.code]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('counts attempts per user against RATE_LIMIT_LOGIN_PER_USERNAME: a left-open session cannot guess on', async () => {
    const { token } = await app.login('admin');
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await change(token, { current_password: `guess-${i}`, new_password: 'whatever-1' })).status);
    expect(statuses).toEqual([403, 403, 403, 403, 429]);
  });
});
