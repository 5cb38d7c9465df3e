/**
 * `watch_presence` on one instance (docs/protocol.md, "Presence"): the answer, the changes that
 * follow, who may be watched, and the end of a watch. Real app, real sockets, demo data.
 */
import type { ServerFrameOf } from '@anmei/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/test-app.ts';
import type { TestSocket } from './support/test-socket.ts';
import { eventually } from './support/wait.ts';

let app: TestApp;
let ids: Record<'customer' | 'customer2' | 'consultant' | 'doctor', string>;

beforeAll(async () => {
  app = await startTestApp();
  ids = {
    customer: app.userId('customer_456'),
    customer2: app.userId('customer_789'),
    consultant: app.userId('consultant_001'),
    doctor: app.userId('doctor_001'),
  };
});

afterAll(async () => {
  await app?.close();
});

/** Each test starts with nobody connected and nobody watched on the server (a close is handled after the client sees it). */
afterEach(async () => {
  await eventually(
    async () => ({
      connections: (await app.built.ctx.presence.stats()).connections,
      watching: app.built.presenceWatch.watchingSockets,
    }),
    (s) => s.connections === 0 && s.watching === 0,
    'every socket of the test to be gone from presence and from the watch (value: what remains)',
  );
});

type Presence = ServerFrameOf<'presence'>['data'];
const states = (frames: ServerFrameOf<'presence'>[]) =>
  frames.map((f) => `${f.data.reason}:${f.data.users.map((u) => `${u.user_id}=${u.online ? 'on' : 'off'}`).join(',')}`);

async function watch(socket: TestSocket, userIds: string[], requestId: string): Promise<Presence> {
  socket.send({ action: 'watch_presence', request_id: requestId, data: { user_ids: userIds } });
  const [answer] = await socket.waitFor('presence', { where: (f) => f.data.request_id === requestId });
  return answer!.data;
}

describe('watch_presence', () => {
  it('answers with the state now, then reports each user coming online and going offline, once per user', async () => {
    const consultant = await app.connect('consultant_001');
    const answer = await watch(consultant, [ids.customer, ids.doctor], 'w1');
    expect(answer).toEqual({
      request_id: 'w1',
      reason: 'watch',
      users: [
        { user_id: ids.customer, online: false },
        { user_id: ids.doctor, online: false },
      ],
    });
    const phone = await app.connect('customer_456', { deviceType: 'mobile' });
    await consultant.waitFor('presence', { count: 2 });
    // A second device of someone already online, then closing both: one "offline" only.
    const laptop = await app.connect('customer_456', { deviceType: 'desktop' });
    await phone.close();
    await laptop.close();
    await consultant.waitFor('presence', { count: 3 });
    // The doctor coming online last proves nothing else was on its way before it.
    const doctor = await app.connect('doctor_001');
    await consultant.waitFor('presence', { count: 4 });
    expect(states(consultant.all('presence'))).toEqual([
      `watch:${ids.customer}=off,${ids.doctor}=off`,
      `change:${ids.customer}=on`,
      `change:${ids.customer}=off`,
      `change:${ids.doctor}=on`,
    ]);
    await doctor.close();
    await consultant.close();
  });

  it('leaves out users who share no conversation with the caller, and the caller; an admin may watch anyone', async () => {
    const customer = await app.connect('customer_456');
    const admin = await app.connect('admin');
    // customer_789 and customer_456 are in no conversation together (demo data).
    const asCustomer = await watch(customer, [ids.consultant, ids.customer2, ids.customer, 'no-such-user'], 'w2');
    expect(asCustomer.users).toEqual([{ user_id: ids.consultant, online: false }]);
    const asAdmin = await watch(admin, [ids.customer2, ids.customer], 'w3');
    expect(asAdmin.users).toEqual([
      { user_id: ids.customer2, online: false },
      { user_id: ids.customer, online: true },
    ]);
    // A stranger's changes never reach the customer: the consultant's (watched) arrival comes alone.
    const stranger = await app.connect('customer_789');
    const consultant = await app.connect('consultant_001');
    await customer.waitFor('presence', { count: 2 });
    expect(states(customer.all('presence'))).toEqual([`watch:${ids.consultant}=off`, `change:${ids.consultant}=on`]);
    await admin.waitFor('presence', { where: (f) => f.data.reason === 'change' });
    expect(states(admin.all('presence'))[1]).toBe(`change:${ids.customer2}=on`);
    for (const s of [customer, admin, stranger, consultant]) await s.close();
  });

  it('a new watch replaces the old one, an empty list ends it, and a closed socket stops watching', async () => {
    const consultant = await app.connect('consultant_001');
    await watch(consultant, [ids.customer], 'w4');
    const replaced = await watch(consultant, [ids.doctor], 'w5');
    expect(replaced.users).toEqual([{ user_id: ids.doctor, online: false }]);
    expect(app.built.presenceWatch.watchingSockets).toBe(1);
    // The customer is no longer watched: their arrival sends nothing; the doctor's does.
    const customer = await app.connect('customer_456');
    const doctor = await app.connect('doctor_001');
    await consultant.waitFor('presence', { count: 3 });
    expect(states(consultant.all('presence')).slice(2)).toEqual([`change:${ids.doctor}=on`]);
    expect((await watch(consultant, [], 'w6')).users).toEqual([]);
    expect(app.built.presenceWatch.watchingSockets).toBe(0);
    await watch(consultant, [ids.doctor], 'w7');
    expect(app.built.presenceWatch.watchingSockets).toBe(1);
    await consultant.close();
    await customer.close();
    await doctor.close();
  });

  it('refuses more than 500 users with INVALID_FRAME, naming the field', async () => {
    const consultant = await app.connect('consultant_001');
    const tooMany = Array.from({ length: 501 }, (_, i) => `user-${i}`);
    consultant.send({ action: 'watch_presence', request_id: 'w8', data: { user_ids: tooMany } });
    const [error] = await consultant.waitFor('error');
    expect(error!.data).toMatchObject({ code: 'INVALID_FRAME', request_id: 'w8' });
    expect(error!.data.issues?.join()).toContain('data.user_ids');
    await consultant.close();
  });
});
