/** GET /api/v1/directory: who may list which staff accounts, what an entry shows, and the refusals. */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.ts';

let app: TestApp;
let newConsultant = '';
beforeAll(async () => {
  app = await startTestApp();
  const { token } = await app.login('admin');
  const created = await app.http('POST', '/api/v1/admin/users', {
    token,
    body: { username: 'consultant_new', password: 'demo1234', display_name: '周顾问', role: 'consultant' },
  });
  newConsultant = created.body.id;
});
afterAll(async () => {
  await app.close();
});

const list = async (as: string | null, query: string) => {
  const token = as ? (await app.login(as)).token : undefined;
  return app.http('GET', `/api/v1/directory${query}`, token ? { token } : {});
};

it('shows a customer the consultants (id, name, role, online; no username), online ones first', async () => {
  // The newer consultant is online, the seeded (older) one is not: online comes first anyway.
  const socket = await app.connect('consultant_new');
  const res = await list('customer_456', '?role=consultant');
  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    users: [
      { id: newConsultant, display_name: '周顾问', role: 'consultant', online: true },
      { id: app.userId('consultant_001'), display_name: '张顾问', role: 'consultant', online: false },
    ],
  });
  await socket.close();
});

it('shows staff and admins the doctors and the consultants', async () => {
  for (const who of ['consultant_001', 'doctor_001', 'admin']) {
    const doctors = await list(who, '?role=doctor');
    expect([who, doctors.status, doctors.body.users.map((u: { id: string }) => u.id)]).toEqual([
      who,
      200,
      [app.userId('doctor_001')],
    ]);
    const consultants = await list(who, '?role=consultant');
    expect([who, consultants.body.users.map((u: { role: string }) => u.role)]).toEqual([
      who,
      ['consultant', 'consultant'],
    ]);
  }
});

it('refuses a customer the doctors (403), anyone the customers or no role (400), and anonymous callers (401)', async () => {
  const doctors = await list('customer_456', '?role=doctor');
  expect(doctors.status).toBe(403);
  expect(doctors.body).toMatchObject({
    code: 'FORBIDDEN',
    detail: 'A customer may list only: consultant (asked for role=doctor).',
  });
  for (const who of ['customer_456', 'consultant_001', 'admin']) {
    for (const query of ['?role=customer', '?role=admin', '']) {
      const res = await list(who, query);
      expect([who, query, res.status, res.body.code, res.body.issues]).toEqual([
        who,
        query,
        400,
        'VALIDATION_FAILED',
        ['querystring.role: must be "consultant" or "doctor"'],
      ]);
    }
  }
  const anonymous = await list(null, '?role=consultant');
  expect(anonymous.status).toBe(401);
  expect(anonymous.body.code).toBe('UNAUTHENTICATED');
});
